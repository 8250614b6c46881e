"""Helpers shared by the query tests (roster, person detail, 增员表, query counts): persons and
enrolments written straight to the tables, the way approved filings leave them. No tests here."""

from datetime import date
from decimal import Decimal

from shebao.core.ids import make_resident_id
from shebao.registry.models import Enrolment, Person
from shebao.registry.roster import roster_refresh

DEFAULT_TYPES = ("110", "210", "310", "410")


def make_person(n: int, *, name: str | None = None, area: str = "110105") -> Person:
    id_number = make_resident_id(area, date(1980 + n % 20, 1 + n % 12, 1 + n % 28), n % 1000)
    return Person.objects.create(
        person_no=f"1100{n:08d}",
        id_number=id_number,
        name=name or f"职工{n:04d}",
        sex="1" if int(id_number[16]) % 2 else "2",
        birth_date=date(1980 + n % 20, 1 + n % 12, 1 + n % 28),
        mobile="13800000000",
    )


def enrol(
    person: Person,
    unit,
    types=DEFAULT_TYPES,
    *,
    start: int = 202401,
    stop: int | None = None,
    wage: str = "6000.00",
    status: str | None = None,
    **fields,
) -> list[Enrolment]:
    """Enrolments written straight to the table, then the person's roster entry at the unit
    recomputed, as the services that write enrolments do."""
    if status is None:
        status = Enrolment.Status.ACTIVE if stop is None else Enrolment.Status.ENDED
    created = [
        Enrolment.objects.create(
            person=person,
            unit=unit,
            region_id=unit.region_id if unit else fields.pop("region_id"),
            insurance_type=t,
            start_period=start,
            stop_period=stop,
            status=status,
            wage_base=Decimal(wage),
            **fields,
        )
        for t in types
    ]
    if unit is not None:
        roster_refresh(unit_ids=[unit.pk], person_ids=[person.pk])
    return created


def staff_people(unit, count: int, *, first: int = 1, **kwargs) -> list[Person]:
    """`count` persons enrolled at `unit` in the default types."""
    people = []
    for n in range(first, first + count):
        p = make_person(n)
        enrol(p, unit, **kwargs)
        people.append(p)
    return people


def make_clerk(admin, *, account: str = "clerk1", kinds=("enrolment",)):
    """A unit operator (not the administrator) with the given business kinds."""
    from shebao.accounts.models import User
    from tests.conftest import PASSWORD

    user = User(
        username=f"{admin.username}-{account}",
        kind=User.Kind.OPERATOR,
        unit=admin.unit,
        registration=admin.registration,
        operator_account=account,
        display_name="赵经办",
        mobile="13911110001",
        is_unit_admin=False,
        business_kinds=list(kinds),
    )
    user.set_password(PASSWORD)
    user.save()
    return user


def xlsx_rows(content: bytes) -> list[list]:
    """The first sheet of an Excel file, as lists of cell values."""
    import io

    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_filelike(io.BytesIO(content))
    return book.get_sheet_by_index(0).to_python()
