"""Issue 12: approving a filing with refused persons names them (the approve question, kept
up to date by review_confirm.js from the rows' data attributes, and the message after)."""

import pytest

from shebao.filings.services import filing_submit
from shebao.registry.enrolment.services import enrolment_save
from tests.registry.enrolment_helpers import enrol_data, ident

pytestmark = pytest.mark.django_db


def masked(id_number: str) -> str:
    return f"{id_number[:4]}**********{id_number[-4:]}"


@pytest.fixture
def submitted(admin_a):
    filing = enrolment_save(actor=admin_a, data=enrol_data(ident(11), name="甲"))
    enrolment_save(actor=admin_a, data=enrol_data(ident(13), name="乙"), filing=filing)
    filing_submit(actor=admin_a, filing=filing)
    return filing


def test_review_page_carries_the_names_for_the_question(staff_client, submitted):
    html = staff_client.get(f"/staff/filings/{submitted.serial_no}/").content.decode()
    assert 'data-confirm="确定审核通过？全部 2 人通过，通过后立即生效，不能撤销。"' in html
    assert f'data-refuse-row="乙（{masked(ident(13))}）"' in html
    assert ident(13) not in html
    assert html.count('src="/static/filings/review_confirm.js"') == 1
    title = html[html.index("<title>") : html.index("</title>")]
    assert "<script" not in title and title.startswith(f"<title>审核 {submitted.serial_no} · ")


def test_approve_with_a_refused_row_names_it_in_the_message(staff_client, submitted):
    row = submitted.rows.get(name="乙")
    response = staff_client.post(
        f"/staff/filings/{submitted.serial_no}/",
        {"action": "approve", f"refuse_{row.pk}": "劳动合同日期有误"},
        follow=True,
    )
    html = response.content.decode()
    assert (
        f"业务 {submitted.serial_no} 已审核通过；不通过 1 人：乙（{masked(ident(13))}）：劳动合同日期有误"
        in html
    )
    row.refresh_from_db()
    assert row.result == "refused"


def test_approve_without_refusals_keeps_the_plain_message(staff_client, submitted):
    response = staff_client.post(
        f"/staff/filings/{submitted.serial_no}/", {"action": "approve"}, follow=True
    )
    html = response.content.decode()
    assert f"业务 {submitted.serial_no} 已审核通过" in html and "不通过 " not in html
