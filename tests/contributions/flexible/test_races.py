"""Races on flexible assessments (PostgreSQL only: SQLite has no row locks). The same person
assessed twice at once (by themself and by the region run), a rollback against a payment: one
consistent outcome every time."""

import pytest
from django.core.exceptions import ValidationError

from shebao.contributions.flexible.services import (
    flexible_assess,
    flexible_assess_region,
    flexible_rollback,
)
from shebao.contributions.models import ContributionLine, Payment, Settlement
from shebao.contributions.payments.services import payment_post
from tests.conftest import ensure_published_parameters
from tests.contributions.flexible_helpers import PERIOD, make_person, person_login, register
from tests.races import together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(region_bj, staff_bj):
    ensure_published_parameters()
    region_bj.current_period = PERIOD
    region_bj.save()
    person = make_person(1)
    user = person_login(person)
    register(user, staff_bj, level="1.50")
    return person, user


def test_person_and_region_run_at_once_assess_once(worker, staff_bj):
    person, user = worker
    results = together(
        lambda: flexible_assess(actor=user),
        lambda: flexible_assess_region(actor=staff_bj, region_code="110000"),
    )
    assert Settlement.objects.filter(person=person).exclude(state="withdrawn").count() == 1
    assert ContributionLine.objects.filter(person=person, withdrawn=False).count() == 2
    for r in results:
        assert not isinstance(r, Exception) or (
            isinstance(r, ValidationError) and "已核定" in str(r)
        )


def test_rollback_and_payment_at_once_never_both(worker, staff_bj):
    person, user = worker
    settlement = flexible_assess(actor=user)
    results = together(
        lambda: flexible_rollback(actor=user, settlement_id=settlement.pk),
        lambda: payment_post(
            actor=staff_bj,
            unit=None,
            person=person,
            settle_period=PERIOD,
            item="110",
            amount="2148.60",
            paid_on="2025-08-20",
        ),
    )
    settlement.refresh_from_db()
    paid = Payment.objects.filter(person=person).exists()
    withdrawn = settlement.state == Settlement.State.WITHDRAWN
    assert paid != withdrawn  # exactly one of them happened
    assert sum(isinstance(r, ValidationError) for r in results) == 1
