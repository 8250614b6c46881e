"""The enrolment journey in a real browser: an operator looks a new person up by ID number (htmx),
fills the enrolment form and saves; edits the draft and submits; staff return it with a reason;
the operator sees 回退 and the reason in 待办, fixes and resubmits; staff approve; the person is
on the unit's headcount. The same filing at a VIP unit is approved on submit. Every step goes
through the pages; the only shortcuts are the texted codes (SMS outbox) and the staff's
authenticator code (shared TOTP secret)."""

import re

import pytest
from playwright.sync_api import Page, expect

from shebao.filings.models import Filing, FilingState
from shebao.registry.models import Enrolment, Person
from tests.browser.journeys import operator_sign_in, staff_sign_in
from tests.factories import make_admin, make_unit
from tests.registry.enrolment_helpers import CURRENT, ident

pytestmark = pytest.mark.browser

ID_NUMBER = ident(11)
MASKED = f"{ID_NUMBER[:4]}**********{ID_NUMBER[-4:]}"
RETURN_REASON = "申报工资低于实际工资，请按劳动合同核实后重新申报"


def add_new_person(page: Page, *, wage: str) -> str:
    """From the unit hall: 人员参保 → ID look-up → form → 保存; returns the serial number."""
    page.get_by_role("link", name="人员参保", exact=True).click()
    expect(page.get_by_role("heading", name="人员参保")).to_be_visible()
    page.get_by_label("身份证号码").fill(ID_NUMBER.lower())  # a lower-case x is fine too
    page.get_by_role("button", name="查询").click()
    part = page.locator("#person-part")
    expect(part.locator("#business-label")).to_have_text("新参保")
    expect(part).to_contain_text("1990-03-07")
    expect(page.get_by_label("参保年月", exact=True)).to_have_value(str(CURRENT))
    for code in ("110", "210", "310", "410"):
        expect(page.locator(f"input[name='insurance_types'][value='{code}']")).to_be_checked()

    page.get_by_label("姓名", exact=True).fill("刘参保")
    page.get_by_label("户口性质").select_option(label="本地城镇")
    page.get_by_label("参加工作日期").fill("2015-07-01")
    page.get_by_label("手机号", exact=True).fill("13811112222")
    page.get_by_label("申报工资（元/月）").fill(wage)
    page.get_by_label("劳动合同起始日期").fill("2024-01-01")
    # A start month before the first work month is refused next to the field.
    page.get_by_label("参保年月", exact=True).fill("201501")
    page.get_by_role("button", name="保存", exact=True).click()
    expect(page.locator("#person-part")).to_contain_text(
        "参保年月不能早于参加工作日期所在月份（2015年07月）"
    )
    page.get_by_label("参保年月", exact=True).fill(str(CURRENT))
    page.get_by_role("button", name="保存", exact=True).click()

    expect(page).to_have_url(re.compile(r"/unit/filings/\d+/$"))
    serial_no = re.search(r"/unit/filings/(\d+)/$", page.url).group(1)
    assert ID_NUMBER not in page.url and ID_NUMBER.lower() not in page.url
    expect(page.get_by_role("alert").first).to_contain_text("已保存 刘参保（新参保）")
    expect(page.locator("#filing-state")).to_have_text("待提交")
    main = page.locator("main")
    expect(main).to_contain_text("刘参保")
    expect(main).to_contain_text(MASKED)
    expect(main).to_contain_text(f"{wage}.00 元")
    return serial_no


def edit_wage(page: Page, serial_no: str, wage: str) -> None:
    """From the progress page: 修改 → the person's 修改 → new wage → 保存."""
    page.get_by_role("link", name="修改", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/unit/enrolment/{serial_no}/$"))
    expect(page.locator("#filing-persons")).to_contain_text("刘参保")
    page.get_by_role("link", name="修改 刘参保").click()
    expect(page.get_by_role("heading", name=re.compile("修改人员 刘参保"))).to_be_visible()
    page.get_by_label("申报工资（元/月）").fill(wage)
    page.get_by_role("button", name="保存", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/unit/filings/{serial_no}/$"))
    expect(page.locator("main")).to_contain_text(f"{wage}.00 元")


def staff_review(page: Page, serial_no: str) -> None:
    page.get_by_role("link", name="待审核业务", exact=True).click()
    row = page.get_by_role("row").filter(has_text=serial_no)
    expect(row).to_contain_text("人员参保")
    expect(row).to_contain_text("刘参保1人参保")
    row.get_by_role("link", name="审核").click()
    expect(page.get_by_role("heading", name=re.compile(f"流水号 {serial_no}"))).to_be_visible()
    expect(page.locator("main")).to_contain_text("刘参保")
    expect(page.locator("main")).to_contain_text("新参保")


def test_enrolment_save_edit_submit_return_fix_approve(
    transactional_db, live_server, new_page, region_bj, staff_bj, unit_a, admin_a
):
    # 1. The operator adds a person (ID look-up, form), saves, edits the draft and submits.
    operator = new_page()
    operator_sign_in(operator, unit_a)
    serial_no = add_new_person(operator, wage="3000")
    edit_wage(operator, serial_no, "3500")
    operator.get_by_role("button", name="提交", exact=True).click()
    expect(operator.locator("#filing-state")).to_have_text("审核中")
    expect(operator.get_by_role("link", name="修改", exact=True)).to_have_count(0)

    # 2. Staff return it with a reason.
    staff = new_page()
    staff_sign_in(staff)
    staff_review(staff, serial_no)
    staff.get_by_label("回退原因").fill(RETURN_REASON)
    staff.get_by_role("button", name="回退", exact=True).click()
    expect(staff.get_by_role("alert")).to_contain_text(f"业务 {serial_no} 已回退")

    # 3. The operator sees 回退 and the reason in 待办, fixes and resubmits.
    operator.get_by_role("link", name="待办业务", exact=True).click()
    row = operator.get_by_role("row").filter(has_text=serial_no)
    expect(row).to_contain_text("已回退")
    expect(row).to_contain_text("是")
    expect(row).to_contain_text(RETURN_REASON)
    row.get_by_role("link", name=serial_no).click()
    expect(operator.locator("#return-reason")).to_have_text(RETURN_REASON)
    edit_wage(operator, serial_no, "6800")
    operator.get_by_role("button", name="提交", exact=True).click()
    expect(operator.locator("#filing-state")).to_have_text("审核中")

    # 4. Staff approve (confirming the dialog); the person is on the unit's headcount.
    staff.on("dialog", lambda dialog: dialog.accept())
    staff_review(staff, serial_no)
    expect(staff.locator("main")).to_contain_text("曾回退")
    expect(staff.locator("main")).to_contain_text("6800.00 元")
    staff.get_by_role("button", name="审核通过").click()
    expect(staff.get_by_role("alert")).to_contain_text(f"业务 {serial_no} 已审核通过")

    operator.reload()
    expect(operator.locator("#filing-state")).to_have_text("已办结")
    operator.get_by_role("link", name="首页", exact=True).click()
    for code in ("110", "210", "310", "410"):
        card = operator.locator(".card").filter(has_text=code)
        expect(card).to_contain_text("1 人")
    person = Person.objects.get(Person.id_number.q(ID_NUMBER))
    assert person.name == "刘参保"
    assert set(
        Enrolment.objects.filter(person=person, unit=unit_a).values_list("wage_base", flat=True)
    ) == {6800}

    # 5. The person can now be ticked on the stop page's roster.
    operator.get_by_role("link", name="人员停保", exact=True).click()
    expect(operator.locator("#roster")).to_contain_text("刘参保")
    expect(operator.locator("#roster")).to_contain_text(MASKED)


def test_the_same_filing_at_a_vip_unit_is_approved_on_submit(
    transactional_db, live_server, new_page, region_bj, staff_bj
):
    vip = make_unit(staff_bj, region_bj, 7, vip=True)
    make_admin(vip)
    operator = new_page()
    operator_sign_in(operator, vip)
    serial_no = add_new_person(operator, wage="6800")
    operator.get_by_role("button", name="提交", exact=True).click()
    expect(operator.get_by_role("alert").first).to_contain_text(
        f"业务 {serial_no} 已提交并自动审核通过"
    )
    expect(operator.locator("#filing-state")).to_have_text("已办结")
    expect(operator.locator("ol.steps")).to_contain_text("自动审核通过")
    assert Filing.objects.get(serial_no=serial_no).state == FilingState.APPROVED
    assert Enrolment.objects.filter(unit=vip, start_period=int(CURRENT)).count() == 4


def test_enrolment_pages_fit_a_phone(
    transactional_db, live_server, new_page, region_bj, unit_a, admin_a
):
    page = new_page(
        viewport={"width": 375, "height": 740},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    operator_sign_in(page, unit_a)
    for path in ("/unit/enrolment/", "/unit/stop/", "/unit/transfer/", "/unit/transfer/in/"):
        page.goto(path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 375, path
    page.goto("/unit/enrolment/")
    page.get_by_label("身份证号码").fill(ID_NUMBER)
    page.get_by_role("button", name="查询").click()
    expect(page.locator("#business-label")).to_have_text("新参保")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
