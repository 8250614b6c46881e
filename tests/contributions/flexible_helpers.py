"""Flexible workers for the tests: persons with a login, registered and approved in a region
whose current 结算期 is PERIOD (Beijing's 2025-07 parameter set: floor 7,162, cap 35,811)."""

from datetime import date
from decimal import Decimal as D

from shebao.accounts.models import User
from shebao.contributions.flexible.services import flexible_register
from shebao.core.ids import make_resident_id
from shebao.filings.services import filing_approve
from shebao.registry.models import Enrolment, Person
from tests.factories import PASSWORD

PERIOD = 202508
FLOOR = D("7162")
CAP = D("35811")


def make_person(n: int) -> Person:
    born = date(1985, 1 + n % 12, 1 + n % 28)
    return Person.objects.create(
        person_no=f"F{n:011d}",
        id_number=make_resident_id("110105", born, 200 + n),
        name=f"灵活{n}",
        sex="1",
        birth_date=born,
        mobile=f"1380000{n:04d}",
    )


def person_login(person: Person) -> User:
    user = User(
        username=f"p{person.pk}", kind=User.Kind.PERSON, person=person, display_name=person.name
    )
    user.set_password(PASSWORD)
    user.save()
    return user


def registration(region="110000", start=PERIOD, level="1.50") -> dict:
    return {"region": region, "start_period": str(start), "base_level": level}


def register(user: User, staff=None, **kw):
    """File (and, given a reviewer, approve) a flexible registration."""
    filing = flexible_register(actor=user, data=registration(**kw))
    if staff is not None:
        filing = filing_approve(actor=staff, filing_id=filing.pk)
    return filing


def unit_enrolment(person: Person, unit, insurance_type="110") -> Enrolment:
    return Enrolment.objects.create(
        person=person,
        unit=unit,
        region=unit.region,
        insurance_type=insurance_type,
        start_period=202001,
        status=Enrolment.Status.ACTIVE,
        wage_base=D("8000"),
    )
