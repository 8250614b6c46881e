"""Reads on the registry, scoped by the actor."""

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from shebao.registry.models import Enrolment, Person, Unit


def person_by_id_number(number: str, *, id_type: str | None = None) -> Person | None:
    """The person with this canonical ID number (``shebao.core.inputs``), of ``id_type`` when the
    path knows it: persons are unique by (ID type, number).

    The paths that do not ask the type (sign-in, sign-up, password reset; the person searches of
    the changes and of the PIPL export) look by number alone. That is unambiguous today: only
    resident-layout numbers are enrolled (the enrolment takes ``inputs.RESIDENT_LAYOUT`` and
    stores ``inputs.id_type_of`` of the number), and such a number encodes its type, so no two
    persons share one. Once passports or travel permits enrol (their formats overlap: 8 digits
    are a Taiwan travel permit or a passport), those paths must ask the type and pass it."""
    if not number:
        return None
    qs = Person.objects.filter(Person.id_number.q(number))
    if id_type is not None:
        qs = qs.filter(id_type=id_type)
    return qs.order_by("pk").first()


def staff_units(actor, *, q: str = "", region: str = "") -> QuerySet[Unit]:
    qs = Unit.objects.filter(region__in=actor.regions.all()).select_related("region")
    if region:
        qs = qs.filter(region_id=region)
    q = (q or "").strip()
    if q:
        qs = qs.filter(Q(unit_no=q) | Q(uscc=q.upper()) | Q(name__icontains=q))
    return qs.order_by("unit_no")


def staff_unit_get(actor, unit_no: str) -> Unit:
    try:
        return staff_units(actor).get(unit_no=unit_no)
    except Unit.DoesNotExist:
        raise Http404 from None


def unit_enrolment_summary(unit: Unit) -> dict:
    """Headcount per insurance type of a unit's open enrolments."""
    rows = (
        Enrolment.objects.filter(unit=unit, stop_period__isnull=True)
        .values("insurance_type")
        .annotate(n=Count("id"))
        .order_by("insurance_type")
    )
    return {r["insurance_type"]: r["n"] for r in rows}


def person_enrolments(person) -> QuerySet[Enrolment]:
    return (
        Enrolment.objects.filter(person=person)
        .select_related("unit", "region")
        .order_by("-start_period", "insurance_type")
    )
