"""Steps shared by the browser journeys: signing in as staff (password + TOTP) and as a unit's
administrator (password + SMS), through the real pages."""

import re

import pyotp
from playwright.sync_api import Page, expect

from tests.conftest import last_sms_code
from tests.factories import PASSWORD, TOTP_SECRET


def staff_sign_in(page: Page) -> None:
    page.goto("/accounts/staff/login/")
    expect(page.get_by_role("heading", name="经办后台登录")).to_be_visible()
    page.get_by_label("经办账号").fill("staff_bj")
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="下一步：验证").click()
    expect(page.get_by_role("heading", name="登录验证：动态口令")).to_be_visible()
    page.get_by_label("动态口令").fill(pyotp.TOTP(TOTP_SECRET).now())
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page.get_by_role("heading", name="经办后台", exact=True)).to_be_visible()
    expect(page.locator(".navbar")).to_contain_text("staff_bj经办员")


def operator_sign_in(page: Page, unit) -> None:
    page.on("dialog", lambda dialog: dialog.accept())  # confirmations (data-confirm) say yes
    page.goto("/accounts/unit/login/")
    page.get_by_label("单位编号或统一社会信用代码").fill(unit.unit_no)
    page.get_by_label("操作员账号").fill("admin")
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="下一步：验证").click()
    expect(page.get_by_role("heading", name="登录验证：短信验证码")).to_be_visible()
    page.get_by_label("短信验证码").fill(last_sms_code(unit.contact_mobile))
    page.get_by_role("button", name="登录", exact=True).click()
    expect(page).to_have_url(re.compile(r"/unit/$"))
