"""Filters of the audit log page: an action's Chinese label, the operator's unit, the reason."""

from django import template

from shebao.core import audit

register = template.Library()


@register.filter
def action_label(code: str) -> str:
    return audit.action_label(code or "")


@register.filter
def audit_actor_unit(entry) -> str:
    return audit.audit_actor_unit(entry)


@register.filter
def audit_reason(entry) -> str:
    return audit.audit_reason(entry)
