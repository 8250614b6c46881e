"""Reads of the unit first registration for its public pages: the applicant's own application
(only for the session that created or reopened it), an application found again by serial
number and contact mobile, and what the status and submit pages show of it."""

from django.core.exceptions import ValidationError
from django.http import Http404
from django.urls import reverse

from shebao.filings.kept import kept_for
from shebao.filings.models import Filing, FilingKind, FilingState
from shebao.filings.selectors import filing_progress
from shebao.registry.registration.kinds import UnitRegistrationHandler


def applicant_filing(serial_no: str, *, granted) -> Filing:
    """The application ``serial_no`` when it is among the session's ``granted`` serial
    numbers; else 404, like a missing one."""
    if serial_no not in granted:
        raise Http404
    try:
        return Filing.objects.select_related("region").get(
            serial_no=serial_no, kind=FilingKind.UNIT_REGISTRATION
        )
    except Filing.DoesNotExist:
        raise Http404 from None


def registration_for_reopen(serial_no: str, mobile: str) -> Filing | None:
    """The (not cancelled) application with this serial number and contact mobile, or None."""
    return (
        Filing.objects.filter(
            Filing.contact_mobile.q(mobile),
            kind=FilingKind.UNIT_REGISTRATION,
            serial_no=(serial_no or "").strip(),
        )
        .exclude(state=FilingState.CANCELLED)
        .first()
    )


def registration_display(filing: Filing, *, steps: bool = False) -> dict:
    """The application as its pages show it: labelled rows, materials and (``steps``) the
    progress of the filing."""
    shown = {
        "rows": UnitRegistrationHandler().display_rows(filing.payload),
        "materials": filing.materials.all(),
    }
    if steps:
        shown["steps"] = filing_progress(filing)
    return shown


def kept_display(owner: str | None, scope: str, filing: Filing | None = None) -> dict:
    """The file each material slot already has, as the form shows it: the application's stored
    material (when editing), replaced by the one kept from a failed save of this form."""
    shown = {}
    if filing is not None:
        for m in filing.materials.all():
            shown[m.slot] = {
                "name": m.original_name,
                "url": reverse("web:material", args=[m.pk]),
                "is_image": m.content_type.startswith("image/"),
                "note": "已上传",
            }
    for slot, row in kept_for(owner, scope).items():
        shown[slot] = {
            "name": row.original_name,
            "url": reverse("registration:kept", args=[row.pk]) if row.is_image else "",
            "is_image": row.is_image,
            "note": "已保留，无需重新上传",
        }
    return shown


def registration_missing(filing: Filing) -> list[str]:
    """What the saved application lacks before it can be submitted (a draft saved before a
    field became required): the messages with their fields' labels; empty when complete."""
    handler = UnitRegistrationHandler()
    try:
        handler.clean_payload(dict(filing.payload), filing=filing)
    except ValidationError as e:
        return [
            f"{handler.labels.get(field, '')}：{message}" if field in handler.labels else message
            for field, messages in e.message_dict.items()
            for message in messages
        ]
    return []
