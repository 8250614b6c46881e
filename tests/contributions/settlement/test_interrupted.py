"""Work a stopped worker left behind: a unit's settlement still 结算中 and a region job still
running long after they could have finished. Staff stop them (the settlement is withdrawn and
kept, the job fails keeping the units it settled) so the unit or region can go on; work that is
still moving is refused."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from shebao.contributions.models import (
    INTERRUPTED_AFTER,
    ContributionLine,
    RegionSettlementJob,
    Settlement,
)
from shebao.contributions.settlement import services as svc
from shebao.contributions.settlement import services_region as region_svc
from shebao.core.models import AuditEntry
from shebao.filings.models import Filing, FilingKind, FilingState
from tests.conftest import signed_in
from tests.contributions.payments_helpers import PERIOD, enrol
from tests.factories import make_admin, make_unit

pytestmark = pytest.mark.django_db

LONG_AGO = INTERRUPTED_AFTER + timedelta(minutes=1)


@pytest.fixture
def unit(region_bj, staff_bj):
    region_bj.current_period = PERIOD
    region_bj.save()
    unit = make_unit(staff_bj, region_bj, 7)
    enrol(unit, 3)
    return unit


def running_settlement(unit, *, age=LONG_AGO, started: timedelta | None = LONG_AGO) -> Settlement:
    """A settlement still running: created `age` ago, its computation begun `started` ago
    (None: never begun, still queued) and never finished (its worker stopped)."""
    settlement = Settlement.objects.create(
        unit=unit, region_id=unit.region_id, settle_period=PERIOD, kind="no_change"
    )
    now = timezone.now()
    Settlement.objects.filter(pk=settlement.pk).update(
        created_at=now - age, started_at=None if started is None else now - started
    )
    settlement.refresh_from_db()
    return settlement


def running_job(region, staff, *, age=LONG_AGO, state=RegionSettlementJob.State.RUNNING):
    job = RegionSettlementJob.objects.create(
        region=region, settle_period=PERIOD, created_by=staff, state=state, total_units=4
    )
    RegionSettlementJob.objects.filter(pk=job.pk).update(
        created_at=timezone.now() - age, heartbeat_at=timezone.now() - age
    )
    job.refresh_from_db()
    return job


# --- a unit's settlement ------------------------------------------------------------------


def test_interrupted_settlement_is_withdrawn_and_the_unit_settles_again(unit, staff_bj):
    settlement = running_settlement(unit)
    assert settlement.interrupted

    svc.settlement_stop_interrupted(actor=staff_bj, settlement_id=settlement.pk)

    settlement.refresh_from_db()
    assert settlement.state == Settlement.State.WITHDRAWN
    assert settlement.withdrawn_by == staff_bj
    assert AuditEntry.objects.filter(action="settlement.stop_interrupted").count() == 1
    # a late worker picking the task up changes nothing
    svc.settlement_compute(settlement.pk)
    assert not ContributionLine.objects.filter(settlement=settlement).exists()
    settlement.refresh_from_db()
    assert settlement.state == Settlement.State.WITHDRAWN
    # the unit settles again
    again = svc.settlement_start(actor=make_admin(unit), unit=unit)
    assert again.state == Settlement.State.CONFIRMED
    assert again.lines.count() == 3 * len(unit.insurance_types)


def test_a_settlement_queued_long_without_a_worker_is_stopped(unit, staff_bj):
    settlement = running_settlement(unit, started=None)
    assert settlement.waiting_long and not settlement.interrupted

    svc.settlement_stop_interrupted(actor=staff_bj, settlement_id=settlement.pk)

    settlement.refresh_from_db()
    assert settlement.state == Settlement.State.WITHDRAWN
    entry = AuditEntry.objects.get(action="settlement.stop_interrupted")
    assert entry.detail["started"] is False


@pytest.mark.parametrize(
    ("age", "started"),
    [
        (timedelta(minutes=2), timedelta(minutes=2)),  # computing for two minutes
        (timedelta(minutes=2), None),  # queued for two minutes
        (LONG_AGO, timedelta(minutes=1)),  # queued long behind a region job, now computing
    ],
)
def test_a_settlement_still_moving_is_not_stopped(unit, staff_bj, age, started):
    settlement = running_settlement(unit, age=age, started=started)
    assert not settlement.interrupted and not settlement.waiting_long

    with pytest.raises(ValidationError) as e:
        svc.settlement_stop_interrupted(actor=staff_bj, settlement_id=settlement.pk)

    assert e.value.messages == ["该结算排队或计算未满 10 分钟，请稍后再试"]
    settlement.refresh_from_db()
    assert settlement.state == Settlement.State.RUNNING
    assert not AuditEntry.objects.filter(action="settlement.stop_interrupted").exists()


def test_the_computation_marks_when_it_began(unit):
    settlement = running_settlement(unit, age=timedelta(seconds=1), started=None)
    before = timezone.now()

    svc.settlement_compute(settlement.pk)

    settlement.refresh_from_db()
    assert settlement.state == Settlement.State.CONFIRMED
    assert before <= settlement.started_at <= settlement.finished_at


def test_a_confirmed_settlement_is_not_stopped(unit, staff_bj):
    settlement = svc.settlement_start(actor=make_admin(unit), unit=unit)
    assert not settlement.interrupted

    with pytest.raises(ValidationError) as e:
        svc.settlement_stop_interrupted(actor=staff_bj, settlement_id=settlement.pk)

    assert e.value.messages == ["只有结算中的记录可以中止"]
    settlement.refresh_from_db()
    assert settlement.state == Settlement.State.CONFIRMED


def test_operators_may_not_stop_a_settlement(unit):
    settlement = running_settlement(unit)

    with pytest.raises(PermissionDenied):
        svc.settlement_stop_interrupted(actor=make_admin(unit), settlement_id=settlement.pk)

    settlement.refresh_from_db()
    assert settlement.state == Settlement.State.RUNNING


def test_staff_of_another_region_get_404(unit, staff_sh):
    settlement = running_settlement(unit)

    with pytest.raises(Http404):
        svc.settlement_stop_interrupted(actor=staff_sh, settlement_id=settlement.pk)

    settlement.refresh_from_db()
    assert settlement.state == Settlement.State.RUNNING


# --- the region job -----------------------------------------------------------------------


def test_interrupted_job_fails_and_a_new_job_may_start(region_bj, staff_bj):
    region_bj.current_period = PERIOD
    region_bj.save()
    job = running_job(region_bj, staff_bj)
    assert job.interrupted
    with pytest.raises(ValidationError):  # the stuck job holds the region's one running slot
        region_svc.region_settle_all_start(actor=staff_bj, region_code=region_bj.code)

    region_svc.region_job_stop_interrupted(actor=staff_bj, job_id=job.pk)

    job.refresh_from_db()
    assert job.state == RegionSettlementJob.State.FAILED
    assert "已由经办人员" in job.error and job.finished_at
    assert AuditEntry.objects.filter(action="settlement.region_job_stop").count() == 1
    assert (
        region_svc.region_settle_all_start(actor=staff_bj, region_code=region_bj.code).pk != job.pk
    )


def test_a_queued_job_the_worker_never_took_can_be_stopped(region_bj, staff_bj):
    job = running_job(region_bj, staff_bj, state=RegionSettlementJob.State.QUEUED)

    region_svc.region_job_stop_interrupted(actor=staff_bj, job_id=job.pk)
    region_svc.region_settle_all_run(job.pk)  # the worker comes back: nothing happens

    job.refresh_from_db()
    assert job.state == RegionSettlementJob.State.FAILED
    assert job.done_units == 0


def test_a_job_with_recent_progress_is_not_stopped(region_bj, staff_bj):
    job = running_job(region_bj, staff_bj)
    RegionSettlementJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now())
    job.refresh_from_db()
    assert not job.interrupted

    with pytest.raises(ValidationError) as e:
        region_svc.region_job_stop_interrupted(actor=staff_bj, job_id=job.pk)

    assert "仍有进展" in e.value.messages[0]
    job.refresh_from_db()
    assert job.state == RegionSettlementJob.State.RUNNING


def test_a_finished_job_is_not_stopped(region_bj, staff_bj):
    job = running_job(region_bj, staff_bj, state=RegionSettlementJob.State.DONE)

    with pytest.raises(ValidationError) as e:
        region_svc.region_job_stop_interrupted(actor=staff_bj, job_id=job.pk)

    assert e.value.messages == ["该任务已结束，无需中止"]
    job.refresh_from_db()
    assert job.state == RegionSettlementJob.State.DONE


def test_job_stop_permission_and_region(region_bj, staff_bj, staff_sh, unit):
    job = running_job(region_bj, staff_bj)

    with pytest.raises(PermissionDenied):
        region_svc.region_job_stop_interrupted(actor=make_admin(unit), job_id=job.pk)
    with pytest.raises(Http404):
        region_svc.region_job_stop_interrupted(actor=staff_sh, job_id=job.pk)

    job.refresh_from_db()
    assert job.state == RegionSettlementJob.State.RUNNING


@pytest.fixture
def three_units(region_bj, staff_bj, monkeypatch):
    """Three units with two persons each, settled by the region job one per batch."""
    region_bj.current_period = PERIOD
    region_bj.save()
    units = [make_unit(staff_bj, region_bj, n) for n in (11, 12, 13)]
    for u in units:
        enrol(u, 2)
    monkeypatch.setattr(region_svc, "REGION_BATCH_UNITS", 1)
    return units


def test_a_job_stopped_between_batches_leaves_off(three_units, region_bj, staff_bj, monkeypatch):
    units = three_units
    settle_units = region_svc.settle_units

    def settle_then_stopped(batch, *args, **kwargs):
        lines = settle_units(batch, *args, **kwargs)
        RegionSettlementJob.objects.update(state=RegionSettlementJob.State.FAILED)
        return lines

    monkeypatch.setattr(region_svc, "settle_units", settle_then_stopped)
    job = RegionSettlementJob.objects.create(
        region=region_bj, settle_period=PERIOD, created_by=staff_bj
    )

    region_svc.region_settle_all_run(job.pk)

    job.refresh_from_db()
    assert job.state == RegionSettlementJob.State.FAILED
    settled = Settlement.objects.filter(settle_period=PERIOD, state=Settlement.State.CONFIRMED)
    assert list(settled.values_list("unit", flat=True)) == [units[0].pk]


def test_a_unit_that_opens_a_change_filing_meanwhile_is_skipped(
    three_units, region_bj, staff_bj, monkeypatch
):
    units = three_units
    settle_units = region_svc.settle_units

    def settle_while_the_last_unit_files(batch, *args, **kwargs):
        if batch and batch[0] == units[0]:  # during the first batch the third unit opens one
            Filing.objects.create(
                serial_no="SB2025080000099",
                kind=FilingKind.ENROLMENT,
                region=region_bj,
                unit=units[2],
                title="人员参保",
                state=FilingState.DRAFT,
            )
        return settle_units(batch, *args, **kwargs)

    monkeypatch.setattr(region_svc, "settle_units", settle_while_the_last_unit_files)
    job = RegionSettlementJob.objects.create(
        region=region_bj, settle_period=PERIOD, created_by=staff_bj
    )

    region_svc.region_settle_all_run(job.pk)

    job.refresh_from_db()
    assert job.state == RegionSettlementJob.State.DONE
    assert job.skipped == [units[2].unit_no]
    assert job.done_units == job.total_units == 3
    settled = Settlement.objects.filter(settle_period=PERIOD).values_list("unit", flat=True)
    assert sorted(settled) == sorted([units[0].pk, units[1].pk])


def test_settle_units_leaves_a_unit_that_settled_itself_alone(region_bj, staff_bj):
    region_bj.current_period = PERIOD
    region_bj.save()
    units = [make_unit(staff_bj, region_bj, n) for n in (11, 12)]
    for u in units:
        enrol(u, 2)
    own = running_settlement(units[0], age=timedelta(seconds=1), started=None)  # queued

    written = region_svc.settle_units(units, region_bj.pk, PERIOD, actor=staff_bj)

    own.refresh_from_db()
    assert own.state == Settlement.State.RUNNING and not own.lines.exists()
    other = Settlement.objects.get(unit=units[1])
    assert other.state == Settlement.State.CONFIRMED
    assert written == other.lines.count() == 2 * len(units[1].insurance_types)


def test_a_running_job_beats_its_heart_per_batch(region_bj, staff_bj):
    region_bj.current_period = PERIOD
    region_bj.save()
    enrol(make_unit(staff_bj, region_bj, 11), 2)
    job = running_job(region_bj, staff_bj, state=RegionSettlementJob.State.QUEUED)
    before = timezone.now()

    region_svc.region_settle_all_run(job.pk)

    job.refresh_from_db()
    assert job.state == RegionSettlementJob.State.DONE
    assert job.heartbeat_at >= before


# --- pages --------------------------------------------------------------------------------


def test_staff_list_offers_stop_for_an_interrupted_settlement_only(
    unit, staff_bj, staff_client, region_bj
):
    stuck = running_settlement(unit)
    other = make_unit(staff_bj, region_bj, 8)
    fresh = running_settlement(other, age=timedelta(seconds=5), started=timedelta(seconds=4))
    html = staff_client.get(reverse("staff:settlements")).content.decode()
    assert reverse("staff:settlement_stop", args=[stuck.pk]) in html
    assert reverse("staff:settlement_stop", args=[fresh.pk]) not in html
    assert "已中断" in html

    r = staff_client.post(reverse("staff:settlement_stop", args=[stuck.pk]), follow=True)

    assert f"已中止 {unit.name} {PERIOD} 的结算，可重新结算" in r.content.decode()
    stuck.refresh_from_db()
    assert stuck.state == Settlement.State.WITHDRAWN
    r = staff_client.post(reverse("staff:settlement_stop", args=[fresh.pk]), follow=True)
    assert "该结算排队或计算未满 10 分钟，请稍后再试" in r.content.decode()
    fresh.refresh_from_db()
    assert fresh.state == Settlement.State.RUNNING


def test_stop_pages_are_staff_only_and_region_scoped(unit, staff_sh, region_bj, staff_bj):
    settlement = running_settlement(unit)
    job = running_job(region_bj, staff_bj)
    admin = signed_in(make_admin(unit))
    other = signed_in(staff_sh)
    for url in (
        reverse("staff:settlement_stop", args=[settlement.pk]),
        reverse("staff:settlement_job_stop", args=[job.pk]),
    ):
        assert admin.post(url).status_code == 403
        assert other.post(url).status_code == 404
        assert signed_in(staff_bj).get(url).status_code == 405
    settlement.refresh_from_db()
    job.refresh_from_db()
    assert settlement.state == Settlement.State.RUNNING
    assert job.state == RegionSettlementJob.State.RUNNING


def test_job_progress_offers_stop_when_interrupted(region_bj, staff_bj, staff_client):
    job = running_job(region_bj, staff_bj)
    progress = reverse("staff:settlement_job_progress", args=[job.pk])
    stop = reverse("staff:settlement_job_stop", args=[job.pk])
    assert stop in staff_client.get(progress).content.decode()

    r = staff_client.post(stop, follow=True)

    assert f"已中止 {region_bj.name} {PERIOD} 的核定任务" in r.content.decode()
    assert stop not in staff_client.get(progress).content.decode()


@pytest.mark.parametrize(
    ("started", "text"),
    [(LONG_AGO, "计算可能已中断"), (None, "排队超过 10 分钟仍未开始计算")],
)
def test_unit_sees_that_its_settlement_is_stuck_and_whom_to_ask(unit, started, text):
    settlement = running_settlement(unit, started=started)
    client = signed_in(make_admin(unit))

    html = client.get(reverse("unit:settlement_progress", args=[settlement.pk])).content.decode()

    assert text in html and "请联系经办机构中止" in html
    assert reverse("staff:settlement_stop", args=[settlement.pk]) not in html


def test_staff_notice_of_a_running_settlement_polls_the_staff_progress(
    unit, staff_bj, staff_client, staff_sh
):
    settlement = running_settlement(unit)
    progress = reverse("staff:settlement_progress", args=[settlement.pk])

    html = staff_client.get(reverse("staff:settlement_notice", args=[settlement.pk])).content
    assert progress in html.decode()
    assert reverse("unit:settlement_progress", args=[settlement.pk]) not in html.decode()

    fragment = staff_client.get(progress)
    assert fragment.status_code == 200 and "HX-Refresh" not in fragment
    assert reverse("staff:settlement_stop", args=[settlement.pk]) in fragment.content.decode()
    assert signed_in(staff_sh).get(progress).status_code == 404
    svc.settlement_stop_interrupted(actor=staff_bj, settlement_id=settlement.pk)
    assert staff_client.get(progress)["HX-Refresh"] == "true"
