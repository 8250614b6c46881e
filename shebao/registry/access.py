"""One place for "may this actor touch this object?" (Zulip's ``access_*_by_id``).

Each helper returns the object or refuses. A refusal because of who the actor is raises
``PermissionDenied``; an object of another unit, person or region answers ``Http404``, exactly like
a missing one. Every refusal is audited the same way: the action named ``<domain>.<action>``
with outcome ``denied``. Call them before the service opens its transaction, so that the audit row
of a refusal is not rolled back with it."""

from django.core.exceptions import PermissionDenied
from django.http import Http404

from shebao.core.audit import audit_record
from shebao.core.models import AuditEntry, Region
from shebao.filings.models import Filing
from shebao.registry.models import Unit

NOT_ALLOWED = "您没有办理此项业务的权限"
STAFF_ONLY = "只有经办人员可以办理"


def deny(actor, *, action: str, object_type: str = "", object_id: str = "", region=None) -> None:
    """Audit one refusal (outcome ``denied``)."""
    audit_record(
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        region=region,
        outcome=AuditEntry.Outcome.DENIED,
    )


def is_operator(actor) -> bool:
    return bool(getattr(actor, "is_operator", False)) and actor.is_active


def is_person(actor) -> bool:
    return bool(getattr(actor, "is_person", False)) and actor.is_active


def is_staff_member(actor) -> bool:
    return bool(getattr(actor, "is_staff_member", False)) and actor.is_active


def access_operator_unit(actor, *, business_kind: str, action: str) -> Unit:
    """The actor's unit when they are an active operator allowed to file ``business_kind``."""
    if not is_operator(actor) or not actor.may_file(business_kind):
        deny(actor, action=action)
        raise PermissionDenied(NOT_ALLOWED)
    return Unit.objects.select_related("region").get(pk=actor.unit_id)


def access_unit_filing(actor, *, serial_no: str, kind: str | tuple[str, ...]) -> Filing:
    """The actor's unit's filing of this kind (or kinds); another unit's looks missing (404),
    audited as ``<kind>.open``."""
    kinds = (kind,) if isinstance(kind, str) else tuple(kind)
    unit_id = getattr(actor, "unit_id", None) if is_operator(actor) else None
    filing = (
        Filing.objects.select_related("unit", "region")
        .filter(serial_no=serial_no, unit_id=unit_id, kind__in=kinds)
        .first()
    )
    if unit_id is None or filing is None:
        deny(actor, action=f"{kinds[0]}.open", object_type="filing", object_id=serial_no[:40])
        raise Http404
    return filing


def require_staff(actor, *, action: str, message: str = STAFF_ONLY) -> None:
    """Refuse anyone but an active staff member."""
    if not is_staff_member(actor):
        deny(actor, action=action)
        raise PermissionDenied(message)


def access_staff_region(actor, *, region, action: str, message: str = STAFF_ONLY) -> Region:
    """``region`` (a Region or its code) when it is one of the staff member's regions; another
    region looks missing (404)."""
    require_staff(actor, action=action, message=message)
    code = getattr(region, "pk", region)
    found = actor.regions.filter(pk=code).first() if code else None
    if found is None:
        deny(actor, action=action, object_type="region", object_id=str(code or ""))
        raise Http404
    return found
