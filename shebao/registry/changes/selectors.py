"""Reads of the information changes, scoped by the actor: a unit's current persons and change
filings, the persons of a staff member's regions (for locks). Another unit's or region's person
answers 404, like a missing one."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404

from shebao.core.audit import audit_person_views
from shebao.core.inputs import search_id_number
from shebao.filings.kinds import handler_for
from shebao.filings.models import Filing
from shebao.registry import access
from shebao.registry.changes.calc import CHANGE_KINDS
from shebao.registry.models import Enrolment, Person, Unit


def unit_current_persons(unit) -> QuerySet[Person]:
    """The persons a unit currently enrols (an open enrolment of any insurance type)."""
    return Person.objects.filter(
        pk__in=Enrolment.objects.filter(unit=unit, stop_period__isnull=True).values("person_id")
    )


def is_current_person(unit, person: Person) -> bool:
    return Enrolment.objects.filter(unit=unit, person=person, stop_period__isnull=True).exists()


def unit_person_get(actor, person_no: str) -> Person:
    """One of the actor's unit's current persons; any other person answers 404."""
    if not access.is_operator(actor) or not actor.unit_id:
        raise Http404
    try:
        return unit_current_persons(actor.unit_id).get(person_no=person_no)
    except Person.DoesNotExist:
        raise Http404 from None


def _search(qs: QuerySet[Person], q: str) -> QuerySet[Person]:
    q = (q or "").strip()
    if not q:
        return qs.none()
    condition = Q(person_no=q) | Q(name__icontains=q)
    try:
        # by number alone: see registry.selectors.person_by_id_number
        condition |= Person.id_number.q(search_id_number(q))
    except ValidationError:
        condition |= Person.id_number.q(q)
    return qs.filter(condition)


def unit_person_search(actor, q: str, *, limit: int = 50) -> list[Person]:
    """By person number, name or ID number (the view receives it by POST)."""
    return list(_search(unit_current_persons(actor.unit_id), q).order_by("person_no")[:limit])


def unit_change_filings(actor, *, limit: int = 20) -> QuerySet[Filing]:
    return Filing.objects.filter(unit_id=actor.unit_id, kind__in=CHANGE_KINDS).order_by(
        "-created_at", "-id"
    )[:limit]


def unit_change_filing_get(actor, serial_no: str, kinds=CHANGE_KINDS) -> Filing:
    try:
        return Filing.objects.select_related("unit", "person", "region").get(
            unit_id=actor.unit_id, kind__in=kinds, serial_no=serial_no
        )
    except Filing.DoesNotExist:
        raise Http404 from None


def staff_persons(actor) -> QuerySet[Person]:
    """Persons with an enrolment (open or not) in one of the staff member's regions. Person has
    no region of its own: the regions of its enrolments decide who administers it."""
    if not access.is_staff_member(actor):
        return Person.objects.none()
    return Person.objects.filter(
        pk__in=Enrolment.objects.filter(region__in=actor.regions.all()).values("person_id")
    )


def staff_person_region(actor, person: Person) -> str | None:
    """The first of the staff member's regions the person is (or was) enrolled in."""
    return (
        Enrolment.objects.filter(person=person, region__in=actor.regions.all())
        .order_by("region_id")
        .values_list("region_id", flat=True)
        .first()
    )


def staff_person_get(actor, person_no: str, *, via: str = "经办后台·人员锁定") -> Person:
    """A person of the staff member's regions (else 404); the view is recorded
    (``person.view``)."""
    try:
        person = staff_persons(actor).get(person_no=person_no)
    except Person.DoesNotExist:
        raise Http404 from None
    audit_person_views(
        actor=actor, persons=[person], via=via, region=staff_person_region(actor, person)
    )
    return person


def staff_person_search(actor, q: str, *, limit: int = 50) -> list[Person]:
    return list(_search(staff_persons(actor), q).order_by("person_no")[:limit])


def staff_locked_persons(actor) -> QuerySet[Person]:
    return staff_persons(actor).filter(is_locked=True).order_by("person_no")


def person_units(person: Person) -> list[Unit]:
    """Units currently enrolling the person (for staff's person page)."""
    return list(
        Unit.objects.filter(
            pk__in=Enrolment.objects.filter(person=person, stop_period__isnull=True).values(
                "unit_id"
            )
        ).order_by("unit_no")
    )


def change_unit(actor, kind: str) -> Unit | None:
    """The operator's unit when they may file this change (the kind's own permission check);
    a refusal is audited as ``<kind>.view``."""
    unit = actor.unit if access.is_operator(actor) else None
    try:
        handler_for(kind).check_permission(actor=actor, unit=unit)
    except PermissionDenied:
        access.deny(actor, action=f"{kind}.view")
        raise
    return unit
