"""No page wider than the screen: the unit hall, the person hall and the back office, opened at
phone (375 px) and desktop (1280 px) width with real data (a settled unit, a filing with rows
under review, a person with contributions). On every page the document does not scroll
sideways and no table sticks out of the viewport; at 375 px every table with a header shows its
rows as stacked cards; at 1280 px the top bar is one line and the side menu marks the page.

Screenshots of every page go to SHEBAO_SCREENSHOTS when set (see test_csp_sweep.py)."""

import pytest
from playwright.sync_api import Page, expect

from shebao.accounts.models import User
from shebao.filings.services import filing_submit
from shebao.registry.enrolment.services import enrolment_save
from tests.browser.journeys import operator_sign_in, staff_sign_in
from tests.browser.test_csp_sweep import WIDTHS, shoot, signed_in_as
from tests.contributions.payments_helpers import settled_unit
from tests.registry.enrolment_helpers import enrol_data, ident

pytestmark = pytest.mark.browser

# The page's scroll width, the tables' right edges and (to make a failure easy to fix) the
# elements sticking out.
MEASURE_JS = """() => {
  const limit = window.innerWidth;
  const out = (e) => e.getBoundingClientRect().right > limit + 0.5;
  const describe = (e) => `<${e.tagName.toLowerCase()} class="${e.className}"> right edge at `
    + `${Math.round(e.getBoundingClientRect().right)}px`;
  return {
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: limit,
    tables: Array.from(document.querySelectorAll("main table")).filter(out).map(describe),
    sticking: Array.from(document.querySelectorAll("body *")).filter(out).map(describe).slice(0, 6),
  };
}"""


def check_width(page: Page, path: str, width: str) -> None:
    m = page.evaluate(MEASURE_JS)
    where = f"{width} {path}"
    assert m["scrollWidth"] <= m["innerWidth"], f"{where} scrolls sideways: {m['sticking']}"
    assert m["tables"] == [], f"{where}: tables wider than the viewport: {m['tables']}"
    if width == "phone":
        # Every table with a header is stacked: its rows are blocks, cells carry their labels.
        loose = page.evaluate("""() => Array.from(document.querySelectorAll("main table"))
          .filter((t) => t.tHead && t.tBodies.length && t.tBodies[0].rows.length
                         && !t.classList.contains("table-keep"))
          .filter((t) => getComputedStyle(t.tBodies[0].rows[0]).display !== "block").length""")
        assert loose == 0, f"{where}: {loose} table(s) not stacked"
    else:
        bar = page.locator("nav.topbar").bounding_box()
        assert bar["height"] < 70, f"{where}: the top bar wraps ({bar['height']}px)"


def visit(page: Page, path: str, width: str) -> None:
    response = page.goto(path)
    assert response.status == 200, path
    expect(page.locator("main h1").first).to_be_visible()
    shoot(page, f"viewport{path}", width)
    check_width(page, path, width)


@pytest.fixture(params=sorted(WIDTHS))
def width(request):
    return request.param


@pytest.fixture
def world(staff_bj, region_bj):
    """A settled unit of three persons and a submitted enrolment filing of two rows."""
    unit, admin, people, settlement = settled_unit(staff_bj, region_bj, 31)
    filing = enrolment_save(
        actor=admin, data=enrol_data(ident(11), name="欧阳长名字员工", start_period="202508")
    )
    filing = enrolment_save(
        actor=admin, data=enrol_data(ident(13), start_period="202508"), filing=filing
    )
    filing_submit(actor=admin, filing=filing)
    return unit, people, settlement, filing


def test_unit_hall(transactional_db, live_server, new_page, world, width):
    unit, _people, settlement, filing = world
    page = new_page(viewport=WIDTHS[width])
    for path in ["/", "/calculator/", "/accounts/unit/login/"]:
        visit(page, path, width)
    operator_sign_in(page, unit)
    pages = [
        "/unit/",
        "/unit/filings/todo/",
        "/unit/filings/done/",
        "/unit/enrolment/",
        f"/unit/filings/{filing.serial_no}/",
        "/unit/roster/",
        "/unit/wages/",
        "/unit/settlement/",
        f"/unit/settlement/{settlement.pk}/",
        "/unit/payable/",
        "/unit/payments/",
        "/unit/info/",
        "/unit/operators/",
    ]
    for path in pages:
        visit(page, path, width)
    # A filing's own page is marked under 待办业务 in the menu.
    page.goto(f"/unit/filings/{filing.serial_no}/")
    current = page.locator("#mainnav a[aria-current='page']")
    expect(current).to_have_count(1)
    expect(current).to_have_text("待办业务")
    expect(current).to_have_class("nav-link active")
    if width == "phone":
        menu = page.get_by_role("link", name="参保职工名单")
        expect(menu).to_be_hidden()
        page.get_by_role("button", name="菜单").click()
        expect(menu).to_be_visible()
        shoot(page, "viewport/unit/menu-open", width)
        menu.click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("参保职工名单")
    else:
        expect(page.locator("#mainnav")).to_contain_text("结算缴费")


def test_person_hall(transactional_db, live_server, new_page, world, width):
    person = world[1][0]
    user = User(username="p1", kind=User.Kind.PERSON, person=person, display_name=person.name)
    user.save()
    page = new_page(viewport=WIDTHS[width])
    signed_in_as(page, user, live_server)
    for path in ["/person/", "/person/contributions/", "/person/account/", "/person/flexible/"]:
        visit(page, path, width)


def test_back_office(transactional_db, live_server, new_page, world, width):
    unit, _people, _settlement, filing = world
    page = new_page(viewport=WIDTHS[width])
    staff_sign_in(page)
    pages = [
        "/staff/",
        "/staff/filings/",
        f"/staff/filings/{filing.serial_no}/",
        "/staff/units/",
        f"/staff/units/{unit.unit_no}/",
        "/staff/parameters/",
        "/staff/settlements/",
        "/staff/payments/",
        "/staff/arrears/",
        "/staff/audit/",
    ]
    for path in pages:
        visit(page, path, width)
    # The per-row refusal inputs stay usable on a phone.
    page.goto(f"/staff/filings/{filing.serial_no}/")
    refusal = page.locator("main table input[type='text'], main table textarea").first
    if refusal.count():
        expect(refusal).to_be_visible()
        refusal.fill("材料不全")
        box = refusal.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= WIDTHS[width]["width"]
    current = page.locator("#mainnav a[aria-current='page']")
    expect(current).to_have_text("待审核业务")


def test_favicon(transactional_db, live_server, new_page):
    page = new_page()
    response = page.goto("/favicon.ico")
    assert response.status == 200
    assert response.url.endswith("/static/web/favicon.ico")
    page.goto("/")
    assert page.locator("link[rel='icon']").get_attribute("href").endswith("web/favicon.ico")
