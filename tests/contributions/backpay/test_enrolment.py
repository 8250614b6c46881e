"""The back-pay flag set at enrolment produces its lines (kind back_pay, waiting) for the months
from the start to the month before the current settlement period; the next settlement takes
them up."""

from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError

from shebao.contributions.backpay.services import enrolment_back_pay_lines
from shebao.contributions.models import ContributionLine, WageBase
from shebao.contributions.settlement.selectors import line_rows, notice_summary
from shebao.contributions.settlement.services import settlement_start
from shebao.core.models import AuditEntry
from shebao.registry.models import Enrolment
from tests.contributions.backpay_helpers import CURRENT, bp_unit, enrol, lines_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def unit_admin(staff_bj, region_bj):
    return bp_unit(staff_bj, region_bj, 61)


def ids(person):
    return Enrolment.objects.filter(person=person).values_list("pk", flat=True)


def test_flagged_enrolment_gets_lines_from_start_to_the_month_before_current(unit_admin):
    unit, _ = unit_admin
    person = enrol(unit, 1, start=202506, wage="8000.00", back_pay=True)
    assert enrolment_back_pay_lines(ids(person)) == 3 * 4
    lines = list(lines_of(person))
    assert {x.belongs_period for x in lines} == {202506, 202507, 202508}
    assert {x.kind for x in lines} == {"back_pay"}
    assert {x.settlement_id for x in lines} == {None}
    assert {x.settle_period for x in lines} == {CURRENT}
    assert {x.base for x in lines} == {D("8000.00")}
    june = {x.item: x for x in lines if x.belongs_period == 202506}
    assert june["110"].unit_amount == D("1280.00")
    assert AuditEntry.objects.filter(action="backpay.enrolment").count() == 1


def test_flagged_enrolment_uses_the_wage_in_force_each_month(unit_admin):
    unit, _ = unit_admin
    person = enrol(unit, 2, start=202505, wage="5000.00", back_pay=True, types=["110"])
    WageBase.objects.create(person=person, unit=unit, valid_from=202507, wage=D("12000.00"))
    enrolment_back_pay_lines(ids(person))
    bases = dict(lines_of(person).values_list("belongs_period", "base"))
    assert bases == {
        202505: D("6821.00"),
        202506: D("6821.00"),
        202507: D("12000.00"),
        202508: D("12000.00"),
    }


def test_unflagged_current_and_stopped_enrolments(unit_admin):
    unit, _ = unit_admin
    plain = enrol(unit, 3, start=202506, back_pay=False)
    current = enrol(unit, 4, start=CURRENT, back_pay=True)
    stopped = enrol(unit, 5, start=202505, stop=202506, back_pay=True, types=["110"])
    assert enrolment_back_pay_lines([*ids(plain), *ids(current), *ids(stopped)]) == 2
    assert not lines_of(plain).exists() and not lines_of(current).exists()
    assert set(lines_of(stopped).values_list("belongs_period", flat=True)) == {202505, 202506}


def test_months_already_assessed_are_skipped(unit_admin, staff_bj):
    from tests.contributions.backpay_helpers import approved, request

    unit, admin = unit_admin
    person = enrol(unit, 6, start=202506, back_pay=True)
    approved(admin, staff_bj, "back_pay", request(person, 202507, types=["110"]))
    assert enrolment_back_pay_lines(ids(person)) == 3 * 4 - 1
    assert lines_of(person, belongs_period=202507, item="110").count() == 1


def test_months_without_parameters_refuse(unit_admin):
    unit, _ = unit_admin
    person = enrol(unit, 7, start=202405, back_pay=True, types=["110"])
    with pytest.raises(ValidationError, match="缴费参数"):
        enrolment_back_pay_lines(ids(person))


def test_next_settlement_shows_them_by_belongs_period(unit_admin):
    unit, admin = unit_admin
    person = enrol(unit, 8, start=202507, wage="9000.00", back_pay=True)
    enrolment_back_pay_lines(ids(person))
    settlement = settlement_start(actor=admin, unit=unit)
    summary = notice_summary(line_rows(settlement.lines.filter(withdrawn=False)))
    assert {(r["item"], r["belongs_period"]) for r in summary["back_items"]} == {
        (t, p) for t in ["110", "210", "310", "410"] for p in (202507, 202508)
    }
    assert not ContributionLine.objects.filter(person=person, settlement__isnull=True).exists()


def test_through_the_enrolment_filing(admin_a, staff_bj, region_bj, unit_a, monkeypatch):
    """The hook as the registry's apply_row would call it (see the report): after the enrolments
    of an approved row exist, their back-pay lines are written in the same transaction."""
    from shebao.filings.services import filing_approve, filing_submit
    from shebao.registry.enrolment import kinds
    from shebao.registry.enrolment import services as registry
    from tests.registry.enrolment_helpers import enrol_data, ident

    original = kinds._EnrolmentRowsHandler.apply_row

    def apply_row(self, *, filing, row, actor):
        original(self, filing=filing, row=row, actor=actor)
        enrolment_back_pay_lines(
            Enrolment.objects.filter(start_filing=filing, person_id=row.person_id).values_list(
                "pk", flat=True
            ),
            actor=actor,
        )

    monkeypatch.setattr(kinds._EnrolmentRowsHandler, "apply_row", apply_row)
    region_bj.current_period = CURRENT
    region_bj.save()
    filing = registry.enrolment_save(
        actor=admin_a, data=enrol_data(ident(71), start_period="202507", wage=D("7500.00"))
    )
    filing_submit(actor=admin_a, filing=filing)
    filing_approve(actor=staff_bj, filing_id=filing.pk)
    person = filing.rows.get().person
    lines = lines_of(person)
    assert lines.count() == 2 * 4
    assert set(lines.values_list("filing_id", flat=True)) == {filing.pk}
    assert set(lines.values_list("base", flat=True)) == {D("7500.00")}
    assert set(lines.values_list("belongs_period", flat=True)) == {202507, 202508}
