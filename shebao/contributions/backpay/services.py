"""补缴 (back pay) as filing kinds, and the back-pay lines of enrolments filed with the back-pay
flag (issue 5 "Back pay and late fees"; seed 001 核定基数补缴, 单位补收, 个人补收; DOMAIN §4–5).

Three kinds, each a filing with one FilingRow per person of the unit:

- 核定基数补缴 (``back_pay``): months from–to (seed 001: "补缴2017年2月份的社保【开始月份】
  【终止月份】都选择二月即可" — one month is from = to), a monthly wage and insurance types
  (default: the person's types at the unit) → one line per month and type, kind BACK_PAY.
  Months already assessed for the person and type (any line not withdrawn, settled or still
  waiting) are refused with a pointer to 调整基数补缴.
- 调整基数补缴 (``adjust_pay``): months already assessed at this unit, a new wage → the
  difference of the new line and what was assessed (calc.difference_line of the new line vs the
  sum of the month's lines at this unit, earlier adjustments included); a month whose new base
  is not higher gets nothing. Kind ADJUST.
- 个人补收 (``supplement_pay``): like 核定基数补缴 for one insurance type of one person (seed
  001 Handan: "如果需要单独补收某个险种，等人员审批通过后到个人补收模块进行补收"). Kind SUPPLEMENT.

Rules common to all three:
- every month lies before the region's current settlement period (the current month is
  assessed by the settlement itself) and inside an enrolment of the person at the unit for each
  chosen type (not before its start month, not after its stop month);
- each month is computed with that month's own parameter set (the latest version in force in
  that 费款所属期) and the unit's work-injury rate in force then (its class benchmark when it had
  no rate of its own yet) — calc.py does the arithmetic, nothing else;
- what the unit previews is exactly what is written: the preview (``plan_lines``, pure) is kept
  in the row with its digest; submitting and approving recompute it and refuse the person when
  anything changed meanwhile (a new parameter version, a month assessed since), so a written
  line always equals a line the unit saw, to the fen;
- approval writes the lines with ``settlement`` empty and ``settle_period`` = the region's current
  period: the unit's next settlement picks them up (settlement.pending_back_pay) and its payment
  notice lists them by 费款所属期.

``enrolment_back_pay_lines`` does the same for enrolments approved with the back-pay flag (start
month before the current settlement period): the months from the start to the month before the
current period, at the wage in force (the latest declared WageBase at the unit, else the wage
filed at enrolment)."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404

from shebao.contributions.calculator.calc import (
    ANNUITY_ITEM,
    ZERO,
    Line,
    Params,
    compute_annuity,
    compute_line,
    difference_line,
)
from shebao.contributions.models import (
    ContributionLine,
    ItemType,
    UnitInjuryRate,
    WageBase,
)
from shebao.contributions.params.selectors import parameter_sets_for_periods, to_params
from shebao.core.audit import audit_record
from shebao.core.ids import normalize_resident_id
from shebao.core.models import AuditEntry
from shebao.core.periods import Period
from shebao.filings import services as filing_services
from shebao.filings.business import BusinessKind
from shebao.filings.kinds import FilingHandler, ReviewPolicy
from shebao.filings.models import Filing, FilingKind, FilingRow, FilingState
from shebao.filings.services import (
    lock_own_filing as _lock_own_filing,
)
from shebao.filings.services import (
    row_spec as _row_dict,
)
from shebao.filings.services import (
    rows_payload as _filing_payload,
)
from shebao.registry.models import INJURY_CLASS_BENCHMARKS, Enrolment, InsuranceType, Person, Unit

FEN = Decimal("0.01")
WAGE_MAX = Decimal("99999999.99")
MAX_MONTHS = 240  # twenty years in one filing row is plenty
INJURY = InsuranceType.INJURY.value
INSTITUTION_PENSION = InsuranceType.INSTITUTION_PENSION.value

KIND_LINE = {
    FilingKind.BACK_PAY.value: ContributionLine.Kind.BACK_PAY,
    FilingKind.ADJUST_PAY.value: ContributionLine.Kind.ADJUST,
    FilingKind.SUPPLEMENT_PAY.value: ContributionLine.Kind.SUPPLEMENT,
}
BACKPAY_KINDS = tuple(KIND_LINE)
ITEM_LABELS = dict(ItemType.choices)
ADJUST_HINT = "如需提高已核定月份的缴费基数，请办理“调整基数补缴”"
BACK_PAY_HINT = "请办理“核定基数补缴”"
CHANGED = "缴费参数或已核定记录已变化，计算结果与保存时的预览不同，请重新预览并保存该人员"


# --- small helpers -----------------------------------------------------------------------------


def ordered_types(types) -> list[str]:
    chosen = set(types or [])
    return [t for t in InsuranceType.values if t in chosen]


def type_label(code: str) -> str:
    return f"{code} {ITEM_LABELS.get(code, code)}"


def types_label(types) -> str:
    return "、".join(type_label(t) for t in types)


def span_label(periods: Iterable[int]) -> str:
    """202505、202506、202507、202510 → "2025年05月至2025年07月、2025年10月"."""
    ordered = sorted({Period.parse(p) for p in periods})
    runs: list[list[Period]] = []
    for p in ordered:
        if runs and p - runs[-1][-1] == 1:
            runs[-1].append(p)
        else:
            runs.append([p])
    return "、".join(r[0].label if len(r) == 1 else f"{r[0].label}至{r[-1].label}" for r in runs)


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


# --- the plan: pure, no ORM --------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedLine:
    """One line that approval would write: person-less, month × item."""

    period: int
    item: str
    base: Decimal
    unit: Decimal
    personal: Decimal
    below_floor: bool = False
    above_cap: bool = False
    parameter_set_id: int | None = None

    @property
    def total(self) -> Decimal:
        return self.unit + self.personal

    @property
    def item_label(self) -> str:
        return ITEM_LABELS.get(self.item, self.item)

    def key(self) -> list[str]:
        return [
            str(self.period),
            self.item,
            _money(self.base),
            _money(self.unit),
            _money(self.personal),
        ]


@dataclass(frozen=True)
class MonthGroup:
    period: int
    lines: tuple[PlannedLine, ...]

    @property
    def label(self) -> str:
        return Period.parse(self.period).label

    @property
    def unit(self) -> Decimal:
        return sum((x.unit for x in self.lines), ZERO)

    @property
    def personal(self) -> Decimal:
        return sum((x.personal for x in self.lines), ZERO)

    @property
    def total(self) -> Decimal:
        return self.unit + self.personal


@dataclass(frozen=True)
class Plan:
    """The lines of one person's back pay, in month and item order, and (adjustments) the
    month × type cells whose new base is not higher than what was assessed."""

    lines: tuple[PlannedLine, ...]
    unchanged: tuple[tuple[int, str], ...] = ()

    @property
    def unit_total(self) -> Decimal:
        return sum((x.unit for x in self.lines), ZERO)

    @property
    def personal_total(self) -> Decimal:
        return sum((x.personal for x in self.lines), ZERO)

    @property
    def total(self) -> Decimal:
        return self.unit_total + self.personal_total

    @property
    def months(self) -> list[MonthGroup]:
        by_month: dict[int, list[PlannedLine]] = defaultdict(list)
        for x in self.lines:
            by_month[x.period].append(x)
        return [MonthGroup(p, tuple(by_month[p])) for p in sorted(by_month)]

    @property
    def unchanged_label(self) -> str:
        by_type: dict[str, list[int]] = defaultdict(list)
        for period, t in self.unchanged:
            by_type[t].append(period)
        return "；".join(f"{type_label(t)} {span_label(ps)}" for t, ps in sorted(by_type.items()))

    def digest(self) -> str:
        text = json.dumps([x.key() for x in self.lines], separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def as_payload(self) -> dict:
        return {
            "lines": [x.key() for x in self.lines],
            "unit_total": _money(self.unit_total),
            "personal_total": _money(self.personal_total),
            "digest": self.digest(),
        }


ZERO_LINE = Line(insurance_type="", base=ZERO, unit=ZERO, personal=ZERO)


def plan_lines(
    *,
    cells: Iterable[tuple[int, str]],
    wages: dict[int, Decimal],
    sets: dict[int, dict[str, tuple[int | None, Params]]],
    injury: dict[int, Decimal],
    old: dict[tuple[int, str], Line] | None = None,
) -> Plan:
    """The lines of the (month, insurance type) ``cells`` at each month's own parameters
    (``sets[month][type]`` = (parameter set id, Params)) and the unit's injury rate of the month;
    ``wages[month]`` is the wage of that month. Institution pension (120) brings its
    occupational annuity line (121) when the set has annuity rates.

    ``old`` given (调整基数补缴): ``old[(month, item)]`` is what was assessed; each cell yields
    the difference of the new line and the old one (calc.difference_line), and nothing when the
    new base is not higher (the cell is listed in ``unchanged``)."""
    lines: list[PlannedLine] = []
    unchanged: list[tuple[int, str]] = []
    order = {t: i for i, t in enumerate(InsuranceType.values)}
    for period, t in sorted(cells, key=lambda c: (c[0], order.get(c[1], 99), c[1])):
        ps_id, params = sets[period][t]
        wage = wages[period]
        rate = injury[period] if t == INJURY else None
        new = [compute_line(params, wage, unit_rate=rate)]
        annuity = compute_annuity(params, wage)
        if annuity is not None:
            new.append(annuity)
        if old is not None:
            if new[0].base <= old.get((period, t), ZERO_LINE).base:
                unchanged.append((period, t))
                continue
            new = [difference_line(x, old.get((period, x.insurance_type), ZERO_LINE)) for x in new]
        lines.extend(
            PlannedLine(
                period=period,
                item=x.insurance_type,
                base=x.base,
                unit=x.unit,
                personal=x.personal,
                below_floor=x.below_floor,
                above_cap=x.above_cap,
                parameter_set_id=ps_id,
            )
            for x in new
        )
    return Plan(lines=tuple(lines), unchanged=tuple(unchanged))


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


def _sets(region_id: str, periods: list[int]) -> dict[int, dict[str, tuple[int, Params]]]:
    return {
        p: {t: (ps.pk, to_params(ps)) for t, ps in chosen.items()}
        for p, chosen in parameter_sets_for_periods(region_id, periods).items()
    }


def _missing_sets(sets, cells) -> dict[str, list[int]]:
    missing: dict[str, list[int]] = defaultdict(list)
    for period, t in cells:
        if t not in sets.get(period, {}):
            missing[t].append(period)
    return missing


def _assessed_cells(person: Person, unit: Unit, types: list[str], first: int, last: int) -> set:
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


def _assessed_here(
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


# --- access ------------------------------------------------------------------------------------


def _operator_unit(actor) -> Unit:
    if getattr(actor, "kind", None) != "operator" or not actor.may_file(BusinessKind.BACK_PAY):
        audit_record(actor=actor, action="backpay.denied", outcome=AuditEntry.Outcome.DENIED)
        raise PermissionDenied("您没有办理补缴业务的权限")
    return Unit.objects.select_related("region").get(pk=actor.unit_id)


def unit_persons(actor) -> QuerySet[Person]:
    """Persons with an enrolment (open or stopped) at the operator's unit: who may be back paid."""
    return Person.objects.filter(
        pk__in=Enrolment.objects.filter(unit_id=actor.unit_id).values("person_id")
    )


def unit_person_by_id_number(actor, id_number: str) -> Person | None:
    """The person with this ID number enrolled (now or before) at the operator's unit; None for
    an invalid number, a stranger or another unit's person alike."""
    try:
        number = normalize_resident_id(id_number)
    except ValidationError:
        return None
    return unit_persons(actor).filter(id_number=number).first()


def _unit_person(unit: Unit, person_id) -> Person:
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


def own_filing(actor, serial_no: str, kind: str) -> Filing:
    """The operator's unit's back-pay filing of this kind, else 404."""
    try:
        return Filing.objects.select_related("unit", "region").get(
            serial_no=serial_no, unit_id=actor.unit_id, kind=kind
        )
    except Filing.DoesNotExist:
        raise Http404 from None


def types_at_unit(person: Person, unit: Unit, enrolments=None) -> list[str]:
    """The person's insurance types at the unit: the open ones, else all they ever had there."""
    enrolments = (
        enrolments
        if enrolments is not None
        else list(Enrolment.objects.filter(person=person, unit=unit))
    )
    open_types = [e.insurance_type for e in enrolments if e.stop_period is None]
    return ordered_types(open_types or [e.insurance_type for e in enrolments])


# --- checking one person's request ------------------------------------------------------------


def _parse_period(raw, label: str) -> tuple[Period | None, str]:
    text = str(raw if raw is not None else "").strip()
    if not text:
        return None, f"请填写{label}"
    try:
        return Period.parse(text), ""
    except ValueError:
        return None, f"{label}格式应为yyyyMM，例如202502"


def _parse_wage(raw) -> tuple[Decimal | None, str]:
    text = str(raw if raw is not None else "").strip().replace(",", "").replace("，", "")
    if not text:
        return None, "请填写缴费工资（元/月）"
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None, "缴费工资必须是数字（元）"
    if not value.is_finite() or value <= 0:
        return None, "缴费工资应大于0"
    if value > WAGE_MAX:
        return None, "缴费工资超出范围，请核对"
    if value != value.quantize(FEN):
        return None, "缴费工资最多保留两位小数"
    return value.quantize(FEN), ""


@dataclass
class Checked:
    """The outcome of checking one person's request: the row's ``after`` and the plan, or the
    errors keyed by form field."""

    after: dict = field(default_factory=dict)
    plan: Plan | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)
    types_at_unit: list[str] = field(default_factory=list)

    def add(self, key: str, message: str) -> None:
        self.errors.setdefault(key, []).append(message)

    @property
    def ok(self) -> bool:
        return not self.errors and self.plan is not None

    def first_error(self) -> str:
        for messages in self.errors.values():
            return messages[0]
        return ""


def check_request(*, unit: Unit, person: Person, kind: str, data: dict, filing=None) -> Checked:
    """Check one person's back pay of ``kind`` against the registry and the lines, and plan its
    lines. ``data``: month_from, month_to (blank: the same month), wage, insurance_types (a
    list; blank: the person's types at the unit; 个人补收: exactly one). Used when previewing,
    saving, submitting and approving: the registry may change in between."""
    result = Checked()
    enrolments = list(Enrolment.objects.filter(person=person, unit=unit))
    result.types_at_unit = types_at_unit(person, unit, enrolments)
    if not enrolments:
        result.add("id_number", f"{person.name}：未在本单位参保，请先办理人员参保")
        return result
    current = Period.parse(unit.region.current_period)

    start, error = _parse_period(data.get("month_from"), "补缴起始年月")
    if error:
        result.add("month_from", error)
    end, range_key = start, "month_from"  # a blank end month: that one month
    if str(data.get("month_to") or "").strip():
        end, range_key = _parse_period(data.get("month_to"), "补缴终止年月")[0], "month_to"
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

    wage, error = _parse_wage(data.get("wage"))
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
    sets = _sets(unit.region_id, months)
    for t, periods in _missing_sets(sets, cells).items():
        result.add(
            "month_from",
            f"{unit.region.name}{span_label(periods)}没有{type_label(t)}的缴费参数，无法核定，"
            "请联系经办机构",
        )
    if result.errors:
        return result

    old = None
    if kind == FilingKind.ADJUST_PAY:
        old = _assessed_here(person, unit, types, months[0], months[-1])
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
        for m, t in sorted(_assessed_cells(person, unit, types, months[0], months[-1])):
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
        "wage": _money(wage),
        "insurance_types": types,
    }
    return result


# --- services ----------------------------------------------------------------------------------


def _kind(kind: str) -> str:
    if kind not in BACKPAY_KINDS:
        raise Http404
    return kind


def backpay_preview(*, actor, kind: str, data: dict, filing: Filing | None = None) -> Checked:
    """What saving would write for one person (``data["person"]``: a person id enrolled at the
    operator's unit, else 404), without writing anything. Raises ValidationError keyed by the
    form's fields."""
    kind = _kind(kind)
    unit = _operator_unit(actor)
    person = _unit_person(unit, data.get("person"))
    if filing is not None and (filing.unit_id != unit.pk or filing.kind != kind):
        raise Http404
    checked = check_request(unit=unit, person=person, kind=kind, data=data, filing=filing)
    if not checked.ok:
        raise ValidationError(checked.errors)
    return checked


def _save_rows(*, actor, kind: str, unit: Unit, filing: Filing | None, rows: list[dict]) -> Filing:
    payload = _filing_payload(filing, rows)
    if filing is None:
        return filing_services.filing_create(
            actor=actor, kind=kind, region=unit.region, unit=unit, payload=payload, rows=rows
        )
    return filing_services.filing_update(actor=actor, filing=filing, payload=payload, rows=rows)


def backpay_save(
    *,
    actor,
    kind: str,
    data: dict,
    filing: Filing | None = None,
    expected_digest: str | None = None,
) -> Filing:
    """Save one person into a back-pay filing of ``kind`` (a new draft when ``filing`` is None;
    a person already in the filing is replaced). ``expected_digest``: the digest of the preview
    the operator confirmed; when the lines computed now differ, nothing is saved."""
    kind = _kind(kind)
    unit = _operator_unit(actor)
    with transaction.atomic():
        locked = _lock_own_filing(filing, unit, kind) if filing is not None else None
        person = _unit_person(unit, data.get("person"))
        checked = check_request(unit=unit, person=person, kind=kind, data=data, filing=locked)
        if not checked.ok:
            raise ValidationError(checked.errors)
        if expected_digest is not None and expected_digest != checked.plan.digest():
            raise ValidationError(
                {
                    NON_FIELD_ERRORS: [
                        "计算结果与预览不一致（参数或已核定记录刚刚变化），请重新预览后再保存"
                    ]
                }
            )
        row = {
            "person": person,
            "id_number": person.id_number,
            "name": person.name,
            "payload": {
                "before": {"insurance_types": checked.types_at_unit},
                "after": checked.after,
                "preview": checked.plan.as_payload(),
            },
        }
        rows = []
        if locked is not None:
            rows = [
                _row_dict(r)
                for r in locked.rows.select_related("person")
                if r.person_id != person.pk
            ]
        rows.append(row)
        return _save_rows(actor=actor, kind=kind, unit=unit, filing=locked, rows=rows)


def backpay_row_remove(*, actor, filing: Filing, row_id: int) -> Filing:
    """Take one person out of a draft or returned back-pay filing."""
    kind = _kind(filing.kind)
    unit = _operator_unit(actor)
    with transaction.atomic():
        locked = _lock_own_filing(filing, unit, kind)
        rows = list(locked.rows.select_related("person"))
        if not any(r.pk == row_id for r in rows):
            raise Http404
        if len(rows) == 1:
            raise ValidationError("业务中只有这一名人员，不能移除；如不再办理，请删除或退单该业务")
        kept = [_row_dict(r) for r in rows if r.pk != row_id]
        return _save_rows(actor=actor, kind=kind, unit=unit, filing=locked, rows=kept)


def _line_objects(
    plan: Plan, *, unit: Unit, person_id: int, kind: str, settle_period: int, filing_id
) -> list[ContributionLine]:
    return [
        ContributionLine(
            settlement=None,
            unit=unit,
            person_id=person_id,
            region_id=unit.region_id,
            item=x.item,
            settle_period=settle_period,
            belongs_period=x.period,
            kind=kind,
            base=x.base,
            unit_amount=x.unit,
            personal_amount=x.personal,
            below_floor=x.below_floor,
            above_cap=x.above_cap,
            parameter_set_id=x.parameter_set_id,
            filing_id=filing_id,
        )
        for x in plan.lines
    ]


# --- the handlers ------------------------------------------------------------------------------


class _BackPayHandler(FilingHandler):
    business_kind = BusinessKind.BACK_PAY
    review_policy = ReviewPolicy.VIP_AUTO  # reviewed for normal units, on submit for VIP units
    uses_rows = True
    title_suffix = ""

    def title(self, payload: dict) -> str:
        names = payload.get("names", [])
        count = payload.get("count", len(names))
        more = "等" if count > 3 else ""
        return f"{'、'.join(names[:3])}{more}{count}人{self.title_suffix}"[:200]

    def check_row(
        self, *, unit: Unit, filing: Filing, row: FilingRow
    ) -> tuple[str, Checked | None]:
        """(problem, checked): the stored request checked again and its lines recomputed; a
        problem when it no longer passes or its lines differ from the saved preview."""
        if row.person_id is None:
            return f"{row.name}：未找到该人员", None
        checked = check_request(
            unit=unit,
            person=row.person,
            kind=self.kind,
            data=row.payload.get("after", {}),
            filing=filing,
        )
        if not checked.ok:
            message = checked.first_error()
            return (message if message.startswith(row.name) else f"{row.name}：{message}"), None
        if checked.plan.digest() != row.payload.get("preview", {}).get("digest"):
            return f"{row.name}：{CHANGED}", None
        return "", checked

    def clean_payload(self, payload: dict, *, filing) -> dict:
        """On a save the service checked everything; on submit (the stored ``rev``) every row is
        checked again and its lines recomputed."""
        if filing is not None and payload.get("rev") == filing.payload.get("rev"):
            unit = Unit.objects.select_related("region").get(pk=filing.unit_id)
            problems = [
                message
                for row in filing.rows.select_related("person")
                if (message := self.check_row(unit=unit, filing=filing, row=row)[0])
            ]
            if problems:
                raise ValidationError(problems)
        return payload

    def apply(self, *, filing, actor) -> None:
        """Write the approved persons' lines (waiting for the unit's next settlement)."""
        unit = Unit.objects.select_related("region").get(pk=filing.unit_id)
        settle_period = unit.region.current_period
        lines: list[ContributionLine] = []
        persons = 0
        for row in filing.rows.filter(result=FilingRow.Result.APPROVED).select_related("person"):
            list(Person.objects.select_for_update().filter(pk=row.person_id))  # serialize
            problem, checked = self.check_row(unit=unit, filing=filing, row=row)
            if problem:
                raise ValidationError(f"{problem}（可将该人员设为不通过）")
            lines += _line_objects(
                checked.plan,
                unit=unit,
                person_id=row.person_id,
                kind=KIND_LINE[self.kind],
                settle_period=settle_period,
                filing_id=filing.pk,
            )
            persons += 1
        ContributionLine.objects.bulk_create(lines, batch_size=1000)
        unit_total = sum((x.unit_amount for x in lines), ZERO)
        personal_total = sum((x.personal_amount for x in lines), ZERO)
        audit_record(
            actor=actor,
            action=f"backpay.apply.{self.kind}",
            obj=filing,
            region=unit.region_id,
            detail={
                "persons": persons,
                "lines": len(lines),
                "settle_period": settle_period,
                "unit_total": _money(unit_total),
                "personal_total": _money(personal_total),
            },
        )

    def row_display(self, row) -> list[tuple[str, str, str]]:
        after = row.payload.get("after", {})
        preview = row.payload.get("preview", {})
        first, last = after.get("month_from"), after.get("month_to")
        months = ""
        if first and last:
            a, b = Period.parse(first), Period.parse(last)
            shown = a.label if a == b else f"{a.label}至{b.label}"
            months = f"{shown}（{b - a + 1}个月）"
        unit_total = Decimal(preview.get("unit_total", "0"))
        personal_total = Decimal(preview.get("personal_total", "0"))
        return [
            ("补缴月份", "", months),
            ("缴费工资", "", f"{after['wage']} 元/月" if after.get("wage") else ""),
            ("险种", "", types_label(after.get("insurance_types", []))),
            ("明细条数", "", str(len(preview.get("lines", [])))),
            ("单位应缴", "", _money(unit_total)),
            ("个人应缴", "", _money(personal_total)),
            ("合计", "", _money(unit_total + personal_total)),
        ]


class BackPayHandler(_BackPayHandler):
    kind = FilingKind.BACK_PAY.value
    edit_url_name = "unit:back_pay_edit"
    title_suffix = "核定基数补缴"


class AdjustPayHandler(_BackPayHandler):
    kind = FilingKind.ADJUST_PAY.value
    edit_url_name = "unit:adjust_pay_edit"
    title_suffix = "调整基数补缴"


class SupplementPayHandler(_BackPayHandler):
    kind = FilingKind.SUPPLEMENT_PAY.value
    edit_url_name = "unit:supplement_pay_edit"
    title_suffix = "个人补收"


# --- the back-pay flag of enrolments -------------------------------------------------------------


def _wages_by_period(person_id: int, unit_id: int, periods: list[int], fallback: Decimal):
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


def enrolment_back_pay_lines(enrolment_ids, *, actor=None) -> int:
    """Back-pay lines of enrolments approved with the back-pay flag (补收标志, seed 001 Handan:
    "参保时间早于结算期时，是否补收标志自动置为是"): for each enrolment with ``back_pay`` set, the
    months from its start to the month before the region's current settlement period (not after
    its stop month), at each month's own parameters and the unit's injury rate then, with the
    wage the settlement would use. The lines wait (kind BACK_PAY, settlement empty) for the
    unit's next settlement. Months already assessed for the person and type are skipped.
    Called inside the approving transaction; a month without parameters refuses the person
    (ValidationError). Returns the number of lines written."""
    enrolments = list(
        Enrolment.objects.filter(pk__in=list(enrolment_ids), back_pay=True, unit__isnull=False)
        .select_related("unit__region", "person")
        .order_by("unit_id", "person_id", "insurance_type", "start_period")
    )
    groups: dict[tuple[int, int], list[Enrolment]] = defaultdict(list)
    for e in enrolments:
        groups[(e.unit_id, e.person_id)].append(e)
    written = 0
    for group in groups.values():
        unit, person = group[0].unit, group[0].person
        current = Period.parse(unit.region.current_period)
        cells_by_enrolment: list[tuple[Enrolment, list[int]]] = []
        for e in group:
            last = current - 1
            if e.stop_period is not None:
                last = min(last, Period.parse(e.stop_period))
            months = [int(p) for p in Period.range(e.start_period, last)]
            if months:
                cells_by_enrolment.append((e, months))
        if not cells_by_enrolment:
            continue
        all_months = sorted({m for _, months in cells_by_enrolment for m in months})
        types = ordered_types(e.insurance_type for e, _ in cells_by_enrolment)
        taken = _assessed_cells(person, unit, types, all_months[0], all_months[-1])
        sets = _sets(unit.region_id, all_months)
        injury = injury_rates_by_period(unit, all_months)
        lines: list[ContributionLine] = []
        skipped = 0
        for e, months in cells_by_enrolment:
            cells = [(m, e.insurance_type) for m in months if (m, e.insurance_type) not in taken]
            skipped += len(months) - len(cells)
            if not cells:
                continue
            missing = _missing_sets(sets, cells)
            if missing:
                listed = "；".join(f"{type_label(t)} {span_label(ps)}" for t, ps in missing.items())
                raise ValidationError(
                    f"{person.name}：{unit.region.name}没有补收月份的缴费参数（{listed}），"
                    "无法生成补缴记录（可将该人员设为不通过，由单位取消补收标志后重新申报）"
                )
            plan = plan_lines(
                cells=cells,
                wages=_wages_by_period(person.pk, unit.pk, months, e.wage_base),
                sets=sets,
                injury=injury,
            )
            lines += _line_objects(
                plan,
                unit=unit,
                person_id=person.pk,
                kind=ContributionLine.Kind.BACK_PAY,
                settle_period=int(current),
                filing_id=e.start_filing_id,
            )
        ContributionLine.objects.bulk_create(lines, batch_size=1000)
        written += len(lines)
        audit_record(
            actor=actor,
            action="backpay.enrolment",
            obj=person,
            region=unit.region_id,
            detail={
                "unit": unit.unit_no,
                "lines": len(lines),
                "months": [all_months[0], all_months[-1]],
                "skipped_assessed": skipped,
                "unit_total": _money(sum((x.unit_amount for x in lines), ZERO)),
                "personal_total": _money(sum((x.personal_amount for x in lines), ZERO)),
            },
        )
    return written


# --- reads for the pages -----------------------------------------------------------------------


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
