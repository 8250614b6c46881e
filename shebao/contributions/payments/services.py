"""Payments (到账) and the tax bureau's arrival file (DOMAIN §4.5).

Money arrives per payer (a unit, or a flexible worker paying alone), 结算期 and item. Staff post
it one payment at a time (``payment_post``) or import the tax bureau's arrival file
(``payments_import``: all or nothing, every bad row listed with its row number). After each
write the arrears of the payer and 结算期 are rebuilt: within an item the payments fill the
oldest 费款所属期 first (``settlement.rebuild_arrears``).

The arrears rows (``Arrear``) are the ledger a payment is checked against: an item can be paid
only where the payer's settlement of that 结算期 produced arrears rows for it, and never beyond
what is still outstanding (an overpayment would have nowhere to go).

Locks: a unit's payment locks its settlement row (``settlement_reopen`` locks the same row, so a
settlement is never reopened under a payment); a flexible worker's payment locks the person
row; an import also locks the region row, which serialises imports of one region (the same file
imported twice is refused by its fingerprint)."""

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

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from python_calamine import CalamineWorkbook

from shebao.contributions.models import Arrear, ItemType, Payment, Settlement
from shebao.contributions.settlement.services import rebuild_arrears
from shebao.core.audit import audit_record
from shebao.core.models import AuditEntry, Region
from shebao.core.money import FEN
from shebao.core.periods import Period
from shebao.filings.materials import clean_filename
from shebao.registry.models import Person, Unit

ZERO = Decimal("0.00")
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


# --- results and refusals ------------------------------------------------------------------


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


@dataclass
class ImportRow:
    line: int
    unit: Unit | None
    person: Person | None
    settle_period: int
    item: str
    amount: Decimal
    paid_on: date

    @property
    def payer(self) -> str:
        return f"U{self.unit.pk}" if self.unit else f"P{self.person.pk}"

    @property
    def payer_no(self) -> str:
        return self.unit.unit_no if self.unit else self.person.person_no

    @property
    def payer_name(self) -> str:
        return self.unit.name if self.unit else self.person.name

    @property
    def item_label(self) -> str:
        return ITEM_LABELS.get(self.item, self.item)


@dataclass
class ImportPlan:
    """A checked arrival file: what importing it would write."""

    region: Region
    filename: str
    sha256: str
    rows: list[ImportRow]
    by_item: list[dict] = field(default_factory=list)  # item, label, count, amount

    @property
    def batch(self) -> str:
        return f"{self.region.pk}-{self.sha256[:24]}"

    @property
    def total(self) -> Decimal:
        return sum((r.amount for r in self.rows), ZERO)

    @property
    def payer_count(self) -> int:
        return len({r.payer for r in self.rows})


@dataclass
class ImportResult:
    batch: str
    count: int
    total: Decimal
    rebuilt: int  # (payer, 结算期) pairs whose arrears were rebuilt


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
class _RawRow:
    line: int
    cells: dict[str, object]


def read_arrival_file(upload) -> tuple[list[_RawRow], str]:
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
    out: list[_RawRow] = []
    for cells in rows:
        line += 1
        values = {key: cells[i] if i < len(cells) else "" for i, key in columns.items()}
        if not any(_text(v) for v in values.values()):
            continue
        if len(out) >= MAX_ROWS:
            raise ImportRefused([RowError(0, REASON_TOO_MANY_ROWS)])
        out.append(_RawRow(line, values))
    if not out:
        raise ImportRefused([RowError(0, REASON_NO_ROWS)])
    return out, sha


# --- permission ----------------------------------------------------------------------------


def _deny(actor, action: str, obj=None, **detail) -> PermissionDenied:
    audit_record(
        actor=actor, action=action, obj=obj, outcome=AuditEntry.Outcome.DENIED, detail=detail
    )
    return PermissionDenied("只有经办人员可以登记到账")


def _staff_region(actor, region, action: str) -> Region:
    """The region among the staff member's own; another region answers 404 like a missing one."""
    if getattr(actor, "kind", None) != "staff" or not actor.is_active:
        raise _deny(actor, action)
    code = getattr(region, "pk", region)
    found = actor.regions.filter(pk=code).first()
    if found is None:
        raise Http404
    return found


# --- arrears ledger ------------------------------------------------------------------------


def _outstanding(payers: set[str], periods: set[int], region_ids) -> dict[tuple, Decimal]:
    """Outstanding per (payer, 结算期, item) from the arrears rows, summed in Python."""
    result: dict[tuple, Decimal] = {}
    if not payers:
        return result
    rows = Arrear.objects.filter(
        payer__in=payers, settle_period__in=periods, region_id__in=list(region_ids)
    ).values_list("payer", "settle_period", "item", "due", "paid")
    for payer, period, item, due, paid in rows:
        key = (payer, period, item)
        result[key] = result.get(key, ZERO) + due - paid
    return result


def _no_settlement(payer_no: str, period: int, item: str) -> str:
    return f"{payer_no} 在结算期 {period} 没有“{item} {ITEM_LABELS.get(item, '')}”的结算记录"


def _too_much(amount: Decimal, left: Decimal, period: int, item: str) -> str:
    if left <= 0:
        return f"结算期 {period} 的 {item} {ITEM_LABELS.get(item, '')} 已足额到账，不能再登记"
    return (
        f"金额 {amount} 元超过结算期 {period} 的 {item} {ITEM_LABELS.get(item, '')}"
        f" 尚欠金额 {left} 元"
    )


def _lock_payers(units: Iterable[int], persons: Iterable[int], periods: Iterable[int]) -> None:
    """Row locks serialising payments with each other and with settlement_reopen."""
    units, persons, periods = list(units), list(persons), list(periods)
    if units:
        list(
            Settlement.objects.select_for_update()
            .filter(unit_id__in=units, settle_period__in=periods)
            .exclude(state=Settlement.State.WITHDRAWN)
            .values_list("pk", flat=True)
        )
    if persons:
        list(Person.objects.select_for_update().filter(pk__in=persons).values_list("pk", flat=True))


# --- one payment ---------------------------------------------------------------------------


def payment_post(
    *,
    actor,
    unit: Unit | None,
    settle_period,
    item: str,
    amount,
    paid_on: date,
    person: Person | None = None,
) -> Payment:
    """Post one payment (到账) of a unit — or of a flexible worker (``unit`` None, ``person``
    given) — for a 结算期 and item, then rebuild that payer's arrears of the 结算期. Staff of
    the payer's region only (another region answers 404); the item must have arrears rows in
    that 结算期 and the amount may not exceed what is outstanding."""
    if (unit is None) == (person is None):
        raise ValueError("exactly one of unit and person")
    target = unit or person
    if getattr(actor, "kind", None) != "staff" or not actor.is_active:
        raise _deny(actor, "payment.post", obj=target)
    region_ids = list(actor.regions.values_list("pk", flat=True))
    payer = f"U{unit.pk}" if unit else f"P{person.pk}"
    payer_no = unit.unit_no if unit else person.person_no
    if unit is not None:
        region_id = unit.region_id if unit.region_id in region_ids else None
    else:  # a flexible worker belongs to the regions where their arrears are
        region_id = (
            Arrear.objects.filter(payer=payer, region_id__in=region_ids)
            .values_list("region_id", flat=True)
            .first()
        )
    if region_id is None:
        raise Http404
    errors: dict[str, list[str]] = {}
    values: dict = {}
    for key, parse, value in (
        ("settle_period", parse_settle_period, settle_period),
        ("amount", parse_amount, amount),
        ("paid_on", parse_paid_on, paid_on),
    ):
        try:
            values[key] = parse(value)
        except ValueError as e:
            errors[key] = [str(e)]
    if item not in ITEM_LABELS:
        errors["item"] = ["请选择险种"]
    if errors:
        raise ValidationError(errors)
    period, money, day = values["settle_period"], values["amount"], values["paid_on"]
    with transaction.atomic():
        _lock_payers([unit.pk] if unit else [], [person.pk] if person else [], [period])
        left = _outstanding({payer}, {period}, [region_id]).get((payer, period, item))
        if left is None:
            raise ValidationError({"item": [_no_settlement(payer_no, period, item)]})
        if money > left:
            raise ValidationError({"amount": [_too_much(money, left, period, item)]})
        payment = Payment.objects.create(
            unit=unit,
            person=person,
            region_id=region_id,
            settle_period=period,
            item=item,
            amount=money,
            paid_on=day,
            source=Payment.Source.MANUAL,
            created_by=actor,
        )
        rebuild_arrears(
            unit_id=unit.pk if unit else None,
            person_id=person.pk if person else None,
            settle_period=period,
        )
        audit_record(
            actor=actor,
            action="payment.post",
            obj=target,
            region=region_id,
            detail={
                "payment": payment.pk,
                "settle_period": period,
                "item": item,
                "amount": str(money),
                "paid_on": day.isoformat(),
                "outstanding_before": str(left),
            },
        )
    return payment


# --- the arrival file ----------------------------------------------------------------------


@dataclass
class _Parsed:
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


def _parse_rows(raw_rows: list[_RawRow]) -> list[_Parsed]:
    """Each row's values without the database."""
    parsed: list[_Parsed] = []
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
        parsed.append(_Parsed(raw.line, unit_no, person_no, **values, reasons=reasons))
    return parsed


def _check_rows(region: Region, parsed: list[_Parsed]) -> tuple[list[ImportRow], list[RowError]]:
    """Check the rows against the registry and the arrears ledger (one query per kind of
    lookup, whatever the number of rows). Returns the good rows and every bad row with all
    its reasons, by line."""
    units = {
        u.unit_no: u
        for u in Unit.objects.filter(
            region=region, unit_no__in={p.unit_no for p in parsed if p.unit_no}
        )
    }
    persons = {
        p.person_no: p
        for p in Person.objects.filter(person_no__in={p.person_no for p in parsed if p.person_no})
    }
    payers = {f"U{u.pk}" for u in units.values()} | {f"P{p.pk}" for p in persons.values()}
    left = _outstanding(payers, {p.settle_period for p in parsed if p.settle_period}, [region.pk])
    flexible_here = set(
        Arrear.objects.filter(
            payer__in=[f"P{p.pk}" for p in persons.values()], region=region
        ).values_list("payer", flat=True)
    )
    rows: list[ImportRow] = []
    errors: list[RowError] = []
    seen: dict[tuple, int] = {}
    for p in parsed:
        unit = units.get(p.unit_no)
        person = persons.get(p.person_no)
        reasons = list(p.reasons)
        if p.unit_no and unit is None:
            reasons.insert(0, f"{region.name}没有单位编号为“{p.unit_no}”的单位")
        if p.person_no and (person is None or f"P{person.pk}" not in flexible_here):
            reasons.insert(0, f"{region.name}没有个人编号为“{p.person_no}”的灵活就业人员缴费记录")
        if reasons:
            errors.append(RowError(p.line, "；".join(reasons)))
            continue
        row = ImportRow(
            line=p.line,
            unit=unit,
            person=None if unit else person,
            settle_period=p.settle_period,
            item=p.item,
            amount=p.amount,
            paid_on=p.paid_on,
        )
        same = (row.payer, row.settle_period, row.item, row.amount, row.paid_on)
        if same in seen:
            errors.append(RowError(p.line, f"与第 {seen[same]} 行重复"))
            continue
        seen[same] = p.line
        key = (row.payer, row.settle_period, row.item)
        if key not in left:
            errors.append(RowError(p.line, _no_settlement(row.payer_no, *key[1:])))
            continue
        if row.amount > left[key]:
            errors.append(
                RowError(p.line, _too_much(row.amount, left[key], row.settle_period, row.item))
            )
            continue
        left[key] -= row.amount
        rows.append(row)
    return rows, errors


def _make_plan(region: Region, filename: str, sha: str, rows: list[ImportRow]) -> ImportPlan:
    by_item: dict[str, dict] = {}
    for r in rows:
        acc = by_item.setdefault(
            r.item, {"item": r.item, "label": r.item_label, "count": 0, "amount": ZERO}
        )
        acc["count"] += 1
        acc["amount"] += r.amount
    return ImportPlan(
        region=region,
        filename=filename,
        sha256=sha,
        rows=rows,
        by_item=[by_item[k] for k in sorted(by_item)],
    )


def _refuse_reimport(plan: ImportPlan) -> None:
    first = (
        Payment.objects.filter(batch=plan.batch)
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    if first is not None:
        when = timezone.localtime(first).strftime("%Y-%m-%d %H:%M")
        raise ImportRefused(
            [RowError(0, f"该文件已于 {when} 导入（批次 {plan.batch}），不能重复导入")],
            plan.filename,
        )


def _read(upload) -> tuple[str, str, list[_Parsed]]:
    filename = clean_filename(getattr(upload, "name", None))
    try:
        raw_rows, sha = read_arrival_file(upload)
    except ImportRefused as e:
        e.filename = filename
        raise
    return filename, sha, _parse_rows(raw_rows)


def _checked_plan(region: Region, filename: str, sha: str, parsed: list[_Parsed]) -> ImportPlan:
    rows, errors = _check_rows(region, parsed)
    if errors:
        raise ImportRefused(errors, filename)
    plan = _make_plan(region, filename, sha, rows)
    _refuse_reimport(plan)
    return plan


def payments_import_preview(*, actor, region, upload) -> ImportPlan:
    """Check an arrival file without writing anything (the confirmation page shows the plan).
    Raises ImportRefused listing every bad row."""
    region = _staff_region(actor, region, "payment.import")
    return _checked_plan(region, *_read(upload))


def payments_import(*, actor, region, upload) -> ImportResult:
    """Import the tax bureau's arrival file (到账文件) for a region: all rows or none. Every bad
    row is listed (ImportRefused) and nothing is written; on success one batch of payments,
    the arrears of every (payer, 结算期) touched rebuilt, and one audit row."""
    region = _staff_region(actor, region, "payment.import")
    filename, sha, parsed = _read(upload)
    with transaction.atomic():
        # One import of a region at a time; then lock the payers the file may touch (as
        # payment_post does) and check the rows against the ledger as it is now.
        Region.objects.select_for_update().filter(pk=region.pk).values_list("pk").first()
        _lock_payers(
            Unit.objects.filter(
                region=region, unit_no__in={p.unit_no for p in parsed if p.unit_no}
            ).values_list("pk", flat=True),
            Person.objects.filter(
                person_no__in={p.person_no for p in parsed if p.person_no}
            ).values_list("pk", flat=True),
            {p.settle_period for p in parsed if p.settle_period},
        )
        plan = _checked_plan(region, filename, sha, parsed)
        Payment.objects.bulk_create(
            Payment(
                unit=r.unit,
                person=r.person,
                region=region,
                settle_period=r.settle_period,
                item=r.item,
                amount=r.amount,
                paid_on=r.paid_on,
                source=Payment.Source.IMPORT,
                batch=plan.batch,
                created_by=actor,
            )
            for r in plan.rows
        )
        touched = sorted(
            {
                (r.unit.pk if r.unit else 0, r.person.pk if r.person else 0, r.settle_period)
                for r in plan.rows
            }
        )
        for unit_id, person_id, period in touched:
            rebuild_arrears(
                unit_id=unit_id or None, person_id=person_id or None, settle_period=period
            )
        audit_record(
            actor=actor,
            action="payment.import",
            obj=region,
            region=region,
            detail={
                "batch": plan.batch,
                "file": plan.filename,
                "sha256": plan.sha256,
                "rows": len(plan.rows),
                "payers": plan.payer_count,
                "total": str(plan.total),
                "by_item": {x["item"]: str(x["amount"]) for x in plan.by_item},
            },
        )
    return ImportResult(
        batch=plan.batch, count=len(plan.rows), total=plan.total, rebuilt=len(touched)
    )
