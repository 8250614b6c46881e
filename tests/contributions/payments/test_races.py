"""Races on payments (PostgreSQL only: SQLite has no row locks). Two payments that together
exceed what is outstanding, a payment against a settlement being reopened, the same arrival file
imported twice at once: the outcome is always one consistent winner."""

from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError

from shebao.contributions.models import Arrear, Payment, Settlement
from shebao.contributions.payments.imports import ImportRefused
from shebao.contributions.payments.services import payment_post, payments_import
from shebao.contributions.settlement.services import settlement_reopen
from tests.contributions.payments_helpers import (
    PAID_ON,
    PERIOD,
    csv_bytes,
    lines_due,
    settled_unit,
    upload,
)
from tests.races import together

pytestmark = [
    pytest.mark.postgres,
    # the shipped parameter sets (data migration) come back for every test
    pytest.mark.django_db(transaction=True),
]


def test_two_payments_exceeding_the_outstanding_amount_one_wins(region_bj, staff_bj):
    unit, *_ = settled_unit(staff_bj, region_bj, 7)
    due = lines_due(unit, "110")
    part = (due * D("0.6")).quantize(D("0.01"))

    def pay():
        return payment_post(
            actor=staff_bj,
            unit=unit,
            settle_period=PERIOD,
            item="110",
            amount=part,
            paid_on=PAID_ON,
        )

    results = together(pay, pay)
    assert sum(isinstance(r, Payment) for r in results) == 1
    [error] = [r for r in results if not isinstance(r, Payment)]
    assert isinstance(error, ValidationError) and "尚欠金额" in str(error)
    assert Payment.objects.count() == 1
    assert Arrear.objects.get(payer=f"U{unit.pk}", item="110").paid == part


def test_payment_and_reopen_at_once_never_both(region_bj, staff_bj):
    unit, _, _, settlement = settled_unit(staff_bj, region_bj, 7)
    results = together(
        lambda: payment_post(
            actor=staff_bj,
            unit=unit,
            settle_period=PERIOD,
            item="110",
            amount="10.00",
            paid_on=PAID_ON,
        ),
        lambda: settlement_reopen(actor=staff_bj, settlement_id=settlement.pk),
    )
    settlement.refresh_from_db()
    paid = Payment.objects.exists()
    withdrawn = settlement.state == Settlement.State.WITHDRAWN
    assert paid != withdrawn, results
    assert all(isinstance(r, Payment | Settlement | ValidationError) for r in results), results


def test_the_same_file_imported_twice_at_once(region_bj, staff_bj):
    unit, *_ = settled_unit(staff_bj, region_bj, 7)
    data = csv_bytes([[unit.unit_no, PERIOD, "110", "10.00", "20250820"]])
    results = together(
        lambda: payments_import(actor=staff_bj, region=region_bj, upload=upload(data)),
        lambda: payments_import(actor=staff_bj, region=region_bj, upload=upload(data)),
    )
    refusals = [r for r in results if isinstance(r, ImportRefused)]
    assert len(refusals) == 1 and "不能重复导入" in str(refusals[0])
    assert Payment.objects.count() == 1
