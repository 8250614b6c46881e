"""年度工资申报: pre-filled bases, per-row refusals, paging into one draft, the workflow,
and the approval's effect on the next settlement."""

from decimal import Decimal as D

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from shebao.contributions.models import ContributionLine, WageBase
from shebao.contributions.settlement.services import settlement_start
from shebao.contributions.wages.calc import row_key
from shebao.contributions.wages.selectors import latest_bases, page_entries
from shebao.contributions.wages.services import annual_wage_save, wage_row_remove
from shebao.core.models import AuditEntry
from shebao.filings.models import Filing, FilingKind, FilingState
from shebao.filings.services import filing_approve, filing_submit
from shebao.registry.models import Enrolment
from tests.contributions.wages_helpers import (
    PERIOD,
    expected_totals,
    hold_in_other_filing,
    wage_unit,
)
from tests.factories import make_operator


@pytest.fixture
def setup(staff_bj, region_bj):
    return wage_unit(staff_bj, region_bj, 51)


def save(admin, entries, filing=None, year=2025, valid_from=""):
    return annual_wage_save(
        actor=admin, filing=filing, year=year, valid_from=valid_from, entries=entries
    )


@pytest.mark.django_db
def test_latest_base_is_prefilled_and_never_declared_is_empty(setup):
    unit, admin, (p0, p1, p2) = setup
    Enrolment.objects.filter(person=p2).update(wage_base=0)
    WageBase.objects.create(person=p1, unit=unit, valid_from=202407, wage=D("9000"))
    WageBase.objects.create(person=p1, unit=unit, valid_from=202501, wage=D("9500"))
    latest = latest_bases(unit, [p0.pk, p1.pk, p2.pk])
    assert latest[p0.pk].wage == D("5000.00") and latest[p0.pk].source == "enrolment"
    assert latest[p1.pk].wage == D("9500.00") and latest[p1.pk].valid_from == 202501
    assert latest[p2.pk].wage is None and latest[p2.pk].source_label == "从未申报"
    _page, entries = page_entries(admin, filing=None, q="", page_number=1)
    assert {e.person.pk: e.initial_wage() for e in entries} == {
        p0.pk: "5000.00",
        p1.pk: "9500.00",
        p2.pk: "",
    }


@pytest.mark.django_db
def test_save_creates_a_draft_with_before_and_after(setup):
    _unit, admin, (p0, p1, p2) = setup
    filing = save(admin, {p0.pk: "8000", p1.pk: "12,345.67", p2.pk: ""})
    assert filing.kind == FilingKind.WAGE_ANNUAL and filing.state == FilingState.DRAFT
    assert filing.payload["year"] == 2025 and filing.payload["valid_from"] == 202507
    assert filing.payload["count"] == 2 and "2025年度工资申报" in filing.title
    rows = {r.person_id: r.payload for r in filing.rows.all()}
    assert set(rows) == {p0.pk, p1.pk}
    assert rows[p0.pk]["before"]["wage"] == "5000.00"
    assert rows[p0.pk]["after"] == {"wage": "8000.00"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-1", "不能为负数"),
        ("abc", "必须是数字"),
        ("0", "应大于0"),
        ("1.234", "两位小数"),
        ("1e12", "超出范围"),
    ],
)
def test_each_refused_row_says_why_and_nothing_is_written(setup, value, message):
    _unit, admin, (p0, p1, _) = setup
    with pytest.raises(ValidationError) as e:
        save(admin, {p0.pk: "8000", p1.pk: value})
    errors = e.value.message_dict
    assert message in errors[row_key(p1.pk)][0] and row_key(p0.pk) not in errors
    assert not Filing.objects.filter(kind=FilingKind.WAGE_ANNUAL).exists()


@pytest.mark.django_db
def test_person_not_enrolled_here_is_refused(setup, staff_bj, region_bj):
    _unit, admin, (p0, _, _) = setup
    _, _, (stranger, *_) = wage_unit(staff_bj, region_bj, 52, persons=1)
    with pytest.raises(ValidationError) as e:
        save(admin, {p0.pk: "8000", stranger.pk: "9000"})
    assert "不在本单位正常参保" in e.value.message_dict[row_key(stranger.pk)][0]
    assert not Filing.objects.filter(kind=FilingKind.WAGE_ANNUAL).exists()


@pytest.mark.django_db
def test_person_in_another_open_filing_is_refused(setup):
    unit, admin, (p0, p1, _) = setup
    hold_in_other_filing(unit, p1)
    with pytest.raises(ValidationError) as e:
        save(admin, {p0.pk: "8000", p1.pk: "9000"})
    assert "20990101000001" in e.value.message_dict[row_key(p1.pk)][0]
    _page, entries = page_entries(admin, filing=None, q="", page_number=1)
    assert next(x for x in entries if x.person.pk == p1.pk).blocker
    assert not Filing.objects.filter(kind=FilingKind.WAGE_ANNUAL).exists()


@pytest.mark.django_db
def test_bad_header(setup):
    _unit, admin, (p0, *_) = setup
    with pytest.raises(ValidationError) as e:
        save(admin, {p0.pk: "8000"}, year=2020)
    assert "申报年度只能是2024、2025、2026年" in e.value.message_dict["year"][0]
    with pytest.raises(ValidationError) as e:
        save(admin, {p0.pk: "8000"}, valid_from="202607")
    assert "申报年度内" in e.value.message_dict["valid_from"][0]
    with pytest.raises(ValidationError) as e:
        save(admin, {p0.pk: ""})
    assert "至少填写一名" in e.value.messages[0]
    assert not Filing.objects.filter(kind=FilingKind.WAGE_ANNUAL).exists()


@pytest.mark.django_db
def test_pages_are_saved_into_the_same_draft(staff_bj, region_bj):
    _unit, admin, persons = wage_unit(staff_bj, region_bj, 53, persons=5)
    first = save(admin, {p.pk: "8000" for p in persons[:3]})
    again = save(admin, {p.pk: "9000" for p in persons[3:]}, filing=first)
    assert again.pk == first.pk and again.rows.count() == 5 and again.payload["count"] == 5
    # a blank entry takes the person out; other pages' rows stay
    save(admin, {persons[0].pk: "", persons[1].pk: "8500"}, filing=first)
    rows = {r.person_id: r.payload["after"]["wage"] for r in first.rows.all()}
    assert persons[0].pk not in rows and rows[persons[1].pk] == "8500.00"
    assert rows[persons[4].pk] == "9000.00" and len(rows) == 4
    # a refused row on a later page leaves the draft as it was
    with pytest.raises(ValidationError):
        save(admin, {persons[2].pk: "-5", persons[3].pk: "1"}, filing=first)
    assert {r.person_id: r.payload["after"]["wage"] for r in first.rows.all()} == rows


@pytest.mark.django_db
def test_one_open_declaration_per_year(setup):
    _unit, admin, (p0, p1, _) = setup
    save(admin, {p0.pk: "8000"})
    with pytest.raises(ValidationError, match="同一期间"):
        save(admin, {p1.pk: "8000"})


@pytest.mark.django_db
def test_approval_sets_the_base_and_the_next_settlement_uses_it(setup, staff_bj):
    unit, admin, (p0, p1, p2) = setup
    filing = save(admin, {p0.pk: "8000", p1.pk: "20000"})
    filing_submit(actor=admin, filing=filing)
    filing.refresh_from_db()
    assert filing.state == FilingState.SUBMITTED  # normal units are reviewed
    filing_approve(actor=staff_bj, filing_id=filing.pk)
    bases = {w.person_id: w for w in WageBase.objects.filter(unit=unit)}
    assert bases[p0.pk].wage == D("8000.00") and bases[p0.pk].valid_from == 202507
    assert bases[p0.pk].filing_id == filing.pk and p2.pk not in bases
    assert set(
        Enrolment.objects.filter(person=p1, unit=unit).values_list("wage_base", flat=True)
    ) == {D("20000.00")}
    settlement = settlement_start(actor=admin, unit=unit)
    unit_total, personal_total = expected_totals(
        unit, {p0.pk: "8000", p1.pk: "20000", p2.pk: "40000"}
    )
    assert (settlement.unit_total, settlement.personal_total) == (unit_total, personal_total)
    line = ContributionLine.objects.get(settlement=settlement, person=p0, item="110")
    assert line.base == D("8000.00")


@pytest.mark.django_db
def test_refused_row_at_review_is_not_applied(setup, staff_bj):
    unit, admin, (p0, p1, _) = setup
    filing = save(admin, {p0.pk: "8000", p1.pk: "20000"})
    filing_submit(actor=admin, filing=filing)
    row = filing.rows.get(person=p1)
    filing_approve(actor=staff_bj, filing_id=filing.pk, refused={row.pk: "工资与个税申报不符"})
    assert set(WageBase.objects.filter(unit=unit).values_list("person_id", flat=True)) == {p0.pk}


@pytest.mark.django_db
def test_vip_unit_is_approved_on_submit(staff_bj, region_bj):
    unit, admin, (p0, *_) = wage_unit(staff_bj, region_bj, 54, vip=True)
    filing = save(admin, {p0.pk: "8000"})
    filing_submit(actor=admin, filing=filing)
    filing.refresh_from_db()
    assert filing.state == FilingState.APPROVED
    assert WageBase.objects.get(unit=unit, person=p0).wage == D("8000.00")


@pytest.mark.django_db
def test_a_future_base_keeps_the_old_one_for_the_months_before(staff_bj, region_bj):
    unit, admin, (p0, p1, p2) = wage_unit(staff_bj, region_bj, 55, vip=True)
    filing = save(admin, {p0.pk: "8000"}, year=2026)  # from 202607, after 结算期 202508
    filing_submit(actor=admin, filing=filing)
    kept = WageBase.objects.get(unit=unit, person=p0, valid_from=202001)
    assert kept.wage == D("5000.00") and kept.filing is None
    assert WageBase.objects.get(unit=unit, person=p0, valid_from=202607).wage == D("8000.00")
    settlement = settlement_start(actor=admin, unit=unit)  # 202508 still at the old wage
    expected = expected_totals(unit, {p0.pk: "5000", p1.pk: "12345.67", p2.pk: "40000"})
    assert (settlement.unit_total, settlement.personal_total) == expected


@pytest.mark.django_db
def test_redeclaring_the_same_month_replaces_the_base(staff_bj, region_bj):
    unit, admin, (p0, *_) = wage_unit(staff_bj, region_bj, 56, vip=True)
    filing_submit(actor=admin, filing=save(admin, {p0.pk: "8000"}))
    filing_submit(actor=admin, filing=save(admin, {p0.pk: "8800"}))
    assert list(WageBase.objects.filter(unit=unit, person=p0).values_list("wage", flat=True)) == [
        D("8800.00")
    ]


@pytest.mark.django_db
def test_submit_checks_the_roster_again(setup):
    unit, admin, (p0, p1, _) = setup
    filing = save(admin, {p0.pk: "8000", p1.pk: "9000"})
    Enrolment.objects.filter(person=p1, unit=unit).update(stop_period=PERIOD, status="2")
    with pytest.raises(ValidationError, match="不在本单位正常参保"):
        filing_submit(actor=admin, filing=filing)
    filing.refresh_from_db()
    assert filing.state == FilingState.DRAFT
    wage_row_remove(actor=admin, filing=filing, row_id=filing.rows.get(person=p1).pk)
    filing_submit(actor=admin, filing=filing)
    filing.refresh_from_db()
    assert filing.state == FilingState.SUBMITTED


@pytest.mark.django_db
def test_another_units_draft_looks_missing(setup, staff_bj, region_bj):
    _unit, admin, (p0, *_) = setup
    filing = save(admin, {p0.pk: "8000"})
    _, other_admin, (q0, *_) = wage_unit(staff_bj, region_bj, 57, persons=1)
    with pytest.raises(Http404):
        save(other_admin, {q0.pk: "8000"}, filing=filing)
    with pytest.raises(Http404):
        wage_row_remove(actor=other_admin, filing=filing, row_id=filing.rows.first().pk)
    assert filing.rows.count() == 1


@pytest.mark.django_db
def test_operator_without_the_wage_permission_is_refused(setup):
    unit, _admin, (p0, *_) = setup
    clerk = make_operator(unit, "clerk", kinds=["enrolment"])
    with pytest.raises(PermissionDenied):
        save(clerk, {p0.pk: "8000"})
    assert not Filing.objects.filter(kind=FilingKind.WAGE_ANNUAL).exists()
    assert AuditEntry.objects.filter(
        action="wage.declare", outcome=AuditEntry.Outcome.DENIED, actor=clerk
    ).exists()


@pytest.mark.django_db
def test_the_roster_shows_the_new_wage(staff_bj, region_bj):
    roster = pytest.importorskip("shebao.registry.roster")
    from shebao.registry.models import RosterEntry

    unit, admin, (p0, *_) = wage_unit(staff_bj, region_bj, 58, vip=True)
    roster.roster_refresh(unit_ids=[unit.pk], person_ids=[p0.pk])
    filing_submit(actor=admin, filing=save(admin, {p0.pk: "8800"}))
    assert RosterEntry.objects.get(unit=unit, person=p0).wage == D("8800.00")
