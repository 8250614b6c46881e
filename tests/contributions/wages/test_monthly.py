"""机关事业单位月度分项工资申报: only 机关/事业单位, base = sum of the items, from the month."""

from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError

from shebao.contributions.models import ContributionLine, WageBase
from shebao.contributions.settlement.services import settlement_start
from shebao.contributions.wages.calc import row_key
from shebao.contributions.wages.services import monthly_wage_save
from shebao.filings.models import Filing, FilingKind, FilingState
from shebao.filings.services import filing_approve, filing_submit
from shebao.registry.models import Enrolment, Unit, UnitType
from tests.contributions.wages_helpers import PERIOD, institution_unit, wage_unit

ITEMS = {"basic": "4000", "allowance": "1500.50", "performance": "2000", "other": ""}


def save(admin, entries, filing=None, period=PERIOD):
    return monthly_wage_save(actor=admin, filing=filing, period=period, entries=entries)


@pytest.fixture
def gov(staff_bj, region_bj):
    return institution_unit(staff_bj, region_bj, 61)


@pytest.mark.django_db
def test_items_sum_to_the_base_from_the_month(gov, staff_bj):
    unit, admin, (p0, p1) = gov
    assert unit.insurance_types == ["120", "310", "410"]
    filing = save(admin, {p0.pk: ITEMS, p1.pk: {}})
    assert filing.kind == FilingKind.WAGE_MONTHLY and filing.payload["period"] == PERIOD
    row = filing.rows.get()
    assert row.person_id == p0.pk
    assert row.payload["after"] == {
        "items": {
            "basic": "4000.00",
            "allowance": "1500.50",
            "performance": "2000.00",
            "other": "0.00",
        },
        "wage": "7500.50",
    }
    filing_submit(actor=admin, filing=filing)
    filing_approve(actor=staff_bj, filing_id=filing.pk)
    base = WageBase.objects.get(unit=unit, person=p0)
    assert base.valid_from == PERIOD and base.wage == D("7500.50")
    assert base.items["allowance"] == "1500.50"
    assert set(
        Enrolment.objects.filter(unit=unit, person=p0).values_list("wage_base", flat=True)
    ) == {D("7500.50")}
    settlement = settlement_start(actor=admin, unit=unit)
    pension = ContributionLine.objects.get(settlement=settlement, person=p0, item="120")
    annuity = ContributionLine.objects.get(settlement=settlement, person=p0, item="121")
    assert pension.base == D("7500.50") and pension.unit_amount == D("1200.08")
    assert annuity.unit_amount == D("600.04") and annuity.personal_amount == D("300.02")


@pytest.mark.django_db
@pytest.mark.parametrize("unit_type", [UnitType.GOVERNMENT, UnitType.INSTITUTION])
def test_government_and_public_institutions_may_declare(staff_bj, region_bj, unit_type):
    _unit, admin, (p0, *_) = wage_unit(staff_bj, region_bj, 62, unit_type=unit_type)
    assert save(admin, {p0.pk: ITEMS}).rows.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "unit_type",
    [UnitType.ENTERPRISE, UnitType.SOCIAL_ORG, UnitType.PRIVATE_NON_ENTERPRISE],
)
def test_other_units_may_not(staff_bj, region_bj, unit_type):
    _unit, admin, (p0, *_) = wage_unit(staff_bj, region_bj, 63, unit_type=unit_type)
    with pytest.raises(ValidationError, match="只有机关、事业单位"):
        save(admin, {p0.pk: ITEMS})
    assert not Filing.objects.filter(kind=FilingKind.WAGE_MONTHLY).exists()


@pytest.mark.django_db
def test_a_unit_that_became_an_enterprise_cannot_submit(gov):
    unit, admin, (p0, _) = gov
    filing = save(admin, {p0.pk: ITEMS})
    Unit.objects.filter(pk=unit.pk).update(unit_type=UnitType.ENTERPRISE)
    with pytest.raises(ValidationError, match="只有机关、事业单位"):
        filing_submit(actor=admin, filing=filing)
    filing.refresh_from_db()
    assert filing.state == FilingState.DRAFT


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("items", "message"),
    [
        ({"basic": "-1"}, "基本工资不能为负数"),
        ({"allowance": "abc"}, "津贴补贴必须是数字"),
        ({"basic": "0", "other": "0"}, "合计应大于0"),
        ({"performance": "1.001"}, "两位小数"),
    ],
)
def test_bad_items_are_refused_per_row(gov, items, message):
    _unit, admin, (p0, p1) = gov
    with pytest.raises(ValidationError) as e:
        save(admin, {p0.pk: ITEMS, p1.pk: items})
    assert message in e.value.message_dict[row_key(p1.pk)][0]
    assert not Filing.objects.filter(kind=FilingKind.WAGE_MONTHLY).exists()


@pytest.mark.django_db
def test_months_already_settled_or_too_late_are_refused(gov):
    unit, admin, (p0, _p1) = gov
    with pytest.raises(ValidationError) as e:
        save(admin, {p0.pk: ITEMS}, period=PERIOD + 2)
    assert "不能晚于下一结算期" in e.value.message_dict["period"][0]
    settlement_start(actor=admin, unit=unit)
    with pytest.raises(ValidationError) as e:
        save(admin, {p0.pk: ITEMS}, period=PERIOD)
    assert "已结算至2025年08月" in e.value.message_dict["period"][0]
    assert save(admin, {p0.pk: ITEMS}, period=PERIOD + 1).payload["period"] == 202509
