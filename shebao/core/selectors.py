"""Reads on the audit log and the SMS outbox."""

from django.db.models import Q, QuerySet

from shebao.core.models import AuditEntry, SmsMessage


def audit_entries(
    actor, *, q: str = "", action: str = "", outcome: str = "", date_from=None, date_to=None
) -> QuerySet[AuditEntry]:
    """Staff see the entries of their regions and entries without a region (sign-ins)."""
    qs = AuditEntry.objects.filter(Q(region__in=actor.regions.all()) | Q(region__isnull=True))
    if q:
        qs = qs.filter(Q(actor_label__icontains=q) | Q(object_label__icontains=q) | Q(object_id=q))
    if action:
        qs = qs.filter(action__startswith=action)
    if outcome:
        qs = qs.filter(outcome=outcome)
    if date_from:
        qs = qs.filter(at__date__gte=date_from)
    if date_to:
        qs = qs.filter(at__date__lte=date_to)
    return qs.order_by("-at", "-id")


def sms_outbox(limit: int = 100) -> QuerySet[SmsMessage]:
    return SmsMessage.objects.order_by("-created_at", "-id")[:limit]
