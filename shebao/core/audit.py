"""The audit log: every service records who did what to which object, and the outcome.

Personal data never reaches the log in clear: ID numbers and mobile numbers inside the actor's
label, the object's id and label and the details (keys and values) are masked here, whatever the
caller passed — the last line of defence behind callers that pass masked values already."""

import contextvars
import re
from typing import Any

from django.db import models

from shebao.core.ids import mask_id_number, mask_mobile
from shebao.core.models import AuditEntry

current_ip: contextvars.ContextVar[str | None] = contextvars.ContextVar("current_ip", default=None)

_ID_RE = re.compile(r"(?<![0-9A-Za-z])([0-9]{17}[0-9Xx]|[0-9]{15})(?![0-9A-Za-z])")
_MOBILE_RE = re.compile(r"(?<![0-9])(1[3-9][0-9]{9})(?![0-9])")


def mask_text(value: str) -> str:
    """Mask resident ID numbers and mobile numbers appearing anywhere in a string."""
    value = _ID_RE.sub(lambda m: mask_id_number(m.group(1)), value)
    return _MOBILE_RE.sub(lambda m: mask_mobile(m.group(1)), value)


def mask_data(value: Any) -> Any:
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {mask_text(str(k)): mask_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_data(v) for v in value]
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        # A mobile or an ID number passed as a number is masked like the text.
        text = str(value)
        masked = mask_text(text)
        return value if masked == text else masked
    return mask_text(str(value))


def actor_label(actor) -> str:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return "匿名"
    return actor.audit_label()


def audit_record(
    *,
    actor,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    object_label: str = "",
    outcome: str = AuditEntry.Outcome.OK,
    detail: dict | None = None,
    region=None,
) -> AuditEntry:
    if obj is not None:
        object_type = object_type or obj._meta.model_name
        object_id = object_id or str(obj.pk)
        object_label = object_label or str(obj)
    user = actor if getattr(actor, "is_authenticated", False) else None
    if region is None and obj is not None:
        region = getattr(obj, "region", None)
    return AuditEntry.objects.create(
        actor=user,
        actor_label=mask_text(actor_label(actor))[:100],
        region_id=getattr(region, "pk", region),
        action=action,
        object_type=object_type,
        object_id=mask_text(str(object_id))[:40],
        object_label=mask_text(object_label)[:200],
        outcome=outcome,
        detail=mask_data(detail or {}),
        ip=current_ip.get(),
    )


PERSON_VIEW = "person.view"
# A display of a person's ID number in full outside their own pages (a full roster export, a
# change form with the ID number in full): recorded against the person like a view.
PERSON_VIEW_FULL = "person.view_full"


def audit_person_views(
    *,
    actor,
    persons,
    via: str,
    region=None,
    detail: dict | None = None,
    action: str = PERSON_VIEW,
) -> int:
    """One ``person.view`` (or ``action``) row per person whose data was shown to ``actor`` (a
    page with a person's detail, a filing's rows, an export…), the person as the target: the
    PIPL export lists them as the person's 访问记录. ``persons`` are ``Person`` objects or
    ``(pk, label)`` pairs (an export of thousands need not load them). One INSERT for all."""
    user = actor if getattr(actor, "is_authenticated", False) else None
    label = mask_text(actor_label(actor))[:100]
    region_id = getattr(region, "pk", region)
    ip = current_ip.get()
    shown = mask_data({"via": via, **(detail or {})})
    entries = [
        AuditEntry(
            actor=user,
            actor_label=label,
            region_id=region_id,
            action=action,
            object_type="person",
            object_id=str(pk),
            object_label=mask_text(person_label)[:200],
            detail=shown,
            ip=ip,
        )
        for pk, person_label in (p if isinstance(p, tuple) else (p.pk, str(p)) for p in persons)
    ]
    AuditEntry.objects.bulk_create(entries)
    return len(entries)
