"""Builders shared by the back-pay and late-fee tests (no tests here): a Beijing unit whose
region's current settlement period is CURRENT, persons enrolled at it, and the filing steps."""

from datetime import date
from decimal import Decimal as D

from shebao.contributions.backpay.services import backpay_save
from shebao.contributions.models import ContributionLine
from shebao.core.ids import make_resident_id
from shebao.filings.business import BusinessKind
from shebao.filings.services import filing_approve, filing_submit
from shebao.registry.models import Enrolment, Person
from tests.factories import make_admin, make_unit

CURRENT = 202509
ENTERPRISE_TYPES = ["110", "210", "310", "410"]


def bp_unit(staff, region, n: int, *, vip: bool = False, current: int = CURRENT):
    """A unit of ``region`` (current settlement period ``current``) and its administrator."""
    region.current_period = current
    region.save()
    unit = make_unit(staff, region, n, vip=vip)
    return unit, make_admin(unit)


def enrol(
    unit,
    n: int,
    *,
    start: int = 202501,
    stop: int | None = None,
    wage: str = "5000.00",
    types=None,
    back_pay: bool = False,
) -> Person:
    """One person enrolled at ``unit`` in ``types`` (default: all the unit's types)."""
    born = date(1980 + unit.pk % 20, 1 + n % 12, 1 + n % 28)
    person = Person.objects.create(
        person_no=f"B{unit.pk:03d}{n:05d}",
        id_number=make_resident_id("110101", born, 200 + n),
        name=f"补缴职工{unit.pk}-{n}",
        sex="1",
        birth_date=born,
    )
    for t in types or unit.insurance_types:
        Enrolment.objects.create(
            person=person,
            unit=unit,
            region=unit.region,
            insurance_type=t,
            start_period=start,
            stop_period=stop,
            status=Enrolment.Status.ACTIVE if stop is None else Enrolment.Status.SUSPENDED,
            wage_base=D(wage),
            back_pay=back_pay,
        )
    return person


def request(person, month_from, month_to="", wage="5000.00", types=None) -> dict:
    return {
        "person": person.pk,
        "month_from": str(month_from),
        "month_to": str(month_to),
        "wage": str(wage),
        "insurance_types": list(types or []),
    }


def approved(admin, staff, kind: str, data: dict, filing=None):
    """Save, submit and (for a normal unit) approve one person's back pay; the filing."""
    filing = backpay_save(actor=admin, kind=kind, data=data, filing=filing)
    filing_submit(actor=admin, filing=filing)
    filing.refresh_from_db()
    if filing.state == "submitted":
        filing_approve(actor=staff, filing_id=filing.pk)
        filing.refresh_from_db()
    return filing


def lines_of(person, **filters):
    return ContributionLine.objects.filter(person=person, withdrawn=False, **filters).order_by(
        "belongs_period", "item", "id"
    )


ALL_BUT_BACK_PAY = [k for k in BusinessKind.values if k != BusinessKind.BACK_PAY]
