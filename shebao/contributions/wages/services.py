"""Wage bases (缴费基数申报) as filing kinds (issue 5 "Wage bases"; seeds 001, 003).

- 年度工资申报 (``wage_annual``): per person of the unit's roster, last year's average monthly
  wage becomes the base from the region's new period (``valid_from``: July of the declaration
  year by default, or a chosen month of that year). The page lists the roster with the latest
  base pre-filled (seed 003: 查询出的缴费基数信息为最近一次申报的基数, 从未申报过的显示为空); the
  operator changes what changed. A unit may have thousands of persons: the page is paginated
  and each page is saved into the same draft (rows of other pages stay as they are).
- 机关事业月度工资申报 (``wage_monthly``): 机关 ("30") and 事业单位 ("50") only. Per person the
  fixed wage items (WAGE_ITEMS); the base is their sum, from that month.

Each person is one FilingRow: ``payload["before"]`` the latest base (and items), ``["after"]``
the declared wage (and items). A save is all or nothing: every refused row says why (not a
number, negative, not enrolled here, in another open filing) and nothing is written.
The filing's payload carries the header (``year``/``valid_from`` or ``period``) and a revision
number that changes with every save, so ``clean_payload`` can tell a submit from an edit and
check every row against the registry again when the filing is submitted.

On approval each approved row writes a WageBase (person, unit, valid_from; a re-declaration of
the same month replaces it) and sets ``Enrolment.wage_base`` of the person's open enrolments at
the unit. The settlement engine reads the latest WageBase with valid_from ≤ period, else the
enrolment's wage; so when the new base starts after the region's current period and the person
has no earlier WageBase, the enrolment's old wage is first kept as a WageBase from the person's
start month (months before the new base keep the old one). Approval is set-based: a few queries
whatever the number of rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.core.paginator import Page, Paginator
from django.db import IntegrityError, transaction
from django.db.models import Max, QuerySet
from django.http import Http404

from shebao.contributions.models import Settlement, WageBase
from shebao.core.audit import audit_record
from shebao.core.ids import mask_id_number
from shebao.core.models import AuditEntry
from shebao.core.periods import Period
from shebao.filings import services as filing_services
from shebao.filings.business import BusinessKind
from shebao.filings.kinds import FilingHandler, ReviewPolicy
from shebao.filings.models import Filing, FilingKind, FilingRow, FilingState
from shebao.filings.services import lock_own_filing as _lock_own_filing
from shebao.registry.models import Enrolment, Person, Unit, UnitType

FEN = Decimal("0.01")
WAGE_MAX = Decimal("99999999.99")
DEFAULT_MONTH = 7  # the region's new period starts in July (DOMAIN §5)
PAGE_SIZE = 50
PROBLEMS_SHOWN = 20
PROBLEMS_LISTED = 100  # refused rows listed after an Excel import

# 分项工资 of 机关事业 units: a fixed list (code stored in WageBase.items -> label).
WAGE_ITEMS = (
    ("basic", "基本工资"),
    ("allowance", "津贴补贴"),
    ("performance", "绩效工资"),
    ("other", "其他"),
)
ITEM_LABELS = dict(WAGE_ITEMS)
INSTITUTION_UNIT_TYPES = (UnitType.GOVERNMENT.value, UnitType.INSTITUTION.value)
WAGE_KINDS = (FilingKind.WAGE_ANNUAL.value, FilingKind.WAGE_MONTHLY.value)
NOT_ON_ROSTER = "该人员不在本单位正常参保，不能申报"


def row_key(person_id: int) -> str:
    """The error key of one person's row (the pages put the message next to that row)."""
    return f"p{person_id}"


def is_institution(unit: Unit) -> bool:
    return unit.unit_type in INSTITUTION_UNIT_TYPES


def parse_amount(raw, label: str) -> tuple[Decimal | None, str]:
    """(amount, error): blank is (None, ""); money in yuan, ≥ 0, at most two decimals."""
    if raw is None:
        return None, ""
    if isinstance(raw, Decimal):
        value = raw
    else:
        text = str(raw).strip().replace(",", "").replace("，", "")
        if not text:
            return None, ""
        try:
            value = Decimal(text)
        except InvalidOperation:
            return None, f"{label}必须是数字（元），“{str(raw).strip()[:20]}”不是数字"
    if not value.is_finite():
        return None, f"{label}必须是数字（元）"
    if value < 0:
        return None, f"{label}不能为负数"
    if value > WAGE_MAX:
        return None, f"{label}超出范围，请核对"
    if value != value.quantize(FEN):
        return None, f"{label}最多保留两位小数"
    return value.quantize(FEN), ""


def _money(value: Decimal | None) -> str:
    return f"{value:.2f}" if value is not None else ""


# --- access -------------------------------------------------------------------------------------


def _operator_unit(actor) -> Unit:
    if getattr(actor, "kind", None) != "operator" or not actor.may_file(BusinessKind.WAGE):
        audit_record(actor=actor, action="wage.denied", outcome=AuditEntry.Outcome.DENIED)
        raise PermissionDenied("您没有办理此项业务的权限")
    return Unit.objects.select_related("region").get(pk=actor.unit_id)


def own_filing(actor, serial_no: str, kind: str) -> Filing:
    """The operator's unit's wage filing of this kind, else 404 (another unit's looks missing)."""
    try:
        return Filing.objects.select_related("unit", "region").get(
            serial_no=serial_no, unit_id=actor.unit_id, kind=kind
        )
    except Filing.DoesNotExist:
        raise Http404 from None


def last_settled_period(unit: Unit) -> int | None:
    return (
        Settlement.objects.filter(unit=unit)
        .exclude(state=Settlement.State.WITHDRAWN)
        .aggregate(m=Max("settle_period"))["m"]
    )


# --- headers ------------------------------------------------------------------------------------


def annual_years(unit: Unit) -> list[int]:
    year = Period.parse(unit.region.current_period).year
    return [year - 1, year, year + 1]


def clean_annual_header(unit: Unit, year, valid_from) -> tuple[dict, dict[str, str]]:
    """({"year", "valid_from"}, errors): the declaration year is around the region's current
    period; the new base starts in a month of that year (July unless chosen)."""
    errors: dict[str, str] = {}
    years = annual_years(unit)
    try:
        year = int(str(year).strip())
    except (TypeError, ValueError):
        year = None
    if year not in years:
        errors["year"] = f"申报年度只能是{'、'.join(str(y) for y in years)}年"
        return {}, errors
    text = str(valid_from or "").strip()
    try:
        start = Period.parse(text) if text else Period(year, DEFAULT_MONTH)
    except ValueError:
        errors["valid_from"] = "新基数起始年月格式应为yyyyMM，例如202507"
        return {}, errors
    if start.year != year:
        errors["valid_from"] = f"新基数起始年月须在申报年度内（{year}01 至 {year}12）"
        return {}, errors
    return {"year": year, "valid_from": int(start)}, errors


def monthly_bounds(unit: Unit) -> tuple[Period, Period]:
    """The months a unit may declare itemized wages for: after its last settlement, up to
    the region's next settlement period."""
    current = Period.parse(unit.region.current_period)
    settled = last_settled_period(unit)
    first = Period.parse(settled) + 1 if settled else current
    return min(first, current + 1), current + 1


def clean_monthly_header(unit: Unit, period) -> tuple[dict, dict[str, str]]:
    errors: dict[str, str] = {}
    try:
        month = Period.parse(str(period or "").strip())
    except ValueError:
        return {}, {"period": "工资所属年月格式应为yyyyMM，例如202508"}
    first, last = monthly_bounds(unit)
    settled = last_settled_period(unit)
    if settled is not None and int(month) <= settled:
        errors["period"] = (
            f"本单位已结算至{Period.parse(settled).label}，请申报{first.label}及以后月份的工资"
        )
    elif month > last:
        errors["period"] = f"工资所属年月不能晚于下一结算期（{last.label}）"
    elif month < first:
        errors["period"] = f"工资所属年月不能早于{first.label}"
    return ({} if errors else {"period": int(month)}), errors


# --- the latest base of each person -------------------------------------------------------------


@dataclass
class Latest:
    """What the page pre-fills: the latest declared base at the unit (a WageBase), else the
    wage declared at enrolment; empty when never declared."""

    wage: Decimal | None = None
    items: dict = field(default_factory=dict)
    valid_from: int | None = None
    source: str = ""  # "declared" | "enrolment" | ""

    def as_payload(self) -> dict:
        return {
            "wage": _money(self.wage),
            "items": dict(self.items),
            "valid_from": self.valid_from,
            "source": self.source,
        }

    @property
    def source_label(self) -> str:
        if self.source == "declared" and self.valid_from:
            return f"{Period.parse(self.valid_from).label}起"
        return {"enrolment": "参保时申报", "": "从未申报"}.get(self.source, "")


def latest_bases(unit: Unit, person_ids) -> dict[int, Latest]:
    ids = list(person_ids)
    result: dict[int, Latest] = {pid: Latest() for pid in ids}
    for pid, wage in (
        Enrolment.objects.filter(unit=unit, person_id__in=ids, stop_period__isnull=True)
        .order_by("-insurance_type")
        .values_list("person_id", "wage_base")
    ):
        if wage:  # ordered so the lowest type code (pension) wins
            result[pid] = Latest(wage=wage, source="enrolment")
    for pid, wage, items, valid_from in (
        WageBase.objects.filter(unit=unit, person_id__in=ids)
        .order_by("valid_from")
        .values_list("person_id", "wage", "items", "valid_from")
    ):
        result[pid] = Latest(wage=wage, items=items or {}, valid_from=valid_from, source="declared")
    return result


def _roster_ids(unit: Unit, person_ids) -> set[int]:
    """Which of the persons (ids, or a subquery of ids) have an open enrolment at the unit."""
    if not isinstance(person_ids, QuerySet):
        person_ids = list(person_ids)
    return set(
        Enrolment.objects.filter(
            unit=unit, person_id__in=person_ids, stop_period__isnull=True
        ).values_list("person_id", flat=True)
    )


def _blockers(unit: Unit, id_numbers, *, exclude_filing=None) -> dict[str, str]:
    """id_number -> why the person cannot be declared (in another not-yet-approved filing),
    in one query. Another unit's filing is not named."""
    rows = FilingRow.objects.filter(id_number__in=list(id_numbers), is_open=True).select_related(
        "filing"
    )
    if exclude_filing is not None:
        rows = rows.exclude(filing=exclude_filing)
    found = {}
    for row in rows:
        if row.filing.unit_id == unit.pk:
            found[row.id_number] = (
                f"已在业务 {row.filing.serial_no}（{row.filing.get_kind_display()}）中办理，"
                "请先提交办结或退单"
            )
        else:
            found[row.id_number] = "在其他单位有正在办理的业务，暂不能申报"
    return found


# --- saving a page into the draft ---------------------------------------------------------------


def _annual_after(raw) -> tuple[dict | None, str]:
    """(after, error); (None, "") when blank (the person is not declared)."""
    wage, error = parse_amount(raw, "月平均工资")
    if error:
        return None, error
    if wage is None:
        return None, ""
    if wage == 0:
        return None, "月平均工资应大于0"
    return {"wage": _money(wage)}, ""


def _monthly_after(raw: dict) -> tuple[dict | None, str]:
    """Itemized wages: blank items count as 0; all blank means not declared."""
    raw = raw or {}
    items: dict[str, str] = {}
    total = Decimal("0.00")
    blank = True
    for code, label in WAGE_ITEMS:
        value, error = parse_amount(raw.get(code), label)
        if error:
            return None, error
        if value is not None:
            blank = False
        value = value or Decimal("0.00")
        items[code] = _money(value)
        total += value
    if blank:
        return None, ""
    if total <= 0:
        return None, "各项工资合计应大于0"
    if total > WAGE_MAX:
        return None, "各项工资合计超出范围，请核对"
    return {"items": items, "wage": _money(total)}, ""


def _payload(filing: Filing | None, unit: Unit, header: dict, count: int, names) -> dict:
    rev = (filing.payload.get("rev", 0) if filing is not None else 0) + 1
    return {"rev": rev, "unit": unit.pk, **header, "count": count, "names": list(names)[:5]}


def _save_page(
    *, actor, unit: Unit, kind: str, filing: Filing | None, header: dict, errors, entries, build
):
    """Merge one page of entries (person id -> raw input) into the draft: a filled entry
    becomes (or replaces) the person's row, a blank one takes the person out."""
    errors = dict(errors)
    try:
        ids = [int(pid) for pid in entries]
    except (TypeError, ValueError):
        raise Http404 from None
    with transaction.atomic():
        locked = _lock_own_filing(filing, unit, kind) if filing is not None else None
        roster = _roster_ids(unit, ids)
        persons = {p.pk: p for p in Person.objects.filter(pk__in=roster)}
        latest = latest_bases(unit, roster)
        rows: dict[int, dict] = {}
        for pid in ids:
            if pid not in roster:
                errors[row_key(pid)] = NOT_ON_ROSTER
                continue
            after, error = build(entries[pid] if pid in entries else entries[str(pid)])
            if error:
                errors[row_key(pid)] = error
            elif after is not None:
                person = persons[pid]
                rows[pid] = {
                    "person": person,
                    "id_number": person.id_number,
                    "name": person.name,
                    "payload": {"before": latest[pid].as_payload(), "after": after},
                }
        by_number = {r["id_number"]: pid for pid, r in rows.items()}
        for id_number, message in _blockers(unit, by_number, exclude_filing=locked).items():
            errors[row_key(by_number[id_number])] = f"{rows[by_number[id_number]]['name']}{message}"
        if errors:
            raise ValidationError(errors)
        if locked is None:
            if not rows:
                raise ValidationError({NON_FIELD_ERRORS: "请至少填写一名人员的工资"})
            ordered = list(rows.values())
            # The rows go in below with one bulk insert (the blockers were checked above in
            # one query), not through filing_create's row-by-row check: a page may be a
            # whole unit's Excel file.
            created = filing_services.filing_create(
                actor=actor,
                kind=kind,
                region=unit.region,
                unit=unit,
                payload=_payload(None, unit, header, len(ordered), (r["name"] for r in ordered)),
            )
            _insert_rows(created, ordered)
            return created
        FilingRow.objects.filter(filing=locked, person_id__in=ids).delete()
        _insert_rows(locked, list(rows.values()))
        names = locked.rows.order_by("id").values_list("name", flat=True)[:5]
        payload = _payload(locked, unit, header, locked.rows.count(), names)
        return filing_services.filing_update(actor=actor, filing=locked, payload=payload)


def _insert_rows(filing: Filing, rows: list[dict]) -> None:
    """Bulk insert; a person taken by another filing meanwhile trips the database's one open
    filing per person and nothing is written."""
    try:
        with transaction.atomic():
            FilingRow.objects.bulk_create(
                (
                    FilingRow(
                        filing=filing,
                        person=r["person"],
                        id_number=r["id_number"],
                        name=r["name"],
                        payload=r["payload"],
                    )
                    for r in rows
                ),
                batch_size=1000,
            )
    except IntegrityError:
        raise ValidationError(
            {NON_FIELD_ERRORS: "有人员刚被其他业务占用，请刷新页面后重新保存"}
        ) from None


def annual_wage_save(
    *, actor, year, valid_from, entries: dict, filing: Filing | None = None
) -> Filing:
    """Save one page of the annual declaration (年度工资申报): ``entries`` maps a person id
    to the typed average monthly wage of last year ("" takes the person out). A new draft when
    ``filing`` is None. Raises ValidationError keyed by header field and ``row_key(person)``."""
    unit = _operator_unit(actor)
    header, errors = clean_annual_header(unit, year, valid_from)
    return _save_page(
        actor=actor,
        unit=unit,
        kind=FilingKind.WAGE_ANNUAL,
        filing=filing,
        header=header,
        errors=errors,
        entries=entries,
        build=_annual_after,
    )


def monthly_wage_save(*, actor, period, entries: dict, filing: Filing | None = None) -> Filing:
    """Save one page of 机关事业月度工资申报: ``entries`` maps a person id to {item code: amount}
    (all blank takes the person out). Only 机关 and 事业单位 declare itemized wages."""
    unit = _operator_unit(actor)
    if not is_institution(unit):
        raise ValidationError({NON_FIELD_ERRORS: "只有机关、事业单位申报月度分项工资"})
    header, errors = clean_monthly_header(unit, period)
    return _save_page(
        actor=actor,
        unit=unit,
        kind=FilingKind.WAGE_MONTHLY,
        filing=filing,
        header=header,
        errors=errors,
        entries=entries,
        build=_monthly_after,
    )


def wage_row_remove(*, actor, filing: Filing, row_id: int) -> Filing:
    """Take one person out of a draft or returned wage declaration (e.g. one who has left the
    unit since it was saved and so is no longer on the pages)."""
    if filing.kind not in WAGE_KINDS:
        raise Http404
    unit = _operator_unit(actor)
    with transaction.atomic():
        locked = _lock_own_filing(filing, unit, filing.kind)
        deleted, _ = FilingRow.objects.filter(filing=locked, pk=row_id).delete()
        if not deleted:
            raise Http404
        names = locked.rows.order_by("id").values_list("name", flat=True)[:5]
        header = {k: v for k, v in locked.payload.items() if k in ("year", "valid_from", "period")}
        payload = _payload(locked, unit, header, locked.rows.count(), names)
        return filing_services.filing_update(actor=actor, filing=locked, payload=payload)


def stale_rows(filing: Filing) -> list[FilingRow]:
    """Rows of a draft whose person is no longer on the unit's open roster."""
    unit = Unit.objects.get(pk=filing.unit_id)
    rows = list(filing.rows.all().only("id", "person_id", "name", "id_number"))
    roster = _roster_ids(unit, filing.rows.values("person_id"))
    return [r for r in rows if r.person_id not in roster]


# --- the Excel list (年度工资申报 of large units) -------------------------------------------------

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


def annual_template_rows(actor, filing: Filing | None) -> list[list[str]]:
    """Every person of the roster with the latest base and what to declare pre-filled (the
    draft's value, else the latest base), for the Excel download."""
    unit = Unit.objects.select_related("region").get(pk=actor.unit_id)
    persons = list(wage_roster(actor).only("pk", "person_no", "name", "id_number"))
    ids = [p.pk for p in persons]
    latest = latest_bases(unit, ids)
    draft = {}
    if filing is not None:
        draft = {
            pid: after.get("wage", "")
            for pid, after in ((r.person_id, r.payload.get("after", {})) for r in filing.rows.all())
        }
    return [
        [
            p.person_no,
            p.name,
            mask_id_number(p.id_number),
            _money(latest[p.pk].wage),
            draft[p.pk] if p.pk in draft else _money(latest[p.pk].wage),
        ]
        for p in persons
    ]


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


def read_annual_upload(upload) -> list[tuple[int, str, str, str]]:
    """(line, person no, name, wage) of each filled row of the uploaded list. A file that is
    not our .xlsx list raises ValidationError with the reason."""
    import io
    import zipfile

    from python_calamine import CalamineWorkbook

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
        rows = list(sheet.iter_rows())
    except ValidationError:
        raise
    except Exception:  # calamine and zipfile raise their own types
        raise ValidationError("Excel 文件已损坏或格式不对，无法读取") from None
    header_at = next((i for i, r in enumerate(rows) if any(_cell_text(c) for c in r)), None)
    if header_at is None:
        raise ValidationError("文件中没有数据")
    names = [_cell_text(c) for c in rows[header_at]]
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


def annual_wage_import(*, actor, year, valid_from, upload, filing: Filing | None = None) -> Filing:
    """Save the uploaded Excel list into the declaration at once (all or nothing): every row
    that is refused is listed with its line number and the reason."""
    unit = _operator_unit(actor)
    rows = read_annual_upload(upload)
    roster = Enrolment.objects.filter(unit=unit, stop_period__isnull=True).values("person_id")
    persons = {
        p.person_no: p
        for p in Person.objects.filter(
            person_no__in={no for _, no, _, _ in rows}, pk__in=roster
        ).only("pk", "person_no", "name")
    }
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
    header, errors = clean_annual_header(unit, year, valid_from)
    try:
        if problems:
            raise ValidationError({NON_FIELD_ERRORS: problems, **errors})
        return _save_page(
            actor=actor,
            unit=unit,
            kind=FilingKind.WAGE_ANNUAL,
            filing=filing,
            header=header,
            errors=errors,
            entries=entries,
            build=_annual_after,
        )
    except ValidationError as e:
        if not hasattr(e, "error_dict"):
            raise
        out: dict[str, list[str]] = {}
        names = {v.pk: v.name for v in persons.values()}
        for key, messages in e.message_dict.items():
            if key.startswith("p") and key[1:].isdigit():
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
        raise ValidationError(out) from None


# --- applying approved declarations -------------------------------------------------------------


def apply_bases(*, unit: Unit, valid_from: int, declared: dict[int, tuple], filing) -> dict:
    """Write the approved bases: ``declared`` maps person id -> (wage, items). Set-based."""
    ids = list(declared)
    existing = {
        wb.person_id: wb
        for wb in WageBase.objects.filter(unit=unit, valid_from=valid_from, person_id__in=ids)
    }
    earlier = set(
        WageBase.objects.filter(
            unit=unit, valid_from__lt=valid_from, person_id__in=ids
        ).values_list("person_id", flat=True)
    )
    enrolments = list(
        Enrolment.objects.filter(unit=unit, person_id__in=ids, stop_period__isnull=True).order_by(
            "person_id", "insurance_type"
        )
    )
    future = valid_from > unit.region.current_period
    create: list[WageBase] = []
    kept = 0
    if future:
        # Keep the old wage for the months before the new base (see the module docstring).
        first: dict[int, Enrolment] = {}
        start: dict[int, int] = {}
        for e in enrolments:
            first.setdefault(e.person_id, e)
            start[e.person_id] = min(start.get(e.person_id, e.start_period), e.start_period)
        for pid, e in first.items():
            if pid not in earlier and e.wage_base > 0 and start[pid] < valid_from:
                create.append(
                    WageBase(person_id=pid, unit=unit, valid_from=start[pid], wage=e.wage_base)
                )
                kept += 1
    update: list[WageBase] = []
    for pid, (wage, items) in declared.items():
        wb = existing.get(pid)
        if wb is None:
            create.append(
                WageBase(
                    person_id=pid,
                    unit=unit,
                    valid_from=valid_from,
                    wage=wage,
                    items=items,
                    filing=filing,
                )
            )
        else:
            wb.wage, wb.items, wb.filing = wage, items, filing
            update.append(wb)
    WageBase.objects.bulk_create(create, batch_size=1000)
    WageBase.objects.bulk_update(update, ["wage", "items", "filing"], batch_size=1000)
    for e in enrolments:
        e.wage_base = declared[e.person_id][0]
    Enrolment.objects.bulk_update(enrolments, ["wage_base"], batch_size=1000)
    _refresh_roster(unit, ids)
    return {"declared": len(declared), "replaced": len(update), "kept_old_base": kept}


def _refresh_roster(unit: Unit, person_ids: list[int]) -> None:
    """The roster read model folds in Enrolment.wage_base: recompute the declared persons'
    entries in this transaction."""
    from shebao.registry.roster import roster_refresh

    roster_refresh(unit_ids=[unit.pk], person_ids=person_ids)


# --- the handlers -------------------------------------------------------------------------------


class _WageHandler(FilingHandler):
    business_kind = BusinessKind.WAGE
    review_policy = ReviewPolicy.VIP_AUTO  # wage declarations are reviewed for normal units
    uses_rows = True
    duplicate_message = "本单位已有同一期间的缴费基数申报正在办理，请在待办业务中继续办理"

    def subject_key(self, payload: dict) -> str:
        return f"U{payload.get('unit', '')}:{self.period_key(payload)}"

    def period_key(self, payload: dict) -> str:
        raise NotImplementedError

    def valid_from(self, payload: dict) -> int:
        raise NotImplementedError

    def clean_header(self, unit: Unit, payload: dict) -> dict[str, str]:
        raise NotImplementedError

    def build(self, after: dict) -> tuple[dict | None, str]:
        raise NotImplementedError

    def clean_payload(self, payload: dict, *, filing) -> dict:
        """On a save the services checked everything. On submit (the stored ``rev``) every row
        is checked against the registry again: the roster may have changed meanwhile."""
        if filing is not None and payload.get("rev") == filing.payload.get("rev"):
            problems = self.check_rows(filing)
            if problems:
                more = len(problems) - PROBLEMS_SHOWN
                shown = problems[:PROBLEMS_SHOWN] + ([f"另有 {more} 人有误"] if more > 0 else [])
                raise ValidationError(shown)
        return payload

    def check_rows(self, filing: Filing) -> list[str]:
        unit = Unit.objects.select_related("region").get(pk=filing.unit_id)
        problems = list(self.clean_header(unit, filing.payload).values())
        rows = list(filing.rows.all())
        roster = _roster_ids(unit, filing.rows.values("person_id"))
        for row in rows:
            if row.person_id not in roster:
                problems.append(f"{row.name}：{NOT_ON_ROSTER}")
                continue
            after, error = self.build(row.payload.get("after", {}))
            if error or after is None:
                problems.append(f"{row.name}：{error or '没有填写工资'}")
        return problems

    def apply(self, *, filing, actor) -> None:
        unit = Unit.objects.select_related("region").get(pk=filing.unit_id)
        header_problems = self.clean_header(unit, filing.payload)
        if header_problems:
            raise ValidationError(list(header_problems.values()))
        approved = filing.rows.filter(result=FilingRow.Result.APPROVED)
        rows = list(approved)
        roster = _roster_ids(unit, approved.values("person_id"))
        declared: dict[int, tuple] = {}
        for row in rows:
            after, error = self.build(row.payload.get("after", {}))
            if row.person_id not in roster:
                error = "已不在本单位正常参保"
            if error or after is None:
                raise ValidationError(f"{row.name}：{error}（可将该人员设为不通过）")
            declared[row.person_id] = (Decimal(after["wage"]), after.get("items", {}))
        valid_from = self.valid_from(filing.payload)
        summary = apply_bases(unit=unit, valid_from=valid_from, declared=declared, filing=filing)
        audit_record(
            actor=actor,
            action=f"wage_base.apply.{self.kind}",
            obj=filing,
            region=unit.region_id,
            detail={"valid_from": valid_from, **summary},
        )


class AnnualWageHandler(_WageHandler):
    kind = FilingKind.WAGE_ANNUAL
    edit_url_name = "unit:wages_annual_edit"
    labels = {"wage": "缴费工资（上年月平均工资，元）"}

    def period_key(self, payload: dict) -> str:
        return str(payload.get("year", ""))

    def valid_from(self, payload: dict) -> int:
        return int(payload["valid_from"])

    def clean_header(self, unit: Unit, payload: dict) -> dict[str, str]:
        _, errors = clean_annual_header(unit, payload.get("year"), payload.get("valid_from"))
        return errors

    def build(self, after: dict) -> tuple[dict | None, str]:
        return _annual_after(after.get("wage"))

    def title(self, payload: dict) -> str:
        start = Period.parse(payload["valid_from"]).label if payload.get("valid_from") else ""
        return _title(payload, f"{payload.get('year', '')}年度工资申报（{start}起）")

    def row_display(self, row) -> list[tuple[str, str, str]]:
        before = row.payload.get("before", {})
        after = row.payload.get("after", {})
        return [("缴费工资（元/月）", before.get("wage") or "从未申报", after.get("wage", ""))]


class MonthlyWageHandler(_WageHandler):
    kind = FilingKind.WAGE_MONTHLY
    edit_url_name = "unit:wages_monthly_edit"
    labels = {"wage": "缴费基数（分项工资合计，元）"}

    def period_key(self, payload: dict) -> str:
        return str(payload.get("period", ""))

    def valid_from(self, payload: dict) -> int:
        return int(payload["period"])

    def clean_header(self, unit: Unit, payload: dict) -> dict[str, str]:
        if not is_institution(unit):
            return {"period": "只有机关、事业单位申报月度分项工资"}
        if not payload.get("period"):
            return {"period": "请填写工资所属年月"}
        try:
            Period.parse(payload["period"])
        except ValueError:
            return {"period": "工资所属年月格式应为yyyyMM"}
        return {}

    def check_rows(self, filing: Filing) -> list[str]:
        problems = super().check_rows(filing)
        unit = Unit.objects.select_related("region").get(pk=filing.unit_id)
        _, errors = clean_monthly_header(unit, filing.payload.get("period"))
        return list(errors.values()) + problems

    def build(self, after: dict) -> tuple[dict | None, str]:
        return _monthly_after(after.get("items", {}))

    def title(self, payload: dict) -> str:
        month = Period.parse(payload["period"]).label if payload.get("period") else ""
        return _title(payload, f"{month}分项工资申报")

    def row_display(self, row) -> list[tuple[str, str, str]]:
        before = row.payload.get("before", {})
        after = row.payload.get("after", {})
        b_items, a_items = before.get("items") or {}, after.get("items") or {}
        lines = [
            (label, b_items.get(code, ""), a_items.get(code, "")) for code, label in WAGE_ITEMS
        ]
        lines.append(("缴费基数（合计）", before.get("wage") or "从未申报", after.get("wage", "")))
        return lines


def _title(payload: dict, what: str) -> str:
    names = payload.get("names", [])
    count = payload.get("count", len(names))
    shown = "、".join(names[:3])
    more = "等" if count > 3 else ""
    return f"{what} {shown}{more}{count}人"[:200]


# --- reads for the pages ------------------------------------------------------------------------


@dataclass
class Entry:
    """One person on a page of the declaration."""

    person: Person
    latest: Latest
    in_draft: bool = False
    draft_after: dict = field(default_factory=dict)
    blocker: str = ""

    @property
    def masked_id(self) -> str:
        return mask_id_number(self.person.id_number)

    def initial_wage(self) -> str:
        if self.in_draft:
            return self.draft_after.get("wage", "")
        return _money(self.latest.wage)

    def initial_items(self) -> dict[str, str]:
        if self.in_draft:
            return dict(self.draft_after.get("items") or {})
        return dict(self.latest.items or {})


def wage_roster(actor, *, q: str = "") -> QuerySet[Person]:
    """The persons the unit may declare: its open roster, searchable by name or person no."""
    from shebao.registry.enrolment.selectors import unit_roster

    return unit_roster(actor, q=q)


def page_entries(actor, *, filing: Filing | None, q: str, page_number, page_size=None):
    """(page, entries) of the roster with what each row shows: the latest base, the draft's
    value, and whether another open filing holds the person."""
    unit = Unit.objects.select_related("region").get(pk=actor.unit_id)
    size = page_size or PAGE_SIZE
    page: Page = Paginator(wage_roster(actor, q=q), size).get_page(page_number)
    persons = list(page)
    ids = [p.pk for p in persons]
    latest = latest_bases(unit, ids)
    draft = {}
    if filing is not None:
        draft = {r.person_id: r for r in filing.rows.filter(person_id__in=ids)}
    blockers = _blockers(unit, [p.id_number for p in persons], exclude_filing=filing)
    entries = []
    for p in persons:
        row = draft.get(p.pk)
        entries.append(
            Entry(
                person=p,
                latest=latest.get(p.pk, Latest()),
                in_draft=row is not None,
                draft_after=row.payload.get("after", {}) if row else {},
                blocker=f"{p.name}{blockers[p.id_number]}" if p.id_number in blockers else "",
            )
        )
    return page, entries


def unit_wage_filings(actor, *, open_only: bool = False) -> QuerySet[Filing]:
    qs = Filing.objects.filter(unit_id=actor.unit_id, kind__in=WAGE_KINDS)
    if open_only:
        qs = qs.filter(state__in=[FilingState.DRAFT, FilingState.SUBMITTED, FilingState.RETURNED])
    return qs.order_by("-created_at", "-id")
