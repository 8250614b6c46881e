"""Helpers shared by the enrolment tests (no tests here): operators with business kinds, valid ID
numbers, form data, persons and enrolments set up directly, and the review steps."""

from datetime import date
from decimal import Decimal

from django.utils import timezone

from shebao.core.ids import make_resident_id
from shebao.core.periods import Period
from shebao.filings.models import Filing
from shebao.filings.services import filing_approve, filing_return, filing_submit
from shebao.registry.enrolment.services import enrolment_save, stop_save
from shebao.registry.models import Enrolment, Person
from shebao.registry.roster import roster_refresh

TODAY = timezone.localdate()
CURRENT = Period.of(TODAY)
FIRST_WORK = date(2015, 7, 1)


def ident(n: int, birth: date = date(1990, 3, 7)) -> str:
    """A valid resident ID for every n (odd order codes: male)."""
    return make_resident_id("110105", birth, n)


def enrol_data(id_number: str, **overrides) -> dict:
    """What the person form hands to enrolment_save for a new urban worker."""
    data = {
        "id_number": id_number,
        "name": "李新员",
        "ethnicity": "汉族",
        "hukou": Person.Hukou.LOCAL_URBAN,
        "first_work_date": FIRST_WORK,
        "mobile": "13811112222",
        "address": "北京市朝阳区测试路2号",
        "scope": Enrolment.Scope.REGULAR,
        "insurance_types": ["110", "210", "310", "410"],
        "start_period": str(CURRENT),
        "wage": Decimal("6500.00"),
        "waive_back_pay": False,
        "contract_start": date(2024, 1, 1),
        "contract_end": None,
        "employment_registered": True,
    }
    data.update(overrides)
    return data


def make_person(n: int, name: str = "王在册", **fields) -> Person:
    id_number = ident(n)
    defaults = {
        "person_no": f"1100{n:08d}",
        "id_number": id_number,
        "name": name,
        "sex": "1",
        "birth_date": date(1990, 3, 7),
        "hukou": Person.Hukou.LOCAL_URBAN,
        "first_work_date": FIRST_WORK,
        "mobile": "13700001111",
        "address": "原地址",
    }
    defaults.update(fields)
    return Person.objects.create(**defaults)


def enrol(person, unit, types=("110", "210", "310", "410"), start=201801, **fields):
    """Open enrolments set up directly (the registry as it stands before a test), with the
    person's roster entry at the unit."""
    rows = [
        Enrolment.objects.create(
            person=person,
            unit=unit,
            region=unit.region if unit else fields.pop("region"),
            insurance_type=t,
            start_period=start,
            status=Enrolment.Status.ACTIVE,
            wage_base=Decimal("5000"),
            **fields,
        )
        for t in types
    ]
    if unit is not None:
        roster_refresh(unit_ids=[unit.pk], person_ids=[person.pk])
    return rows


def stopped(
    person,
    unit,
    types=("110", "210", "310", "410"),
    *,
    start=201801,
    stop=202001,
    reason=Enrolment.StopReason.LEFT,
    stop_date=date(2020, 1, 15),
):
    rows = enrol(person, unit, types, start)
    for e in rows:
        e.stop_period, e.stop_date, e.stop_reason = stop, stop_date, reason
        e.status = Enrolment.Status.SUSPENDED
        e.save()
    roster_refresh(unit_ids=[unit.pk], person_ids=[person.pk])
    return rows


def open_types(person, unit) -> list[str]:
    return sorted(
        Enrolment.objects.filter(person=person, unit=unit, stop_period__isnull=True).values_list(
            "insurance_type", flat=True
        )
    )


def submit_and_approve(actor, staff, filing: Filing, refused=None) -> Filing:
    filing_submit(actor=actor, filing=filing)
    filing_approve(actor=staff, filing_id=filing.pk, refused=refused or {})
    filing.refresh_from_db()
    return filing


def enrol_new(actor, staff, id_number: str, **overrides) -> Person:
    """A new person enrolled end to end (saved, submitted, approved)."""
    filing = enrolment_save(actor=actor, data=enrol_data(id_number, **overrides))
    submit_and_approve(actor, staff, filing)
    return Person.objects.get(Person.id_number.q(id_number))


def stop_data(**overrides) -> dict:
    data = {
        "insurance_types": ["110", "210", "310", "410"],
        "reason": Enrolment.StopReason.LEFT,
        "stop_date": TODAY,
    }
    data.update(overrides)
    return data


def stop_persons(actor, staff, persons, kind="stop", **overrides) -> Filing:
    filing = stop_save(
        actor=actor, data=stop_data(**overrides), person_ids=[p.pk for p in persons], kind=kind
    )
    return submit_and_approve(actor, staff, filing)


__all__ = [
    "CURRENT",
    "FIRST_WORK",
    "TODAY",
    "enrol",
    "enrol_data",
    "enrol_new",
    "filing_return",
    "ident",
    "make_person",
    "open_types",
    "stop_data",
    "stop_persons",
    "stopped",
    "submit_and_approve",
]
