"""The unit hall's 缴费基数申报 pages: home, the paginated annual form, the monthly form."""

import pytest
from django.urls import reverse

from shebao.core.models import AuditEntry
from shebao.filings.models import Filing, FilingKind
from tests.conftest import signed_in
from tests.contributions.wages_helpers import institution_unit, wage_unit
from tests.factories import make_operator


@pytest.fixture
def annual(staff_bj, region_bj):
    unit, admin, persons = wage_unit(staff_bj, region_bj, 71, persons=3)
    return unit, signed_in(admin), persons


def post_wages(client, url, persons_values, **header):
    data = {"year": "2025", "valid_from": "", **header, "person": [p.pk for p, _ in persons_values]}
    for p, value in persons_values:
        data[f"wage_{p.pk}"] = value
    return client.post(url, data)


@pytest.mark.django_db
def test_home_shows_both_parts(annual, staff_bj, region_bj):
    _unit, client, _ = annual
    page = client.get(reverse("unit:wages"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "年度工资申报" in text and "只适用于机关、事业单位" in text
    _, gov_admin, _ = institution_unit(staff_bj, region_bj, 72)
    gov_page = signed_in(gov_admin).get(reverse("unit:wages")).content.decode()
    assert reverse("unit:wages_monthly_new") in gov_page


@pytest.mark.django_db
def test_annual_page_prefills_and_saves(annual):
    _unit, client, (p0, p1, p2) = annual
    url = reverse("unit:wages_annual_new")
    page = client.get(url, {"year": "2025"})
    assert page.status_code == 200
    text = page.content.decode()
    assert 'value="12345.67"' in text and p0.masked_id_number in text
    assert p0.id_number not in text  # never in clear
    response = post_wages(client, url, [(p0, "8000"), (p1, "12345.67"), (p2, "")])
    filing = Filing.objects.get(kind=FilingKind.WAGE_ANNUAL)
    assert response.status_code == 302
    assert response.url.startswith(reverse("unit:wages_annual_edit", args=[filing.serial_no]))
    assert filing.rows.count() == 2
    # GET on the new page now continues the open declaration of that year
    again = client.get(url, {"year": "2025"})
    assert again.status_code == 302 and filing.serial_no in again.url
    edit = client.get(reverse("unit:wages_annual_edit", args=[filing.serial_no]))
    assert edit.status_code == 200 and "已保存" in edit.content.decode()


@pytest.mark.django_db
def test_refused_rows_are_shown_next_to_the_row(annual):
    _unit, client, (p0, p1, p2) = annual
    url = reverse("unit:wages_annual_new")
    response = post_wages(client, url, [(p0, "-5"), (p1, "abc"), (p2, "9000")])
    assert response.status_code == 400
    text = response.content.decode()
    assert "月平均工资不能为负数" in text and "月平均工资必须是数字" in text
    assert 'value="-5"' in text and 'value="abc"' in text  # what was typed stays
    assert not Filing.objects.filter(kind=FilingKind.WAGE_ANNUAL).exists()


@pytest.mark.django_db
def test_paging_saves_into_one_draft(staff_bj, region_bj, monkeypatch):
    from shebao.contributions.wages import selectors

    monkeypatch.setattr(selectors, "PAGE_SIZE", 2)
    _unit, admin, _persons = wage_unit(staff_bj, region_bj, 73, persons=5)
    client = signed_in(admin)
    first = client.get(reverse("unit:wages_annual_new"), {"year": "2025"})
    on_page = [e["entry"].person for e in first.context["rows"]]
    assert len(on_page) == 2
    response = client.post(
        reverse("unit:wages_annual_new") + "?page=1",
        {
            "year": "2025",
            "person": [p.pk for p in on_page],
            **{f"wage_{p.pk}": "8000" for p in on_page},
            "next": "1",
        },
    )
    filing = Filing.objects.get(kind=FilingKind.WAGE_ANNUAL)
    assert response.url.endswith("page=2")
    second = client.get(response.url)
    on_page2 = [e["entry"].person for e in second.context["rows"]]
    assert not set(on_page) & set(on_page2)
    client.post(
        response.url,
        {
            "year": "2025",
            "person": [p.pk for p in on_page2],
            **{f"wage_{p.pk}": "9000" for p in on_page2},
        },
    )
    assert filing.rows.count() == 4


@pytest.mark.django_db
def test_monthly_page_for_an_enterprise_redirects(annual):
    _unit, client, _ = annual
    response = client.get(reverse("unit:wages_monthly_new"))
    assert response.status_code == 302 and response.url == reverse("unit:wages")


@pytest.mark.django_db
def test_monthly_page_saves_items(staff_bj, region_bj):
    _unit, admin, (p0, p1) = institution_unit(staff_bj, region_bj, 74)
    client = signed_in(admin)
    url = reverse("unit:wages_monthly_new")
    assert client.get(url).status_code == 200
    data = {"period": "202508", "person": [p0.pk, p1.pk], f"item_basic_{p0.pk}": "5000"}
    data[f"item_allowance_{p1.pk}"] = "-1"
    bad = client.post(url, data)
    assert bad.status_code == 400 and "津贴补贴不能为负数" in bad.content.decode()
    data[f"item_allowance_{p1.pk}"] = "300"
    ok = client.post(url, data)
    filing = Filing.objects.get(kind=FilingKind.WAGE_MONTHLY)
    assert ok.status_code == 302
    assert {r.payload["after"]["wage"] for r in filing.rows.all()} == {"5000.00", "300.00"}


@pytest.mark.django_db
def test_other_units_filing_is_404_and_no_permission_is_403(annual, staff_bj, region_bj):
    unit, client, (p0, *_) = annual
    post_wages(client, reverse("unit:wages_annual_new"), [(p0, "8000")])
    filing = Filing.objects.get(kind=FilingKind.WAGE_ANNUAL)
    _, other_admin, _ = wage_unit(staff_bj, region_bj, 75, persons=1)
    other = signed_in(other_admin)
    assert other.get(reverse("unit:wages_annual_edit", args=[filing.serial_no])).status_code == 404
    row = filing.rows.first()
    remove = reverse("unit:wages_row_remove", args=[filing.serial_no, row.pk])
    assert other.post(remove).status_code == 404
    clerk = signed_in(make_operator(unit, "clerk", kinds=["enrolment"]))
    assert clerk.get(reverse("unit:wages")).status_code == 403
    assert AuditEntry.objects.filter(action="wage.view", outcome="denied").exists()


@pytest.mark.django_db
def test_progress_and_review_pages_show_before_and_after(annual, staff_client):
    from shebao.filings.services import filing_submit

    unit, client, (p0, *_) = annual
    post_wages(client, reverse("unit:wages_annual_new"), [(p0, "8000")])
    filing = Filing.objects.get(kind=FilingKind.WAGE_ANNUAL)
    progress = client.get(reverse("unit:filing", args=[filing.serial_no])).content.decode()
    assert reverse("unit:wages_annual_edit", args=[filing.serial_no]) in progress
    filing_submit(actor=unit_admin(unit), filing=filing)
    review = staff_client.get(reverse("staff:review", args=[filing.serial_no]))
    text = review.content.decode()
    assert review.status_code == 200 and "5000.00" in text and "8000.00" in text


def unit_admin(unit):
    from shebao.accounts.models import User

    return User.objects.get(unit=unit, is_unit_admin=True)


@pytest.mark.django_db
def test_annual_page_shows_the_base_used_beside_the_wage(annual):
    from shebao.contributions.params.selectors import wage_bounds
    from tests.contributions.wages_helpers import PERIOD

    unit, client, (p0, p1, p2) = annual
    bounds = wage_bounds(unit.region_id, PERIOD)
    url = reverse("unit:wages_annual_new")
    text = client.get(url, {"year": "2025"}).content.decode()
    assert f'data-wage-floor="{bounds.floor:.2f}"' in text and "核定基数" in text
    assert 'src="/static/contributions/wage_floor.js"' in text
    post_wages(client, url, [(p0, "100"), (p1, "12345.67"), (p2, "")])
    filing = Filing.objects.get(kind=FilingKind.WAGE_ANNUAL)
    edit = client.get(reverse("unit:wages_annual_edit", args=[filing.serial_no])).content.decode()
    low = f"低于缴费基数下限 {bounds.floor:,.2f} 元，将按下限 {bounds.floor:,.2f} 元计算"
    assert low in edit and "12,345.67 元" in edit
    detail = client.get(reverse("unit:filing", args=[filing.serial_no])).content.decode()
    assert f"核定基数：</span>{bounds.floor:,.2f} 元（{low}）" in detail
