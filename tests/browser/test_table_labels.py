"""Phone tables label each cell with its own column's header, also in rows after a cell that
spans down (rowspan): on a person's 缴费记录 one 费款所属期 cell spans the period's insurance
types, and the later rows of the group must not shift their labels one column left.

The expected header is found independently of site.js: with the phone stacking switched off for
a moment, the header cell above a body cell (by its horizontal position) is its column's."""

import pytest
from playwright.sync_api import Page

from shebao.accounts.models import User
from tests.browser.test_csp_sweep import WIDTHS, signed_in_as
from tests.contributions.payments_helpers import settled_unit

pytestmark = pytest.mark.browser

# For every cell of one column (colspan 1) in tbody/tfoot of a one-row-header table: its
# data-label and the text of the header cell above it in the ordinary table layout.
CELLS_JS = """() => {
  const result = [];
  document.querySelectorAll("main table.table-stack").forEach((table) => {
    if (table.tHead.rows.length !== 1) return;
    table.classList.remove("table-stack");
    const heads = Array.from(table.tHead.rows[0].cells).map((th) => {
      const box = th.getBoundingClientRect();
      return {left: box.left, right: box.right, text: th.textContent.replace(/\\s+/g, " ").trim()};
    });
    const sections = Array.from(table.tBodies);
    if (table.tFoot) sections.push(table.tFoot);
    sections.forEach((section) => Array.from(section.rows).forEach((row, r) => {
      Array.from(row.cells).forEach((cell) => {
        if (cell.colSpan !== 1) return;
        const box = cell.getBoundingClientRect();
        const middle = (box.left + box.right) / 2;
        const head = heads.find((h) => h.left <= middle && middle <= h.right);
        result.push({row: r, text: cell.textContent.trim().slice(0, 20),
                     label: cell.getAttribute("data-label"), header: head ? head.text : null});
      });
    }));
    table.classList.add("table-stack");
  });
  return result;
}"""


def test_rowspan_rows_keep_their_labels(
    transactional_db, live_server, new_page, staff_bj, region_bj
):
    _unit, _admin, people, _settlement = settled_unit(staff_bj, region_bj, 31)
    person = people[0]
    user = User(username="p1", kind=User.Kind.PERSON, person=person, display_name=person.name)
    user.save()
    page: Page = new_page(viewport=WIDTHS["phone"])
    signed_in_as(page, user, live_server)
    assert page.goto("/person/contributions/").status == 200
    spanning = page.locator("main tbody th[rowspan]").first
    assert int(spanning.get_attribute("rowspan")) > 1, "one period of several insurance types"
    cells = page.evaluate(CELLS_JS)
    later = [c for c in cells if c["row"] > 0]
    assert later, cells
    wrong = [c for c in cells if c["label"] != c["header"]]
    assert wrong == [], wrong
    # The card of a later row reads "缴费基数: <base>" with the base, not the unit's part.
    labels = [c["label"] for c in later[:10]]
    assert labels[:4] == ["险种", "缴费单位", "类型", "结算期"], labels
