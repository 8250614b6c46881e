"""The set-based settlement path (PostgreSQL: one INSERT … SELECT over all parameter sets, the
rounding written in SQL) against the Python oracle (``engine.python_lines`` over the pure
calculator), on generated regions with random wages, rates, rounding modes and parameter versions:
equal to the fen, refusing a type without parameters the same way, and marking lines with nothing
due as paid on both paths. PostgreSQL only: on SQLite the Python path is the only one."""

import random
from collections import Counter, defaultdict
from datetime import date
from decimal import Decimal as D

import pytest
from django.db import transaction

from shebao.contributions.models import (
    Arrear,
    ContributionLine,
    ParameterSet,
    Settlement,
    UnitInjuryRate,
    WageBase,
)
from shebao.contributions.params.selectors import parameter_sets_in_force
from shebao.contributions.settlement.engine import MissingParameters, python_lines
from shebao.contributions.settlement.services import (
    settlement_start,
)
from shebao.contributions.settlement.services_region import (
    settle_units,
)
from shebao.core.ids import make_resident_id
from shebao.registry.models import INJURY_CLASS_BENCHMARKS, Enrolment, Person, UnitType
from tests.contributions.payments_helpers import PERIOD, enrol, region_with_units
from tests.factories import make_admin, make_unit

pytestmark = [pytest.mark.postgres]


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
