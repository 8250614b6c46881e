"""Races on one filing (PostgreSQL only: SQLite has no row locks). Two reviewers approving the
same application, two browsers submitting it, two applications for one USCC: exactly one wins,
the other gets a Chinese message, and nothing is written twice."""

import threading

import pytest
from django.core.exceptions import ValidationError

from shebao.accounts.models import UnitOnlineRegistration, User
from shebao.filings import services
from shebao.filings.models import Filing, FilingMaterial, FilingState, FilingStep
from shebao.registry.models import Unit
from shebao.registry.registration.kinds import UnitRegistrationHandler
from tests.races import (
    TIMEOUT,
    Outcome,
    pause_first_call,
    run_together,
    start,
    wait_for_lock_waiters,
)
from tests.registry.flow import make_draft, make_submitted, media_files

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def winners_and_losers(outcomes: list[Outcome]) -> tuple[list[Outcome], list[Outcome]]:
    for o in outcomes:
        assert o.error is None or isinstance(o.error, ValidationError), repr(o.error)
    return [o for o in outcomes if o.error is None], [o for o in outcomes if o.error]


# --- approve -----------------------------------------------------------------------------------


def test_two_reviewers_approve_at_once(staff_bj, region_bj):
    filing = make_submitted()
    other = User.objects.get(pk=staff_bj.pk)

    outcomes = run_together(
        lambda: services.filing_approve(actor=staff_bj, filing_id=filing.pk),
        lambda: services.filing_approve(actor=other, filing_id=filing.pk),
    )

    won, lost = winners_and_losers(outcomes)
    assert len(won) == 1 and len(lost) == 1
    assert "已办结" in lost[0].error.messages[0]
    filing.refresh_from_db()
    assert filing.state == FilingState.APPROVED
    assert Unit.objects.count() == 1
    assert UnitOnlineRegistration.objects.count() == 1
    assert User.objects.filter(kind=User.Kind.OPERATOR).count() == 1
    assert filing.steps.filter(action=FilingStep.Action.APPROVE).count() == 1


def test_second_reviewer_waits_for_the_first_and_is_refused(staff_bj, region_bj, monkeypatch):
    """Deterministic: the first approval stops inside its transaction; the second must block on
    the row lock (seen in pg_stat_activity) and, once the first commits, find it decided."""
    filing = make_submitted()
    inside, release = pause_first_call(monkeypatch, UnitRegistrationHandler, "apply")
    first, second = Outcome(), Outcome()

    t1 = start(lambda: services.filing_approve(actor=staff_bj, filing_id=filing.pk), first)
    assert inside.wait(TIMEOUT)
    t2 = start(lambda: services.filing_approve(actor=staff_bj, filing_id=filing.pk), second)
    try:
        wait_for_lock_waiters(1)
    finally:
        release.set()
        t1.join(TIMEOUT)
        t2.join(TIMEOUT)

    assert first.error is None, repr(first.error)
    assert isinstance(second.error, ValidationError)
    assert "已办结" in second.error.messages[0]
    assert Unit.objects.count() == 1


def test_approve_and_return_at_once(staff_bj, region_bj):
    filing = make_submitted()

    outcomes = run_together(
        lambda: services.filing_approve(actor=staff_bj, filing_id=filing.pk),
        lambda: services.filing_return(actor=staff_bj, filing_id=filing.pk, reason="材料不全"),
    )

    won, lost = winners_and_losers(outcomes)
    assert len(won) == 1 and len(lost) == 1
    filing.refresh_from_db()
    decided = filing.steps.filter(action__in=["approve", "return"])
    assert decided.count() == 1
    if filing.state == FilingState.APPROVED:
        assert Unit.objects.count() == 1 and filing.return_reason == ""
    else:
        assert filing.state == FilingState.RETURNED
        assert not Unit.objects.exists()


# --- submit ------------------------------------------------------------------------------------


def test_two_submits_at_once(region_bj):
    filing = make_draft()

    outcomes = run_together(
        lambda: services.filing_submit(actor=None, filing=Filing.objects.get(pk=filing.pk)),
        lambda: services.filing_submit(actor=None, filing=Filing.objects.get(pk=filing.pk)),
    )

    won, lost = winners_and_losers(outcomes)
    assert len(won) == 1 and len(lost) == 1
    assert lost[0].error.messages == ["该业务已提交，请勿重复提交"]
    filing.refresh_from_db()
    assert filing.state == FilingState.SUBMITTED
    assert filing.steps.filter(action=FilingStep.Action.SUBMIT).count() == 1


def test_second_submit_waits_for_the_first_and_is_refused(region_bj, monkeypatch):
    filing = make_draft()
    inside, release = pause_first_call(monkeypatch, UnitRegistrationHandler, "clean_payload")
    first, second = Outcome(), Outcome()

    t1 = start(lambda: services.filing_submit(actor=None, filing=filing), first)
    assert inside.wait(TIMEOUT)
    t2 = start(lambda: services.filing_submit(actor=None, filing=filing), second)
    try:
        wait_for_lock_waiters(1)
    finally:
        release.set()
        t1.join(TIMEOUT)
        t2.join(TIMEOUT)

    assert first.error is None, repr(first.error)
    assert isinstance(second.error, ValidationError)
    assert second.error.messages == ["该业务已提交，请勿重复提交"]
    assert filing.steps.filter(action=FilingStep.Action.SUBMIT).count() == 1


# --- two applications for one USCC --------------------------------------------------------------


def test_two_applications_for_one_uscc_at_once(region_bj, monkeypatch):
    """Both pass the "already pending?" check before either writes; the partial unique index
    refuses the second, which leaves no filing and no material file behind."""
    both_checked = threading.Barrier(2)
    original = UnitRegistrationHandler.clean_payload

    def checked_then_wait(self, payload, *, filing):
        payload = original(self, payload, filing=filing)
        both_checked.wait(TIMEOUT)
        return payload

    monkeypatch.setattr(UnitRegistrationHandler, "clean_payload", checked_then_wait)

    outcomes = run_together(lambda: make_draft(name="甲"), lambda: make_draft(name="乙"))

    won, lost = winners_and_losers(outcomes)
    assert len(won) == 1 and len(lost) == 1
    assert lost[0].error.messages == ["该统一社会信用代码已有参保登记申请正在办理，不能重复申请"]
    assert Filing.objects.count() == 1
    assert FilingMaterial.objects.count() == 3
    assert len(media_files()) == 3
