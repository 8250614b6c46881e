"""Masking in templates, by the one rule of ``shebao.core.ids``::

    {% load masks %}{{ unit.contact_mobile|mask_mobile }}  {{ number|mask_id_number }}

A model that stores a masked copy (``id_number_masked``) shows that column instead: a list then
decrypts nothing."""

from django import template

from shebao.core import ids

register = template.Library()


@register.filter
def mask_mobile(value) -> str:
    """``138****5678``; "" for no value."""
    return ids.mask_mobile(value) if value else ""


@register.filter
def mask_id_number(value) -> str:
    """``1101**********002X``; "" for no value."""
    return ids.mask_id_number(value) if value else ""
