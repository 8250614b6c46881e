"""Reads on the registry, scoped by the actor."""

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from shebao.registry.models import Enrolment, Unit


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
