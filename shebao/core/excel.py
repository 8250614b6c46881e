"""Excel export with XlsxWriter. Every text cell is escaped against formula injection: a value
starting with = + - @ (or tab / carriage return) is written as text with a leading apostrophe
so that spreadsheet programs never evaluate it. Money is passed as ``Decimal`` and written here,
and only here, as a number with a two-decimal format (never through ``float`` in a caller)."""

import io
from collections.abc import Iterable, Sequence
from decimal import Decimal
from urllib.parse import quote

import xlsxwriter
from django.http import HttpResponse

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def safe_cell(value):
    """Numbers and dates stay as they are; text that a spreadsheet would run is neutralised."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def build_xlsx(sheets: Sequence[tuple[str, Sequence[str], Iterable[Sequence]]]) -> bytes:
    """sheets: (sheet name, header, rows). Text cells are written as strings (never formulas);
    ID numbers and codes keep their leading zeros."""
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(
        buf,
        {
            "in_memory": True,
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
        },
    )
    bold = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    money = book.add_format({"num_format": "0.00"})
    for name, header, rows in sheets:
        sheet = book.add_worksheet(name[:31])
        for col, title in enumerate(header):
            sheet.write_string(0, col, title, bold)
            sheet.set_column(col, col, max(10, len(title) * 2 + 2))
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row):
                value = safe_cell(value)
                if value is None:
                    continue
                if isinstance(value, str):
                    sheet.write_string(r, c, value)
                elif isinstance(value, Decimal):
                    sheet.write_number(r, c, value, money)
                else:
                    sheet.write(r, c, value)
        sheet.freeze_panes(1, 0)
    book.close()
    return buf.getvalue()


def xlsx_response(filename: str, content: bytes) -> HttpResponse:
    """A download with personal data: never cached."""
    response = HttpResponse(content, content_type=XLSX_TYPE)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    response["Cache-Control"] = "no-store"
    return response
