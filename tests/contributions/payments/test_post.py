"""payment_post: one payment (到账) allocated oldest 费款所属期 first within its item (DOMAIN
§4.5); partial payments; permission; another region; bad input; nothing half-written."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone

from shebao.contributions.models import Arrear, ContributionLine, Payment, Settlement
from shebao.contributions.payments.services import payment_post
from shebao.contributions.settlement.selectors import unpaid_periods
from shebao.contributions.settlement.services import settlement_reopen
from shebao.core.models import AuditEntry
from tests.contributions.payments_helpers import (
    PAID_ON,
    PERIOD,
    add_back_pay,
    arrear,
    flexible_worker,
    lines_due,
    settled_unit,
)
from tests.factories import make_staff


@pytest.fixture
def settled(region_bj, staff_bj):
    """A settled unit whose 110 item also carries back pay for 202505 and 202506."""
    unit, admin, people, settlement = settled_unit(staff_bj, region_bj, 7)
    add_back_pay(settlement, people[0], "110", 202505, "800.00", "400.00")
    add_back_pay(settlement, people[0], "110", 202506, "800.00", "400.00")
    return unit, admin, people, settlement


def post(actor, unit, amount, item="110", **kw):
    args = {"settle_period": PERIOD, "item": item, "amount": amount, "paid_on": PAID_ON}
    args.update(kw)
    return payment_post(actor=actor, unit=unit, **args)


def test_partial_payment_fills_the_oldest_belongs_period_first(settled, staff_bj):
    unit, _, people, _ = settled
    post(staff_bj, unit, D("1500.00"))
    assert arrear(unit, "110", 202505).paid == D("1200.00")
    assert arrear(unit, "110", 202506).paid == D("300.00")
    assert arrear(unit, "110", 202506).outstanding == D("900.00")
    assert arrear(unit, "110", PERIOD).paid == D("0.00")
    assert arrear(unit, "110", 202505).last_paid_on == PAID_ON
    paid = ContributionLine.objects.filter(unit=unit, item="110", paid=True)
    assert list(paid.values_list("belongs_period", flat=True)) == [202505]
    assert unpaid_periods(people[0], unit) == [202506, PERIOD]
    assert unpaid_periods(people[1], unit) == [PERIOD]


def test_payments_add_up_until_the_item_is_paid(settled, staff_bj):
    unit, _, people, _ = settled
    due = lines_due(unit, "110")
    post(staff_bj, unit, D("1500.00"))
    post(staff_bj, unit, due - D("1500.00") - D("0.01"), paid_on=PAID_ON + timedelta(days=1))
    assert arrear(unit, "110", PERIOD).outstanding == D("0.01")
    assert not ContributionLine.objects.filter(
        unit=unit, item="110", belongs_period=PERIOD, paid=True
    ).exists()
    post(staff_bj, unit, "0.01", paid_on=PAID_ON + timedelta(days=2))
    assert not ContributionLine.objects.filter(unit=unit, item="110", paid=False).exists()
    assert arrear(unit, "110", PERIOD).last_paid_on == PAID_ON + timedelta(days=2)
    # the other items are still unpaid: the person stays in arrears for 202508 only
    assert unpaid_periods(people[0], unit) == [PERIOD]
    for item in ("210", "310", "410"):
        post(staff_bj, unit, lines_due(unit, item), item=item)
    assert unpaid_periods(people[0], unit) == []
    assert not Arrear.objects.filter(payer=f"U{unit.pk}", paid__lt=D("0.01")).exists()


def test_post_writes_one_payment_and_one_audit_row(settled, staff_bj):
    unit, *_ = settled
    payment = post(staff_bj, unit, "100.50")
    assert payment.amount == D("100.50") and payment.source == Payment.Source.MANUAL
    assert payment.created_by == staff_bj and payment.region_id == unit.region_id
    entries = AuditEntry.objects.filter(action="payment.post")
    assert entries.count() == 1
    entry = entries.get()
    assert entry.outcome == AuditEntry.Outcome.OK and entry.object_id == str(unit.pk)
    assert entry.detail["amount"] == "100.50" and entry.detail["item"] == "110"


def test_settlement_with_a_payment_cannot_be_reopened(settled, staff_bj):
    unit, _, _, settlement = settled
    post(staff_bj, unit, "1.00")
    with pytest.raises(ValidationError, match="到账"):
        settlement_reopen(actor=staff_bj, settlement_id=settlement.pk)
    settlement.refresh_from_db()
    assert settlement.state == Settlement.State.CONFIRMED


def test_operator_cannot_post(settled):
    unit, admin, *_ = settled
    with pytest.raises(PermissionDenied):
        post(admin, unit, "100.00")
    assert not Payment.objects.exists()
    denied = AuditEntry.objects.get(action="payment.post")
    assert denied.outcome == AuditEntry.Outcome.DENIED


def test_staff_of_another_region_gets_404_and_nothing_is_written(settled, staff_sh):
    unit, *_ = settled
    before = list(Arrear.objects.values_list("paid", flat=True))
    with pytest.raises(Http404):
        post(staff_sh, unit, "100.00")
    with pytest.raises(Http404):  # even with bad input: the unit is not theirs
        post(staff_sh, unit, "abc")
    assert not Payment.objects.exists()
    assert list(Arrear.objects.values_list("paid", flat=True)) == before


def test_staff_of_both_regions_may_post(settled, region_bj, region_sh):
    unit, *_ = settled
    both = make_staff("staff_both", region_sh, region_bj)
    post(both, unit, "10.00")
    assert Payment.objects.count() == 1


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0", "大于 0"),
        ("-5.00", "大于 0"),
        ("abc", "不是有效的数字"),
        ("", "不能为空"),
        ("10.001", "两位小数"),
        ("NaN", "有效的数字"),
        ("1e20", "过大"),
    ],
)
def test_bad_amount_is_refused_next_to_the_field(settled, staff_bj, amount, message):
    unit, *_ = settled
    with pytest.raises(ValidationError) as e:
        post(staff_bj, unit, amount)
    assert message in " ".join(e.value.message_dict["amount"])
    assert not Payment.objects.exists()


def test_more_than_outstanding_is_refused(settled, staff_bj):
    unit, *_ = settled
    due = lines_due(unit, "110")
    with pytest.raises(ValidationError) as e:
        post(staff_bj, unit, due + D("0.01"))
    assert f"尚欠金额 {due}" in e.value.message_dict["amount"][0]
    post(staff_bj, unit, due)
    with pytest.raises(ValidationError, match="已足额到账"):
        post(staff_bj, unit, "1.00")
    assert Payment.objects.count() == 1


def test_item_without_lines_in_that_settlement_period_is_refused(settled, staff_bj):
    unit, *_ = settled
    with pytest.raises(ValidationError) as e:
        post(staff_bj, unit, "10.00", item="510")  # not among the unit's types
    assert "没有" in e.value.message_dict["item"][0]
    with pytest.raises(ValidationError) as e:
        post(staff_bj, unit, "10.00", settle_period=202507)  # no settlement that month
    assert "202507" in e.value.message_dict["item"][0]
    with pytest.raises(ValidationError) as e:
        post(staff_bj, unit, "10.00", item="999")
    assert "险种" in e.value.message_dict["item"][0]
    assert not Payment.objects.exists()


def test_bad_period_and_future_date_are_refused(settled, staff_bj):
    unit, *_ = settled
    with pytest.raises(ValidationError) as e:
        post(
            staff_bj,
            unit,
            "10.00",
            settle_period="2025-13",
            paid_on=timezone.localdate() + timedelta(days=1),
        )
    assert "yyyyMM" in e.value.message_dict["settle_period"][0]
    assert "晚于今天" in e.value.message_dict["paid_on"][0]
    assert not Payment.objects.exists()


def test_withdrawn_settlement_takes_no_payment(settled, staff_bj):
    unit, _, _, settlement = settled
    settlement_reopen(actor=staff_bj, settlement_id=settlement.pk)
    with pytest.raises(ValidationError):
        post(staff_bj, unit, "10.00")
    assert not Payment.objects.exists()


def test_flexible_worker_pays_alone(settled, staff_bj, staff_sh, person):
    _, _, _, settlement = settled
    flexible_worker(settlement, person)
    with pytest.raises(Http404):
        payment_post(
            actor=staff_sh,
            unit=None,
            person=person,
            settle_period=PERIOD,
            item="110",
            amount="100.00",
            paid_on=PAID_ON,
        )
    payment_post(
        actor=staff_bj,
        unit=None,
        person=person,
        settle_period=PERIOD,
        item="110",
        amount="1500.00",
        paid_on=PAID_ON,
    )
    rows = {a.belongs_period: a for a in Arrear.objects.filter(payer=f"P{person.pk}")}
    assert rows[202507].paid == D("1432.40") and rows[PERIOD].paid == D("67.60")
    line = ContributionLine.objects.get(person=person, belongs_period=202507)
    assert line.paid
