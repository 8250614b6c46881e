"""滞纳金 (late fees) on a unit's unpaid contribution lines, computed for a chosen pay date and
shown apart from the principal; never stored as a contribution line (DOMAIN §5, issue 5).

Rules (calc.late_fee does the arithmetic):
- due date of a line: in its 费款所属期 month, on the region's ``RegionPolicy.due_day`` (0, the
  default, or a day past the month's end = the last day of that month);
- calendar days from the day after the due date through the pay date, 0.05 % a day (Social
  Insurance Law art. 86); days before 2011-07-01 at 0.2 %; not compounded;
- each line's fee rounded half-up to the fen; the totals are sums of the lines;
- optionally capped at the line's principal (行政强制法 art. 45), per region
  (``RegionPolicy.late_fee_cap_at_principal``, off by default).

Which principal a line owes (the rule chosen): payments arrive per unit, 结算期 and item and fill
the oldest 费款所属期 first (settlement.rebuild_arrears), so what is outstanding is known per
item-period (an Arrear row: 结算期 × item × 费款所属期), not per person. The outstanding amount
of an item-period is allocated across its unpaid lines in proportion to their amounts, to the
fen by largest remainder (ties to the earlier line), so the lines' principals add up exactly to
the item-period's outstanding amount; an item-period not paid at all gives each line its full
amount. Back-pay lines approved but not yet settled (waiting for the unit's next settlement)
are unpaid in full and accrue from their own 费款所属期's due date; they are listed as such.

Not computed here: the fee already owed on amounts that were paid late (the days between their
due date and their arrival) — only what is still unpaid on the pay date accrues."""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_DOWN, Decimal

from django.core.exceptions import PermissionDenied
from django.http import Http404

from shebao.contributions.calculator.calc import ZERO, late_fee
from shebao.contributions.models import Arrear, ContributionLine, ItemType, RegionPolicy
from shebao.core.ids import mask_id_number
from shebao.core.money import FEN
from shebao.core.periods import Period
from shebao.filings.business import BusinessKind
from shebao.registry.models import Unit

ITEM_LABELS = dict(ItemType.choices)


# --- pure rules --------------------------------------------------------------------------------


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


# --- the report --------------------------------------------------------------------------------


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


def region_policy(region_id: str) -> tuple[int, bool]:
    """(due_day, cap_at_principal) of a region; the defaults when it has no policy row."""
    policy = RegionPolicy.objects.filter(region_id=region_id).first()
    if policy is None:
        return 0, False
    return policy.due_day, policy.late_fee_cap_at_principal


def late_fee_report(unit: Unit, pay_date: date) -> LateFeeReport:
    """The late fees of every unpaid line of ``unit`` (the caller scoped it) on ``pay_date``."""
    due_day, cap = region_policy(unit.region_id)
    rows = list(
        ContributionLine.objects.filter(unit=unit, withdrawn=False, paid=False)
        .select_related("person")
        .only(
            "id",
            "item",
            "settle_period",
            "belongs_period",
            "unit_amount",
            "personal_amount",
            "settlement_id",
            "person__name",
            "person__id_number",
        )
        .order_by("id")
    )
    outstanding = {
        (a.settle_period, a.item, a.belongs_period): a.due - a.paid
        for a in Arrear.objects.filter(payer=f"U{unit.pk}", unit=unit)
    }
    unpaid = [
        UnpaidLine(
            line_id=x.pk,
            person_id=x.person_id,
            item=x.item,
            settle_period=x.settle_period,
            belongs_period=x.belongs_period,
            amount=x.unit_amount + x.personal_amount,
            pending=x.settlement_id is None,
        )
        for x in rows
    ]
    persons = {x.pk: x.person for x in rows}
    fees = [
        FeeLine(
            line=f.line,
            principal=f.principal,
            due=f.due,
            days=f.days,
            fee=f.fee,
            person_name=persons[f.line.line_id].name,
            person_id_masked=mask_id_number(persons[f.line.line_id].id_number),
        )
        for f in line_fees(
            unpaid, outstanding, pay_date=pay_date, due_day=due_day, cap_at_principal=cap
        )
    ]
    fees.sort(key=lambda f: (f.line.belongs_period, f.line.item, f.person_name, f.line.line_id))
    return LateFeeReport(
        unit=unit, pay_date=pay_date, due_day=due_day, cap_at_principal=cap, lines=fees
    )


# --- scoped entry points -----------------------------------------------------------------------


def unit_late_fees(actor, *, pay_date: date) -> LateFeeReport:
    """The operator's own unit (查询打印, 结算与缴费 or 补缴 permission)."""
    if getattr(actor, "kind", None) != "operator":
        raise PermissionDenied("只有单位经办人可以试算本单位滞纳金")
    if not any(
        actor.may_file(k)
        for k in (BusinessKind.QUERY, BusinessKind.SETTLEMENT, BusinessKind.BACK_PAY)
    ):
        raise PermissionDenied("您没有查询缴费信息的权限，请联系本单位管理员")
    unit = Unit.objects.select_related("region").get(pk=actor.unit_id)
    return late_fee_report(unit, pay_date)


def staff_unit(actor, unit_no: str) -> Unit:
    """A unit of one of the staff member's regions; another region's unit answers 404."""
    if getattr(actor, "kind", None) != "staff":
        raise PermissionDenied("只有经办人员可以查询")
    try:
        return Unit.objects.select_related("region").get(
            unit_no=(unit_no or "").strip(), region__in=actor.regions.all()
        )
    except Unit.DoesNotExist:
        raise Http404 from None


def staff_late_fees(actor, *, unit_no: str, pay_date: date) -> LateFeeReport:
    return late_fee_report(staff_unit(actor, unit_no), pay_date)
