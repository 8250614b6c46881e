"""Races on information changes (PostgreSQL only: SQLite has no row locks). Two reviewers
approving the same key change, two browsers submitting the same auto-approved change, a staff
lock racing an approval: exactly one wins and nothing is applied twice."""

import pytest
from django.core.exceptions import ValidationError

from shebao.core.models import AuditEntry
from shebao.filings import services as filing_services
from shebao.filings.models import FilingState, FilingStep
from shebao.registry.changes import services as changes
from shebao.registry.models import Person, Unit
from tests.factories import make_staff
from tests.races import run_together as together
from tests.registry import changes_helpers as h
from tests.registry.changes_helpers import LOCK_REASON, general_change, key_change

# fixtures
worker = h.worker

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def one_winner(outcomes) -> BaseException:
    errors = [e for _, e in outcomes if e is not None]
    assert len(errors) == 1, outcomes
    assert isinstance(errors[0], ValidationError), repr(errors[0])
    return errors[0]


def test_two_reviewers_approve_one_key_change_once(admin_a, staff_bj, region_bj, worker):
    other_reviewer = make_staff("staff_bj2", region_bj)
    filing = key_change(admin_a, worker, name="张新名")
    filing_services.filing_submit(actor=admin_a, filing=filing)

    outcomes = together(
        lambda: filing_services.filing_approve(actor=staff_bj, filing_id=filing.pk),
        lambda: filing_services.filing_approve(actor=other_reviewer, filing_id=filing.pk),
    )

    error = one_winner(outcomes)
    assert "已由他人处理" in error.messages[0]
    filing.refresh_from_db()
    assert filing.state == FilingState.APPROVED
    assert filing.steps.filter(action=FilingStep.Action.APPROVE).count() == 1
    assert Person.objects.get(pk=worker.pk).name == "张新名"
    assert AuditEntry.objects.filter(action="person.person_key_change").count() == 1


def test_approve_and_return_race_one_decision(admin_a, staff_bj, region_bj, admin_b):
    other_reviewer = make_staff("staff_bj2", region_bj)
    filing = changes.unit_change_save(
        actor=admin_a, kind="unit_key_change", after={"name": "新名称"}, materials=h.licence()
    )
    filing_services.filing_submit(actor=admin_a, filing=filing)

    outcomes = together(
        lambda: filing_services.filing_approve(actor=staff_bj, filing_id=filing.pk),
        lambda: filing_services.filing_return(
            actor=other_reviewer, filing_id=filing.pk, reason="材料不清晰"
        ),
    )

    one_winner(outcomes)
    filing.refresh_from_db()
    applied = Unit.objects.get(pk=admin_a.unit_id).name == "新名称"
    assert applied == (filing.state == FilingState.APPROVED)
    assert filing.steps.filter(action__in=["approve", "return"]).count() == 1


def test_double_submit_of_an_auto_approved_change_applies_once(admin_a, worker):
    filing = general_change(admin_a, worker, mobile="13900001111")

    outcomes = together(
        lambda: filing_services.filing_submit(actor=admin_a, filing=filing),
        lambda: filing_services.filing_submit(actor=admin_a, filing=filing),
    )

    error = one_winner(outcomes)
    assert "请勿重复提交" in error.messages[0]
    filing.refresh_from_db()
    assert filing.state == FilingState.APPROVED
    assert filing.steps.filter(action=FilingStep.Action.SUBMIT).count() == 1
    assert AuditEntry.objects.filter(action="person.person_general_change").count() == 1
    assert Person.objects.get(pk=worker.pk).mobile == "13900001111"


def test_staff_lock_racing_an_approval_never_lets_a_change_through_a_lock(
    admin_a, staff_bj, region_bj, worker
):
    locker = make_staff("staff_bj2", region_bj)
    filing = key_change(admin_a, worker, name="张新名")
    filing_services.filing_submit(actor=admin_a, filing=filing)

    outcomes = together(
        lambda: filing_services.filing_approve(actor=staff_bj, filing_id=filing.pk),
        lambda: changes.person_lock(actor=locker, person=worker, reason=LOCK_REASON),
    )

    (_, approve_error), (_, lock_error) = outcomes
    assert lock_error is None  # the lock always succeeds
    person = Person.objects.get(pk=worker.pk)
    assert person.is_locked and person.lock_reason == LOCK_REASON
    filing.refresh_from_db()
    if approve_error is None:  # approved first, then locked
        assert filing.state == FilingState.APPROVED and person.name == "张新名"
    else:  # locked first: the approval is refused with the reason
        assert f"该人员信息已锁定：{LOCK_REASON}" in approve_error.messages[0]
        assert filing.state == FilingState.SUBMITTED and person.name == "测试人员1"


def test_two_units_lock_requests_cannot_both_open(admin_a, worker, unit_b):
    """The same person enrolled at two units: one open filing per person (DB constraint)."""
    from tests.conftest import make_admin

    h.enrol(worker, unit_b, types=("410",))
    admin_b = make_admin(unit_b)

    outcomes = together(
        lambda: h.person_save(admin_a, worker, kind="person_lock", reason=LOCK_REASON),
        lambda: h.person_save(admin_b, worker, kind="person_lock", reason=LOCK_REASON),
    )

    one_winner(outcomes)
    from shebao.filings.models import FilingRow

    assert (
        FilingRow.objects.filter(FilingRow.id_number.q(worker.id_number), is_open=True).count() == 1
    )
