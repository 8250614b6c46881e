"""Settlement reads: who may settle, the open filings that block a settlement, which units
settle 有变动, the payment notice figures (单位缴费通知单) and the preview computed without saving,
the progress of a running settlement, the 缴费明细 rows of the Excel export (money as
``Decimal``), the pages' data for the unit and the back office, and the unpaid 费款所属期 a stop
filing asks about (``core/hooks.py``)."""

from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal

from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import F, OuterRef, Q, Subquery
from django.http import Http404

from shebao.contributions.models import (
    ContributionLine,
    ItemType,
    RegionSettlementJob,
    Settlement,
)
from shebao.contributions.settlement.engine import (
    LINE_COLUMNS,
    python_line_rows,
    sql_line_rows,
)
from shebao.core.periods import Period
from shebao.filings.business import BusinessKind
from shebao.filings.models import Filing, FilingKind, FilingState
from shebao.registry import access
from shebao.registry.models import Unit

ZERO = Decimal("0.00")
ITEM_LABELS = dict(ItemType.choices)
KIND_LABELS = dict(ContributionLine.Kind.choices)
# Filings that change who or what a unit pays for: they must be finished before settling.
CHANGE_KINDS = [
    FilingKind.ENROLMENT,
    FilingKind.STOP,
    FilingKind.TRANSFER_IN,
    FilingKind.TRANSFER_OUT,
    "wage_annual",
    "wage_monthly",
    "back_pay",
    "adjust_pay",
    "supplement_pay",
]
LINE_FIELDS = (
    "item",
    "belongs_period",
    "kind",
    "base",
    "unit_amount",
    "personal_amount",
    "person_id",
)
DETAIL_HEADER = [
    "个人编号",
    "姓名",
    "证件号码",
    "险种",
    "费款所属期",
    "类型",
    "缴费基数",
    "单位应缴",
    "个人应缴",
    "合计",
    "低于下限",
    "高于上限",
]


def may_settle(actor, unit: Unit) -> bool:
    """The unit's own operator allowed to settle, or staff of its region."""
    if access.is_operator(actor):
        return actor.unit_id == unit.pk and actor.may_file(BusinessKind.SETTLEMENT)
    if access.is_staff_member(actor):
        return actor.regions.filter(pk=unit.region_id).exists()
    return False


def blocking_filings(unit: Unit):
    """Open filings of the unit that change its contributions (有变动结算 waits for them)."""
    return Filing.objects.filter(
        unit=unit,
        kind__in=CHANGE_KINDS,
        state__in=[FilingState.DRAFT, FilingState.SUBMITTED, FilingState.RETURNED],
    ).order_by("serial_no")


def units_with_open_filings(unit_ids) -> set[int]:
    """Those of the units that have a filing open that changes their contributions."""
    return set(
        Filing.objects.filter(
            unit__in=unit_ids,
            kind__in=CHANGE_KINDS,
            state__in=[FilingState.DRAFT, FilingState.SUBMITTED, FilingState.RETURNED],
        ).values_list("unit_id", flat=True)
    )


def changed_since_last_settlement(unit: Unit) -> bool:
    return unit.pk in changed_units([unit.pk], unit.region.current_period)


def changed_units(unit_ids: list[int], period: int) -> set[int]:
    """The units (of `unit_ids`) that settle 有变动 in `period`: a change filing approved
    since their last confirmed settlement (any, before the first), or back pay waiting."""
    last = (
        Settlement.objects.filter(unit_id=OuterRef("unit_id"), state=Settlement.State.CONFIRMED)
        .order_by("-settle_period")
        .values("created_at")[:1]
    )
    changed = set(
        Filing.objects.filter(
            unit_id__in=unit_ids, kind__in=CHANGE_KINDS, state=FilingState.APPROVED
        )
        .annotate(last=Subquery(last))
        .filter(Q(last__isnull=True) | Q(decided_at__gt=F("last")))
        .values_list("unit_id", flat=True)
        .distinct()
    )
    changed.update(
        ContributionLine.objects.filter(
            unit_id__in=unit_ids,
            settlement__isnull=True,
            withdrawn=False,
            settle_period__lte=period,
        )
        .values_list("unit_id", flat=True)
        .distinct()
    )
    return changed


def pending_back_pay(unit: Unit, period: int):
    """Back-pay lines approved up to this 结算期 that no settlement has picked up yet."""
    return ContributionLine.objects.filter(
        unit=unit, settlement__isnull=True, withdrawn=False, settle_period__lte=period
    )


def _sum_python(rows, keys) -> dict:
    """Money sums in Python (SQLite stores decimals as floats: never add them in SQL there)."""
    out: dict = defaultdict(
        lambda: {"n": 0, "base": ZERO, "unit": ZERO, "personal": ZERO, "persons": set()}
    )
    for row in rows:
        key = tuple(row[k] for k in keys)
        acc = out[key]
        acc["n"] += 1
        acc["base"] += row["base"]
        acc["unit"] += row["unit_amount"]
        acc["personal"] += row["personal_amount"]
        acc["persons"].add(row["person_id"])
    return out


def line_rows(lines) -> list[dict]:
    return list(lines.values(*LINE_FIELDS))


def notice_summary(rows: list[dict]) -> dict:
    """The payment notice figures (单位缴费通知单): per item headcount, base, unit and personal
    amounts for this month; back pay per item and 费款所属期; totals. Same numbers as the
    Excel detail, summed from the same lines."""
    this_month = (ContributionLine.Kind.NORMAL, ContributionLine.Kind.FLEXIBLE)
    current = [r for r in rows if r["kind"] in this_month]
    back = [r for r in rows if r["kind"] not in this_month]
    by_item = _sum_python(current, ["item"])
    by_back = _sum_python(back, ["item", "belongs_period"])
    items = [
        {
            "item": k[0],
            "headcount": len(v["persons"]),
            "base": v["base"],
            "unit": v["unit"],
            "personal": v["personal"],
            "total": v["unit"] + v["personal"],
        }
        for k, v in sorted(by_item.items())
    ]
    back_items = [
        {
            "item": k[0],
            "belongs_period": k[1],
            "headcount": len(v["persons"]),
            "base": v["base"],
            "unit": v["unit"],
            "personal": v["personal"],
            "total": v["unit"] + v["personal"],
        }
        for k, v in sorted(by_back.items())
    ]
    unit_total = sum((r["unit_amount"] for r in rows), ZERO)
    personal_total = sum((r["personal_amount"] for r in rows), ZERO)
    return {
        "items": items,
        "back_items": back_items,
        "headcount": len({r["person_id"] for r in current}),
        "unit_total": unit_total,
        "personal_total": personal_total,
        "total": unit_total + personal_total,
    }


def settlement_preview(*, actor, unit: Unit) -> dict:
    """What settling now would produce (核对人数与缴费基数), computed without saving."""
    if not may_settle(actor, unit):
        access.deny(actor, action="settlement.preview", object_type="unit", object_id=str(unit.pk))
        raise PermissionDenied("您没有办理结算的权限")
    period = unit.region.current_period
    if connection.vendor == "postgresql":
        lines = sql_line_rows(unit, period)
    else:
        lines = list(python_line_rows([unit], unit.region_id, period, settlements={unit.pk: None}))
    at = {c: i for i, c in enumerate(LINE_COLUMNS)}
    fields = [(f, at[f if f in at else f"{f}_id"]) for f in LINE_FIELDS]
    rows = [{f: line[i] for f, i in fields} for line in lines]
    summary = notice_summary(rows + line_rows(pending_back_pay(unit, period)))
    summary["period"] = period
    summary["below_floor"] = sum(1 for x in lines if x[at["below_floor"]])
    summary["above_cap"] = sum(1 for x in lines if x[at["above_cap"]])
    return summary


def progress_key(settlement_id: int) -> str:
    """The cache key carrying a running settlement's percent done (see services)."""
    return f"settlement-progress:{settlement_id}"


def settlement_progress(settlement: Settlement) -> int:
    """Percent done: 100 once confirmed, else the figure the computation last reported."""
    if settlement.state != Settlement.State.RUNNING:
        return settlement.progress
    return cache.get(progress_key(settlement.pk), settlement.progress)


def unpaid_periods(person, unit) -> list[int]:
    """费款所属期 of the person's lines at the unit that are not fully paid (欠缴), oldest
    first; a stop filing is refused while any exist (seed 001, Tianjin)."""
    return sorted(
        set(
            ContributionLine.objects.filter(
                person=person, unit=unit, withdrawn=False, paid=False, settlement__isnull=False
            ).values_list("belongs_period", flat=True)
        )
    )


# --- page data -----------------------------------------------------------------------------------


def _label_items(summary: dict) -> dict:
    for row in summary["items"] + summary["back_items"]:
        row["label"] = ITEM_LABELS.get(row["item"], row["item"])
    return summary


def unit_home(*, actor, page_number) -> dict:
    """The operator's 单位结算 page: the current period's settlement (with its progress), the
    filings blocking one, and the unit's history, 12 a page."""
    unit = actor.unit
    period = unit.region.current_period
    current = (
        Settlement.objects.filter(unit=unit, settle_period=period)
        .exclude(state=Settlement.State.WITHDRAWN)
        .first()
    )
    if current is not None:
        current.progress = settlement_progress(current)  # shown, never saved
    history = Paginator(
        Settlement.objects.filter(unit=unit).order_by("-settle_period", "-id"), 12
    ).get_page(page_number)
    return {
        "unit": unit,
        "period": period,
        "current": current,
        "blockers": blocking_filings(unit) if current is None else [],
        "page": history,
    }


def unit_preview(*, actor, unit: Unit) -> dict:
    """The preview page: the labelled figures of settling now and the filings blocking it."""
    summary = settlement_preview(actor=actor, unit=unit)
    return {"unit": unit, "summary": _label_items(summary), "blockers": blocking_filings(unit)}


def unit_settlement_get(*, actor, settlement_id: int) -> Settlement:
    """A settlement of the operator's unit (another unit's answers 404), with its progress."""
    try:
        settlement = Settlement.objects.select_related("unit", "region").get(
            pk=settlement_id, unit_id=actor.unit_id
        )
    except Settlement.DoesNotExist:
        raise Http404 from None
    settlement.progress = settlement_progress(settlement)  # shown, never saved
    return settlement


def staff_settlement_get(*, actor, settlement_id: int) -> Settlement:
    """A settlement of one of the staff member's regions (another region's answers 404)."""
    try:
        settlement = Settlement.objects.select_related("unit", "region").get(
            pk=settlement_id, region__in=actor.regions.all()
        )
    except Settlement.DoesNotExist:
        raise Http404 from None
    settlement.progress = settlement_progress(settlement)  # shown, never saved
    return settlement


def notice_context(settlement: Settlement) -> dict:
    """The payment notice of a settlement (a withdrawn one shows its withdrawn lines)."""
    lines = settlement.lines.filter(withdrawn=settlement.state == Settlement.State.WITHDRAWN)
    summary = _label_items(notice_summary(line_rows(lines)))
    return {"settlement": settlement, "unit": settlement.unit, "summary": summary}


def detail_rows(settlement: Settlement) -> Iterator[list]:
    """The 缴费明细 rows in DETAIL_HEADER order: the notice's lines, money as ``Decimal``."""
    lines = (
        settlement.lines.filter(withdrawn=settlement.state == Settlement.State.WITHDRAWN)
        .select_related("person")
        .order_by("person__person_no", "belongs_period", "item")
    )
    for x in lines.iterator(chunk_size=5000):
        yield [
            x.person.person_no,
            x.person.name,
            x.person.masked_id_number,
            ITEM_LABELS.get(x.item, x.item),
            x.belongs_period,
            KIND_LABELS[x.kind],
            x.base,
            x.unit_amount,
            x.personal_amount,
            x.unit_amount + x.personal_amount,
            "是" if x.below_floor else "",
            "是" if x.above_cap else "",
        ]


def staff_settlement_list(*, actor, region_code: str, period_text: str, page_number) -> dict:
    """当期缴费核定: the settlements of one of the staff member's regions (the first by default;
    another answers 404) in a 结算期 (the current one by default), 50 a page, and the region's
    last five jobs. ``period_error`` says why a period given was not understood."""
    regions = list(actor.regions.all())
    code = region_code or (regions[0].code if regions else "")
    region = next((r for r in regions if r.code == code), None)
    if region is None:
        raise Http404
    period_error = ""
    try:
        period = int(Period.parse(period_text or region.current_period))
    except ValueError as e:
        period_error = str(e)
        period = region.current_period
    qs = (
        Settlement.objects.filter(region=region, settle_period=period, unit__isnull=False)
        .select_related("unit")
        .order_by("unit__unit_no", "-id")
    )
    jobs = (
        RegionSettlementJob.objects.filter(region=region)
        .select_related("region")
        .order_by("-created_at")[:5]
    )
    return {
        "regions": regions,
        "region": region,
        "period": period,
        "period_error": period_error,
        "page": Paginator(qs, 50).get_page(page_number),
        "jobs": jobs,
        "query": f"region={region.code}&period={period}",
    }


def staff_region_job_get(*, actor, job_id: int) -> RegionSettlementJob:
    """A region job of one of the staff member's regions (another region's answers 404)."""
    try:
        return RegionSettlementJob.objects.get(pk=job_id, region__in=actor.regions.all())
    except RegionSettlementJob.DoesNotExist:
        raise Http404 from None
