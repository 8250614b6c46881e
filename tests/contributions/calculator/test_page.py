"""The public calculator page equals the API to the fen; errors next to the fields."""

import re
from decimal import Decimal as D

import pytest
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ensure_published_parameters

API = "/api/v1/calculator"
CELL = re.compile(r'<tr data-type="(\w+)"[^>]*>(.*?)</tr>', re.S)
VALUE = re.compile(r'data-field="(\w+)" data-value="([0-9.]+)"')


def page_numbers(html: str) -> dict:
    """{type: {field: value}} from the rendered table (plus "total" for the footer row)."""
    return {t: dict(VALUE.findall(body)) for t, body in CELL.findall(html)}


def api_numbers(body: dict) -> dict:
    result = {
        line["type"]: {
            "base": line["base"],
            "unit": line["unit"],
            "personal": line["personal"],
            "total": f"{D(line['unit']) + D(line['personal']):.2f}",
        }
        for line in body["lines"]
    }
    result["total"] = {
        "unit_total": body["unit_total"],
        "personal_total": body["personal_total"],
        "total": body["total"],
    }
    return result


def both(client, params):
    page = client.get(reverse("web:calculator"), params)
    api = client.get(API, params)
    return page, api


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params",
    [
        {"region": "110000", "period": "202408", "wage": "5000", "injury_rate": "0.004"},
        {"region": "110000", "period": "202512", "wage": "40000"},
        {"region": "310000", "period": "202409", "wage": "7384.005"},
        {"region": "310000", "period": "202601", "wage": "0", "injury_rate": "0.0285"},
    ],
)
def test_page_equals_the_api(client, region_bj, region_sh, params):
    page, api = both(client, params)
    assert page.status_code == 200 and api.status_code == 200
    assert page_numbers(page.content.decode()) == api_numbers(api.json())


@pytest.mark.django_db
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    wage=st.decimals(min_value=0, max_value=100000, places=2, allow_nan=False),
    region=st.sampled_from(["110000", "310000"]),
    period=st.sampled_from(["202407", "202506", "202507", "202612"]),
)
def test_page_equals_the_api_for_any_wage(region_bj, region_sh, wage, region, period):
    ensure_published_parameters()
    client = Client()
    page, api = both(client, {"region": region, "period": period, "wage": str(wage)})
    assert page_numbers(page.content.decode()) == api_numbers(api.json())


@pytest.mark.django_db
def test_unit_kind_narrows_the_lines_and_resums(client, region_bj):
    params = {"region": "110000", "period": "202408", "wage": "5000", "injury_rate": "0.004"}
    api = client.get(API, params).json()
    page = client.get(reverse("web:calculator"), {**params, "unit_kind": "enterprise"})
    numbers = page_numbers(page.content.decode())
    assert set(numbers) == {"110", "210", "310", "410", "total"}
    kept = [x for x in api["lines"] if x["type"] in numbers]
    assert numbers["total"]["unit_total"] == f"{sum(D(x['unit']) for x in kept):.2f}"
    assert numbers["total"]["unit_total"] == "1821.21"
    institution = client.get(reverse("web:calculator"), {**params, "unit_kind": "institution"})
    assert set(page_numbers(institution.content.decode())) == {
        "120",
        "121",
        "210",
        "310",
        "410",
        "total",
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("override", "field", "message"),
    [
        ({"region": "999999"}, "region", "未知的统筹区"),
        ({"period": "202001"}, "period", "没有缴费参数"),
        ({"period": "abc"}, "period", "无效的期间"),
        ({"wage": "-100"}, "wage", "缴费工资不能为负数"),
        ({"wage": "五千元"}, "wage", "缴费工资必须是数字"),
        ({"wage": ""}, "wage", "请填写缴费工资"),
        ({"injury_rate": "2"}, "injury_rate", "工伤费率"),
    ],
)
def test_errors_next_to_the_field_with_400(client, region_bj, override, field, message):
    params = {"region": "110000", "period": "202408", "wage": "5000", **override}
    response = client.get(reverse("web:calculator"), params)
    assert response.status_code == 400
    form = response.context["form"]
    assert message in form.errors[field][0]
    assert 'data-type="total"' not in response.content.decode()
    assert "is-invalid" in str(form[field])


@pytest.mark.django_db
def test_blank_page_needs_no_sign_in_and_works_on_a_phone(client, region_bj):
    response = client.get(reverse("web:calculator"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="viewport"' in html and "北京市（110000）" in html
    assert 'inputmode="decimal"' in html


def test_wage_below_the_floor_says_which_base_is_used(client, region_bj):
    from shebao.contributions.params.selectors import wage_bounds
    from shebao.core.models import this_month

    bounds = wage_bounds("110000", int(this_month()))
    html = client.get("/calculator/").content.decode()
    assert f'data-wage-floor="{bounds.floor:.2f}"' in html
    assert 'src="/static/contributions/wage_floor.js"' in html
    response = client.get(
        "/calculator/", {"region": "110000", "period": str(this_month()), "wage": "100"}
    )
    html = response.content.decode()
    assert (
        f"缴费工资低于缴费基数下限 {bounds.floor:,.2f} 元，将按下限 {bounds.floor:,.2f} 元计算"
        in html
    )
    html = client.get(
        "/calculator/", {"region": "110000", "period": str(this_month()), "wage": "9999999"}
    ).content.decode()
    assert f"高于缴费基数上限 {bounds.cap:,.2f} 元，将按上限 {bounds.cap:,.2f} 元计算" in html
