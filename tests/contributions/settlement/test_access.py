"""Refusals of the settlement services go through the access module: each is audited as
``settlement.<action>`` (``region.next_period`` for opening a period) with outcome denied, a
non-staff actor is refused (PermissionDenied) and another region answers 404; the 缴费明细 rows
carry money as Decimal for core.excel to format."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from shebao.contributions.models import Settlement
from shebao.contributions.settlement import selectors as sel
from shebao.contributions.settlement import services as svc
from shebao.contributions.settlement import services_region as region_svc
from shebao.core.models import AuditEntry
from tests.contributions.payments_helpers import PERIOD, enrol
from tests.factories import make_admin, make_unit

pytestmark = pytest.mark.django_db


@pytest.fixture
def unit(region_bj, staff_bj):
    region_bj.current_period = PERIOD
    region_bj.save()
    unit = make_unit(staff_bj, region_bj, 7)
    enrol(unit, 2)
    return unit


def denied(action: str) -> int:
    return AuditEntry.objects.filter(action=action, outcome=AuditEntry.Outcome.DENIED).count()


def test_an_operator_of_another_unit_may_not_settle(unit, staff_bj, region_bj):
    other = make_admin(make_unit(staff_bj, region_bj, 8))
    with pytest.raises(PermissionDenied):
        svc.settlement_start(actor=other, unit=unit)
    assert denied("settlement.start") == 1
    with pytest.raises(PermissionDenied):
        sel.settlement_preview(actor=other, unit=unit)
    assert denied("settlement.preview") == 1
    assert not Settlement.objects.filter(unit=unit).exists()


def test_staff_only_services_refuse_an_operator_and_audit_it(unit):
    admin = make_admin(unit)
    settlement = svc.settlement_start(actor=admin, unit=unit)
    with pytest.raises(PermissionDenied):
        svc.settlement_reopen(actor=admin, settlement_id=settlement.pk)
    with pytest.raises(PermissionDenied):
        svc.settlement_stop_interrupted(actor=admin, settlement_id=settlement.pk)
    with pytest.raises(PermissionDenied):
        region_svc.region_settle_all_start(actor=admin, region_code=unit.region_id)
    with pytest.raises(PermissionDenied):
        region_svc.region_open_next_period(actor=admin, region_code=unit.region_id)
    assert denied("settlement.reopen") == 1
    assert denied("settlement.stop_interrupted") == 1
    assert denied("settlement.region_job") == 1
    assert denied("region.next_period") == 1


def test_staff_of_another_region_find_nothing(unit, staff_sh, region_bj):
    with pytest.raises(Http404):
        region_svc.region_settle_all_start(actor=staff_sh, region_code=region_bj.code)
    with pytest.raises(Http404):
        region_svc.region_open_next_period(actor=staff_sh, region_code=region_bj.code)
    assert denied("settlement.region_job") == 1
    assert denied("region.next_period") == 1
    region_bj.refresh_from_db()
    assert region_bj.current_period == PERIOD


def test_detail_rows_carry_money_as_decimal(unit):
    settlement = svc.settlement_start(actor=make_admin(unit), unit=unit)
    rows = list(sel.detail_rows(settlement))
    assert rows and len(rows[0]) == len(sel.DETAIL_HEADER)
    for row in rows:
        base, unit_amount, personal, total = row[6:10]
        assert all(isinstance(x, Decimal) for x in (base, unit_amount, personal, total))
        assert total == unit_amount + personal
