"""The Excel list of 年度工资申报 (large units): the template's columns, reading an uploaded
.xlsx into (line, person no, name, wage) rows, matching those rows to the unit's roster and
turning refusals into messages that name the line. No ORM here: the service
``annual_wage_import`` reads the roster and saves."""

from __future__ import annotations

import io
import zipfile

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from python_calamine import CalamineWorkbook

from shebao.contributions.wages.calc import is_row_key

TEMPLATE_HEADER = [
    "个人编号",
    "姓名",
    "身份证号码（部分隐藏）",
    "最近申报基数（元）",
    "上年月平均工资（元）",
]
TEMPLATE_NOTE = "请只填写“上年月平均工资（元）”一列；个人编号和姓名不要修改，清空工资即不申报该人员"
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_UNPACKED_BYTES = 60 * 1024 * 1024
MAX_UPLOAD_ROWS = 50_000
XLSX_MAGIC = b"PK\x03\x04"
PROBLEMS_LISTED = 100  # refused rows listed after an import


def _cell_text(cell) -> str:
    """Text of a cell read by calamine: whole floats lose their ".0", other floats keep the
    digits that were typed (repr), never a binary float's expansion."""
    if cell is None:
        return ""
    if isinstance(cell, bool):
        return str(cell)
    if isinstance(cell, float):
        return str(int(cell)) if cell.is_integer() else repr(cell)
    text = str(cell).strip()
    if text[:1] == "'" and text[1:2] in ("=", "+", "-", "@"):
        text = text[1:]  # our own export's guard against formulas (core.excel.safe_cell)
    return text


def _sheet_rows(upload) -> list:
    """The first sheet's rows of an uploaded .xlsx, after the size and format checks."""
    if upload.size > MAX_UPLOAD_BYTES:
        raise ValidationError("文件超过 5 MB，请分批导入")
    data = upload.read()
    if not data.startswith(XLSX_MAGIC):
        raise ValidationError("请上传从本页下载的 Excel 文件（.xlsx）")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
            if "xl/workbook.xml" not in archive.namelist():
                raise ValidationError("请上传从本页下载的 Excel 文件（.xlsx）")
        if unpacked > MAX_UNPACKED_BYTES:
            raise ValidationError("文件内容过大，请分批导入")
        sheet = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0)
        return list(sheet.iter_rows())
    except ValidationError:
        raise
    except Exception:  # calamine and zipfile raise their own types
        raise ValidationError("Excel 文件已损坏或格式不对，无法读取") from None


def _columns(names: list[str]) -> dict[str, int]:
    columns = {}
    for index, name in enumerate(names):
        for key, prefix in (("no", "个人编号"), ("name", "姓名"), ("wage", "上年月平均工资")):
            if name.startswith(prefix) and key not in columns:
                columns[key] = index
    missing = [
        label
        for key, label in (("no", "个人编号"), ("wage", "上年月平均工资"))
        if key not in columns
    ]
    if missing:
        raise ValidationError(f"表头缺少列：{'、'.join(missing)}（请使用本页下载的模板）")
    return columns


def read_annual_upload(upload) -> list[tuple[int, str, str, str]]:
    """(line, person no, name, wage) of each filled row of the uploaded list. A file that is
    not our .xlsx list raises ValidationError with the reason."""
    rows = _sheet_rows(upload)
    header_at = next((i for i, r in enumerate(rows) if any(_cell_text(c) for c in r)), None)
    if header_at is None:
        raise ValidationError("文件中没有数据")
    columns = _columns([_cell_text(c) for c in rows[header_at]])
    out = []
    for offset, cells in enumerate(rows[header_at + 1 :], start=header_at + 2):

        def cell(key, cells=cells):
            i = columns.get(key)
            return _cell_text(cells[i]) if i is not None and i < len(cells) else ""

        if not any(_cell_text(c) for c in cells):
            continue
        out.append((offset, cell("no"), cell("name"), cell("wage")))
        if len(out) > MAX_UPLOAD_ROWS:
            raise ValidationError(f"超过 {MAX_UPLOAD_ROWS} 行，请分批导入")
    if not out:
        raise ValidationError("文件中没有人员")
    return out


def match_rows(rows, persons: dict) -> tuple[dict[int, str], dict[int, str], list[str]]:
    """(entries, where, problems): ``persons`` maps person no -> the roster's person;
    ``entries`` maps person id -> typed wage, ``where`` person id -> "第n行"; a row whose
    person is not on the roster, whose name does not match or that repeats a person is a
    problem."""
    problems: list[str] = []
    entries: dict[int, str] = {}
    where: dict[int, str] = {}
    for line, no, name, wage in rows:
        person = persons.get(no)
        if person is None:
            problems.append(
                f"第{line}行：个人编号“{no}”不是本单位正常参保人员（请不要修改模板中的个人编号）"
            )
        elif name and name != person.name:
            problems.append(
                f"第{line}行：个人编号“{no}”与姓名“{name}”不符（请不要修改个人编号和姓名）"
            )
        elif person.pk in entries:
            problems.append(f"第{line}行：个人编号“{no}”重复（{where[person.pk]}）")
        else:
            entries[person.pk] = wage
            where[person.pk] = f"第{line}行"
    return entries, where, problems


def line_errors(error: ValidationError, *, where: dict[int, str], names: dict[int, str]):
    """The save's ValidationError with each row error (keyed p<person id>) turned into a
    message naming the Excel line and the person; at most PROBLEMS_LISTED of them."""
    out: dict[str, list[str]] = {}
    for key, messages in error.message_dict.items():
        if is_row_key(key):
            pid = int(key[1:])
            out.setdefault(NON_FIELD_ERRORS, []).extend(
                f"{where.get(pid, '')}（{names.get(pid, '')}）：{m}" for m in messages
            )
        else:
            out.setdefault(key, []).extend(messages)
    listed = out.get(NON_FIELD_ERRORS, [])
    if len(listed) > PROBLEMS_LISTED:
        more = len(listed) - PROBLEMS_LISTED
        out[NON_FIELD_ERRORS] = [*listed[:PROBLEMS_LISTED], f"另有 {more} 行有误，未全部列出"]
    return ValidationError(out)
