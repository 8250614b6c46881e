"""Units' work-injury rates: benchmark × floating factor, history, settled months kept."""

from decimal import Decimal as D

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from shebao.contributions.models import UnitInjuryRate
from shebao.contributions.params.selectors import injury_rate_history
from shebao.contributions.params.services import unit_injury_rate_set
from shebao.contributions.settlement.engine import unit_injury_rates
from shebao.core.models import AuditEntry
from shebao.registry.models import Unit
from tests.contributions.payments_helpers import settled_unit


def set_class(unit, risk_class):
    Unit.objects.filter(pk=unit.pk).update(injury_risk_class=risk_class)
    unit.refresh_from_db()
    return unit


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("risk_class", "factor", "rate"),
    [
        (1, "1.00", "0.0020"),
        (1, "1.20", "0.0024"),
        (1, "1.5", "0.0030"),
        (2, "0.50", "0.0020"),
        (2, "0.80", "0.0032"),
        (5, "1.20", "0.0132"),
        (8, "1.50", "0.0285"),
    ],
)
def test_rate_is_benchmark_times_factor(staff_bj, unit_a, risk_class, factor, rate):
    unit = set_class(unit_a, risk_class)
    row = unit_injury_rate_set(actor=staff_bj, unit=unit, valid_from="202601", factor=factor)
    assert row.rate == D(rate) and row.factor == D(factor).quantize(D("0.01"))
    assert unit_injury_rates([unit], 202601)[unit.pk] == D(rate)
    assert AuditEntry.objects.filter(action="injury_rate.set", object_id=str(unit.pk)).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("risk_class", "factor", "message"),
    [
        (1, "0.80", "一类行业的浮动比例只能是100%、120%、150%"),
        (1, "0.50", "一类行业"),
        (3, "1.10", "三类行业的浮动比例只能是50%、80%、100%、120%、150%"),
        (4, "2", "四类行业"),
        (2, "", "请选择浮动比例"),
        (2, "abc", "请选择浮动比例"),
    ],
)
def test_other_factors_are_refused(staff_bj, unit_a, risk_class, factor, message):
    unit = set_class(unit_a, risk_class)
    with pytest.raises(ValidationError) as e:
        unit_injury_rate_set(actor=staff_bj, unit=unit, valid_from="202601", factor=factor)
    assert message in e.value.message_dict["factor"][0]
    assert not UnitInjuryRate.objects.filter(unit=unit).exists()


@pytest.mark.django_db
def test_history_runs_until_the_next_rate(staff_bj, unit_a):
    unit_injury_rate_set(actor=staff_bj, unit=unit_a, valid_from="202601", factor="1.00")
    unit_injury_rate_set(actor=staff_bj, unit=unit_a, valid_from="202607", factor="1.50")
    rows = injury_rate_history(unit_a)
    assert [r.rate.valid_from for r in rows] == [202607, 202601]
    assert rows[0].validity == "2026年07月起"
    assert rows[1].validity == "2026年01月 至 2026年06月"
    assert unit_injury_rates([unit_a], 202606)[unit_a.pk] == D("0.0040")
    assert unit_injury_rates([unit_a], 202607)[unit_a.pk] == D("0.0060")


@pytest.mark.django_db
def test_same_month_not_yet_settled_replaces_with_before_after(staff_bj, unit_a):
    unit_injury_rate_set(actor=staff_bj, unit=unit_a, valid_from="202601", factor="1.00")
    unit_injury_rate_set(actor=staff_bj, unit=unit_a, valid_from="202601", factor="0.80")
    assert UnitInjuryRate.objects.get(unit=unit_a).rate == D("0.0032")
    entry = AuditEntry.objects.filter(action="injury_rate.set").latest("id")
    assert entry.detail["before"]["factor"] == "1.00"


@pytest.mark.django_db
def test_settled_months_keep_their_rate(staff_bj, region_bj):
    unit, _admin, _people, _settlement = settled_unit(staff_bj, region_bj, 44)
    with pytest.raises(ValidationError) as e:
        unit_injury_rate_set(actor=staff_bj, unit=unit, valid_from="202508", factor="1.20")
    assert "已结算至2025年08月" in e.value.message_dict["valid_from"][0]
    assert not UnitInjuryRate.objects.filter(unit=unit).exists()
    row = unit_injury_rate_set(actor=staff_bj, unit=unit, valid_from="202509", factor="1.20")
    assert row.valid_from == 202509


@pytest.mark.django_db
def test_staff_of_another_region_gets_404(staff_sh, unit_a):
    with pytest.raises(Http404):
        unit_injury_rate_set(actor=staff_sh, unit=unit_a, valid_from="202601", factor="1.00")
    assert not UnitInjuryRate.objects.exists()
    assert AuditEntry.objects.filter(action="injury_rate.set", outcome="denied").exists()


@pytest.mark.django_db
def test_operator_may_not_set_rates(admin_a, unit_a):
    with pytest.raises(PermissionDenied):
        unit_injury_rate_set(actor=admin_a, unit=unit_a, valid_from="202601", factor="1.00")


@pytest.mark.django_db
def test_bad_month(staff_bj, unit_a):
    with pytest.raises(ValidationError) as e:
        unit_injury_rate_set(actor=staff_bj, unit=unit_a, valid_from="2026", factor="1.00")
    assert "yyyyMM" in e.value.message_dict["valid_from"][0]
