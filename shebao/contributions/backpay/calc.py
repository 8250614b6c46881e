"""Pure arithmetic of 补缴 and 滞纳金 (no ORM): what the services, selectors and handlers of the
package compute over plain data.

- Back pay: the insurance-type order and labels, the month spans, the parsing of a request's
  months and wage, and the plan (``plan_lines``): one person's lines month × item at each month's
  own parameters (calculator.calc does the line arithmetic), with the digest that ties a saved
  preview to the lines approval writes; ``Checked``, the outcome of checking one request.
- Late fees (DOMAIN §5, issue 5): the due date of a 费款所属期 (``due_date``), the allocation of an
  item-period's outstanding amount across its unpaid lines to the fen (``allocate``), each unpaid
  line's fee on a pay date (``line_fees``, calculator.calc.late_fee for the days and the rate) and
  the report's totals per 费款所属期 and item (``LateFeeReport``)."""

from __future__ import annotations

import calendar
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import TYPE_CHECKING

from shebao.contributions.calculator.calc import (
    ZERO,
    Line,
    Params,
    compute_annuity,
    compute_line,
    difference_line,
    late_fee,
)
from shebao.contributions.models import ItemType
from shebao.core.money import FEN, money_text
from shebao.core.periods import Period
from shebao.filings.models import FilingKind
from shebao.registry.enrolment.calc import ordered_types
from shebao.registry.models import InsuranceType

if TYPE_CHECKING:
    from shebao.registry.models import Unit

WAGE_MAX = Decimal("99999999.99")
MAX_MONTHS = 240  # twenty years in one filing row is plenty
INJURY = InsuranceType.INJURY.value
INSTITUTION_PENSION = InsuranceType.INSTITUTION_PENSION.value
BACKPAY_KINDS = (
    FilingKind.BACK_PAY.value,
    FilingKind.ADJUST_PAY.value,
    FilingKind.SUPPLEMENT_PAY.value,
)
ITEM_LABELS = dict(ItemType.choices)
ADJUST_HINT = "如需提高已核定月份的缴费基数，请办理“调整基数补缴”"
BACK_PAY_HINT = "请办理“核定基数补缴”"
CHANGED = "缴费参数或已核定记录已变化，计算结果与保存时的预览不同，请重新预览并保存该人员"


# --- small helpers -----------------------------------------------------------------------------


def type_label(code: str) -> str:
    return f"{code} {ITEM_LABELS.get(code, code)}"


def types_label(types) -> str:
    return "、".join(type_label(t) for t in types)


def types_at_unit(enrolments) -> list[str]:
    """The insurance types of a person's enrolments at a unit: the open ones, else all they
    ever had there."""
    open_types = [e.insurance_type for e in enrolments if e.stop_period is None]
    return ordered_types(open_types or [e.insurance_type for e in enrolments])


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
            money_text(self.base),
            money_text(self.unit),
            money_text(self.personal),
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
            "unit_total": money_text(self.unit_total),
            "personal_total": money_text(self.personal_total),
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


def missing_sets(sets, cells) -> dict[str, list[int]]:
    missing: dict[str, list[int]] = defaultdict(list)
    for period, t in cells:
        if t not in sets.get(period, {}):
            missing[t].append(period)
    return missing


# --- one person's request --------------------------------------------------------------------


def parse_period(raw, label: str) -> tuple[Period | None, str]:
    text = str(raw if raw is not None else "").strip()
    if not text:
        return None, f"请填写{label}"
    try:
        return Period.parse(text), ""
    except ValueError:
        return None, f"{label}格式应为yyyyMM，例如202502"


def parse_wage(raw) -> tuple[Decimal | None, str]:
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


# --- late fees ---------------------------------------------------------------------------------


def due_date(belongs_period: int, due_day: int = 0) -> date:
    """The due date of a 费款所属期: ``due_day`` of that month; 0 (or past the month's end) is
    its last day."""
    p = Period.parse(belongs_period)
    last = calendar.monthrange(p.year, p.month)[1]
    return date(p.year, p.month, last if due_day <= 0 or due_day > last else due_day)


def allocate(outstanding: Decimal, amounts: list[Decimal]) -> list[Decimal]:
    """Split ``outstanding`` (≤ the sum of ``amounts``) across the amounts in proportion, to the
    fen, by largest remainder (ties to the earlier amount): the shares add up to
    ``outstanding`` exactly and none exceeds its amount."""
    due = sum(amounts, ZERO)
    if outstanding <= 0 or due <= 0:
        return [ZERO for _ in amounts]
    if outstanding >= due:
        return list(amounts)
    exact = [outstanding * a / due for a in amounts]
    shares = [x.quantize(FEN, rounding=ROUND_DOWN) for x in exact]
    left = int((outstanding - sum(shares, ZERO)) / FEN)
    by_remainder = sorted(range(len(amounts)), key=lambda i: (-(exact[i] - shares[i]), i))
    for i in by_remainder[:left]:
        shares[i] += FEN
    return shares


@dataclass(frozen=True)
class UnpaidLine:
    """What the rules need of one unpaid line (plain data)."""

    line_id: int
    person_id: int
    item: str
    settle_period: int
    belongs_period: int
    amount: Decimal  # unit + personal parts
    pending: bool = False  # approved back pay not settled yet


@dataclass(frozen=True)
class FeeLine:
    line: UnpaidLine
    principal: Decimal
    due: date
    days: int
    fee: Decimal
    person_name: str = ""
    person_id_masked: str = ""

    @property
    def item_label(self) -> str:
        return ITEM_LABELS.get(self.line.item, self.line.item)


def line_fees(
    lines: Iterable[UnpaidLine],
    outstanding: dict[tuple[int, str, int], Decimal],
    *,
    pay_date: date,
    due_day: int = 0,
    cap_at_principal: bool = False,
) -> list[FeeLine]:
    """The fee of each unpaid line paid on ``pay_date``. ``outstanding`` maps (结算期, item,
    费款所属期) of settled lines to what is still unpaid (an item-period missing from it is
    unpaid in full); pending lines owe their full amount. Lines owing nothing are left out."""
    settled: dict[tuple[int, str, int], list[UnpaidLine]] = defaultdict(list)
    principal: dict[int, Decimal] = {}
    ordered = sorted(lines, key=lambda x: x.line_id)
    for x in ordered:
        if x.pending:
            principal[x.line_id] = x.amount
        else:
            settled[(x.settle_period, x.item, x.belongs_period)].append(x)
    for key, group in settled.items():
        amounts = [x.amount for x in group]
        left = outstanding.get(key, sum(amounts, ZERO))
        for x, share in zip(group, allocate(left, amounts), strict=True):
            principal[x.line_id] = share
    result = []
    for x in ordered:
        owed = principal[x.line_id]
        if owed <= 0:
            continue
        due = due_date(x.belongs_period, due_day)
        fee, days = late_fee(owed, due, pay_date, cap_at_principal=cap_at_principal)
        result.append(FeeLine(line=x, principal=owed, due=due, days=days, fee=fee))
    return result


@dataclass
class PeriodFee:
    belongs_period: int
    item: str
    due: date
    days: int
    lines: int = 0
    principal: Decimal = ZERO
    fee: Decimal = ZERO
    pending: bool = False

    @property
    def item_label(self) -> str:
        return ITEM_LABELS.get(self.item, self.item)


@dataclass
class LateFeeReport:
    unit: Unit
    pay_date: date
    due_day: int
    cap_at_principal: bool
    lines: list[FeeLine] = field(default_factory=list)

    @property
    def principal_total(self) -> Decimal:
        return sum((x.principal for x in self.lines), ZERO)

    @property
    def fee_total(self) -> Decimal:
        return sum((x.fee for x in self.lines), ZERO)

    @property
    def total(self) -> Decimal:
        return self.principal_total + self.fee_total

    @property
    def due_rule(self) -> str:
        return "费款所属期当月最后一日" if self.due_day <= 0 else f"费款所属期当月{self.due_day}日"

    @property
    def by_period(self) -> list[PeriodFee]:
        """Per 费款所属期 and item (settled and pending apart), oldest first."""
        acc: dict[tuple[int, str, bool], PeriodFee] = {}
        for x in self.lines:
            key = (x.line.belongs_period, x.line.item, x.line.pending)
            row = acc.get(key)
            if row is None:
                row = acc[key] = PeriodFee(
                    x.line.belongs_period, x.line.item, x.due, x.days, pending=x.line.pending
                )
            row.lines += 1
            row.principal += x.principal
            row.fee += x.fee
        order = {t: i for i, t in enumerate(ItemType.values)}
        return [acc[k] for k in sorted(acc, key=lambda k: (k[0], order.get(k[1], 99), k[2]))]
