"""Settlement journeys in a real browser.

1. Public 缴费试算: anyone picks 北京, a month and a wage and gets one row per insurance type
   whose figures equal what `GET /api/v1/calculator` answers; a negative wage is refused next
   to the field.
2. Unit settlement: a Beijing unit's operator opens 单位结算, checks the headcount on 核对人数与
   缴费基数, confirms, lands on the 单位缴费通知单 whose 合计 equals the Settlement row to the fen,
   and downloads the 缴费明细 Excel summing to the same total; settling the period again (the
   browser's back button, 确认结算 once more) is refused in Chinese and no longer offered.
3. Back office: staff run 核定本期全部单位 (the test task backend runs the job at once), see it
   at 100% with a second, not yet settled unit now 已结算; they post a partial payment (到账)
   of one insurance type for the first unit, and the unit's 社保应付 shows what remains.

Every step goes through the pages; the only shortcuts are the texted and authenticator codes
(inside the sign-in helpers) and the data set up in the database."""

import re
from decimal import Decimal as D

import pytest
from playwright.sync_api import Page, expect
from python_calamine import CalamineWorkbook

from shebao.contributions.models import (
    ContributionLine,
    Payment,
    RegionSettlementJob,
    Settlement,
)
from shebao.contributions.settlement.selectors import DETAIL_HEADER
from tests.browser.journeys import operator_sign_in, staff_sign_in
from tests.contributions.payments_helpers import PERIOD, enrol
from tests.factories import make_admin, make_unit

pytestmark = pytest.mark.browser

WAGE = "12000"
PERSONS = 3
PAID = D("1000.00")
PENSION = "110"


def money(text: str) -> D:
    """A figure as the pages show it (thousands separators, two decimals)."""
    return D(text.replace(",", "").strip())


def nav(page: Page, label: str) -> None:
    page.locator("#mainnav").get_by_role("link", name=label, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(label)


def test_calculator_agrees_with_the_api(transactional_db, live_server, page, region_bj):
    page.goto("/")
    page.get_by_role("link", name="缴费试算", exact=True).click()
    expect(page.get_by_role("heading", name="社会保险缴费试算")).to_be_visible()
    page.get_by_label("参保地（统筹区）").select_option(label="北京市（110000）")
    page.get_by_label("费款所属期").fill(str(PERIOD))
    page.get_by_label("缴费工资（元/月）").fill(WAGE)
    page.get_by_role("button", name="试算").click()

    result = page.locator("#calculator-result")
    expect(result).to_be_visible()
    heading = f"北京市（110000） · 费款所属期 {PERIOD}"
    expect(page.get_by_role("heading", name=heading)).to_be_visible()
    answer = page.request.get(f"/api/v1/calculator?region=110000&period={PERIOD}&wage={WAGE}")
    assert answer.ok, answer.text()
    api = answer.json()
    assert len(api["lines"]) >= 4
    rows = result.locator("tbody tr")
    expect(rows).to_have_count(len(api["lines"]))
    for line in api["lines"]:
        row = result.locator(f"tbody tr[data-type='{line['type']}']")
        expect(row).to_have_count(1)
        for field in ("base", "unit", "personal"):
            expect(row.locator(f"[data-field='{field}']")).to_have_attribute(
                "data-value", line[field]
            )
        total = D(line["unit"]) + D(line["personal"])
        expect(row.locator("[data-field='total']")).to_have_attribute("data-value", str(total))
    foot = result.locator("tfoot tr[data-type='total']")
    for field in ("unit_total", "personal_total", "total"):
        expect(foot.locator(f"[data-field='{field}']")).to_have_attribute("data-value", api[field])
    expect(foot.locator("[data-field='total']")).to_have_text(f"{D(api['total']):,.2f}")

    # A negative wage: the Chinese message is shown next to the field, and no table.
    page.get_by_label("缴费工资（元/月）").fill("-100")
    page.get_by_role("button", name="试算").click()
    wage = page.get_by_label("缴费工资（元/月）")
    expect(wage).to_have_attribute("aria-invalid", "true")
    expect(
        wage.locator("xpath=following-sibling::div[contains(@class, 'invalid-feedback')]")
    ).to_have_text("缴费工资不能为负数")
    expect(page.locator(".invalid-feedback").filter(has_text="缴费工资不能为负数")).to_be_visible()
    expect(page.locator("#calculator-result")).to_have_count(0)
    expect(page.get_by_role("alert")).to_contain_text("请按提示修改后重新试算")


def settle_as_operator(page: Page, unit) -> Settlement:
    """单位结算 → preview → 确认结算 → notice; checks the notice against the database."""
    nav(page, "单位结算")
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"当前结算期 {PERIOD}")
    page.get_by_role("link", name=re.compile("核对人数与缴费基数")).click()
    expect(page.get_by_role("heading", name=re.compile("核对人数与缴费基数"))).to_be_visible()
    table = page.locator("main table")
    expect(table.locator("tbody tr")).to_have_count(len(unit.insurance_types))
    for code in unit.insurance_types:
        row = table.locator("tbody tr").filter(has_text=code)
        expect(row.locator("td").nth(1)).to_have_text(str(PERSONS))
    expect(table.locator("tfoot td").nth(1)).to_have_text(str(PERSONS))
    assert not Settlement.objects.filter(unit=unit).exists()  # the preview saves nothing

    page.get_by_role("button", name="确认结算").click()
    expect(page.get_by_role("heading", name="单位缴费通知单")).to_be_visible()
    settlement = Settlement.objects.get(unit=unit, settle_period=PERIOD)
    assert settlement.state == Settlement.State.CONFIRMED
    assert settlement.headcount == PERSONS
    assert re.search(rf"/unit/settlement/{settlement.pk}/$", page.url)
    main = page.locator("main")
    expect(main).to_contain_text(unit.unit_no)
    expect(main).to_contain_text(unit.name)
    grand_total = page.locator("#grand-total")
    expect(grand_total).to_have_text(f"{settlement.total:,.2f}")
    assert money(grand_total.inner_text()) == settlement.total
    assert money(page.locator("#unit-total").inner_text()) == settlement.unit_total
    # 打印 opens the browser's print dialog (site.js, data-print; no inline onclick).
    page.evaluate("window.print = () => { window.printed = true; }")
    page.get_by_role("button", name="打印").click()
    assert page.evaluate("window.printed === true")
    return settlement


def check_excel_detail(page: Page, settlement: Settlement) -> None:
    with page.expect_download() as info:
        page.get_by_role("link", name="导出缴费明细（Excel）").click()
    download = info.value
    assert download.suggested_filename.endswith(f"_{PERIOD}.xlsx")
    sheet = CalamineWorkbook.from_path(download.path()).get_sheet_by_index(0).to_python()
    assert sheet[0] == DETAIL_HEADER
    body = sheet[1:]
    assert len(body) == ContributionLine.objects.filter(settlement=settlement).count()
    column = {name: i for i, name in enumerate(DETAIL_HEADER)}

    def total_of(name: str) -> D:
        return sum((D(str(r[column[name]])).quantize(D("0.01")) for r in body), D("0"))

    assert total_of("合计") == settlement.total
    assert total_of("单位应缴") == settlement.unit_total
    assert total_of("个人应缴") == settlement.personal_total


def test_unit_settles_staff_settle_the_rest_and_post_a_payment(
    transactional_db, live_server, new_page, region_bj, staff_bj
):
    region_bj.current_period = PERIOD
    region_bj.save()
    first = make_unit(staff_bj, region_bj, 1)
    make_admin(first)
    enrol(first, PERSONS)
    second = make_unit(staff_bj, region_bj, 2)
    enrol(second, 2)

    # 2. The first unit's operator settles, reads the notice and downloads the detail.
    operator = new_page()
    operator_sign_in(operator, first)
    settlement = settle_as_operator(operator, first)
    check_excel_detail(operator, settlement)

    # Settling again (back to the preview, 确认结算 once more) is refused and not offered.
    operator.go_back()
    expect(operator.get_by_role("heading", name=re.compile("核对人数与缴费基数"))).to_be_visible()
    operator.get_by_role("button", name="确认结算").click()
    expect(operator.get_by_role("heading", level=1)).to_contain_text("单位结算")
    expect(operator.get_by_role("alert")).to_contain_text(
        f"{PERIOD} 已结算或正在结算，不能重复结算"
    )
    expect(operator.locator("main .alert-success")).to_contain_text(f"{PERSONS} 人")
    expect(operator.get_by_role("link", name=re.compile("核对人数与缴费基数"))).to_have_count(0)
    assert Settlement.objects.filter(unit=first).count() == 1

    # 3. Staff settle every unit not yet settled; the job finishes at once in tests.
    staff = new_page()
    staff.on("dialog", lambda dialog: dialog.accept())
    staff_sign_in(staff)
    nav(staff, "当期缴费核定")
    rows = staff.locator("main table tbody tr")
    expect(rows.filter(has_text=first.unit_no)).to_contain_text("已结算")
    expect(rows.filter(has_text=second.unit_no)).to_have_count(0)
    staff.get_by_role("button", name="核定本期全部单位").click()
    expect(staff.get_by_role("alert")).to_contain_text(f"已开始核定 北京市 {PERIOD} 的全部单位")
    progress = staff.get_by_role("progressbar", name="核定进度")
    expect(progress).to_have_attribute("aria-valuenow", "100")
    expect(progress).to_have_text("100%")
    # The width comes from data-progress through site.js (no style attribute under the CSP).
    assert progress.locator(".progress-bar").evaluate("b => b.style.width") == "100%"
    expect(staff.locator("main")).to_contain_text(f"北京市 {PERIOD}：已完成（1/1 个单位")
    row = rows.filter(has_text=second.unit_no)
    expect(row).to_contain_text(second.name)
    expect(row).to_contain_text("已结算")
    expect(row.locator("td").nth(4)).to_have_text("2")
    job = RegionSettlementJob.objects.get(region=region_bj, settle_period=PERIOD)
    assert job.state == RegionSettlementJob.State.DONE and job.done_units == 1
    other = Settlement.objects.get(unit=second, settle_period=PERIOD)
    assert other.state == Settlement.State.CONFIRMED and other.headcount == 2
    expect(row.locator("td").nth(5)).to_have_text(f"{other.total:,.2f}")

    # Staff post part of the first unit's pension as paid (到账).
    pension = ContributionLine.objects.filter(settlement=settlement, item=PENSION)
    due = sum((x.unit_amount + x.personal_amount for x in pension), D("0"))
    assert due > PAID
    nav(staff, "到账登记")
    form = staff.locator("form").filter(has_text="登记一笔到账")
    form.get_by_label("单位编号", exact=True).fill(first.unit_no)
    form.get_by_label("结算期").fill(str(PERIOD))
    form.get_by_label("险种").select_option(label="企业职工基本养老保险")
    form.get_by_label("到账金额（元）").fill(str(PAID))
    form.get_by_role("button", name="登记到账").click()
    expect(staff.get_by_role("alert")).to_contain_text(
        f"已登记到账：{first.name} 结算期 {PERIOD} 企业职工基本养老保险 {PAID} 元"
    )
    payment = Payment.objects.get(unit=first)
    assert (payment.settle_period, payment.item, payment.amount) == (PERIOD, PENSION, PAID)
    paid_row = staff.locator("main table tbody tr").filter(has_text=first.unit_no)
    expect(paid_row).to_contain_text(f"{PAID:.2f}")

    # The unit's 社保应付 shows what remains of the pension.
    nav(operator, "社保应付")
    expect(operator.locator("main")).to_contain_text(f"结算期 {PERIOD}")
    line = (
        operator.locator("main table")
        .first.locator("tbody tr")
        .filter(has_text=f"{PENSION} 企业职工基本养老保险")
    )
    cells = line.locator("td")
    expect(cells.nth(4)).to_have_text(f"{due:.2f}")
    expect(cells.nth(5)).to_have_text(f"{PAID:.2f}")
    expect(cells.nth(6)).to_have_text(f"{due - PAID:.2f}")
    other_type = operator.locator("main table").first.locator("tbody tr").filter(has_text="210 ")
    expect(other_type.locator("td").nth(5)).to_have_text("0.00")
