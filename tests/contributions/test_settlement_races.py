"""Settlement on PostgreSQL: concurrent clicks, reopen against a payment, region jobs against
each other and against a unit settling itself; and the set-based path (one INSERT … SELECT over
all parameter sets, rounding in SQL) against the Python oracle on generated data, to the fen.

PostgreSQL only (SQLite has no row locks and its set-based path is the Python one). The race
tests are transactional (each thread has its own connection and must see the others' commits);
the shipped parameter sets a flush removes come back through the region fixtures
(``ensure_published_parameters``)."""

import random
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, connections, transaction

from shebao.contributions import models as contribution_models
from shebao.contributions.models import (
    Arrear,
    ContributionLine,
    ParameterSet,
    Payment,
    RegionSettlementJob,
    Settlement,
    UnitInjuryRate,
    WageBase,
)
from shebao.contributions.params.selectors import parameter_sets_in_force
from shebao.contributions.payments.services import payment_post
from shebao.contributions.settlement import services as svc
from shebao.contributions.settlement import services_region as region_svc
from shebao.contributions.settlement.engine import MissingParameters, python_lines
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
from shebao.core.ids import make_resident_id
from shebao.registry.models import INJURY_CLASS_BENCHMARKS, Enrolment, Person, UnitType
from tests.conftest import make_admin, make_unit
from tests.contributions.payments_helpers import PAID_ON, PERIOD, enrol, settled_unit

pytestmark = [pytest.mark.postgres]
RACE = pytest.mark.django_db(transaction=True)
TIMEOUT = 30
HOLD = 1.5  # seconds a thread keeps its transaction open while the other one runs
HOLD_LONG_ENOUGH = 4.5  # a click waiting on a region batch answers before this


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (row locks, set-based path); run with DATABASE_URL")


def together(*funcs: Callable) -> list:
    """Run the callables in threads released at once; each one's result or exception."""
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


def holding_then(first: Callable, second: Callable) -> list:
    """``first`` runs inside a transaction that stays open ``HOLD`` seconds after it returns
    (a slow commit, as a large unit's settlement has); ``second`` starts meanwhile."""
    started = threading.Event()
    results: list = [None, None]

    def run_first():
        try:
            with transaction.atomic():
                results[0] = first()
                started.set()
                time.sleep(HOLD)
        except BaseException as e:
            results[0] = e
        finally:
            started.set()
            connections.close_all()

    def run_second():
        try:
            assert started.wait(TIMEOUT)
            results[1] = second()
        except BaseException as e:
            results[1] = e
        finally:
            connections.close_all()

    threads = [threading.Thread(target=f, daemon=True) for f in (run_first, run_second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
        assert not t.is_alive(), "a thread did not finish"
    return results


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


def region_with_units(region, staff, numbers=(11, 12, 13), persons=3):
    region.current_period = PERIOD
    region.save()
    units = [make_unit(staff, region, n) for n in numbers]
    for unit in units:
        enrol(unit, persons)
    return units


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

    results = holding_then(lambda: settle_units(units, region_bj.pk, PERIOD, actor=staff_bj), click)
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


@pytest.mark.django_db
def test_lines_with_nothing_due_count_as_paid_on_both_paths(region_bj, staff_bj):
    """A type whose rates and fixed amounts are all 0 owes nothing: its lines are paid as
    soon as settled, whether the unit settles itself or the region job settles it."""
    units = region_with_units(region_bj, staff_bj, numbers=(11, 12))
    ps = parameter_sets_in_force(region_bj.pk, PERIOD)["210"]
    ParameterSet.objects.create(
        region=region_bj,
        insurance_type="210",
        valid_from=ps.valid_from,
        version=ps.version + 1,
        floor=ps.floor,
        cap=ps.cap,
        unit_rate=D(0),
        personal_rate=D(0),
        source="测试：免缴",
    )
    settlement_start(actor=make_admin(units[0]), unit=units[0])
    settle_units(units[1:], region_bj.pk, PERIOD, actor=staff_bj)
    for unit in units:
        lines = ContributionLine.objects.filter(unit=unit, withdrawn=False)
        assert set(lines.filter(item="210").values_list("paid", flat=True)) == {True}
        assert set(lines.exclude(item="210").values_list("paid", flat=True)) == {False}
        assert Arrear.objects.get(payer=f"U{unit.pk}", item="210").due == 0


# --- the set-based path against the oracle -------------------------------------------------

ROUNDINGS = ["fen", "jiao", "yuan", "jiao_up"]


def _rate(rng: random.Random, top: float) -> D:
    return D(str(round(rng.uniform(0, top), 6)))


def new_parameter_versions(rng: random.Random, region) -> None:
    """A newer version of every set in force in PERIOD, with random rates (6 decimals), rounding
    modes per side and fixed amounts, so that every SQL rounding branch is exercised."""
    for insurance_type, ps in parameter_sets_in_force(region.pk, PERIOD).items():
        ParameterSet.objects.create(
            region=region,
            insurance_type=insurance_type,
            valid_from=ps.valid_from,
            version=ps.version + 1,
            floor=ps.floor,
            cap=ps.cap,
            unit_rate=_rate(rng, 0.2),
            personal_rate=_rate(rng, 0.1),
            unit_fixed=rng.choice([D("0"), D("0"), D("3.00"), D("12.35")]),
            personal_fixed=rng.choice([D("0"), D("3.00"), D("0.50")]),
            unit_rounding=rng.choice(ROUNDINGS),
            personal_rounding=rng.choice(ROUNDINGS),
            annuity_unit_rate=_rate(rng, 0.1) if insurance_type == "120" else D(0),
            annuity_personal_rate=_rate(rng, 0.05) if insurance_type == "120" else D(0),
            source="测试：随机参数",
        )


def random_wage(rng: random.Random, floor: D, cap: D) -> D:
    choice = rng.random()
    if choice < 0.15:
        return D(rng.randrange(0, int(floor * 100))) / 100  # below the floor
    if choice < 0.25:
        return rng.choice([floor, floor - D("0.01"), floor + D("0.01"), cap, cap + D("0.01")])
    if choice < 0.4:
        return D(rng.randrange(int(cap * 100), int(cap * 300))) / 100  # above the cap
    if choice < 0.5:  # whole-jiao and half-jiao amounts: ties for the coarser roundings
        return D(rng.randrange(int(floor), int(cap))) + rng.choice([D("0.50"), D("0.05")])
    return D(rng.randrange(int(floor * 100), int(cap * 100))) / 100


_ids = iter(range(1, 10**6))


def make_person(rng: random.Random, tag: str) -> Person:
    seq = next(_ids)
    born = date(1960 + seq % 40, 1 + seq % 12, 1 + seq % 28)
    return Person.objects.create(
        person_no=f"R{tag}{seq:07d}",
        id_number=make_resident_id("110101", born, seq % 1000),
        name=f"随机{seq}",
        sex="1",
        birth_date=born,
    )


def generated_region(rng: random.Random, region, staff):
    """Units of several kinds (enterprises with injury classes and rate histories, a 机关事业
    unit with annuity) and persons with random wages, declared wage bases, and enrolments that
    do or do not cover PERIOD."""
    region.current_period = PERIOD
    region.save()
    new_parameter_versions(rng, region)
    sets = parameter_sets_in_force(region.pk, PERIOD)
    kinds = [UnitType.ENTERPRISE, UnitType.ENTERPRISE, UnitType.INSTITUTION, UnitType.ENTERPRISE]
    units = []
    for n, kind in enumerate(kinds, start=31):
        unit = make_unit(staff, region, n, unit_type=kind)
        unit.injury_risk_class = rng.randint(1, 8)
        unit.save(update_fields=["injury_risk_class"])
        benchmark = D(INJURY_CLASS_BENCHMARKS[unit.injury_risk_class])
        history = rng.choice([[], [202401], [202401, 202507], [202401, PERIOD + 1]])
        for valid_from in history:  # the latest ≤ PERIOD wins; a later one is ignored
            factor = rng.choice([D("0.80"), D("1.00"), D("1.20"), D("1.50")])
            UnitInjuryRate.objects.create(
                unit=unit,
                valid_from=valid_from,
                benchmark=benchmark,
                factor=factor,
                rate=(benchmark * factor).quantize(D("0.000001")),
            )
        units.append(unit)
    for unit in units:
        for _ in range(rng.randint(12, 25)):
            person = make_person(rng, str(unit.pk))
            floor, cap = sets[unit.insurance_types[0]].floor, sets[unit.insurance_types[0]].cap
            wage = random_wage(rng, floor, cap)
            start, stop = 202001, None
            roll = rng.random()
            if roll < 0.08:
                stop = rng.choice([202507, PERIOD])  # stopped last month, or this month
            elif roll < 0.12:
                start = PERIOD + 1  # starts next month
            Enrolment.objects.bulk_create(
                Enrolment(
                    person=person,
                    unit=unit,
                    region=region,
                    insurance_type=t,
                    start_period=start,
                    stop_period=stop,
                    status=Enrolment.Status.ACTIVE if stop is None else Enrolment.Status.SUSPENDED,
                    wage_base=wage,
                )
                for t in unit.insurance_types
            )
            roll = rng.random()
            if roll < 0.4:  # declared wage bases: the latest ≤ PERIOD at this unit counts
                for valid_from in rng.sample([202401, 202507, PERIOD, PERIOD + 1], 2):
                    WageBase.objects.create(
                        person=person,
                        unit=unit,
                        valid_from=valid_from,
                        wage=random_wage(rng, floor, cap),
                    )
            if roll < 0.1:  # a wage base at another unit does not count here
                other = next(u for u in units if u != unit)
                WageBase.objects.create(
                    person=person, unit=other, valid_from=202401, wage=D("99999.99")
                )
    return units, sets


LINE_KEY = (
    "person_id",
    "item",
    "settlement_id",
    "unit_id",
    "region_id",
    "settle_period",
    "belongs_period",
    "kind",
    "base",
    "unit_amount",
    "personal_amount",
    "below_floor",
    "above_cap",
    "parameter_set_id",
)


@pytest.mark.django_db
@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_set_based_path_equals_the_oracle_to_the_fen(region_bj, staff_bj, seed):
    rng = random.Random(seed)
    units, _ = generated_region(rng, region_bj, staff_bj)
    assert any("120" in u.insurance_types for u in units)
    # one unit alone (settlement_start → sql_insert_lines for one settlement), the others
    # together (settle_units → one INSERT … SELECT for all of them)
    alone = settlement_start(actor=make_admin(units[0]), unit=units[0])
    assert alone.state == Settlement.State.CONFIRMED
    settle_units(units[1:], region_bj.pk, PERIOD, actor=staff_bj)

    checked = Counter()
    for unit in units:
        settlement = Settlement.objects.get(unit=unit, settle_period=PERIOD)
        expected = sorted(
            tuple(getattr(x, f) for f in LINE_KEY)
            for x in python_lines(
                [unit], region_bj.pk, PERIOD, settlements={unit.pk: settlement.pk}
            )
        )
        actual = sorted(
            ContributionLine.objects.filter(unit=unit, withdrawn=False).values_list(*LINE_KEY)
        )
        assert actual == expected, f"seed {seed}, unit {unit.pk}"
        # totals and arrears equal the oracle's sums
        unit_total = sum((x[LINE_KEY.index("unit_amount")] for x in expected), D(0))
        personal_total = sum((x[LINE_KEY.index("personal_amount")] for x in expected), D(0))
        assert (settlement.unit_total, settlement.personal_total) == (unit_total, personal_total)
        assert settlement.headcount == len({x[0] for x in expected})
        due = defaultdict(D)
        for x in expected:
            due[x[1]] += x[LINE_KEY.index("unit_amount")] + x[LINE_KEY.index("personal_amount")]
        arrears = Arrear.objects.filter(payer=f"U{unit.pk}", settle_period=PERIOD)
        assert {a.item: a.due for a in arrears} == dict(due)
        for x in expected:
            checked[x[1]] += 1
            checked["below_floor"] += x[LINE_KEY.index("below_floor")]
            checked["above_cap"] += x[LINE_KEY.index("above_cap")]
    # the generated data did reach every branch: annuity, injury, floor and cap
    assert checked["121"] and checked["410"] and checked["below_floor"] and checked["above_cap"]


@pytest.mark.django_db
def test_set_based_path_refuses_a_type_without_parameters_like_the_oracle(region_bj, staff_bj):
    region_bj.current_period = PERIOD
    region_bj.save()
    unit = make_unit(staff_bj, region_bj, 41)
    unit.insurance_types = [*unit.insurance_types, "510"]  # Beijing has no 生育 set of its own
    unit.save(update_fields=["insurance_types"])
    enrol(unit, 2)
    assert "510" not in parameter_sets_in_force(region_bj.pk, PERIOD)
    with pytest.raises(MissingParameters):
        list(python_lines([unit], region_bj.pk, PERIOD, settlements={unit.pk: None}))
    with pytest.raises(MissingParameters), transaction.atomic():
        settle_units([unit], region_bj.pk, PERIOD, actor=staff_bj)
    assert not Settlement.objects.filter(unit=unit).exists()
