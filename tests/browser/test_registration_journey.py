"""The main journey in a real browser: a new unit registers with materials and an SMS code, staff
return it with a reason, the applicant reopens it from another browser, fixes and resubmits,
staff approve, and the unit's administrator signs in with password + SMS and sees the unit hall.
Every step goes through the pages; the only shortcuts are reading the texted codes from the SMS
outbox and the staff's authenticator code from the shared TOTP secret."""

import re
from datetime import timedelta

import pytest
from django.db.models import F
from playwright.sync_api import Page, expect

from shebao.core.models import VerificationCode
from tests.browser.journeys import staff_sign_in
from tests.conftest import last_sms_code
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser

MOBILE = "13912345678"
MASKED_MOBILE = "139****5678"
UNIT_NAME = "新注册浏览器科技有限公司"
RETURN_REASON = "法定代表人身份证照片不清晰，请重新上传"
NEW_ADDRESS = "北京市海淀区中关村大街27号"
SMS_SENT = f"验证码已发送至 {MASKED_MOBILE}"


def request_sms_code(page: Page) -> str:
    """Click 获取验证码 (htmx), wait for the status line, return the texted code."""
    page.get_by_role("button", name="获取验证码").click()
    expect(page.locator("#sms-status")).to_contain_text(SMS_SENT)
    expect(page.locator("#send-code")).to_be_disabled()  # the resend countdown started
    return last_sms_code(MOBILE)


def allow_new_code(purpose: str) -> None:
    """Codes for one mobile and purpose may be resent only after 60 s. The test runs the whole
    journey within seconds, so age the earlier codes instead of waiting."""
    VerificationCode.objects.filter(VerificationCode.mobile.q(MOBILE), purpose=purpose).update(
        created_at=F("created_at") - timedelta(seconds=61)
    )


def expect_insurance_types_fixed_for_enterprise(page: Page) -> None:
    for code in ("110", "210", "310", "410"):
        box = page.locator(f"input[name='insurance_types'][value='{code}']")
        expect(box).to_be_checked()
        expect(box).to_be_disabled()
    for code in ("120", "330", "510"):
        box = page.locator(f"input[name='insurance_types'][value='{code}']")
        expect(box).not_to_be_checked()
        expect(box).to_be_disabled()


def staff_open_filing(page: Page, serial_no: str) -> None:
    page.get_by_role("link", name="待审核业务", exact=True).click()
    expect(page.get_by_role("heading", name="业务审核")).to_be_visible()
    row = page.get_by_role("row").filter(has_text=serial_no)
    expect(row).to_contain_text(f"{UNIT_NAME} 单位首次参保登记")
    expect(row).to_contain_text("审核中")
    row.get_by_role("link", name="审核").click()
    expect(page.get_by_role("heading", name=f"流水号 {serial_no}")).to_be_visible()
    expect(page.locator("main")).to_contain_text(UNIT_NAME)
    expect(page.locator("img.material-thumb")).to_have_count(3)


def test_unit_registration_return_resubmit_approve_sign_in(
    transactional_db, live_server, new_page, region_bj, staff_bj, materials
):
    # 1. The applicant fills the registration form, uploads the materials and submits.
    applicant = new_page()
    applicant.goto("/register/")
    expect(applicant.get_by_role("heading", name="单位首次参保登记")).to_be_visible()
    applicant.get_by_label("单位名称").fill(UNIT_NAME)
    applicant.get_by_label("统一社会信用代码").fill("91350100M000100Y43")
    applicant.get_by_label("单位类型").select_option(label="企业")
    expect_insurance_types_fixed_for_enterprise(applicant)
    applicant.get_by_label("隶属关系").select_option(label="市、地区")
    applicant.get_by_label("统筹区").select_option(label="北京市")
    # 单位参保地 lists only the chosen 统筹区's places; its only place is chosen at once.
    expect(applicant.locator("#id_insurance_place option")).to_have_count(2)
    expect(applicant.get_by_label("单位参保地")).to_have_value("北京市市本级")
    applicant.get_by_label("单位地址").fill("北京市海淀区测试路8号")
    applicant.get_by_label("法定代表人姓名").fill("赵法人")
    applicant.get_by_label("法定代表人身份证号").fill("11010519491231002X")
    applicant.get_by_label("联系人", exact=True).fill("钱联系")
    applicant.get_by_label("联系人手机").fill(MOBILE)
    applicant.get_by_label("所属行业").select_option("06")  # 煤炭开采: the table says 八类
    expect(applicant.get_by_label("工伤风险类别")).to_have_value("8")
    applicant.get_by_label("所属行业").select_option("65")
    expect(applicant.get_by_label("工伤风险类别")).to_have_value("1")
    applicant.get_by_label("开户银行").fill("中国工商银行北京海淀支行")
    applicant.get_by_label("银行账号").fill("0200-0045-0901")  # a mistake: not digits only
    applicant.get_by_label("管理员账号").fill("zhaoadmin")
    applicant.get_by_label("管理员密码").fill(PASSWORD)
    applicant.get_by_label("确认密码").fill(PASSWORD)
    applicant.get_by_label("营业执照、法人证或批准成立文件").set_input_files(materials["licence"])
    applicant.get_by_label("法定代表人身份证（人像面）").set_input_files(materials["front"])
    applicant.get_by_label("法定代表人身份证（国徽面）").set_input_files(materials["back"])
    applicant.get_by_role("button", name="保存，下一步").click()

    # The mistake: a summary on top links to the field; the three files are kept.
    summary = applicant.locator("#error-summary")
    expect(summary).to_contain_text("请修改以下 1 处后再提交")
    expect(summary.get_by_role("link")).to_contain_text("银行账号只能填写数字")
    expect(summary).to_be_focused()  # site.js starts the reader (and the phone's view) there
    expect(summary).to_be_in_viewport()
    expect(applicant.locator("main")).to_contain_text("已保留，无需重新上传")
    expect(applicant.locator(".kept-file img")).to_have_count(3)  # thumbnails
    expect(applicant.get_by_role("button", name="重新上传")).to_have_count(3)
    expect(applicant.locator("#id_licence")).to_be_hidden()
    applicant.get_by_label("银行账号").fill("0200004509012345678")
    applicant.get_by_label("管理员密码").fill(PASSWORD)  # passwords are never sent back
    applicant.get_by_label("确认密码").fill(PASSWORD)
    applicant.get_by_role("button", name="保存，下一步").click()

    expect(applicant).to_have_url(re.compile(r"/register/[^/]+/submit/$"))
    heading = applicant.get_by_role("heading", name="确认提交")
    expect(heading).to_be_visible()
    serial_no = re.search(r"/register/([^/]+)/submit/$", applicant.url).group(1)
    expect(heading).to_contain_text(f"流水号 {serial_no}")
    main = applicant.locator("main")
    expect(main).to_contain_text(UNIT_NAME)
    expect(main).to_contain_text("110 企业职工基本养老保险、210 失业保险")
    expect(main).to_contain_text(f"验证码将发送至联系人手机 {MASKED_MOBILE}")
    expect(applicant.locator("img.material-thumb")).to_have_count(3)

    code = request_sms_code(applicant)
    applicant.get_by_label("短信验证码").fill(code)
    applicant.get_by_role("button", name="确认提交").click()
    expect(applicant).to_have_url(re.compile(rf"/register/{serial_no}/$"))
    expect(main).to_contain_text(f"申请已提交，流水号 {serial_no}")
    expect(applicant.locator("#filing-state")).to_have_text("审核中")
    expect(applicant.get_by_role("link", name="修改")).to_have_count(0)

    # 2. Staff sign in with password + authenticator code and return it with a reason.
    staff = new_page()
    staff_sign_in(staff)
    staff_open_filing(staff, serial_no)
    staff.get_by_label("回退原因").fill(RETURN_REASON)
    staff.get_by_role("button", name="回退", exact=True).click()
    expect(staff.get_by_role("heading", name="业务审核")).to_be_visible()
    expect(staff.get_by_role("alert")).to_contain_text(f"业务 {serial_no} 已回退")

    # 3. The applicant, at another computer, reopens the application, fixes it and resubmits.
    reopened = new_page()
    reopened.goto("/register/reopen/")
    expect(reopened.get_by_role("heading", name="查询/修改登记申请")).to_be_visible()
    reopened.get_by_label("流水号").fill(serial_no)
    reopened.get_by_label("联系人手机").fill(MOBILE)
    code = request_sms_code(reopened)
    reopened.get_by_label("短信验证码").fill(code)
    reopened.get_by_role("button", name="查询").click()
    expect(reopened).to_have_url(re.compile(rf"/register/{serial_no}/$"))
    expect(reopened.locator("#filing-state")).to_have_text("已回退")
    expect(reopened.locator("#return-reason")).to_have_text(RETURN_REASON)
    progress = reopened.locator("ol.steps")
    expect(progress).to_contain_text("回退")
    expect(progress).to_contain_text(RETURN_REASON)

    reopened.get_by_role("link", name="修改", exact=True).click()
    expect(reopened.get_by_role("heading", name=f"修改申请 {serial_no}")).to_be_visible()
    expect(reopened.locator(".alert-warning")).to_contain_text(RETURN_REASON)
    expect(reopened.get_by_label("单位名称")).to_have_value(UNIT_NAME)
    expect_insurance_types_fixed_for_enterprise(reopened)
    reopened.get_by_label("单位地址").fill(NEW_ADDRESS)
    reopened.get_by_label("法定代表人身份证（人像面）").set_input_files(materials["front_again"])
    reopened.get_by_role("button", name="保存，下一步").click()

    expect(reopened).to_have_url(re.compile(rf"/register/{serial_no}/submit/$"))
    main = reopened.locator("main")
    expect(main).to_contain_text("修改已保存，请获取验证码后提交")
    expect(main).to_contain_text(NEW_ADDRESS)
    expect(main).not_to_contain_text("北京市海淀区测试路8号")
    expect(main).to_contain_text("身份证人像面-重拍.jpg")
    expect(main).not_to_contain_text("身份证人像面.png")
    expect(reopened.locator("img.material-thumb")).to_have_count(3)

    allow_new_code("unit_registration")
    code = request_sms_code(reopened)
    reopened.get_by_label("短信验证码").fill(code)
    reopened.get_by_role("button", name="确认提交").click()
    expect(reopened).to_have_url(re.compile(rf"/register/{serial_no}/$"))
    expect(main).to_contain_text(f"申请已提交，流水号 {serial_no}")
    expect(reopened.locator("#filing-state")).to_have_text("审核中")

    # 4. Staff approve (confirming the browser dialog).
    staff.on("dialog", lambda dialog: dialog.accept())
    staff_open_filing(staff, serial_no)
    expect(staff.locator("main")).to_contain_text("曾回退")
    expect(staff.locator("main")).to_contain_text(NEW_ADDRESS)
    staff.get_by_role("button", name="审核通过").click()
    expect(staff.get_by_role("alert")).to_contain_text(f"业务 {serial_no} 已审核通过")

    reopened.reload()
    expect(reopened.locator("#filing-state")).to_have_text("已办结")
    approved = reopened.locator(".alert-success")
    expect(approved).to_contain_text("审核已通过，单位编号")
    expect(approved).to_contain_text("管理员账号 zhaoadmin")
    unit_no = approved.locator("strong").inner_text().strip()
    assert unit_no

    # 5. The unit's administrator signs in with password + SMS code and sees the unit hall.
    operator = new_page()
    operator.goto("/")
    operator.get_by_role("link", name="单位登录").first.click()
    expect(operator.get_by_role("heading", name="单位网厅登录")).to_be_visible()
    operator.get_by_label("单位编号或统一社会信用代码").fill(unit_no)
    operator.get_by_label("操作员账号").fill("zhaoadmin")
    operator.get_by_label("密码", exact=True).fill(PASSWORD)
    operator.get_by_role("button", name="下一步：验证").click()
    expect(operator.get_by_role("heading", name="登录验证：短信验证码")).to_be_visible()
    expect(operator.locator("main .alert-info")).to_contain_text(SMS_SENT)
    operator.get_by_label("短信验证码").fill(last_sms_code(MOBILE))
    operator.get_by_role("button", name="登录", exact=True).click()

    expect(operator).to_have_url(re.compile(r"/unit/$"))
    hall = operator.get_by_role("heading", level=1)
    expect(hall).to_contain_text(UNIT_NAME)
    expect(hall).to_contain_text(f"单位编号 {unit_no}")
    expect(operator.locator(".navbar")).to_contain_text("单位网厅")
    expect(operator.locator(".navbar")).to_contain_text(f"钱联系 · {UNIT_NAME}")
    expect(operator.locator("main")).to_contain_text("北京市 · 企业")
    expect(operator.get_by_role("link", name="操作员管理")).to_be_visible()


PHONE_WIDTH = 375

# The page's scroll width and, to make a failure easy to fix, the elements sticking out.
OVERFLOW_JS = """(limit) => [
  document.documentElement.scrollWidth,
  Array.from(document.querySelectorAll("body *"))
    .filter((e) => e.getBoundingClientRect().right > limit + 0.5)
    .map((e) => `<${e.tagName.toLowerCase()} class="${e.className}"> right edge at `
      + `${Math.round(e.getBoundingClientRect().right)}px`)
    .slice(0, 5),
]"""


def assert_no_horizontal_scroll(page: Page) -> None:
    width, sticking_out = page.evaluate(OVERFLOW_JS, PHONE_WIDTH)
    assert width <= PHONE_WIDTH, f"{page.url} scrolls sideways ({width}px): {sticking_out}"


@pytest.mark.parametrize("path", ["/", "/accounts/unit/login/"])
def test_phone_layout_has_no_horizontal_scroll(transactional_db, live_server, new_page, path):
    page = new_page(
        viewport={"width": PHONE_WIDTH, "height": 740},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    page.goto(path)
    expect(page.locator("main h1")).to_be_visible()
    assert_no_horizontal_scroll(page)
    toggler = page.get_by_role("button", name="菜单")
    expect(toggler).to_be_visible()
    menu_link = page.locator("#mainnav").get_by_role("link", name="个人登录")
    expect(menu_link).to_be_hidden()  # folded away behind the toggler
    toggler.click()
    expect(menu_link).to_be_visible()
    assert_no_horizontal_scroll(page)
