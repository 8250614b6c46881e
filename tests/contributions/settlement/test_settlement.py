"""Settlement: lines equal the oracle, one per unit and 结算期, refusals, reopen, arrears."""

from datetime import date
from decimal import Decimal as D

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from shebao.contributions.calculator.calc import compute
from shebao.contributions.models import Arrear, ContributionLine, Payment, Settlement
from shebao.contributions.params.selectors import parameter_sets_in_force, to_params
from shebao.contributions.settlement.selectors import settlement_preview, unpaid_periods
from shebao.contributions.settlement.services import (
    rebuild_arrears,
    settlement_reopen,
    settlement_start,
)
from shebao.core.ids import make_resident_id
from shebao.filings.models import Filing, FilingKind
from shebao.registry.models import Enrolment, Person
from tests.factories import make_admin, make_unit

PERIOD = 202508


def enrol(unit, n: int, wages=None) -> list[Person]:
    persons = []
    for i in range(n):
        person = Person.objects.create(
            person_no=f"P{unit.pk:03d}{i:05d}",
            id_number=make_resident_id("110101", date(1960 + unit.pk % 40, 1, 1 + i % 28), 100 + i),
            name=f"职工{i}",
            sex="1",
            birth_date=date(1980, 1, 1 + i % 28),
        )
        wage = (wages or ["5000.00", "12345.67", "40000.00"])[i % 3]
        for t in unit.insurance_types:
            Enrolment.objects.create(
                person=person,
                unit=unit,
                region=unit.region,
                insurance_type=t,
                start_period=202001,
                status="1",
                wage_base=D(wage),
            )
        persons.append(person)
    return persons


def unit_sets(unit):
    """The parameter sets of the unit's insurance types in force in PERIOD."""
    in_force = parameter_sets_in_force(unit.region_id, PERIOD)
    return [to_params(in_force[t]) for t in unit.insurance_types]


@pytest.fixture
def settling(region_bj, staff_bj):
    region_bj.current_period = PERIOD
    region_bj.save()
    unit = make_unit(staff_bj, region_bj, 7)
    admin = make_admin(unit)
    enrol(unit, 9)
    return unit, admin


@pytest.mark.django_db
def test_settlement_lines_equal_the_oracle(settling):
    unit, admin = settling
    settlement = settlement_start(actor=admin, unit=unit)
    assert settlement.state == Settlement.State.CONFIRMED
    assert settlement.settle_period == PERIOD and settlement.headcount == 9
    sets = unit_sets(unit)
    expected_unit = expected_personal = D("0")
    for e in Enrolment.objects.filter(unit=unit, insurance_type="110"):
        r = compute(sets, e.wage_base, injury_rate=D("0.004"))
        expected_unit += r.unit_total
        expected_personal += r.personal_total
    assert settlement.unit_total == expected_unit
    assert settlement.personal_total == expected_personal
    lines = ContributionLine.objects.filter(settlement=settlement)
    assert lines.count() == 9 * len(unit.insurance_types)
    assert lines.filter(below_floor=True).count() == 3 * len(unit.insurance_types)
    assert lines.filter(above_cap=True).count() == 3 * len(unit.insurance_types)
    preview_again = Arrear.objects.filter(payer=f"U{unit.pk}", settle_period=PERIOD)
    assert sum(a.due for a in preview_again) == settlement.unit_total + settlement.personal_total


@pytest.mark.django_db
def test_preview_matches_settlement(settling):
    unit, admin = settling
    preview = settlement_preview(actor=admin, unit=unit)
    settlement = settlement_start(actor=admin, unit=unit)
    assert preview["headcount"] == settlement.headcount
    assert preview["unit_total"] == settlement.unit_total
    assert preview["personal_total"] == settlement.personal_total


@pytest.mark.django_db
def test_second_settlement_of_the_period_refused(settling):
    unit, admin = settling
    settlement_start(actor=admin, unit=unit)
    with pytest.raises(ValidationError, match="已结算"):
        settlement_start(actor=admin, unit=unit)
    assert Settlement.objects.filter(unit=unit).count() == 1


@pytest.mark.django_db
def test_open_change_filing_blocks_settlement(settling):
    unit, admin = settling
    Filing.objects.create(
        serial_no="20260101000001",
        kind=FilingKind.ENROLMENT,
        region=unit.region,
        unit=unit,
        title="x",
    )
    with pytest.raises(ValidationError, match="20260101000001"):
        settlement_start(actor=admin, unit=unit)
    assert not Settlement.objects.exists()


@pytest.mark.django_db
def test_other_unit_operator_may_not_settle(settling, region_bj, staff_bj):
    unit, _ = settling
    other = make_admin(make_unit(staff_bj, region_bj, 8))
    with pytest.raises(PermissionDenied):
        settlement_start(actor=other, unit=unit)
    assert not Settlement.objects.exists()


@pytest.mark.django_db
def test_reopen_withdraws_lines_and_allows_settling_again(settling, staff_bj):
    unit, admin = settling
    first = settlement_start(actor=admin, unit=unit)
    settlement_reopen(actor=staff_bj, settlement_id=first.pk)
    first.refresh_from_db()
    assert first.state == Settlement.State.WITHDRAWN
    assert not ContributionLine.objects.filter(settlement=first, withdrawn=False).exists()
    second = settlement_start(actor=admin, unit=unit)
    assert second.unit_total == first.unit_total


@pytest.mark.django_db
def test_reopen_refused_after_payment(settling, staff_bj):
    unit, admin = settling
    settlement = settlement_start(actor=admin, unit=unit)
    Payment.objects.create(
        unit=unit,
        region=unit.region,
        settle_period=PERIOD,
        item="110",
        amount=D("1.00"),
        paid_on=date(2025, 8, 20),
        source="manual",
    )
    with pytest.raises(ValidationError, match="到账"):
        settlement_reopen(actor=staff_bj, settlement_id=settlement.pk)


@pytest.mark.django_db
def test_payments_fill_items_and_mark_lines_paid(settling):
    unit, admin = settling
    settlement_start(actor=admin, unit=unit)
    due_110 = Arrear.objects.get(payer=f"U{unit.pk}", item="110").due
    Payment.objects.create(
        unit=unit,
        region=unit.region,
        settle_period=PERIOD,
        item="110",
        amount=due_110 - D("0.01"),
        paid_on=date(2025, 8, 20),
        source="manual",
    )
    rebuild_arrears(unit_id=unit.pk, person_id=None, settle_period=PERIOD)
    arrear = Arrear.objects.get(payer=f"U{unit.pk}", item="110")
    assert arrear.outstanding == D("0.01")
    assert not ContributionLine.objects.filter(item="110", paid=True).exists()
    person = Person.objects.filter(person_no__startswith=f"P{unit.pk:03d}").first()
    assert unpaid_periods(person, unit) == [PERIOD]
    Payment.objects.create(
        unit=unit,
        region=unit.region,
        settle_period=PERIOD,
        item="110",
        amount=D("0.01"),
        paid_on=date(2025, 8, 21),
        source="manual",
    )
    rebuild_arrears(unit_id=unit.pk, person_id=None, settle_period=PERIOD)
    assert ContributionLine.objects.filter(item="110", paid=False).count() == 0


@pytest.mark.django_db
def test_region_job_settles_all_units_like_single_settlements(region_bj, staff_bj):
    from shebao.contributions.models import RegionSettlementJob
    from shebao.contributions.settlement.services_region import region_settle_all_run

    region_bj.current_period = PERIOD
    region_bj.save()
    units = [make_unit(staff_bj, region_bj, n) for n in (11, 12, 13)]
    for unit in units:
        enrol(unit, 4)
    blocked = make_unit(staff_bj, region_bj, 14)
    enrol(blocked, 2)
    Filing.objects.create(
        serial_no="20260101000009", kind=FilingKind.STOP, region=region_bj, unit=blocked, title="x"
    )
    job = RegionSettlementJob.objects.create(
        region=region_bj, settle_period=PERIOD, created_by=staff_bj
    )
    region_settle_all_run(job.pk)
    job.refresh_from_db()
    assert job.state == "done" and job.total_units == 3
    assert job.skipped == [blocked.unit_no]
    for unit in units:
        sets = unit_sets(unit)
        s = Settlement.objects.get(unit=unit, settle_period=PERIOD)
        assert s.state == "confirmed" and s.headcount == 4
        expected = sum(
            compute(sets, e.wage_base, injury_rate=D("0.004")).total
            for e in Enrolment.objects.filter(unit=unit, insurance_type="110")
        )
        assert s.unit_total + s.personal_total == expected
        arrears = Arrear.objects.filter(payer=f"U{unit.pk}", settle_period=PERIOD)
        assert sum(a.due for a in arrears) == expected
    assert not Settlement.objects.filter(unit=blocked).exists()


@pytest.mark.django_db
def test_open_next_period(region_bj, staff_bj, staff_sh, region_sh):
    from django.http import Http404

    from shebao.contributions.settlement.services_region import region_open_next_period

    region_bj.current_period = 202512
    region_bj.save()
    assert region_open_next_period(actor=staff_bj, region_code="110000") == 202601
    with pytest.raises(Http404):
        region_open_next_period(actor=staff_sh, region_code="110000")
