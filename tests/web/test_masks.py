"""Masking in templates goes through the ``masks`` filters, i.e. the one rule of
shebao.core.ids: no template masks a value by hand."""

import re
from pathlib import Path

from django.template import engines
from django.urls import reverse

import shebao
from shebao.core import ids


def render(source: str, **context) -> str:
    return engines["django"].from_string("{% load masks %}" + source).render(context)


def test_the_filters_are_the_rules_of_core_ids():
    assert render("{{ m|mask_mobile }}", m="13800138000") == ids.mask_mobile("13800138000")
    assert render("{{ m|mask_mobile }}", m="13800138000") == "138****8000"
    assert render("{{ n|mask_id_number }}", n="11010519491231002X") == "1101**********002X"
    assert render("[{{ m|mask_mobile }}][{{ n|mask_id_number }}]", m="", n=None) == "[][]"


def test_no_template_masks_by_hand():
    """A mask built with |slice and stars is a second rule beside shebao.core.ids."""
    root = Path(shebao.__file__).resolve().parent
    by_hand = re.compile(r"\|slice:[^}]*}}\s*\*|\*\s*{{[^}]*\|slice:")
    offenders = [
        str(p.relative_to(root))
        for p in root.rglob("*.html")
        if by_hand.search(p.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_the_operators_page_shows_masked_mobiles(admin_client, admin_a):
    from shebao.accounts.models import User

    mobile = User.objects.get(pk=admin_a.pk).mobile
    page = admin_client.get(reverse("unit:operators")).content.decode()
    assert ids.mask_mobile(mobile) in page
    assert mobile not in page
