"""The pages the journeys do not reach, opened at desktop and phone width under the site's
Content-Security-Policy: the wage forms, 停保, the back office's parameters, settlements,
payments and person lock, the person hall, the dev console and the Django admin. The browser
fixtures (conftest.py) fail the test on any CSP violation or script error; here each page must
also render its heading.

Set SHEBAO_SCREENSHOTS to a folder to keep a screenshot of every page (to compare the look
before and after a style change)."""

import logging
import os
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import Page, expect

from shebao.accounts.models import User
from tests.browser.conftest import watch
from tests.browser.journeys import operator_sign_in, staff_sign_in
from tests.contributions.payments_helpers import enrol
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser

WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 375, "height": 740}}
UNIT_PAGES = [
    "/unit/",
    "/unit/wages/",
    "/unit/wages/annual/",
    "/unit/wages/monthly/",
    "/unit/stop/",
    "/unit/settlement/",
    "/unit/payments/",
]
STAFF_PAGES = [
    "/staff/",
    "/staff/parameters/",
    "/staff/settlements/",
    "/staff/payments/",
    "/staff/person-lock/",
]
PERSON_PAGES = ["/person/", "/person/account/", "/person/contributions/", "/person/flexible/"]
ADMIN_PAGES = ["/django-admin/", "/django-admin/accounts/user/", "/django-admin/core/region/"]


def shoot(page: Page, name: str, width: str) -> None:
    folder = os.environ.get("SHEBAO_SCREENSHOTS")
    if folder:
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "home"
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{folder}/{width}-{slug}.png", full_page=True)


def visit(page: Page, path: str, width: str) -> None:
    response = page.goto(path)
    assert response.status == 200, path
    expect(page.locator("h1").first).to_be_visible()
    shoot(page, path, width)


@pytest.fixture(params=sorted(WIDTHS))
def width(request):
    return request.param


def test_unit_and_public_pages(transactional_db, live_server, new_page, unit_a, admin_a, width):
    enrol(unit_a, 2)
    page = new_page(viewport=WIDTHS[width])
    for path in ["/", "/calculator/", "/dev/"]:
        visit(page, path, width)
    operator_sign_in(page, unit_a)
    for path in UNIT_PAGES:
        visit(page, path, width)
    # An annual wage filing with its rows: the sizes once inline now come from site.css.
    page.goto("/unit/wages/")
    page.get_by_role("button", name="开始申报").first.click()
    expect(page.locator("td.min-w-9").first).to_be_visible()
    shoot(page, "/unit/wages/annual/filing/", width)
    assert page.locator("td.min-w-9").first.evaluate("e => getComputedStyle(e).minWidth") == "144px"
    assert page.locator("#wage-file").evaluate("e => getComputedStyle(e).maxWidth") == "352px"
    assert page.locator(".max-w-20").first.evaluate("e => getComputedStyle(e).maxWidth") == "320px"


def test_back_office_pages(transactional_db, live_server, new_page, staff_bj, unit_a, width):
    person = enrol(unit_a, 1)[0]
    page = new_page(viewport=WIDTHS[width])
    staff_sign_in(page)
    for path in [*STAFF_PAGES, f"/staff/person-lock/{person.person_no}/"]:
        visit(page, path, width)


def signed_in_as(page: Page, user: User, live_server) -> None:
    """The page's browser signed in as `user` (a session made by the test client)."""
    client = Client()
    client.force_login(user, backend=settings.AUTHENTICATION_BACKENDS[-1])
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


def test_person_pages(transactional_db, live_server, new_page, unit_a, width):
    person = enrol(unit_a, 1)[0]
    user = User(username="p1", kind=User.Kind.PERSON, person=person, display_name=person.name)
    user.save()
    page = new_page(viewport=WIDTHS[width])
    signed_in_as(page, user, live_server)
    for path in PERSON_PAGES:
        visit(page, path, width)


def test_django_admin(transactional_db, live_server, new_page, region_bj, width):
    page = new_page(viewport=WIDTHS[width])
    page.goto("/django-admin/login/")
    expect(page.get_by_label("密码")).to_be_visible()
    shoot(page, "/django-admin/login/", width)
    root = User(username="root", kind=User.Kind.STAFF, is_staff=True, is_superuser=True)
    root.set_password(PASSWORD)
    root.save()
    signed_in_as(page, root, live_server)
    for path in [*ADMIN_PAGES, f"/django-admin/accounts/user/{root.pk}/change/"]:
        visit(page, path, width)


def test_the_watch_catches_a_violation(transactional_db, browser, live_server, caplog):
    """The policy is enforced and the fixtures' watch sees it: a style attribute set by script
    is refused, and the refusal is collected (the page is outside new_page, so it fails only
    here). Inline code injected after load is refused too, and the browser reports both to
    the report endpoint, which logs them."""
    caplog.set_level(logging.WARNING, logger="shebao.csp")
    problems: list[str] = []
    context = browser.new_context(base_url=live_server.url)
    context.on("page", lambda page: watch(page, problems))
    page = context.new_page()
    page.goto("/")
    page.evaluate("document.querySelector('main').setAttribute('style', 'color: red')")
    page.evaluate("""() => {
      const s = document.createElement('script');
      s.textContent = 'window.injected = true';
      document.body.appendChild(s);
    }""")
    assert page.evaluate("window.injected === undefined")
    for _ in range(50):
        reported = [r.getMessage() for r in caplog.records if r.name == "shebao.csp"]
        if len(reported) == 2:
            break
        page.wait_for_timeout(100)
    context.close()
    assert len(problems) == 2, problems
    assert all("Content Security Policy" in p for p in problems), problems
    assert len(reported) == 2, reported
    assert any('"directive": "style-src-attr"' in r for r in reported), reported
    assert any('"directive": "script-src-elem"' in r for r in reported), reported
