"""PostgreSQL only: the set-based paths of settlement (one unit's INSERT … SELECT, the region job)
take up the waiting back-pay lines like the Python path, and concurrent approvals of back pay
and settlement never lose a line."""

from decimal import Decimal as D

import pytest
from django.db import connection

from shebao.contributions.backpay.services import backpay_save
from shebao.contributions.models import Arrear, ContributionLine, RegionSettlementJob, Settlement
from shebao.contributions.settlement.selectors import line_rows, notice_summary
from shebao.contributions.settlement.services import settlement_start
from shebao.contributions.settlement.services_region import region_settle_all_run
from shebao.filings.services import filing_approve, filing_submit
from tests.contributions.backpay_helpers import (
    CURRENT,
    approved,
    bp_unit,
    enrol,
    lines_of,
    request,
)
from tests.races import race

pytestmark = [pytest.mark.postgres]


def back_sums(settlement):
    summary = notice_summary(line_rows(settlement.lines.filter(withdrawn=False)))
    return {(r["item"], r["belongs_period"]): r["total"] for r in summary["back_items"]}


@pytest.mark.django_db
def test_one_units_sql_settlement_takes_up_back_pay(staff_bj, region_bj):
    assert connection.vendor == "postgresql"
    unit, admin = bp_unit(staff_bj, region_bj, 91)
    person = enrol(unit, 1)
    approved(admin, staff_bj, "back_pay", request(person, 202506, 202507))
    expected = {
        (x.item, x.belongs_period): x.unit_amount + x.personal_amount for x in lines_of(person)
    }
    settlement = settlement_start(actor=admin, unit=unit)
    assert back_sums(settlement) == expected
    arrears = {
        (a.item, a.belongs_period): a.due
        for a in Arrear.objects.filter(payer=f"U{unit.pk}", settle_period=CURRENT)
    }
    for key, amount in expected.items():
        assert arrears[key] == amount


@pytest.mark.django_db
def test_region_job_takes_up_back_pay_of_every_unit(staff_bj, region_bj):
    units = []
    for n in (92, 93):
        unit, admin = bp_unit(staff_bj, region_bj, n)
        person = enrol(unit, 1)
        approved(admin, staff_bj, "back_pay", request(person, 202505, 202508))
        units.append((unit, person))
    job = RegionSettlementJob.objects.create(
        region=region_bj, settle_period=CURRENT, created_by=staff_bj
    )
    region_settle_all_run(job.pk)
    for unit, person in units:
        settlement = Settlement.objects.get(unit=unit, settle_period=CURRENT)
        back = list(lines_of(person, kind="back_pay"))
        assert len(back) == 16 and {x.settlement_id for x in back} == {settlement.pk}
        assert settlement.unit_total == sum((x.unit_amount for x in settlement.lines.all()), D("0"))
        due = sum(
            (a.due for a in Arrear.objects.filter(payer=f"U{unit.pk}", settle_period=CURRENT)),
            D("0"),
        )
        assert due == settlement.unit_total + settlement.personal_total


@pytest.mark.django_db(transaction=True)
def test_approval_racing_the_settlement_loses_no_line(staff_bj, region_bj):
    """The settlement refuses while the back-pay filing is open; once approved, the lines
    either join this settlement or wait for the next — never both, never neither."""
    from tests.conftest import ensure_published_parameters

    ensure_published_parameters()
    unit, admin = bp_unit(staff_bj, region_bj, 94, vip=False)
    person = enrol(unit, 1)
    filing = backpay_save(actor=admin, kind="back_pay", data=request(person, 202506))
    filing_submit(actor=admin, filing=filing)
    _results, errors = race(
        lambda: filing_approve(actor=staff_bj, filing_id=filing.pk),
        lambda: settlement_start(actor=admin, unit=unit),
    )
    lines = list(ContributionLine.objects.filter(person=person, kind="back_pay"))
    assert len(lines) == 4
    settled = Settlement.objects.filter(unit=unit, settle_period=CURRENT).first()
    if settled is not None and all(x.settlement_id == settled.pk for x in lines):
        return
    assert {x.settlement_id for x in lines} == {None}
    assert all(not isinstance(e, AssertionError) for e in errors)
