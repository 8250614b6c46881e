"""Issue 12's proof: a new user's first day, through the pages only, once at 1280 px and once at
375 px (a phone: the menus are in the off-canvas panel, tables are stacked cards).

1. A company registers with one mistake (a bank account with dashes): the error summary names
   the field, the three uploaded files are kept (thumbnails); it fixes the field and submits.
2. Staff return it; the applicant reopens it from another browser, fixes and resubmits; staff
   approve.
3. The new unit's administrator picks 人员参保 on the home page before signing in and lands on
   it after the password and SMS steps.
4. It enrols two persons into one filing (the second through 添加人员 on the draft's page; a
   wage below the floor is explained next to the field) and submits.
5. Staff refuse one row and approve the rest: the question names the refused person.
6. The unit settles the month; the notice's total equals the settlement to the fen.

On every page the journey visits: no sideways scroll, no table wider than the screen, stacked
tables on the phone, a one-line top bar on the desktop; a screenshot of each step is saved under
test-artifacts/journey/<width>/ (or SHEBAO_SCREENSHOTS/journey/<width>/ when set)."""

import os
import re
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from shebao.contributions.models import Settlement
from shebao.registry.models import Enrolment, Unit
from tests.browser.journeys import staff_sign_in
from tests.browser.test_registration_journey import MOBILE, allow_new_code, request_sms_code
from tests.browser.test_viewport_sweep import check_width
from tests.conftest import last_sms_code
from tests.factories import PASSWORD
from tests.registry.enrolment_helpers import ident

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
VIEWPORTS = {
    "desktop": {"viewport": {"width": 1280, "height": 900}},
    "phone": {
        "viewport": {"width": 375, "height": 740},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    },
}
UNIT_NAME = "新用户一日游科技有限公司"
USCC = "91350100M000100Y43"
RETURN_REASON = "营业执照照片不清晰，请重新上传"
FIRST = ("周一员", ident(21))
SECOND = ("吴二员", ident(23))
REFUSAL = "劳动合同起始日期与合同文本不符"


class Journey:
    """The pages of one width: each step is checked for width and photographed."""

    def __init__(self, new_page, width: str):
        self.new_page = new_page
        self.width = width
        base = os.environ.get("SHEBAO_SCREENSHOTS") or ROOT / "test-artifacts"
        self.folder = Path(base) / "journey" / width
        self.folder.mkdir(parents=True, exist_ok=True)
        self.step = 0
        self.questions: list[str] = []  # what the confirmations (data-confirm) asked

    def open(self) -> Page:
        page = self.new_page(**VIEWPORTS[self.width])

        def answer_yes(dialog):
            self.questions.append(dialog.message)
            dialog.accept()

        page.on("dialog", answer_yes)
        return page

    def look(self, page: Page, name: str) -> None:
        """The page as it stands fits the screen; keep a picture of it."""
        page.wait_for_load_state("load")
        self.step += 1
        page.screenshot(path=self.folder / f"{self.step:02d}-{name}.png", full_page=True)
        check_width(page, f"{name} ({page.url})", self.width)

    def menu(self, page: Page, label: str) -> None:
        """Follow a menu entry: on the phone the menu is behind the 菜单 button."""
        toggler = page.get_by_role("button", name="菜单")
        if toggler.is_visible():
            toggler.click()
        page.locator("#mainnav").get_by_role("link", name=label, exact=True).click()


def register_with_one_mistake(j: Journey, page: Page, materials) -> str:
    page.goto("/")
    j.look(page, "home")
    page.get_by_role("link", name="单位首次参保登记").click()
    expect(page.get_by_role("heading", name="单位首次参保登记")).to_be_visible()
    page.get_by_label("单位名称").fill(UNIT_NAME)
    page.get_by_label("统一社会信用代码").fill(USCC)
    page.get_by_label("单位类型").select_option(label="企业")
    page.get_by_label("隶属关系").select_option(label="市、地区")
    page.get_by_label("统筹区").select_option(label="北京市")
    page.get_by_label("单位参保地").select_option(label="北京市市本级")
    page.get_by_label("单位地址").fill("北京市海淀区测试路8号")
    page.get_by_label("法定代表人姓名").fill("赵法人")
    page.get_by_label("法定代表人身份证号").fill("11010519491231002X")
    page.get_by_label("联系人", exact=True).fill("钱联系")
    page.get_by_label("联系人手机").fill(MOBILE)
    page.get_by_label("所属行业").select_option("65")  # 软件和信息技术服务业
    expect(page.get_by_label("工伤风险类别")).to_have_value("1")
    page.get_by_label("开户银行").fill("中国工商银行北京海淀支行")
    page.get_by_label("银行账号").fill("0200-0045-0901")  # the mistake: digits only
    page.get_by_label("管理员账号").fill("zhouadmin")
    page.get_by_label("管理员密码").fill(PASSWORD)
    page.get_by_label("确认密码").fill(PASSWORD)
    page.get_by_label("营业执照、法人证或批准成立文件").set_input_files(materials["licence"])
    page.get_by_label("法定代表人身份证（人像面）").set_input_files(materials["front"])
    page.get_by_label("法定代表人身份证（国徽面）").set_input_files(materials["back"])
    j.look(page, "register-filled")
    page.get_by_role("button", name="保存，下一步").click()

    summary = page.locator("#error-summary")
    expect(summary).to_contain_text("请修改以下 1 处后再提交")
    expect(summary.get_by_role("link")).to_contain_text("银行账号")
    expect(page.locator(".kept-file img")).to_have_count(3)  # the files are kept
    j.look(page, "register-mistake")
    summary.get_by_role("link").click()  # the summary leads to the field
    expect(page.get_by_label("银行账号")).to_be_focused()
    page.get_by_label("银行账号").fill("0200004509012345678")
    page.get_by_label("管理员密码").fill(PASSWORD)  # passwords are never sent back
    page.get_by_label("确认密码").fill(PASSWORD)
    page.get_by_role("button", name="保存，下一步").click()

    # (the field's #anchor from the summary's link follows the redirect)
    expect(page).to_have_url(re.compile(r"/register/[^/]+/submit/(#.*)?$"))
    serial_no = re.search(r"/register/([^/]+)/submit/", page.url).group(1)
    expect(page.locator("img.material-thumb")).to_have_count(3)
    page.get_by_label("短信验证码").fill(request_sms_code(page))
    j.look(page, "register-submit")
    page.get_by_role("button", name="确认提交").click()
    expect(page.locator("#filing-state")).to_have_text("审核中")
    j.look(page, "register-submitted")
    return serial_no


def staff_open(j: Journey, staff: Page, serial_no: str) -> None:
    j.menu(staff, "待审核业务")
    row = staff.get_by_role("row").filter(has_text=serial_no)
    j.look(staff, "staff-queue")
    row.get_by_role("link", name="审核").click()
    expect(staff.get_by_role("heading", name=re.compile(f"流水号 {serial_no}"))).to_be_visible()
    j.look(staff, "staff-review")


def reopen_and_resubmit(j: Journey, page: Page, serial_no: str) -> None:
    page.goto("/register/reopen/")
    page.get_by_label("流水号").fill(serial_no)
    page.get_by_label("联系人手机").fill(MOBILE)
    page.get_by_label("短信验证码").fill(request_sms_code(page))
    j.look(page, "reopen")
    page.get_by_role("button", name="查询").click()
    expect(page.locator("#return-reason")).to_have_text(RETURN_REASON)
    j.look(page, "reopened")
    page.get_by_role("link", name="修改", exact=True).click()
    page.get_by_label("单位地址").fill("北京市海淀区中关村大街27号")
    j.look(page, "reopen-edit")
    page.get_by_role("button", name="保存，下一步").click()
    expect(page).to_have_url(re.compile(rf"/register/{serial_no}/submit/$"))
    allow_new_code("unit_registration")
    page.get_by_label("短信验证码").fill(request_sms_code(page))
    page.get_by_role("button", name="确认提交").click()
    expect(page.locator("#filing-state")).to_have_text("审核中")


def sign_in_to_enrolment(j: Journey, page: Page, unit_no: str) -> None:
    """Pick 人员参保 before signing in; land on it after the password and SMS steps."""
    page.goto("/")
    page.get_by_role("navigation", name="单位业务").get_by_role("link", name="人员参保").click()
    expect(page.get_by_role("heading", name="单位网厅登录")).to_be_visible()
    page.get_by_label("单位编号或统一社会信用代码").fill(unit_no)
    page.get_by_label("操作员账号").fill("zhouadmin")
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    j.look(page, "unit-login")
    page.get_by_role("button", name="下一步：验证").click()
    page.get_by_label("短信验证码").fill(last_sms_code(MOBILE))
    j.look(page, "unit-login-sms")
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page).to_have_url(re.compile(r"/unit/enrolment/$"))
    expect(page.get_by_role("heading", name="人员参保")).to_be_visible()


def fill_person(j: Journey, page: Page, person: tuple[str, str], wage: str, step: str) -> None:
    name, id_number = person
    page.get_by_label("身份证号码").fill(id_number)
    page.get_by_role("button", name="查询").click()
    expect(page.locator("#business-label")).to_have_text("新参保")
    page.get_by_label("姓名", exact=True).fill(name)
    page.get_by_label("户口性质").select_option(label="本地城镇")
    page.get_by_label("参加工作日期").fill("2015-07-01")
    page.get_by_label("手机号", exact=True).fill("13811112222")
    page.get_by_label("申报工资（元/月）").fill(wage)
    if Decimal(wage) < 3000:  # below any floor: the base used is said next to the field
        expect(page.locator("#person-part")).to_contain_text("低于缴费基数下限")
        expect(page.locator("#person-part")).to_contain_text("将按下限")
    page.get_by_label("劳动合同起始日期").fill("2024-01-01")
    j.look(page, step)
    page.get_by_role("button", name="保存", exact=True).click()
    expect(page).to_have_url(re.compile(r"/unit/filings/\d+/$"))
    expect(page.get_by_role("alert").first).to_contain_text(f"已保存 {name}")


def enrol_two_into_one_filing(j: Journey, page: Page) -> str:
    fill_person(j, page, FIRST, "1000", "enrol-first")
    serial_no = re.search(r"/unit/filings/(\d+)/$", page.url).group(1)
    j.look(page, "filing-one-person")

    page.get_by_role("link", name="添加人员", exact=True).click()
    fill_person(j, page, SECOND, "8000", "enrol-second")
    assert page.url.endswith(f"/unit/filings/{serial_no}/"), "the second person is in the draft"
    main = page.locator("main")
    expect(main).to_contain_text(FIRST[0])
    expect(main).to_contain_text(SECOND[0])
    j.look(page, "filing-two-persons")
    page.get_by_role("button", name="提交", exact=True).click()
    expect(page.locator("#filing-state")).to_have_text("审核中")
    return serial_no


def refuse_one_and_approve(j: Journey, staff: Page, serial_no: str) -> None:
    staff_open(j, staff, serial_no)
    staff.get_by_label(f"{SECOND[0]} 不通过原因").fill(REFUSAL)
    staff.get_by_role("button", name="审核通过").click()
    expect(staff.get_by_role("alert").first).to_contain_text(f"不通过 1 人：{SECOND[0]}")
    question = j.questions[-1]
    assert "以下 1 人不通过" in question and SECOND[0] in question and REFUSAL in question
    j.look(staff, "staff-approved")


def settle(j: Journey, page: Page, unit: Unit) -> None:
    j.menu(page, "单位结算")
    expect(page.get_by_role("heading", level=1)).to_contain_text("单位结算")
    j.look(page, "settlement")
    page.get_by_role("link", name=re.compile("核对人数与缴费基数")).click()
    j.look(page, "settlement-preview")
    page.get_by_role("button", name="确认结算").click()
    expect(page.get_by_role("heading", name="单位缴费通知单")).to_be_visible()
    settlement = Settlement.objects.get(unit=unit)
    assert settlement.headcount == 1  # the refused person is not enrolled
    expect(page.locator("#grand-total")).to_have_text(f"{settlement.total:,.2f}")
    j.look(page, "notice")


@pytest.mark.parametrize("width", sorted(VIEWPORTS))
def test_a_new_users_first_day(
    transactional_db, live_server, new_page, region_bj, staff_bj, materials, width
):
    j = Journey(new_page, width)
    applicant = j.open()
    serial_no = register_with_one_mistake(j, applicant, materials)

    staff = j.open()
    staff_sign_in(staff)
    j.look(staff, "staff-home")
    staff_open(j, staff, serial_no)
    staff.get_by_label("回退原因").fill(RETURN_REASON)
    staff.get_by_role("button", name="回退", exact=True).click()
    expect(staff.get_by_role("alert").first).to_contain_text(f"业务 {serial_no} 已回退")

    reopen_and_resubmit(j, j.open(), serial_no)
    staff_open(j, staff, serial_no)
    staff.get_by_role("button", name="审核通过").click()
    expect(staff.get_by_role("alert").first).to_contain_text(f"业务 {serial_no} 已审核通过")
    unit = Unit.objects.get(uscc=USCC)

    operator = j.open()
    sign_in_to_enrolment(j, operator, unit.unit_no)
    enrolment_serial = enrol_two_into_one_filing(j, operator)
    refuse_one_and_approve(j, staff, enrolment_serial)
    operator.reload()
    expect(operator.locator("#filing-state")).to_have_text("已办结")
    assert Enrolment.objects.filter(unit=unit).values("person").distinct().count() == 1
    settle(j, operator, unit)
