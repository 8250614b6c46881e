"""滞纳金试算 on real arrears: partial payments allocated across the lines, the region's due day
and cap, pending back pay, the unit's and the staff's pages, tenancy."""

import re
from datetime import date
from decimal import ROUND_HALF_UP
from decimal import Decimal as D

import pytest
from django.urls import reverse

from shebao.contributions.backpay.selectors_latefee import (
    late_fee_report,
    staff_late_fees,
    unit_late_fees,
)
from shebao.contributions.models import Arrear, ContributionLine, RegionPolicy
from shebao.contributions.payments.services import payment_post
from shebao.core.models import AuditEntry
from tests.conftest import signed_in
from tests.contributions.backpay_helpers import ALL_BUT_BACK_PAY
from tests.contributions.payments_helpers import PERIOD, add_back_pay, settled_unit
from tests.factories import make_admin, make_operator, make_unit

pytestmark = pytest.mark.django_db

FEN = D("0.01")
PAY = date(2025, 9, 30)  # 30 days after 2025-08-31


@pytest.fixture
def settled(staff_bj, region_bj):
    unit, admin, people, settlement = settled_unit(staff_bj, region_bj, 81, persons=3)
    add_back_pay(settlement, people[0], "110", 202506, "800.00", "400.00")
    return unit, admin, people, settlement


def outstanding(unit, item, belongs):
    a = Arrear.objects.get(payer=f"U{unit.pk}", item=item, belongs_period=belongs)
    return a.due - a.paid


def test_every_unpaid_line_accrues_from_its_own_due_date(settled):
    unit, admin, _people, _ = settled
    report = unit_late_fees(admin, pay_date=PAY)
    due = sum((a.due - a.paid for a in Arrear.objects.filter(payer=f"U{unit.pk}")), D("0"))
    assert report.principal_total == due
    assert report.fee_total == sum((f.fee for f in report.lines), D("0"))
    back = [f for f in report.lines if f.line.belongs_period == 202506]
    assert len(back) == 1 and back[0].due == date(2025, 6, 30) and back[0].days == 92
    assert back[0].fee == (D("1200.00") * D("0.0005") * 92).quantize(FEN, ROUND_HALF_UP)
    for f in report.lines:
        if f.line.belongs_period == PERIOD:
            assert f.days == 30
            exact = f.principal * D("0.0005") * 30
            assert f.fee == exact.quantize(FEN, ROUND_HALF_UP)
            assert f.principal == f.line.amount  # nothing paid yet


def test_partial_payment_fills_the_oldest_period_then_is_shared_across_lines(settled, staff_bj):
    unit, admin, _, _ = settled
    due_110 = sum((a.due for a in Arrear.objects.filter(payer=f"U{unit.pk}", item="110")), D("0"))
    paid = D("1200.00") + D("1000.00")  # all of 202506, part of 202508
    payment_post(
        actor=staff_bj, unit=unit, settle_period=PERIOD, item="110", amount=paid, paid_on=PAY
    )
    report = unit_late_fees(admin, pay_date=PAY)
    fees_110 = [f for f in report.lines if f.line.item == "110"]
    assert {f.line.belongs_period for f in fees_110} == {PERIOD}  # 202506 is paid
    left = outstanding(unit, "110", PERIOD)
    assert left == due_110 - paid
    assert sum((f.principal for f in fees_110), D("0")) == left
    for f in fees_110:
        assert f.principal < f.line.amount
        assert abs(f.principal - f.line.amount * left / (due_110 - D("1200.00"))) < FEN
    # other items untouched
    for f in report.lines:
        if f.line.item != "110":
            assert f.principal == f.line.amount


def test_fully_paid_item_owes_no_fee(settled, staff_bj):
    unit, admin, _, _ = settled
    payment_post(
        actor=staff_bj,
        unit=unit,
        settle_period=PERIOD,
        item="210",
        amount=sum((a.due for a in Arrear.objects.filter(payer=f"U{unit.pk}", item="210")), D("0")),
        paid_on=PAY,
    )
    report = unit_late_fees(admin, pay_date=PAY)
    assert not [f for f in report.lines if f.line.item == "210"]


def test_region_due_day_and_cap(settled, region_bj):
    unit, admin, people, settlement = settled
    add_back_pay(settlement, people[1], "110", 201912, "10.00", "5.00")
    RegionPolicy.objects.create(region=region_bj, due_day=15, late_fee_cap_at_principal=True)
    report = unit_late_fees(admin, pay_date=PAY)
    assert report.due_day == 15 and report.cap_at_principal
    old = [f for f in report.lines if f.line.belongs_period == 201912]
    assert old[0].due == date(2019, 12, 15) and old[0].fee == D("15.00")  # capped
    current = [f for f in report.lines if f.line.belongs_period == PERIOD]
    assert {f.days for f in current} == {46}  # 2025-08-16 … 2025-09-30
    RegionPolicy.objects.filter(region=region_bj).update(late_fee_cap_at_principal=False)
    uncapped = late_fee_report(unit, PAY)
    assert next(f for f in uncapped.lines if f.line.belongs_period == 201912).fee > D("15.00")


def test_pending_back_pay_owes_in_full_from_its_own_due_date(settled):
    unit, admin, people, settlement = settled
    template = ContributionLine.objects.filter(settlement=settlement, item="110").first()
    ContributionLine.objects.create(
        unit=unit,
        person=people[2],
        region_id=unit.region_id,
        item="110",
        settle_period=PERIOD,
        belongs_period=202507,
        kind="back_pay",
        base=D("7162.00"),
        unit_amount=D("1145.92"),
        personal_amount=D("572.96"),
        parameter_set=template.parameter_set,
    )
    report = unit_late_fees(admin, pay_date=PAY)
    (pending,) = [f for f in report.lines if f.line.pending]
    assert pending.principal == D("1718.88") and pending.days == 61
    assert any(r.pending for r in report.by_period)


# --- pages ------------------------------------------------------------------------------------


def number(html: str, element_id: str) -> D:
    found = re.search(rf'id="{element_id}">([^<]+)<', html)
    assert found, element_id
    return D(found.group(1).strip().replace(",", ""))


def test_unit_page_shows_fee_apart_from_the_principal(settled):
    unit, admin, _, _ = settled
    client = signed_in(admin)
    response = client.get(reverse("unit:late_fee"), {"pay_date": "2025-09-30"})
    assert response.status_code == 200
    html = response.content.decode()
    report = unit_late_fees(admin, pay_date=PAY)
    assert number(html, "principal-total") == report.principal_total
    assert number(html, "fee-total") == report.fee_total
    assert number(html, "grand-total") == report.principal_total + report.fee_total
    assert "费款所属期当月最后一日" in html and "不设上限" in html
    assert "202506" in html
    # no fee is ever written as a contribution line
    assert not ContributionLine.objects.filter(unit=unit, base=0).exists()


def test_unit_page_defaults_to_today_and_refuses_bad_dates(settled):
    _, admin, _, _ = settled
    client = signed_in(admin)
    response = client.get(reverse("unit:late_fee"))
    assert response.status_code == 200 and 'id="pay-date"' in response.content.decode()
    response = client.get(reverse("unit:late_fee"), {"pay_date": "1980-01-01"})
    assert response.status_code == 400 and "不能早于1990年1月1日" in response.content.decode()
    response = client.get(reverse("unit:late_fee"), {"pay_date": "2025-02-30"})
    assert response.status_code == 400 and "格式应为yyyy-mm-dd" in response.content.decode()


def test_unit_page_permission(settled):
    unit, _, _, _ = settled
    kinds = [k for k in ALL_BUT_BACK_PAY if k not in ("query", "settlement")]
    clerk = signed_in(make_operator(unit, "clerk", kinds))
    assert clerk.get(reverse("unit:late_fee")).status_code == 403
    payer = signed_in(make_operator(unit, "payer", ["back_pay"]))
    assert payer.get(reverse("unit:late_fee")).status_code == 200
    assert AuditEntry.objects.filter(action="backpay.late_fee", outcome="denied").count() == 1


def test_staff_page_for_units_of_their_regions_only(settled, staff_bj, staff_sh, region_sh):
    unit, _, _, _ = settled
    client = signed_in(staff_bj)
    assert client.get(reverse("staff:late_fee")).status_code == 200
    response = client.get(
        reverse("staff:late_fee"), {"unit_no": unit.unit_no, "pay_date": "2025-09-30"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert (
        number(html, "fee-total")
        == staff_late_fees(staff_bj, unit_no=unit.unit_no, pay_date=PAY).fee_total
    )
    assert unit.name in html
    other = signed_in(staff_sh)
    response = other.get(reverse("staff:late_fee"), {"unit_no": unit.unit_no})
    assert response.status_code == 404
    response = client.get(reverse("staff:late_fee"), {"unit_no": "999999999999"})
    assert response.status_code == 404
    denied = AuditEntry.objects.filter(action="backpay.late_fee", outcome="denied")
    assert sorted(denied.values_list("object_id", flat=True)) == sorted(
        [unit.unit_no, "999999999999"]
    )
    response = client.get(reverse("staff:late_fee"), {"unit_no": ""})
    assert response.status_code == 400 and "请填写单位编号" in response.content.decode()


def test_halls_are_kept_apart(settled, staff_bj, region_bj):
    unit, admin, _, _ = settled
    assert signed_in(admin).get(reverse("staff:late_fee")).status_code == 403
    assert signed_in(staff_bj).get(reverse("unit:late_fee")).status_code == 403
    # another unit's operator sees their own (empty) report, never this unit's lines
    other = make_admin(make_unit(staff_bj, region_bj, 82))
    report = unit_late_fees(other, pay_date=PAY)
    assert report.unit.pk != unit.pk and not report.lines
