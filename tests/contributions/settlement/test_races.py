"""Settlement on PostgreSQL: concurrent clicks, reopen against a payment, region jobs against
each other and against a unit settling itself. The set-based path against the oracle is in
test_settlement_set_based_vs_oracle.py.

PostgreSQL only (SQLite has no row locks and its set-based path is the Python one). The race
tests are transactional (each thread has its own connection and must see the others' commits);
the shipped parameter sets a flush removes come back through the region fixtures
(``ensure_published_parameters``)."""

import sys
import threading
import time
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from shebao.contributions import models as contribution_models
from shebao.contributions.models import (
    Arrear,
    ContributionLine,
    Payment,
    RegionSettlementJob,
    Settlement,
)
from shebao.contributions.payments.services import payment_post
from shebao.contributions.settlement import services as svc
from shebao.contributions.settlement import services_region as region_svc
from shebao.contributions.settlement.services import (
    settlement_compute,
    settlement_reopen,
    settlement_start,
    settlement_stop_interrupted,
)
from shebao.contributions.settlement.services_region import (
    region_job_stop_interrupted,
    region_settle_all_run,
    region_settle_all_start,
    settle_units,
)
from tests.contributions.payments_helpers import (
    PAID_ON,
    PERIOD,
    enrol,
    region_with_units,
    settled_unit,
)
from tests.factories import make_admin, make_unit
from tests.races import TIMEOUT, holding_then, together

pytestmark = [pytest.mark.postgres]
RACE = pytest.mark.django_db(transaction=True)
HOLD = 1.5  # seconds a thread keeps its transaction open while the other one runs
HOLD_LONG_ENOUGH = 4.5  # a click waiting on a region batch answers before this


def unit_lines(unit) -> int:
    return ContributionLine.objects.filter(unit=unit, withdrawn=False).count()


@pytest.fixture
def no_task_run(monkeypatch):
    """Queued background work stays queued (the test runs it itself), whatever the backend."""
    queued = []

    class Recorder:
        def __init__(self, name):
            self.name = name

        def enqueue(self, **kwargs):
            queued.append((self.name, kwargs))

    monkeypatch.setattr(region_svc, "region_settle_all_task", Recorder("region"))
    monkeypatch.setattr(svc, "settle_in_background", Recorder("unit"))
    return queued


# --- one unit, two clicks ------------------------------------------------------------------


@RACE
@pytest.mark.parametrize("background", [False, True], ids=["sync", "background"])
def test_two_clicks_at_once_one_settlement(region_bj, staff_bj, monkeypatch, background):
    region_bj.current_period = PERIOD
    region_bj.save()
    unit = make_unit(staff_bj, region_bj, 7)
    admin = make_admin(unit)
    enrol(unit, 6)
    if background:  # a large unit: the computation runs as a task (immediately in tests)
        monkeypatch.setattr(svc, "SYNC_LIMIT", 1)

    results = together(
        lambda: settlement_start(actor=admin, unit=unit),
        lambda: settlement_start(actor=admin, unit=unit),
    )
    won = [r for r in results if isinstance(r, Settlement)]
    lost = [r for r in results if not isinstance(r, Settlement)]
    assert len(won) == 1 and len(lost) == 1, results
    assert isinstance(lost[0], ValidationError), lost
    assert "已结算或正在结算" in lost[0].messages[0]
    settlement = Settlement.objects.get(unit=unit)
    assert settlement.state == Settlement.State.CONFIRMED
    assert unit_lines(unit) == 6 * len(unit.insurance_types)
    assert ContributionLine.objects.filter(settlement=settlement).count() == unit_lines(unit)
    due = sum(Arrear.objects.filter(payer=f"U{unit.pk}").values_list("due", flat=True), D(0))
    assert due == settlement.unit_total + settlement.personal_total


# --- reopen against payments ---------------------------------------------------------------


@RACE
def test_reopen_and_payment_at_once_leave_a_consistent_state(region_bj, staff_bj):
    unit, _, _, settlement = settled_unit(staff_bj, region_bj, 7)
    results = together(
        lambda: settlement_reopen(actor=staff_bj, settlement_id=settlement.pk),
        lambda: payment_post(
            actor=staff_bj,
            unit=unit,
            settle_period=PERIOD,
            item="110",
            amount="10.00",
            paid_on=PAID_ON,
        ),
    )
    assert all(isinstance(r, Settlement | Payment | ValidationError) for r in results), results
    settlement.refresh_from_db()
    arrears = Arrear.objects.filter(payer=f"U{unit.pk}", settle_period=PERIOD)
    if settlement.state == Settlement.State.WITHDRAWN:  # the reopen won: nothing to pay against
        assert isinstance(results[1], ValidationError), results
        assert not Payment.objects.exists() and not arrears.exists()
        assert unit_lines(unit) == 0
    else:  # the payment won: the settlement stays, its arrears show the payment
        assert isinstance(results[0], ValidationError) and "到账" in results[0].messages[0]
        assert settlement.state == Settlement.State.CONFIRMED
        assert arrears.get(item="110").paid == D("10.00")
        assert unit_lines(unit) == 3 * len(unit.insurance_types)


@RACE
def test_two_reopens_at_once_one_withdrawal(region_bj, staff_bj):
    unit, admin, _, settlement = settled_unit(staff_bj, region_bj, 7)
    results = together(
        lambda: settlement_reopen(actor=staff_bj, settlement_id=settlement.pk),
        lambda: settlement_reopen(actor=staff_bj, settlement_id=settlement.pk),
    )
    assert sum(isinstance(r, Settlement) for r in results) == 1, results
    [error] = [r for r in results if not isinstance(r, Settlement)]
    assert isinstance(error, ValidationError) and "只有已结算" in error.messages[0]
    # the unit can settle again, once
    again = settlement_start(actor=admin, unit=unit)
    assert again.unit_total == settlement.unit_total
    assert unit_lines(unit) == 3 * len(unit.insurance_types)


# --- region jobs (当期缴费核定) --------------------------------------------------------------


@RACE
def test_two_region_jobs_at_once_one_job(region_bj, staff_bj, no_task_run):
    units = region_with_units(region_bj, staff_bj)
    results = together(
        lambda: region_settle_all_start(actor=staff_bj, region_code=region_bj.pk),
        lambda: region_settle_all_start(actor=staff_bj, region_code=region_bj.pk),
    )
    jobs = [r for r in results if isinstance(r, RegionSettlementJob)]
    errors = [r for r in results if not isinstance(r, RegionSettlementJob)]
    assert len(jobs) == 1 and len(errors) == 1, results
    assert isinstance(errors[0], ValidationError)
    assert "正在进行" in errors[0].messages[0]
    assert RegionSettlementJob.objects.count() == 1
    assert [name for name, _ in no_task_run] == ["region"]
    region_settle_all_run(jobs[0].pk)
    job = RegionSettlementJob.objects.get()
    assert job.state == RegionSettlementJob.State.DONE and job.total_units == 3
    for unit in units:
        assert Settlement.objects.get(unit=unit).state == Settlement.State.CONFIRMED
        assert unit_lines(unit) == 3 * len(unit.insurance_types)


@RACE
def test_a_second_job_is_refused_while_one_is_running(region_bj, staff_bj, no_task_run):
    region_with_units(region_bj, staff_bj)
    first = region_settle_all_start(actor=staff_bj, region_code=region_bj.pk)
    RegionSettlementJob.objects.filter(pk=first.pk).update(state=RegionSettlementJob.State.RUNNING)
    with pytest.raises(ValidationError, match="正在进行"):
        region_settle_all_start(actor=staff_bj, region_code=region_bj.pk)
    with pytest.raises(IntegrityError), transaction.atomic():  # the constraint itself
        RegionSettlementJob.objects.create(
            region=region_bj, settle_period=PERIOD, created_by=staff_bj
        )
    # once it is done, the next period's (or a retry's) job may start
    RegionSettlementJob.objects.filter(pk=first.pk).update(state=RegionSettlementJob.State.DONE)
    assert region_settle_all_start(actor=staff_bj, region_code=region_bj.pk).pk != first.pk


@RACE
def test_region_job_leaves_a_unit_settling_in_the_background_alone(
    region_bj, staff_bj, no_task_run
):
    units = region_with_units(region_bj, staff_bj)
    large = units[0]
    # the unit's own settlement of a large unit: created running, its task not yet finished
    running = Settlement.objects.create(
        unit=large,
        region=region_bj,
        settle_period=PERIOD,
        kind=Settlement.Kind.NO_CHANGE,
        created_by=make_admin(large),
    )
    job = RegionSettlementJob.objects.create(
        region=region_bj, settle_period=PERIOD, created_by=staff_bj
    )
    results = holding_then(
        lambda: settlement_compute(running.pk),  # the background task, committing slowly
        lambda: region_settle_all_run(job.pk),
        hold=HOLD,
    )
    assert results == [None, None], results
    running.refresh_from_db()
    assert running.state == Settlement.State.CONFIRMED
    assert unit_lines(large) == 3 * len(large.insurance_types)  # not twice as many
    amounts = ContributionLine.objects.filter(unit=large, withdrawn=False).values_list(
        "unit_amount", "personal_amount"
    )
    assert sum((u + p for u, p in amounts), D(0)) == running.total


@RACE
def test_region_job_skips_a_unit_that_settles_itself_meanwhile(region_bj, staff_bj, no_task_run):
    units = region_with_units(region_bj, staff_bj)
    admin = make_admin(units[0])
    job = RegionSettlementJob.objects.create(
        region=region_bj, settle_period=PERIOD, created_by=staff_bj
    )
    results = holding_then(
        lambda: settlement_start(actor=admin, unit=units[0]),  # the unit's own click
        lambda: region_settle_all_run(job.pk),
        hold=HOLD,
    )
    assert isinstance(results[0], Settlement), results
    job.refresh_from_db()
    assert job.state == RegionSettlementJob.State.DONE, (job.state, job.error)
    for unit in units:
        assert Settlement.objects.filter(unit=unit).count() == 1
        assert unit_lines(unit) == 3 * len(unit.insurance_types)


@RACE
def test_an_old_settlement_still_computing_is_not_stopped(region_bj, staff_bj):
    """A computation holds its settlement's row: staff cannot stop it however old it is."""
    region_bj.current_period = PERIOD
    region_bj.save()
    unit = make_unit(staff_bj, region_bj, 7)
    settlement = Settlement.objects.create(
        unit=unit, region=region_bj, settle_period=PERIOD, kind="no_change"
    )
    Settlement.objects.filter(pk=settlement.pk).update(
        created_at=settlement.created_at - timedelta(hours=1)
    )
    results = holding_then(
        lambda: Settlement.objects.select_for_update().get(pk=settlement.pk),  # computing
        lambda: settlement_stop_interrupted(actor=staff_bj, settlement_id=settlement.pk),
        hold=HOLD,
    )
    assert isinstance(results[1], ValidationError), results
    assert results[1].messages == ["该结算正在计算中，请稍后查看结果"]
    settlement.refresh_from_db()
    assert settlement.state == Settlement.State.RUNNING


@RACE
def test_a_unit_click_during_a_long_region_batch_answers_within_seconds(
    region_bj, staff_bj, monkeypatch
):
    """The click waits at most the lock timeout (3 s) on the batch that holds the unit, then
    tells the operator the region job is settling it."""
    monkeypatch.setattr(sys.modules[__name__], "HOLD", 5.0)
    units = region_with_units(region_bj, staff_bj, numbers=(11,))
    admin = make_admin(units[0])
    waited = []

    def click():
        start = time.monotonic()
        try:
            return settlement_start(actor=admin, unit=units[0])
        finally:
            waited.append(time.monotonic() - start)

    results = holding_then(
        lambda: settle_units(units, region_bj.pk, PERIOD, actor=staff_bj), click, hold=HOLD
    )
    assert results[0] > 0, results
    assert isinstance(results[1], ValidationError), results
    assert "经办机构正在核定本期全部单位" in results[1].messages[0]
    assert 2.5 < waited[0] < HOLD_LONG_ENOUGH
    assert Settlement.objects.filter(unit=units[0]).count() == 1


@RACE
def test_a_region_job_in_the_middle_of_a_batch_is_not_stopped(region_bj, staff_bj):
    region_bj.current_period = PERIOD
    region_bj.save()
    job = RegionSettlementJob.objects.create(
        region=region_bj, settle_period=PERIOD, created_by=staff_bj, state="running"
    )
    RegionSettlementJob.objects.filter(pk=job.pk).update(
        heartbeat_at=job.created_at - timedelta(hours=1)
    )
    results = holding_then(
        lambda: RegionSettlementJob.objects.select_for_update().get(pk=job.pk),  # a batch
        lambda: region_job_stop_interrupted(actor=staff_bj, job_id=job.pk),
        hold=HOLD,
    )
    assert isinstance(results[1], ValidationError), results
    assert results[1].messages == ["该核定任务正在计算中，请稍后查看结果"]
    job.refresh_from_db()
    assert job.state == RegionSettlementJob.State.RUNNING
    # once the batch is over, the silent job can be stopped
    region_job_stop_interrupted(actor=staff_bj, job_id=job.pk)
    job.refresh_from_db()
    assert job.state == RegionSettlementJob.State.FAILED


@RACE
def test_a_running_job_holds_its_row_for_each_batch(region_bj, staff_bj, monkeypatch):
    """However silent a job looks, a batch in progress cannot be stopped under it."""
    units = region_with_units(region_bj, staff_bj)
    monkeypatch.setattr(contribution_models, "INTERRUPTED_AFTER", timedelta(seconds=-60))
    in_batch = threading.Event()
    real = region_svc.settle_units

    def slow_batch(batch, *args, **kwargs):
        written = real(batch, *args, **kwargs)
        in_batch.set()
        time.sleep(HOLD)
        return written

    monkeypatch.setattr(region_svc, "settle_units", slow_batch)
    job = RegionSettlementJob.objects.create(
        region=region_bj, settle_period=PERIOD, created_by=staff_bj
    )

    def stop():
        assert in_batch.wait(TIMEOUT)
        return region_job_stop_interrupted(actor=staff_bj, job_id=job.pk)

    results = together(lambda: region_settle_all_run(job.pk), stop)

    assert isinstance(results[1], ValidationError), results
    assert results[1].messages == ["该核定任务正在计算中，请稍后查看结果"]
    job.refresh_from_db()
    assert job.state == RegionSettlementJob.State.DONE
    assert all(unit_lines(u) == 3 * len(u.insurance_types) for u in units)
