"""The region job (当期缴费核定) in batches and with each unit's own 无变动/有变动 kind; the
settlement preview (PostgreSQL computes it in SQL) equal to the notice of the settlement it
previews; the progress of a unit settling in the background."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from shebao.contributions.models import (
    ContributionLine,
    RegionSettlementJob,
    Settlement,
    UnitInjuryRate,
)
from shebao.contributions.params.selectors import parameter_sets_in_force
from shebao.contributions.settlement import selectors as sel
from shebao.contributions.settlement import services as svc
from shebao.contributions.settlement import services_region as region_svc
from shebao.contributions.settlement.engine import LINE_COLUMNS, python_line_rows, sql_line_rows
from shebao.filings.models import Filing, FilingKind, FilingState
from tests.contributions.payments_helpers import PERIOD, enrol
from tests.factories import make_admin, make_unit

pytestmark = pytest.mark.django_db


@pytest.fixture
def region(region_bj):
    region_bj.current_period = PERIOD
    region_bj.save()
    return region_bj


def new_job(region, staff) -> RegionSettlementJob:
    return RegionSettlementJob.objects.create(region=region, settle_period=PERIOD, created_by=staff)


def approved_change(unit, serial: str, *, decided_at=None) -> Filing:
    return Filing.objects.create(
        serial_no=serial,
        kind=FilingKind.ENROLMENT,
        region=unit.region,
        unit=unit,
        title="人员参保",
        state=FilingState.APPROVED,
        decided_at=decided_at or timezone.now(),
    )


def back_pay_line(unit, person) -> ContributionLine:
    return ContributionLine.objects.create(
        settlement=None,
        unit=unit,
        person=person,
        region=unit.region,
        item="110",
        settle_period=PERIOD - 1,
        belongs_period=PERIOD - 2,
        kind=ContributionLine.Kind.BACK_PAY,
        base=D("7162.00"),
        unit_amount=D("1145.92"),
        personal_amount=D("572.96"),
        parameter_set=parameter_sets_in_force(unit.region_id, PERIOD - 2)["110"],
    )


# --- 无变动 / 有变动 in the region job ----------------------------------------------------------


def test_region_job_gives_each_unit_its_own_kind(region, staff_bj):
    quiet, filed, owed, settled_before = (make_unit(staff_bj, region, n) for n in (21, 22, 23, 24))
    for unit in (quiet, filed, settled_before):
        enrol(unit, 2)
    people = enrol(owed, 2)
    approved_change(filed, "20250801000001")
    back_pay_line(owed, people[0])
    # a change approved before the unit's last settlement does not count again
    earlier = Settlement.objects.create(
        unit=settled_before,
        region=region,
        settle_period=PERIOD - 1,
        kind=Settlement.Kind.WITH_CHANGE,
        state=Settlement.State.CONFIRMED,
        created_by=staff_bj,
    )
    approved_change(
        settled_before, "20250701000001", decided_at=earlier.created_at - timedelta(days=1)
    )

    # the same rule as a unit settling by itself (changed_since_last_settlement)
    assert sel.changed_units([u.pk for u in (quiet, filed, owed, settled_before)], PERIOD) == {
        filed.pk,
        owed.pk,
    }
    assert sel.changed_since_last_settlement(filed) and not sel.changed_since_last_settlement(quiet)

    region_svc.region_settle_all_run(new_job(region, staff_bj).pk)

    kinds = dict(Settlement.objects.filter(settle_period=PERIOD).values_list("unit_id", "kind"))
    assert kinds == {
        quiet.pk: Settlement.Kind.NO_CHANGE,
        filed.pk: Settlement.Kind.WITH_CHANGE,
        owed.pk: Settlement.Kind.WITH_CHANGE,
        settled_before.pk: Settlement.Kind.NO_CHANGE,
    }
    # settled now: nothing counts as a change any more
    assert sel.changed_units(list(kinds), PERIOD) == set()
    # the back pay joined its settlement
    line = ContributionLine.objects.get(kind=ContributionLine.Kind.BACK_PAY)
    assert line.settlement.unit_id == owed.pk and line.settle_period == PERIOD


# --- batches: progress per batch, a failure keeps the finished ones -----------------------------


def test_region_job_commits_batch_by_batch(region, staff_bj, monkeypatch):
    units = [make_unit(staff_bj, region, n) for n in (31, 32, 33)]
    for unit in units:
        enrol(unit, 2)
    monkeypatch.setattr(region_svc, "REGION_BATCH_UNITS", 1)
    real = region_svc.settle_units
    seen_progress = []

    def settle_units(batch, *args, **kwargs):
        seen_progress.append(RegionSettlementJob.objects.get().done_units)
        if batch[0].pk == units[1].pk:
            raise RuntimeError("数据库连接中断")
        return real(batch, *args, **kwargs)

    monkeypatch.setattr(region_svc, "settle_units", settle_units)
    job = new_job(region, staff_bj)
    with pytest.raises(RuntimeError):
        region_svc.region_settle_all_run(job.pk)
    job.refresh_from_db()
    assert job.state == RegionSettlementJob.State.FAILED and "数据库连接中断" in job.error
    assert job.total_units == 3 and job.done_units == 1 and job.lines == 2 * 4
    assert seen_progress == [0, 1]  # the page saw the first batch done before the second began
    settled = Settlement.objects.filter(settle_period=PERIOD)
    assert list(settled.values_list("unit_id", "state")) == [(units[0].pk, "confirmed")]

    # the next job settles the rest and leaves the first alone
    monkeypatch.setattr(region_svc, "settle_units", real)
    second = new_job(region, staff_bj)
    region_svc.region_settle_all_run(second.pk)
    second.refresh_from_db()
    assert second.state == RegionSettlementJob.State.DONE and second.total_units == 2
    assert sorted(settled.values_list("unit_id", flat=True)) == sorted(u.pk for u in units)
    assert ContributionLine.objects.filter(settlement__settle_period=PERIOD).count() == 3 * 2 * 4


# --- the preview equals the notice ------------------------------------------------------------


@pytest.fixture
def varied_unit(region, staff_bj):
    """Wages below the floor, between, above the cap; an injury rate of its own."""
    unit = make_unit(staff_bj, region, 41)
    enrol(unit, 12, wages=["1000.00", "8123.45", "99999.99"])
    UnitInjuryRate.objects.create(
        unit=unit, valid_from=202501, benchmark=D("0.004"), factor=D("1.30"), rate=D("0.0052")
    )
    return unit, make_admin(unit)


def test_preview_shows_what_the_notice_will_say(varied_unit):
    unit, admin = varied_unit
    preview = sel.settlement_preview(actor=admin, unit=unit)
    settlement = svc.settlement_start(actor=admin, unit=unit)
    lines = settlement.lines.filter(withdrawn=False)
    notice = sel.notice_summary(sel.line_rows(lines))
    for key in ("items", "back_items", "headcount", "unit_total", "personal_total", "total"):
        assert preview[key] == notice[key], key
    assert preview["below_floor"] == lines.filter(below_floor=True).count() > 0
    assert preview["above_cap"] == lines.filter(above_cap=True).count() > 0


@pytest.mark.postgres
def test_sql_preview_rows_equal_the_oracle(varied_unit):
    unit, _ = varied_unit
    oracle = sorted(python_line_rows([unit], unit.region_id, PERIOD, settlements={unit.pk: None}))
    assert connection.vendor == "postgresql"
    assert sorted(sql_line_rows(unit, PERIOD)) == oracle
    assert len(oracle) > 12 and oracle[0][LINE_COLUMNS.index("settlement_id")] is None


# --- progress of a unit settling in the background --------------------------------------------


def test_progress_goes_up_in_phases_and_is_cleared(varied_unit, monkeypatch):
    unit, admin = varied_unit
    settlement = Settlement.objects.create(
        unit=unit, region=unit.region, settle_period=PERIOD, created_by=admin
    )
    assert settlement.state == Settlement.State.RUNNING
    reported = []
    real = svc._set_progress

    def record(settlement_id, value):
        real(settlement_id, value)
        reported.append(sel.settlement_progress(Settlement.objects.get(pk=settlement_id)))

    monkeypatch.setattr(svc, "_set_progress", record)
    svc._set_progress(settlement.pk, 0)  # a figure is never shown as 0 once started
    assert reported == [1]
    reported.clear()

    svc.settlement_compute(settlement.pk)

    assert reported == sorted(reported) and reported[0] == 5 and reported[-1] == 90
    assert 80 in reported and all(0 < v < 100 for v in reported)
    settlement.refresh_from_db()
    assert settlement.state == Settlement.State.CONFIRMED and settlement.progress == 100
    assert sel.settlement_progress(settlement) == 100
    assert cache.get(sel.progress_key(settlement.pk)) is None


def test_a_failed_computation_leaves_no_settlement_and_no_progress(varied_unit, monkeypatch):
    unit, admin = varied_unit
    settlement = Settlement.objects.create(
        unit=unit, region=unit.region, settle_period=PERIOD, created_by=admin
    )

    def broken(*args, **kwargs):
        svc._set_progress(settlement.pk, 40)
        raise RuntimeError("磁盘已满")

    monkeypatch.setattr(svc, "finish_settlement", broken)
    with pytest.raises(RuntimeError):
        svc.settle_in_background.call(settlement_id=settlement.pk)
    assert not Settlement.objects.filter(pk=settlement.pk).exists()
    assert not ContributionLine.objects.filter(unit=unit).exists()
    assert cache.get(sel.progress_key(settlement.pk)) is None
