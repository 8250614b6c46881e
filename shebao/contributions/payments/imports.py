"""The tax bureau's arrival file (到账文件) read into plain values, without the database.

``read_arrival_file`` turns the bytes of a CSV (UTF-8 or GBK) or XLSX file into the data rows
keyed by column (file-level problems raise ``ImportRefused``: type, size, encoding, zip bombs,
missing columns); ``parse_rows`` reads each row's values, collecting every reason a row is bad.
The ``parse_*`` helpers read one value (also used by a payment posted by hand) and raise
``ValueError`` with a Chinese message."""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_DOWN, Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils import timezone
from python_calamine import CalamineWorkbook

from shebao.contributions.models import ItemType
from shebao.core.money import FEN
from shebao.core.periods import Period

AMOUNT_MAX = Decimal("999999999999.99")  # MONEY: 14 digits, 2 decimals

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
# An .xlsx is a zip: refuse archives that would unpack to more than this (zip bombs).
MAX_XLSX_UNPACKED = 100 * 1024 * 1024

XLSX_MAGIC = b"PK\x03\x04"
XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
BINARY_MAGICS = (b"%PDF-", b"\xff\xd8\xff", b"\x89PNG", b"GIF8", b"\x1f\x8b", b"Rar!", b"7z")

HEADER_SEARCH_ROWS = 5  # a title row or two may stand above the header

REASON_EMPTY = "文件为空"
REASON_TOO_LARGE = f"文件超过 {MAX_FILE_BYTES // (1024 * 1024)} MB"
REASON_WRONG_TYPE = "文件类型不符：只接受 CSV（UTF-8 或 GBK 编码）或 Excel（.xlsx）文件"
REASON_XLSX_CORRUPT = "Excel 文件已损坏或已加密，无法读取"
REASON_NO_ROWS = "文件中没有到账数据"
REASON_TOO_MANY_ROWS = f"文件超过 {MAX_ROWS} 行，请分成多个文件导入"

# Column -> header names accepted (compared after NFKC and removing spaces).
COLUMNS: dict[str, tuple[str, ...]] = {
    "unit_no": ("单位编号", "单位代码", "单位编码", "unit_no"),
    "person_no": ("个人编号", "人员编号", "person_no"),
    "settle_period": ("结算期", "结算年月", "结算期别", "settle_period"),
    "item": ("险种", "险种代码", "险种类型", "险种编码", "item"),
    "amount": ("金额", "到账金额", "实缴金额", "缴费金额", "amount"),
    "paid_on": ("到账日期", "入账日期", "缴费日期", "paid_on"),
}
COLUMN_LABELS = {key: names[0] for key, names in COLUMNS.items()}
REQUIRED_COLUMNS = ("settle_period", "item", "amount", "paid_on")
ITEM_LABELS = dict(ItemType.choices)
ITEM_BY_LABEL = {label: code for code, label in ItemType.choices}


# --- refusals ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    line: int  # the row number as a spreadsheet shows it (header = 1); 0 for the whole file
    reason: str

    @property
    def message(self) -> str:
        return f"第 {self.line} 行：{self.reason}" if self.line else self.reason


class ImportRefused(ValidationError):
    """The arrival file was refused as a whole: ``row_errors`` lists every bad row (or the one
    problem with the file itself). Nothing was written."""

    def __init__(self, row_errors: list[RowError], filename: str = ""):
        self.row_errors = row_errors
        self.filename = filename
        super().__init__([e.message for e in row_errors], code="import_refused")


# --- parsing single values -----------------------------------------------------------------


def _text(value) -> str:
    """A cell as text: Excel numbers without a spurious ".0", dates as yyyy-mm-dd."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return format(value, ".15g")  # what Excel shows; not money arithmetic
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return unicodedata.normalize("NFKC", str(value)).strip()


def parse_amount(value) -> Decimal:
    """A payment amount: more than zero, at most two decimals. Raises ValueError (Chinese)."""
    if isinstance(value, Decimal):
        number = value
    else:
        text = _text(value).replace(",", "").replace("，", "").removesuffix("元").strip()
        if not text:
            raise ValueError("金额不能为空")
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"金额“{text}”不是有效的数字") from None
    if not number.is_finite():
        raise ValueError("金额不是有效的数字")
    if number <= 0:
        raise ValueError("金额必须大于 0")
    if number > AMOUNT_MAX:
        raise ValueError("金额过大")
    if number != number.quantize(FEN, rounding=ROUND_DOWN):
        raise ValueError("金额最多保留两位小数（到分）")
    return number.quantize(FEN)


def parse_settle_period(value) -> int:
    text = _text(value)
    if not text:
        raise ValueError("结算期不能为空")
    try:
        period = Period.parse(text)
    except ValueError:
        raise ValueError(f"结算期“{text}”格式应为 yyyyMM，例如 202508") from None
    if not 190001 <= int(period) <= 299912:
        raise ValueError(f"结算期“{text}”超出范围")
    return int(period)


def parse_item(value) -> str:
    text = _text(value).replace(" ", "")
    if not text:
        raise ValueError("险种不能为空")
    if text in ITEM_LABELS:
        return text
    if text in ITEM_BY_LABEL:
        return ITEM_BY_LABEL[text]
    code = text[:3]  # "110企业职工基本养老保险"
    if code in ITEM_LABELS and text[3:] in ("", ITEM_LABELS[code]):
        return code
    raise ValueError(f"险种“{text}”无效，请填写险种代码（如 110）或险种名称")


def parse_paid_on(value) -> date:
    """yyyymmdd or yyyy-mm-dd (also yyyy/mm/dd), or an Excel date cell; not in the future."""
    if isinstance(value, datetime):
        day = value.date()
    elif isinstance(value, date):
        day = value
    else:
        text = _text(value)
        if not text:
            raise ValueError("到账日期不能为空")
        dashed = text.replace("/", "-").replace(".", "-")
        try:
            if len(text) == 8 and text.isdigit():
                day = date(int(text[:4]), int(text[4:6]), int(text[6:]))
            else:
                parts = dashed.split("-")
                if len(parts) != 3 or not all(p.isdigit() for p in parts):
                    raise ValueError
                day = date(int(parts[0]), int(parts[1]), int(parts[2]))
        except ValueError:
            raise ValueError(f"到账日期“{text}”无效，格式应为 yyyymmdd 或 yyyy-mm-dd") from None
    if day > timezone.localdate():
        raise ValueError("到账日期不能晚于今天")
    if day.year < 1990:
        raise ValueError("到账日期过早")
    return day


# --- reading the file ----------------------------------------------------------------------


def _read_bytes(upload) -> bytes:
    if isinstance(upload, bytes | bytearray):
        data = bytes(upload)
    else:
        size = getattr(upload, "size", None)
        if isinstance(size, int) and size > MAX_FILE_BYTES:
            raise ImportRefused([RowError(0, REASON_TOO_LARGE)])
        if callable(getattr(upload, "seek", None)):
            upload.seek(0)
        data = upload.read(MAX_FILE_BYTES + 1)
    if not data:
        raise ImportRefused([RowError(0, REASON_EMPTY)])
    if len(data) > MAX_FILE_BYTES:
        raise ImportRefused([RowError(0, REASON_TOO_LARGE)])
    return data


def _xlsx_rows(data: bytes) -> Iterator[list]:
    if data.startswith(XLSX_MAGIC):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                unpacked = sum(info.file_size for info in archive.infolist())
                names = set(archive.namelist())
        except zipfile.BadZipFile:
            raise ImportRefused([RowError(0, REASON_XLSX_CORRUPT)]) from None
        if unpacked > MAX_XLSX_UNPACKED:
            raise ImportRefused([RowError(0, REASON_TOO_LARGE)])
        if "xl/workbook.xml" not in names:  # a Word document or another zip
            raise ImportRefused([RowError(0, REASON_WRONG_TYPE)])
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheet = book.get_sheet_by_index(0)
        rows = iter(sheet.iter_rows())
    except Exception:  # calamine raises its own types (and IndexError for no sheet)
        raise ImportRefused([RowError(0, REASON_XLSX_CORRUPT)]) from None
    try:
        yield from rows
    except Exception:
        raise ImportRefused([RowError(0, REASON_XLSX_CORRUPT)]) from None


def _decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM) or GBK (GB18030, its superset); anything else is refused."""
    if b"\x00" in data[:4096]:  # UTF-16 or a binary file
        raise ImportRefused([RowError(0, REASON_WRONG_TYPE)])
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    for encoding in ("utf-8", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if any(unicodedata.category(ch) == "Cc" and ch not in "\r\n\t" for ch in text[:4096]):
            break
        return text
    raise ImportRefused([RowError(0, REASON_WRONG_TYPE)])


def _csv_rows(data: bytes) -> Iterator[list]:
    text = _decode_text(data)
    try:
        delimiter = csv.Sniffer().sniff(text[:4096], delimiters=",\t;").delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        yield from reader
    except csv.Error:
        raise ImportRefused(
            [RowError(reader.line_num, "CSV 格式有误（引号不成对或字段过长），无法读取")]
        ) from None


def _header_key(cell) -> str | None:
    name = _text(cell).replace(" ", "").lower().removesuffix("*")
    for key, names in COLUMNS.items():
        if name in names:
            return key
    return None


@dataclass
class RawRow:
    line: int
    cells: dict[str, object]


def read_arrival_file(upload) -> tuple[list[RawRow], str]:
    """The data rows of an arrival file keyed by column, and the file's SHA-256. File-level
    problems (type, size, encoding, missing columns) raise ImportRefused."""
    data = _read_bytes(upload)
    sha = hashlib.sha256(data).hexdigest()
    if data.startswith(XLSX_MAGIC) or data.startswith(XLS_MAGIC):
        source: Iterable[list] = _xlsx_rows(data)
    elif data.startswith(BINARY_MAGICS):
        raise ImportRefused([RowError(0, REASON_WRONG_TYPE)])
    else:
        source = _csv_rows(data)
    rows = iter(source)
    # The header is the first row naming our columns (a title row above it is skipped).
    columns: dict[int, str] = {}
    first_line = line = 0
    for cells in rows:
        line += 1
        if not any(_text(c) for c in cells):
            continue
        first_line = first_line or line
        columns = {}
        for index, cell in enumerate(cells):
            key = _header_key(cell)
            if key and key not in columns.values():
                columns[index] = key
        if len(columns) >= 2 or line >= HEADER_SEARCH_ROWS:
            break
    if not first_line:
        raise ImportRefused([RowError(0, REASON_NO_ROWS)])
    present = set(columns.values())
    missing = [COLUMN_LABELS[k] for k in REQUIRED_COLUMNS if k not in present]
    if not present & {"unit_no", "person_no"}:
        missing.insert(0, "单位编号（灵活就业人员为个人编号）")
    if missing:
        raise ImportRefused(
            [
                RowError(
                    first_line if len(columns) < 2 else line,
                    f"表头缺少列：{'、'.join(missing)}"
                    "（第一行应为表头：单位编号、结算期、险种、金额、到账日期）",
                )
            ]
        )
    out: list[RawRow] = []
    for cells in rows:
        line += 1
        values = {key: cells[i] if i < len(cells) else "" for i, key in columns.items()}
        if not any(_text(v) for v in values.values()):
            continue
        if len(out) >= MAX_ROWS:
            raise ImportRefused([RowError(0, REASON_TOO_MANY_ROWS)])
        out.append(RawRow(line, values))
    if not out:
        raise ImportRefused([RowError(0, REASON_NO_ROWS)])
    return out, sha


@dataclass
class ParsedRow:
    """One row's values on their own; a value that could not be read is None and ``reasons``
    says why."""

    line: int
    unit_no: str
    person_no: str
    settle_period: int | None
    item: str | None
    amount: Decimal | None
    paid_on: date | None
    reasons: list[str] = field(default_factory=list)


def parse_rows(raw_rows: list[RawRow]) -> list[ParsedRow]:
    """Each row's values without the database."""
    parsed: list[ParsedRow] = []
    for raw in raw_rows:
        reasons: list[str] = []
        values: dict = {}
        unit_no = _text(raw.cells.get("unit_no"))
        person_no = _text(raw.cells.get("person_no"))
        if unit_no and person_no:
            reasons.append("单位编号和个人编号只能填写一项（灵活就业人员只填个人编号）")
        elif not unit_no and not person_no:
            reasons.append("单位编号不能为空（灵活就业人员填写个人编号）")
        for key, parse in (
            ("settle_period", parse_settle_period),
            ("item", parse_item),
            ("amount", parse_amount),
            ("paid_on", parse_paid_on),
        ):
            try:
                values[key] = parse(raw.cells.get(key))
            except ValueError as e:
                values[key] = None
                reasons.append(str(e))
        parsed.append(ParsedRow(raw.line, unit_no, person_no, **values, reasons=reasons))
    return parsed
