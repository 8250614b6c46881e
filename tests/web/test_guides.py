"""业务流程说明: every business of the halls has a printable guide, public, and each business
page links to its own."""

import re

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from shebao.web import context_processors, guides, menus
from shebao.web.guides import GUIDES
from tests.conftest import signed_in
from tests.web.test_url_map import _sample_kwargs, url_map

SECTIONS = ("办理对象", "所需材料", "办理步骤", "审核", "注意事项")
MENU_NAME = re.compile(r"^(unit|person):\w+$")
NOT_BUSINESSES = {"unit:home", "person:home"}  # the halls' home pages


def _menu_names(entry) -> set[str]:
    """Every hall URL name in a menu, whatever its nesting (entries, groups, dicts)."""
    if isinstance(entry, str):
        return {entry} if MENU_NAME.match(entry) else set()
    if isinstance(entry, dict):
        entry = [*entry.keys(), *entry.values()]
    if isinstance(entry, list | tuple | set):
        return set().union(*(_menu_names(e) for e in entry)) if entry else set()
    return set()


def _guide_href(guide) -> str:
    return f'href="{reverse("web:guide", args=[guide.slug])}"'


def test_every_business_in_the_hall_menus_has_a_guide():
    """A new business in the unit or person menu without a guide fails here."""
    names = _menu_names(menus.UNIT_MENU) | _menu_names(menus.PERSON_MENU)
    assert len(names) > 10
    missing = sorted(n for n in names - NOT_BUSINESSES if not guides.guides_for(n))
    assert not missing, f"add a guide (shebao/web/guides/) for {missing}"


def test_every_page_a_guide_is_keyed_to_exists():
    routes = url_map()
    for guide in GUIDES:
        assert guide.pages, guide.slug
        for name in guide.pages:
            assert name in routes, f"{guide.slug}: no URL named {name}"
            assert reverse(name, kwargs=_sample_kwargs(routes[name][0][0]) or None)


def test_guides_are_complete_and_their_slugs_unique():
    assert len({g.slug for g in GUIDES}) == len(GUIDES)
    for g in GUIDES:
        assert g.title and g.summary and g.audience, g.slug
        assert g.materials and g.review and g.notes, g.slug
        assert len(g.steps) >= 2, g.slug
    titles = {g.title for g in GUIDES}
    for business in ("单位首次参保登记", "人员停保", "单位信息变更", "补缴", "操作员管理"):
        assert business in titles


@pytest.mark.django_db
@pytest.mark.parametrize("guide", GUIDES, ids=lambda g: g.slug)
def test_each_guide_renders_for_anyone(guide):
    response = Client().get(reverse("web:guide", args=[guide.slug]))
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<h1 class="h4 mb-3">{guide.title}</h1>' in html
    for section in SECTIONS:
        assert section in html
    assert html.count("<li>") >= len(guide.steps) + len(guide.materials)
    assert "data-print" in html  # the 打印 button site.js handles
    assert "web/guides" in html and ".css" in html  # the print stylesheet


@pytest.mark.django_db
def test_the_list_links_every_guide_and_to_printing_them_all():
    html = Client().get(reverse("web:guides")).content.decode()
    for g in GUIDES:
        assert _guide_href(g) in html
    assert f'href="{reverse("web:guides_all")}"' in html
    assert "data-print" in html


@pytest.mark.django_db
def test_all_guides_on_one_page():
    response = Client().get(reverse("web:guides_all"))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('class="guide-sheet"') == len(GUIDES)
    for g in GUIDES:
        assert f'<h2 class="h4 mb-3">{g.title}</h2>' in html


@pytest.mark.django_db
def test_an_unknown_guide_is_404():
    assert Client().get("/guides/no-such-business/").status_code == 404


@pytest.mark.django_db
def test_a_business_page_links_to_its_guide_in_a_new_tab(admin_client):
    html = admin_client.get(reverse("unit:enrolment_new")).content.decode()
    (guide,) = guides.guides_for("unit:enrolment_new")
    link = re.search(r"<a [^>]*" + re.escape(_guide_href(guide)) + r"[^>]*>", html)
    assert link, "no 业务流程说明 link"
    assert 'target="_blank"' in link.group(0) and 'rel="noopener"' in link.group(0)
    assert "业务流程说明" in html


@pytest.mark.django_db
def test_a_page_shared_by_two_businesses_links_both(admin_client):
    html = admin_client.get(reverse("unit:changes")).content.decode()
    for slug in ("person-changes", "unit-changes"):
        assert _guide_href(guides.guide(slug)) in html


@pytest.mark.django_db
def test_the_person_hall_and_the_public_registration_link_their_guides(person_user):
    html = signed_in(person_user).get(reverse("person:contributions")).content.decode()
    assert _guide_href(guides.guide("contributions")) in html
    html = Client().get(reverse("registration:new")).content.decode()
    assert _guide_href(guides.guide("unit-registration")) in html


@pytest.mark.django_db
def test_pages_without_a_guide_show_no_link(admin_client):
    for response in (admin_client.get(reverse("unit:home")), Client().get(reverse("web:home"))):
        assert response.status_code == 200
        assert 'class="guide-link' not in response.content.decode()


def test_the_context_processor_without_a_resolved_url():
    request = RequestFactory().get("/no-such-page/")
    assert context_processors.guide_links(request) == {"page_guides": []}
