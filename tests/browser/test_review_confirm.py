"""Issue 12: the reviewer's approve question names the persons whose refusal reason was typed
(review_confirm.js rewrites data-confirm; site.js asks)."""

import pytest
from playwright.sync_api import expect

from shebao.filings.services import filing_submit
from shebao.registry.enrolment.services import enrolment_save
from tests.browser.journeys import staff_sign_in
from tests.registry.enrolment_helpers import enrol_data, ident

pytestmark = pytest.mark.browser


def test_approve_question_names_the_refused_person(
    transactional_db, live_server, new_page, region_bj, staff_bj, unit_a, admin_a
):
    filing = enrolment_save(actor=admin_a, data=enrol_data(ident(11), name="甲"))
    enrolment_save(actor=admin_a, data=enrol_data(ident(13), name="乙"), filing=filing)
    filing_submit(actor=admin_a, filing=filing)
    page = new_page()
    staff_sign_in(page)
    page.goto(f"/staff/filings/{filing.serial_no}/")
    page.get_by_label("乙 不通过原因").fill("劳动合同日期有误")
    questions = []

    def answer(dialog):
        questions.append(dialog.message)
        dialog.accept()

    page.on("dialog", answer)
    page.get_by_role("button", name="审核通过").click()
    expect(page.get_by_role("alert").first).to_contain_text("不通过 1 人：乙")
    masked = f"{ident(13)[:4]}**********{ident(13)[-4:]}"
    assert questions == [
        f"确定审核通过？以下 1 人不通过：\n乙（{masked}）：劳动合同日期有误\n"
        "其余 1 人通过。通过后立即生效，不能撤销。"
    ]
