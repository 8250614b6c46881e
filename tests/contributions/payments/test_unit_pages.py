"""Unit hall: 社保应付 by 结算期 (seed 004) with drill-down to items and persons, and the
payment history. Amounts equal the sums of the lines to the fen; another unit sees nothing."""

from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shebao.accounts.models import User
from shebao.contributions.models import ContributionLine
from shebao.contributions.payments.services import payment_post
from shebao.core.models import AuditEntry
from shebao.filings.business import BusinessKind
from tests.conftest import signed_in
from tests.contributions.payments_helpers import (
    PAID_ON,
    PERIOD,
    add_back_pay,
    lines_due,
    settled_unit,
)
from tests.factories import PASSWORD

PAYABLE = "/unit/payable/"
HISTORY = "/unit/payments/"


@pytest.fixture
def settled(region_bj, staff_bj):
    unit, admin, people, settlement = settled_unit(staff_bj, region_bj, 7)
    add_back_pay(settlement, people[0], "110", 202505, "800.33", "400.17")
    add_back_pay(settlement, people[1], "110", 202506, "801.01", "400.50")
    payment_post(
        actor=staff_bj,
        unit=unit,
        settle_period=PERIOD,
        item="110",
        amount="1500.00",
        paid_on=PAID_ON,
    )
    return unit, admin, people


def test_payable_defaults_to_the_latest_settlement_and_sums_the_lines(settled):
    unit, admin, _ = settled
    r = signed_in(admin).get(PAYABLE)
    assert r.status_code == 200
    payable = r.context["payable"]
    assert payable.settle_period == PERIOD and payable.headcount == 3
    lines = ContributionLine.objects.filter(unit=unit, withdrawn=False, settle_period=PERIOD)
    for row in payable.items:
        own = lines.filter(item=row.item)
        assert row.unit == sum(own.values_list("unit_amount", flat=True), D("0"))
        assert row.personal == sum(own.values_list("personal_amount", flat=True), D("0"))
        assert row.due == lines_due(unit, row.item)
        assert row.headcount == own.values("person").distinct().count()
        for pr in row.periods:
            assert pr.due == lines_due(unit, row.item, pr.belongs_period)
    assert payable.due == lines_due(unit)
    by_item = {row.item: row for row in payable.items}
    assert by_item["110"].paid == D("1500.00")
    assert by_item["110"].outstanding == lines_due(unit, "110") - D("1500.00")
    assert [(p.belongs_period, p.paid) for p in by_item["110"].periods] == [
        (202505, D("1200.50")),
        (202506, D("299.50")),
        (PERIOD, D("0.00")),
    ]
    html = r.content.decode()
    assert f"{lines_due(unit)}" in html and f"{lines_due(unit, '110')}" in html
    assert "费款所属期 202505（补缴）" in html and "1500.00" in html


def test_choosing_a_period_without_settlement(settled):
    _, admin, _ = settled
    client = signed_in(admin)
    r = client.get(PAYABLE, {"period": "202507"})
    assert r.context["payable"] is None and "202507 没有结算记录" in r.content.decode()
    r = client.get(PAYABLE, {"period": "2025-13"})
    assert r.context["payable"] is None and "yyyyMM" in r.content.decode()


def test_drill_down_to_an_items_persons(settled):
    unit, admin, people = settled
    r = signed_in(admin).get(f"/unit/payable/{PERIOD}/lines/", {"item": "110"})
    assert r.status_code == 200
    shown = list(r.context["page"])
    assert {line.item for line in shown} == {"110"}
    assert len(shown) == 5  # 3 persons this month + 2 back-pay lines
    first = [x for x in shown if x.person == people[0]]
    assert [(x.belongs_period, x.paid) for x in first] == [(202505, True), (PERIOD, False)]
    html = r.content.decode()
    assert people[0].masked_id_number in html and people[0].id_number not in html
    assert "1200.50" in html and "已到账" in html and "未足额" in html
    r = signed_in(admin).get(f"/unit/payable/{PERIOD}/lines/")
    assert len(r.context["page"].object_list) == ContributionLine.objects.filter(unit=unit).count()


def test_another_unit_sees_nothing_of_it(settled, admin_b):
    _, _, people = settled
    client = signed_in(admin_b)
    assert client.get(f"/unit/payable/{PERIOD}/lines/").status_code == 404
    r = client.get(PAYABLE, {"period": str(PERIOD)})
    assert r.context["payable"] is None
    assert people[0].name not in r.content.decode()
    r = client.get(HISTORY)
    assert list(r.context["page"]) == []


def test_staff_and_persons_are_not_operators(settled, staff_bj, person_user):
    assert signed_in(staff_bj).get(PAYABLE).status_code == 403
    assert signed_in(person_user).get(HISTORY).status_code == 403


def test_operator_without_query_permission_is_refused(settled):
    unit, admin, _ = settled
    clerk = User(
        username=f"{admin.username}-clerk",
        kind=User.Kind.OPERATOR,
        unit=unit,
        registration=admin.registration,
        operator_account="clerk",
        display_name="办事员",
        mobile="13900000077",
        business_kinds=[BusinessKind.ENROLMENT],
    )
    clerk.set_password(PASSWORD)
    clerk.save()
    client = signed_in(clerk)
    assert client.get(PAYABLE).status_code == 403
    assert client.get(f"/unit/payable/{PERIOD}/lines/").status_code == 403
    denied = AuditEntry.objects.filter(action="payment.payable", actor=clerk)
    assert denied.count() == 2
    assert {e.outcome for e in denied} == {AuditEntry.Outcome.DENIED}
    clerk.business_kinds = [BusinessKind.SETTLEMENT]
    clerk.save()
    assert client.get(PAYABLE).status_code == 200


def test_payment_history(settled, staff_bj):
    unit, admin, _ = settled
    payment_post(
        actor=staff_bj,
        unit=unit,
        settle_period=PERIOD,
        item="310",
        amount="12.34",
        paid_on=PAID_ON,
    )
    r = signed_in(admin).get(HISTORY)
    assert [p.amount for p in r.context["page"]] == [D("1500.00"), D("12.34")]
    assert "12.34" in r.content.decode()


def count_queries(client, url, params=None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url, params or {}).status_code == 200
    return len(ctx)


def test_unit_pages_run_a_constant_number_of_queries(region_bj, staff_bj):
    small, small_admin, *_ = settled_unit(staff_bj, region_bj, 7, persons=2)
    big, big_admin, people, settlement = settled_unit(staff_bj, region_bj, 8, persons=60)
    add_back_pay(settlement, people[0], "110", 202506, "1.00", "1.00")
    for unit in (small, big):
        for item in ("110", "210", "310"):
            payment_post(
                actor=staff_bj,
                unit=unit,
                settle_period=PERIOD,
                item=item,
                amount="1.00",
                paid_on=PAID_ON,
            )
    for item in ("110", "210", "310", "410"):  # more history rows than a page for the big one
        for day in range(1, 8):
            payment_post(
                actor=staff_bj,
                unit=big,
                settle_period=PERIOD,
                item=item,
                amount="0.01",
                paid_on=PAID_ON.replace(day=day),
            )
    small_client, big_client = signed_in(small_admin), signed_in(big_admin)
    for url in (PAYABLE, f"/unit/payable/{PERIOD}/lines/", HISTORY):
        assert count_queries(small_client, url) == count_queries(big_client, url), url
    assert count_queries(big_client, HISTORY, {"page": 2}) == count_queries(small_client, HISTORY)
