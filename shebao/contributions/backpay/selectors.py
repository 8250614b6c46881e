"""Reads of 补缴, scoped by the actor: what checking a request needs (the months' parameter
sets, the unit's injury rates, the months already assessed, the wages in force), the check of one
person's request and its preview (``backpay_preview``: what saving would write, writing nothing),
the persons and filings of the operator's unit, the lines waiting for the next settlement, and
the data of the 补缴 pages. The late-fee reports are in ``selectors_latefee``."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404

from shebao.contributions.backpay.calc import (
    ADJUST_HINT,
    BACK_PAY_HINT,
    BACKPAY_KINDS,
    INJURY,
    INSTITUTION_PENSION,
    ITEM_LABELS,
    MAX_MONTHS,
    Checked,
    missing_sets,
    parse_period,
    parse_wage,
    plan_lines,
    span_label,
    type_label,
    types_at_unit,
    types_label,
)
from shebao.contributions.calculator.calc import ANNUITY_ITEM, ZERO, Line, Params
from shebao.contributions.models import ContributionLine, ItemType, UnitInjuryRate, WageBase
from shebao.contributions.params.selectors import parameter_sets_for_periods, to_params
from shebao.core.inputs import normalize_resident_layout_id
from shebao.core.money import money_text
from shebao.core.periods import Period
from shebao.filings import services as filing_services
from shebao.filings.business import BusinessKind
from shebao.filings.kinds import handler_for
from shebao.filings.models import Filing, FilingKind, FilingState
from shebao.registry.access import access_operator_unit, access_unit_filing
from shebao.registry.enrolment.calc import ordered_types
from shebao.registry.models import INJURY_CLASS_BENCHMARKS, Enrolment, Person, Unit

# --- access --------------------------------------------------------------------------------------


def operator_unit(actor, *, action: str) -> Unit:
    """The operator's unit when they may file 补缴 (a refusal is audited as ``action``)."""
    return access_operator_unit(actor, business_kind=BusinessKind.BACK_PAY, action=action)


def backpay_kind(kind: str) -> str:
    """``kind`` when it is one of the three back-pay kinds, else 404."""
    if kind not in BACKPAY_KINDS:
        raise Http404
    return kind


def unit_backpay_filing(actor, *, serial_no: str, action: str, kind=BACKPAY_KINDS) -> Filing:
    """A back-pay filing of the operator's unit (403 without the 补缴 permission, 404 for
    another unit's filing or a missing one)."""
    operator_unit(actor, action=action)
    return access_unit_filing(actor, serial_no=serial_no, kind=kind)


# --- reads the plan needs ----------------------------------------------------------------------


def injury_rates_by_period(unit: Unit, periods: Iterable[int]) -> dict[int, Decimal]:
    """The unit's work-injury rate in force in each period (its history), else the benchmark of
    its industry class (as engine.unit_injury_rates does for one period). One query."""
    periods = sorted(set(periods))
    if not periods:
        return {}
    history = list(
        UnitInjuryRate.objects.filter(unit=unit, valid_from__lte=periods[-1])
        .order_by("valid_from")
        .values_list("valid_from", "rate")
    )
    fallback = Decimal(INJURY_CLASS_BENCHMARKS[unit.injury_risk_class])
    result = {}
    for p in periods:
        rate = fallback
        for valid_from, r in history:
            if valid_from <= p:
                rate = r
        result[p] = rate
    return result


def parameter_sets(region_id: str, periods: list[int]) -> dict[int, dict[str, tuple[int, Params]]]:
    return {
        p: {t: (ps.pk, to_params(ps)) for t, ps in chosen.items()}
        for p, chosen in parameter_sets_for_periods(region_id, periods).items()
    }


def assessed_cells(person: Person, unit: Unit, types: list[str], first: int, last: int) -> set:
    """(month, type) already assessed for the person: a line not withdrawn (settled or waiting)
    at any unit or as a flexible worker — work injury only at this unit (it may be held at
    several units at once)."""
    rows = ContributionLine.objects.filter(
        person=person,
        withdrawn=False,
        item__in=types,
        belongs_period__gte=first,
        belongs_period__lte=last,
    ).values_list("belongs_period", "item", "unit_id")
    return {(p, t) for p, t, unit_id in rows if t != INJURY or unit_id == unit.pk}


def assessed_here(
    person: Person, unit: Unit, types: list[str], first: int, last: int
) -> dict[tuple[int, str], Line]:
    """What was assessed at this unit per (month, item): the sum of its lines not withdrawn
    (normal, back pay and earlier adjustments), as a calc Line. Summed in Python."""
    items = list(types) + ([ANNUITY_ITEM] if INSTITUTION_PENSION in types else [])
    sums: dict[tuple[int, str], list[Decimal]] = defaultdict(lambda: [ZERO, ZERO, ZERO])
    for p, t, base, u, pers in ContributionLine.objects.filter(
        person=person,
        unit=unit,
        withdrawn=False,
        item__in=items,
        belongs_period__gte=first,
        belongs_period__lte=last,
    ).values_list("belongs_period", "item", "base", "unit_amount", "personal_amount"):
        acc = sums[(p, t)]
        acc[0] += base
        acc[1] += u
        acc[2] += pers
    return {
        k: Line(insurance_type=k[1], base=v[0], unit=v[1], personal=v[2]) for k, v in sums.items()
    }


def wages_by_period(person_id: int, unit_id: int, periods: list[int], fallback: Decimal):
    """The wage of each period as the settlement engine reads it: the latest WageBase at the
    unit with valid_from ≤ period, else ``fallback`` (the wage filed at enrolment)."""
    history = list(
        WageBase.objects.filter(person_id=person_id, unit_id=unit_id, valid_from__lte=max(periods))
        .order_by("valid_from")
        .values_list("valid_from", "wage")
    )
    result = {}
    for p in periods:
        wage = fallback
        for valid_from, w in history:
            if valid_from <= p:
                wage = w
        result[p] = wage
    return result


# --- persons and filings of the operator's unit ----------------------------------------------


def unit_person_by_id_number(actor, id_number: str) -> Person | None:
    """The person with this ID number enrolled (now or before) at the operator's unit; None for
    an invalid number, a stranger or another unit's person alike."""
    try:
        number = normalize_resident_layout_id(id_number)
    except ValidationError:
        return None
    return Person.objects.filter(
        Person.id_number.q(number),
        pk__in=Enrolment.objects.filter(unit_id=actor.unit_id).values("person_id"),
    ).first()


def unit_person(unit: Unit, person_id) -> Person:
    """A person enrolled at the unit, else 404 (another unit's person looks missing)."""
    try:
        pk = int(person_id)
    except (TypeError, ValueError):
        raise Http404 from None
    person = Person.objects.filter(
        pk=pk, pk__in=Enrolment.objects.filter(unit=unit).values("person_id")
    ).first()
    if person is None:
        raise Http404
    return person


# --- checking one person's request ------------------------------------------------------------


def check_request(*, unit: Unit, person: Person, kind: str, data: dict, filing=None) -> Checked:
    """Check one person's back pay of ``kind`` against the registry and the lines, and plan its
    lines. ``data``: month_from, month_to (blank: the same month), wage, insurance_types (a
    list; blank: the person's types at the unit; 个人补收: exactly one). Used when previewing,
    saving, submitting and approving: the registry may change in between."""
    result = Checked()
    enrolments = list(Enrolment.objects.filter(person=person, unit=unit))
    result.types_at_unit = types_at_unit(enrolments)
    if not enrolments:
        result.add("id_number", f"{person.name}：未在本单位参保，请先办理人员参保")
        return result
    current = Period.parse(unit.region.current_period)

    start, error = parse_period(data.get("month_from"), "补缴起始年月")
    if error:
        result.add("month_from", error)
    end, range_key = start, "month_from"  # a blank end month: that one month
    if str(data.get("month_to") or "").strip():
        end, range_key = parse_period(data.get("month_to"), "补缴终止年月")[0], "month_to"
        if end is None:
            result.add("month_to", "补缴终止年月格式应为yyyyMM，例如202502")
    if start is not None and end is not None:
        if end < start:
            result.add("month_to", "补缴终止年月不能早于起始年月")
        elif end >= current:
            result.add(
                range_key,
                f"补缴月份须早于当前结算期（{current.label}）；当期及以后的缴费由结算核定",
            )
        elif end - start + 1 > MAX_MONTHS:
            result.add("month_to", f"一次最多补缴{MAX_MONTHS}个月，请分段办理")

    wage, error = parse_wage(data.get("wage"))
    if error:
        result.add("wage", error)

    held = ordered_types(e.insurance_type for e in enrolments)
    raw_types = data.get("insurance_types") or []
    if isinstance(raw_types, str):
        raw_types = [raw_types]
    types = ordered_types(raw_types)
    if len(types) != len(set(raw_types)):
        result.add("insurance_types", "险种选择有误，请重新选择")
    elif kind == FilingKind.SUPPLEMENT_PAY:
        if len(types) != 1:
            result.add("insurance_types", "个人补收请选择一个险种")
    elif not types:
        types = list(result.types_at_unit)
    not_held = [t for t in types if t not in held]
    if not_held:
        result.add("insurance_types", f"该人员在本单位没有参加{types_label(not_held)}")

    blocker = filing_services.open_filing_blocker(
        person.id_number, unit=unit, exclude_filing=filing
    )
    if blocker:
        result.add("id_number", blocker)
    if result.errors:
        return result

    months = [int(p) for p in Period.range(start, end)]
    # every month inside an enrolment of the type at this unit
    for t in types:
        mine = [e for e in enrolments if e.insurance_type == t]
        outside = [
            m
            for m in months
            if not any(
                e.start_period <= m and (e.stop_period is None or m <= e.stop_period) for e in mine
            )
        ]
        if not outside:
            continue
        first_start = min(e.start_period for e in mine)
        if months[0] < first_start:
            result.add(
                "month_from",
                f"补缴起始年月不能早于参保年月（{type_label(t)} "
                f"{Period.parse(first_start).label}参保）",
            )
        else:
            result.add("month_from", f"{type_label(t)}在{span_label(outside)}不在本单位参保期间")
    if result.errors:
        return result

    cells = [(m, t) for m in months for t in types]
    sets = parameter_sets(unit.region_id, months)
    for t, periods in missing_sets(sets, cells).items():
        result.add(
            "month_from",
            f"{unit.region.name}{span_label(periods)}没有{type_label(t)}的缴费参数，无法核定，"
            "请联系经办机构",
        )
    if result.errors:
        return result

    old = None
    if kind == FilingKind.ADJUST_PAY:
        old = assessed_here(person, unit, types, months[0], months[-1])
        missing: dict[str, list[int]] = defaultdict(list)
        for m, t in cells:
            if (m, t) not in old:
                missing[t].append(m)
        for t, periods in missing.items():
            result.add(
                "month_from",
                f"{type_label(t)} {span_label(periods)} 在本单位尚未核定缴费，不能调整基数；"
                + BACK_PAY_HINT,
            )
    else:
        taken: dict[str, list[int]] = defaultdict(list)
        for m, t in sorted(assessed_cells(person, unit, types, months[0], months[-1])):
            taken[t].append(m)
        for t in ordered_types(taken):
            result.add(
                "month_from",
                f"{type_label(t)} {span_label(taken[t])} 已核定缴费，不能重复补缴；" + ADJUST_HINT,
            )
    if result.errors:
        return result

    plan = plan_lines(
        cells=cells,
        wages=dict.fromkeys(months, wage),
        sets=sets,
        injury=injury_rates_by_period(unit, months),
        old=old,
    )
    if kind == FilingKind.ADJUST_PAY and not plan.lines:
        result.add("wage", "新缴费工资核定的基数不高于各月已核定的缴费基数，无需调整")
        return result
    result.plan = plan
    result.after = {
        "month_from": months[0],
        "month_to": months[-1],
        "wage": money_text(wage),
        "insurance_types": types,
    }
    return result


def backpay_preview(*, actor, kind: str, data: dict, filing: Filing | None = None) -> Checked:
    """What saving would write for one person (``data["person"]``: a person id enrolled at the
    operator's unit, else 404), without writing anything. Raises ValidationError keyed by the
    form's fields."""
    kind = backpay_kind(kind)
    unit = operator_unit(actor, action="backpay.preview")
    person = unit_person(unit, data.get("person"))
    if filing is not None and (filing.unit_id != unit.pk or filing.kind != kind):
        raise Http404
    checked = check_request(unit=unit, person=person, kind=kind, data=data, filing=filing)
    if not checked.ok:
        raise ValidationError(checked.errors)
    return checked


# --- the pages -------------------------------------------------------------------------------


def unit_backpay_filings(actor, *, open_only: bool = False) -> QuerySet[Filing]:
    qs = Filing.objects.filter(unit_id=actor.unit_id, kind__in=BACKPAY_KINDS)
    if open_only:
        qs = qs.filter(state__in=[FilingState.DRAFT, FilingState.SUBMITTED, FilingState.RETURNED])
    return qs.order_by("-created_at", "-id")


@dataclass
class PendingRow:
    belongs_period: int
    item: str
    kind: str
    persons: int
    unit: Decimal
    personal: Decimal

    @property
    def total(self) -> Decimal:
        return self.unit + self.personal

    @property
    def item_label(self) -> str:
        return ITEM_LABELS.get(self.item, self.item)

    @property
    def kind_label(self) -> str:
        return ContributionLine.Kind(self.kind).label


def unit_pending_back_pay(actor) -> list[PendingRow]:
    """The operator's unit's approved back-pay lines that wait for its next settlement, per
    费款所属期, item and kind (summed in Python)."""
    acc: dict[tuple, dict] = {}
    for belongs, item, kind, person_id, u, p in (
        ContributionLine.objects.filter(
            unit_id=actor.unit_id, settlement__isnull=True, withdrawn=False
        )
        .values_list(
            "belongs_period", "item", "kind", "person_id", "unit_amount", "personal_amount"
        )
        .iterator(chunk_size=5000)
    ):
        a = acc.setdefault(
            (belongs, item, kind), {"persons": set(), "unit": ZERO, "personal": ZERO}
        )
        a["persons"].add(person_id)
        a["unit"] += u
        a["personal"] += p
    order = {t: i for i, t in enumerate(ItemType.values)}
    return [
        PendingRow(k[0], k[1], k[2], len(v["persons"]), v["unit"], v["personal"])
        for k, v in sorted(
            acc.items(), key=lambda kv: (kv[0][0], order.get(kv[0][1], 99), kv[0][2])
        )
    ]


def backpay_home(actor) -> dict:
    """The 补缴 home page: the unit, its open and recent back-pay filings, the waiting lines."""
    unit = operator_unit(actor, action="backpay.view")
    pending = unit_pending_back_pay(actor)
    return {
        "unit": unit,
        "current": Period.parse(unit.region.current_period),
        "open_filings": unit_backpay_filings(actor, open_only=True),
        "recent": unit_backpay_filings(actor).select_related("created_by")[:20],
        "pending": pending,
        "pending_total": sum((r.total for r in pending), ZERO),
    }


class KindPage:
    """The page of one back-pay kind: the unit, the filing being edited (if any), its persons
    as shown and the form's initial values of the person chosen for editing (``row``)."""

    def __init__(self, *, kind: str, unit: Unit, filing: Filing | None, row: str = ""):
        self.kind, self.unit, self.filing, self._row = kind, unit, filing, row

    @property
    def current(self) -> Period:
        return Period.parse(self.unit.region.current_period)

    @cached_property
    def rows(self) -> list[dict]:
        if self.filing is None:
            return []
        handler = handler_for(self.kind)
        return [
            {"row": r, "masked": r.id_number_masked, "fields": handler.row_display(r)}
            for r in self.filing.rows.all()
        ]

    @cached_property
    def initial(self) -> dict:
        if self.filing is None or not self._row.isdigit():
            return {}
        row = self.filing.rows.filter(pk=int(self._row)).first()
        if row is None:
            return {}
        after = row.payload.get("after", {})
        types = after.get("insurance_types", [])
        return {
            "id_number": row.id_number,
            "month_from": str(after.get("month_from", "")),
            "month_to": str(after.get("month_to", "")),
            "wage": after.get("wage", ""),
            "insurance_types": types[0]
            if self.kind == FilingKind.SUPPLEMENT_PAY and types
            else types,
        }


def backpay_kind_page(actor, *, kind: str, serial_no: str | None = None, row: str = "") -> KindPage:
    """The page of ``kind`` for the operator's unit (403 without the 补缴 permission); with
    ``serial_no``, the unit's filing of that kind being edited (404 for another unit's)."""
    unit = operator_unit(actor, action="backpay.view")
    filing = None
    if serial_no:
        filing = access_unit_filing(actor, serial_no=serial_no, kind=backpay_kind(kind))
    return KindPage(kind=kind, unit=unit, filing=filing, row=row)
