"""Issue 12: the base a declared wage gives, and why, shown next to the wage fields."""

from decimal import Decimal as D

import pytest

from shebao.contributions.calculator.calc import base_note
from shebao.contributions.params.selectors import parameter_sets_in_force, wage_bounds
from shebao.registry.enrolment.services import enrolment_save
from tests.registry.enrolment_helpers import CURRENT, enrol_data, ident

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("wage", "note"),
    [
        ("3000", "低于缴费基数下限 4,462.00 元，将按下限 4,462.00 元计算"),
        ("4462", ""),
        ("8000.50", ""),
        ("30000", "高于缴费基数上限 22,311.00 元，将按上限 22,311.00 元计算"),
        ("abc", ""),
        ("-1", ""),
    ],
)
def test_base_note(wage, note):
    assert base_note(wage, D("4462"), D("22311")) == note


def test_bounds_are_the_sets_in_force(region_bj):
    bounds = wage_bounds("110000", int(CURRENT))
    ps = parameter_sets_in_force("110000", int(CURRENT))["110"]
    assert (bounds.floor, bounds.cap) == (ps.floor, ps.cap)
    assert bounds.attrs() == {
        "data-wage-floor": f"{ps.floor:.2f}",
        "data-wage-cap": f"{ps.cap:.2f}",
    }
    low = bounds.base_label("1")
    assert low.startswith(f"{ps.floor:,.2f} 元（低于缴费基数下限")
    assert bounds.base_label("8000") == "8,000.00 元" or ps.floor > 8000
    assert wage_bounds("999999", int(CURRENT)) is None


def test_enrolment_form_carries_the_bounds_and_the_script(admin_client, region_bj):
    bounds = wage_bounds("110000", int(CURRENT))
    html = admin_client.post(
        "/unit/enrolment/", {"action": "lookup", "id_number": ident(11)}
    ).content.decode()
    assert f'data-wage-floor="{bounds.floor:.2f}"' in html
    assert f"缴费基数下限 {bounds.floor:,.2f} 元" in html
    assert 'src="/static/contributions/wage_floor.js"' in html


def test_saved_row_shows_declared_wage_and_base_side_by_side(admin_client, admin_a):
    bounds = wage_bounds("110000", int(CURRENT))
    filing = enrolment_save(actor=admin_a, data=enrol_data(ident(11), wage=D("1000")))
    html = admin_client.get(f"/unit/filings/{filing.serial_no}/").content.decode()
    assert "申报工资" in html and "1000.00 元" in html
    assert (
        f"核定基数：</span>{bounds.floor:,.2f} 元（低于缴费基数下限 {bounds.floor:,.2f} 元，"
        f"将按下限 {bounds.floor:,.2f} 元计算）"
    ) in html
