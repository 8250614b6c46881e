"""The 滞纳金 (late fee) reports, scoped by the actor (the operator's own unit, a unit of the staff
member's regions): the fees on a unit's unpaid contribution lines, computed for a chosen pay
date and shown apart from the principal; never stored as a contribution line (DOMAIN §5,
issue 5).

Rules (backpay.calc and calculator.calc.late_fee do the arithmetic):
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

from datetime import date

from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.http import Http404

from shebao.contributions.backpay.calc import FeeLine, LateFeeReport, UnpaidLine, line_fees
from shebao.contributions.models import Arrear, ContributionLine, RegionPolicy
from shebao.filings.business import BusinessKind
from shebao.registry.access import deny, is_operator, require_staff
from shebao.registry.models import Unit

FEE_PAGE_SIZE = 50
ACTION = "backpay.late_fee"


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
            "person__id_number_masked",
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
            person_id_masked=persons[f.line.line_id].masked_id_number,
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
    if not is_operator(actor):
        deny(actor, action=ACTION)
        raise PermissionDenied("只有单位经办人可以试算本单位滞纳金")
    if not any(
        actor.may_file(k)
        for k in (BusinessKind.QUERY, BusinessKind.SETTLEMENT, BusinessKind.BACK_PAY)
    ):
        deny(actor, action=ACTION)
        raise PermissionDenied("您没有查询缴费信息的权限，请联系本单位管理员")
    unit = Unit.objects.select_related("region").get(pk=actor.unit_id)
    return late_fee_report(unit, pay_date)


def staff_unit(actor, unit_no: str) -> Unit:
    """A unit of one of the staff member's regions; another region's unit answers 404."""
    require_staff(actor, action=ACTION, message="只有经办人员可以查询")
    unit_no = (unit_no or "").strip()
    unit = (
        Unit.objects.select_related("region")
        .filter(unit_no=unit_no, region__in=actor.regions.all())
        .first()
    )
    if unit is None:
        deny(actor, action=ACTION, object_type="unit", object_id=unit_no)
        raise Http404
    return unit


def staff_late_fees(actor, *, unit_no: str, pay_date: date) -> LateFeeReport:
    return late_fee_report(staff_unit(actor, unit_no), pay_date)


def late_fee_page(report: LateFeeReport, number) -> Page:
    """One page of the report's lines."""
    return Paginator(report.lines, FEE_PAGE_SIZE).get_page(number)
