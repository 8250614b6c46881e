"""业务流程说明 in the browser: a business page's link opens its guide in a new tab, the 打印
button prints, and on paper only the guide is left (no top bar, menu, footer or buttons)."""

import pytest
from playwright.sync_api import expect

from shebao.web.guides import GUIDES
from tests.browser.journeys import operator_sign_in

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 740}
STUB_PRINT = "() => { window.__printed = 0; window.print = () => { window.__printed += 1; }; }"


def test_a_business_page_opens_its_guide_which_prints_alone(
    transactional_db, live_server, new_page, unit_a, admin_a
):
    page = new_page()
    operator_sign_in(page, unit_a)
    page.goto("/unit/stop/")
    with page.expect_popup() as opened:
        page.locator(".guide-link a").click()
    guide = opened.value
    expect(guide.get_by_role("heading", name="人员停保", level=1)).to_be_visible()
    expect(guide.get_by_role("heading", name="办理步骤")).to_be_visible()

    guide.evaluate(STUB_PRINT)
    guide.get_by_role("button", name="打印").click()
    assert guide.evaluate("window.__printed") == 1

    guide.emulate_media(media="print")
    expect(guide.locator(".guide-sheet")).to_be_visible()
    for chrome in ("nav.navbar", "footer", ".guide-toolbar", ".guide-link"):
        expect(guide.locator(chrome)).to_be_hidden()


def test_every_guide_fits_a_phone_and_prints_as_one(transactional_db, live_server, new_page):
    page = new_page(viewport=PHONE)
    page.goto("/guides/")
    expect(page.get_by_role("heading", name="业务流程说明", level=1)).to_be_visible()
    page.get_by_role("link", name="打印全部（合为一份）").click()
    expect(page.locator(".guide-sheet")).to_have_count(len(GUIDES))
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.emulate_media(media="print")
    expect(page.locator(".guide-toolbar")).to_be_hidden()
    breaks = page.evaluate(
        "[...document.querySelectorAll('.guide-sheet + .guide-sheet')]"
        ".map(e => getComputedStyle(e).breakBefore)"
    )
    assert breaks == ["page"] * (len(GUIDES) - 1)
