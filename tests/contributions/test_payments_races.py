"""Races on payments (PostgreSQL only: SQLite has no row locks). Two payments that together
exceed what is outstanding, a payment against a settlement being reopened, the same arrival file
imported twice at once: the outcome is always one consistent winner."""

import threading
from collections.abc import Callable
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections

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

pytestmark = [
    pytest.mark.postgres,
    # the shipped parameter sets (data migration) come back for every test
    pytest.mark.django_db(transaction=True),
]
TIMEOUT = 30


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (row locks); run with DATABASE_URL=postgres://…")


def together(*funcs: Callable) -> list:
    """Run the callables in threads released at once; each result or the exception raised."""
    barrier = threading.Barrier(len(funcs))
    results: list = [None] * len(funcs)

    def run(i, func):
        try:
            barrier.wait(TIMEOUT)
            results[i] = func()
        except BaseException as e:  # the test inspects it
            results[i] = e
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, f), daemon=True) for i, f in enumerate(funcs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
        assert not t.is_alive(), "a thread did not finish"
    return results


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
