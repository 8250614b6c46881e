"""The unit hall's 补缴 pages: the three kinds, preview before save, the draft's persons,
permission and tenancy."""

import re
from decimal import Decimal as D

import pytest
from django.urls import reverse

from shebao.contributions.backpay.selectors import backpay_preview
from shebao.contributions.backpay.services import backpay_save
from shebao.contributions.models import ContributionLine
from shebao.filings.models import Filing
from tests.conftest import signed_in
from tests.contributions.backpay_helpers import ALL_BUT_BACK_PAY, approved, bp_unit, enrol, request
from tests.factories import make_admin, make_operator, make_unit

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(staff_bj, region_bj):
    unit, admin = bp_unit(staff_bj, region_bj, 71)
    return unit, admin, signed_in(admin)


def post(person, **overrides):
    data = {
        "id_number": person.id_number,
        "month_from": "202505",
        "month_to": "202508",
        "wage": "5000",
        "action": "preview",
    }
    data.update(overrides)
    return data


def money(text: str) -> D:
    return D(text.replace(",", ""))


def cell(html: str, element_id: str) -> D:
    found = re.search(rf'id="{element_id}">([^<]+)<', html)
    assert found, element_id
    return money(found.group(1).strip())


def test_home_lists_the_three_kinds_and_the_late_fee_page(setup):
    _, _, client = setup
    response = client.get(reverse("unit:backpay"))
    assert response.status_code == 200
    html = response.content.decode()
    for name in ("unit:back_pay_new", "unit:adjust_pay_new", "unit:supplement_pay_new"):
        assert reverse(name) in html
    assert reverse("unit:late_fee") in html
    for title in ("核定基数补缴", "调整基数补缴", "个人补收"):
        assert title in html


def test_preview_shows_the_lines_and_totals_the_service_computes(setup):
    unit, admin, client = setup
    person = enrol(unit, 1)
    response = client.post(reverse("unit:back_pay_new"), post(person))
    assert response.status_code == 200
    html = response.content.decode()
    checked = backpay_preview(actor=admin, kind="back_pay", data=request(person, 202505, 202508))
    assert cell(html, "preview-unit-total") == checked.plan.unit_total
    assert cell(html, "preview-personal-total") == checked.plan.personal_total
    assert cell(html, "preview-total") == checked.plan.total
    assert "2025年05月" in html and "2025年08月" in html and "按下限核定" in html
    assert checked.plan.digest() in html
    assert person.id_number not in html.replace(f'value="{person.id_number}"', "")
    assert not Filing.objects.exists()


def test_save_without_the_preview_shows_the_preview_first(setup):
    unit, _, client = setup
    person = enrol(unit, 2)
    response = client.post(reverse("unit:back_pay_new"), post(person, action="save"))
    assert response.status_code == 200 and 'id="backpay-preview"' in response.content.decode()
    assert not Filing.objects.exists()


def test_save_after_preview_creates_the_draft_and_lists_the_person(setup):
    unit, admin, client = setup
    person = enrol(unit, 3)
    checked = backpay_preview(actor=admin, kind="back_pay", data=request(person, 202505, 202508))
    response = client.post(
        reverse("unit:back_pay_new"), post(person, action="save", digest=checked.plan.digest())
    )
    filing = Filing.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("unit:back_pay_edit", args=[filing.serial_no])
    page = client.get(response["Location"])
    html = page.content.decode()
    assert person.name in html and person.masked_id_number in html
    assert f"{checked.plan.total:.2f}" in html
    assert reverse("unit:filing", args=[filing.serial_no]) in html
    assert filing.rows.get().payload["preview"]["digest"] == checked.plan.digest()


def test_stale_digest_is_refused_and_the_fresh_preview_shown(setup):
    unit, _, client = setup
    person = enrol(unit, 4)
    response = client.post(
        reverse("unit:back_pay_new"), post(person, action="save", digest="stale")
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "请重新预览" in html and 'id="backpay-preview"' in html
    assert not Filing.objects.exists()


def test_refusals_are_shown_next_to_the_fields(setup):
    unit, _, client = setup
    person = enrol(unit, 5, start=202506)
    response = client.post(reverse("unit:back_pay_new"), post(person, month_to="202509"))
    assert response.status_code == 400
    assert "须早于当前结算期" in response.content.decode()
    response = client.post(reverse("unit:back_pay_new"), post(person))
    assert response.status_code == 400
    assert "补缴起始年月不能早于参保年月" in response.content.decode()


def test_id_number_of_another_units_person_is_not_found(setup, staff_bj, region_bj):
    _, _, client = setup
    stranger = enrol(make_unit(staff_bj, region_bj, 72), 6)
    response = client.post(reverse("unit:back_pay_new"), post(stranger))
    assert response.status_code == 400
    assert "未找到该职工在本单位的参保记录" in response.content.decode()
    response = client.post(reverse("unit:back_pay_new"), post(stranger, id_number="123"))
    assert "身份证号码长度应为18位" in response.content.decode()  # the one ID rule's message


def test_supplement_page_takes_one_type(setup, staff_bj):
    unit, _admin, client = setup
    person = enrol(unit, 7)
    response = client.post(
        reverse("unit:supplement_pay_new"), post(person, month_to="202506", insurance_types="110")
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'type="radio"' in html and "110 企业职工基本养老保险" in html
    response = client.post(reverse("unit:supplement_pay_new"), post(person))
    assert response.status_code == 400 and "请选择补收险种" in response.content.decode()


def test_adjust_page_lists_months_without_difference(setup, staff_bj):
    unit, admin, client = setup
    person = enrol(unit, 8)
    approved(admin, staff_bj, "back_pay", request(person, 202505, 202508))
    response = client.post(reverse("unit:adjust_pay_new"), post(person, wage="7000"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "不产生补缴" in html and "基数差额" in html


def test_row_edit_prefill_and_remove(setup):
    unit, admin, client = setup
    a, b = enrol(unit, 9), enrol(unit, 10)
    filing = backpay_save(actor=admin, kind="back_pay", data=request(a, 202505))
    filing = backpay_save(
        actor=admin, kind="back_pay", data=request(b, 202506, wage="8000"), filing=filing
    )
    row_b = filing.rows.get(person=b)
    page = client.get(reverse("unit:back_pay_edit", args=[filing.serial_no]), {"row": row_b.pk})
    assert 'value="8000.00"' in page.content.decode()
    response = client.post(reverse("unit:backpay_row_remove", args=[filing.serial_no, row_b.pk]))
    assert response.status_code == 302
    assert list(filing.rows.values_list("person_id", flat=True)) == [a.pk]


def test_another_units_filing_answers_404(setup, staff_bj, region_bj):
    unit, admin, _ = setup
    person = enrol(unit, 11)
    filing = backpay_save(actor=admin, kind="back_pay", data=request(person, 202505))
    other = signed_in(make_admin(make_unit(staff_bj, region_bj, 73)))
    assert other.get(reverse("unit:back_pay_edit", args=[filing.serial_no])).status_code == 404
    assert other.get(reverse("unit:adjust_pay_edit", args=[filing.serial_no])).status_code == 404
    response = other.post(
        reverse("unit:backpay_row_remove", args=[filing.serial_no, filing.rows.get().pk])
    )
    assert response.status_code == 404


def test_submitted_filing_is_not_editable(setup, staff_bj):
    unit, admin, client = setup
    person = enrol(unit, 12)
    filing = approved(admin, staff_bj, "back_pay", request(person, 202505))
    response = client.get(reverse("unit:back_pay_edit", args=[filing.serial_no]))
    assert response.status_code == 302
    assert response["Location"] == reverse("unit:filing", args=[filing.serial_no])


def test_permission(setup, staff_bj):
    unit, _, _ = setup
    clerk = signed_in(make_operator(unit, "clerk", ALL_BUT_BACK_PAY))
    for name in ("unit:backpay", "unit:back_pay_new", "unit:supplement_pay_new"):
        assert clerk.get(reverse(name)).status_code == 403
    assert signed_in(staff_bj).get(reverse("unit:backpay")).status_code == 403


def test_pending_back_pay_on_the_home_page(setup, staff_bj):
    unit, admin, client = setup
    person = enrol(unit, 13)
    approved(admin, staff_bj, "back_pay", request(person, 202505, 202506))
    checked_total = sum(
        (x.unit_amount + x.personal_amount for x in ContributionLine.objects.filter(person=person)),
        D("0"),
    )
    html = client.get(reverse("unit:backpay")).content.decode()
    assert cell(html, "pending-total") == checked_total
    assert "202505" in html and "核定基数补缴" in html
