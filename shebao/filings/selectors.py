"""Reads on filings, scoped by the actor."""

from datetime import timedelta

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from shebao.filings.models import Filing, FilingMaterial, FilingState, FilingStep

WAITING_CHOICES = {
    "": "不限",
    "1": "超过1天",
    "3": "超过3天",
    "7": "超过7天",
}


def filing_progress(filing: Filing) -> QuerySet[FilingStep]:
    return filing.steps.all()


def staff_filings(actor) -> QuerySet[Filing]:
    return Filing.objects.filter(region__in=actor.regions.all())


def review_queue(
    actor,
    *,
    region: str = "",
    kind: str = "",
    unit: str = "",
    waiting_days: str = "",
    state: str = FilingState.SUBMITTED,
) -> QuerySet[Filing]:
    """Filings waiting for review in the staff member's regions, oldest first."""
    qs = staff_filings(actor).select_related("region", "unit")
    if state:
        qs = qs.filter(state=state)
    if region:
        qs = qs.filter(region_id=region)
    if kind:
        qs = qs.filter(kind=kind)
    if unit:
        qs = qs.filter(
            Q(unit__unit_no=unit)
            | Q(unit__name__icontains=unit)
            | Q(title__icontains=unit)
            | Q(serial_no=unit)
        )
    if waiting_days.isdigit():
        qs = qs.filter(submitted_at__lte=timezone.now() - timedelta(days=int(waiting_days)))
    return qs.order_by("submitted_at", "id")


def staff_filing_get(actor, serial_no: str) -> Filing:
    try:
        return (
            staff_filings(actor)
            .select_related("region", "unit", "decided_by")
            .get(serial_no=serial_no)
        )
    except Filing.DoesNotExist:
        raise Http404 from None


def material_for_request(request, material_id: int) -> FilingMaterial:
    """A material is visible to staff of its region, to its unit's operators, and to the
    anonymous applicant's session (first registration)."""
    try:
        material = FilingMaterial.objects.select_related("filing").get(pk=material_id)
    except FilingMaterial.DoesNotExist:
        raise Http404 from None
    filing = material.filing
    user = request.user
    if user.is_authenticated:
        if user.kind == "staff" and user.regions.filter(pk=filing.region_id).exists():
            return material
        if user.kind == "operator" and filing.unit_id and filing.unit_id == user.unit_id:
            return material
    if filing.serial_no in request.session.get("registration_serials", []):
        return material
    raise Http404


def unit_filings(actor) -> QuerySet[Filing]:
    return Filing.objects.filter(unit_id=actor.unit_id)


def unit_todo(actor, *, kind: str = "") -> QuerySet[Filing]:
    """待办: drafts and returned filings (回退标志 and reason shown)."""
    qs = unit_filings(actor).filter(state__in=[FilingState.DRAFT, FilingState.RETURNED])
    if kind:
        qs = qs.filter(kind=kind)
    return qs.select_related("created_by").order_by("-updated_at", "-id")


def unit_done(actor, *, kind: str = "", state: str = "") -> QuerySet[Filing]:
    """已办: submitted, finished and cancelled filings."""
    qs = unit_filings(actor).filter(
        state__in=[FilingState.SUBMITTED, FilingState.APPROVED, FilingState.CANCELLED]
    )
    if kind:
        qs = qs.filter(kind=kind)
    if state:
        qs = qs.filter(state=state)
    return qs.select_related("decided_by").order_by("-submitted_at", "-id")


def unit_filing_get(actor, serial_no: str) -> Filing:
    try:
        return unit_filings(actor).select_related("unit", "region").get(serial_no=serial_no)
    except Filing.DoesNotExist:
        raise Http404 from None
