"""Units with enrolled persons for the wage declaration tests (region in 结算期 PERIOD)."""

from decimal import Decimal as D

from shebao.contributions.calculator.calc import compute
from shebao.contributions.params.selectors import parameter_sets_in_force, to_params
from shebao.filings.models import Filing, FilingKind, FilingRow
from shebao.registry.models import UnitType
from tests.contributions.payments_helpers import enrol
from tests.factories import make_admin, make_unit

PERIOD = 202508


def wage_unit(staff, region, n: int, persons: int = 3, **kwargs):
    """A unit of `region` (current period PERIOD) with its admin and `persons` enrolled with
    wages 5000.00 / 12345.67 / 40000.00 in turn."""
    region.current_period = PERIOD
    region.save()
    unit = make_unit(staff, region, n, **kwargs)
    return unit, make_admin(unit), enrol(unit, persons)


def institution_unit(staff, region, n: int, persons: int = 2):
    return wage_unit(staff, region, n, persons, unit_type=UnitType.GOVERNMENT)


def expected_totals(unit, wages: dict, period: int = PERIOD) -> tuple[D, D]:
    """(unit total, personal total) the oracle gives for persons' wages in `period`, with the
    unit's injury rate (no rate set: its class benchmark, class 2 = 0.4 %)."""
    sets = parameter_sets_in_force(unit.region_id, period)
    params = [to_params(sets[t]) for t in unit.insurance_types]
    unit_total = personal_total = D("0")
    for wage in wages.values():
        r = compute(params, D(wage), injury_rate=D("0.004"))
        unit_total += r.unit_total
        personal_total += r.personal_total
    return unit_total, personal_total


def hold_in_other_filing(unit, person, serial="20990101000001"):
    """Put `person` in another open filing of `unit` (e.g. a stop draft)."""
    filing = Filing.objects.create(
        serial_no=serial, kind=FilingKind.STOP, region=unit.region, unit=unit, title="停保"
    )
    FilingRow.objects.create(
        filing=filing, person=person, id_number=person.id_number, name=person.name
    )
    return filing
