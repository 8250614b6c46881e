"""核定基数补缴, 调整基数补缴 and 个人补收: lines at each month's own parameters, picked up by the
next settlement, refusals, permission and tenancy."""

from decimal import Decimal as D

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from shebao.contributions.backpay.calc import ADJUST_HINT, CHANGED
from shebao.contributions.backpay.selectors import backpay_preview
from shebao.contributions.backpay.services import backpay_row_remove, backpay_save
from shebao.contributions.calculator.calc import compute
from shebao.contributions.models import (
    Arrear,
    ContributionLine,
    ParameterSet,
    Settlement,
    UnitInjuryRate,
)
from shebao.contributions.params.selectors import parameter_sets_in_force, to_params
from shebao.contributions.settlement.selectors import line_rows, notice_summary
from shebao.contributions.settlement.services import settlement_start
from shebao.core.models import AuditEntry
from shebao.filings.models import FilingState
from shebao.filings.services import filing_submit
from tests.contributions.backpay_helpers import (
    ALL_BUT_BACK_PAY,
    CURRENT,
    approved,
    bp_unit,
    enrol,
    lines_of,
    request,
)
from tests.factories import make_admin, make_operator, make_unit

pytestmark = pytest.mark.django_db

BACK, ADJUST, SUPPLEMENT = "back_pay", "adjust_pay", "supplement_pay"


def errors_of(exc) -> dict:
    return exc.value.message_dict


@pytest.fixture
def unit_admin(staff_bj, region_bj):
    return bp_unit(staff_bj, region_bj, 31)


def set_of(region_id, period, t):
    return parameter_sets_in_force(region_id, period)[t]


# --- 核定基数补缴 --------------------------------------------------------------------------------


def test_back_pay_range_uses_each_months_own_parameters(unit_admin, staff_bj):
    unit, admin = unit_admin
    person = enrol(unit, 1)
    filing = approved(admin, staff_bj, BACK, request(person, 202505, 202508))
    assert filing.state == FilingState.APPROVED
    lines = list(lines_of(person))
    assert len(lines) == 4 * 4
    assert {x.kind for x in lines} == {ContributionLine.Kind.BACK_PAY}
    assert {x.settlement_id for x in lines} == {None}
    assert {x.settle_period for x in lines} == {CURRENT}
    assert {x.filing_id for x in lines} == {filing.pk}
    bases = {x.belongs_period: x.base for x in lines}
    # Beijing: 6821 until June 2025, 7162 from July 2025; a wage of 5000 is raised to the floor
    assert bases == {
        202505: D("6821.00"),
        202506: D("6821.00"),
        202507: D("7162.00"),
        202508: D("7162.00"),
    }
    assert all(x.below_floor for x in lines)
    may = {x.item: x for x in lines if x.belongs_period == 202505}
    july = {x.item: x for x in lines if x.belongs_period == 202507}
    assert (may["110"].unit_amount, may["110"].personal_amount) == (D("1091.36"), D("545.68"))
    assert (july["110"].unit_amount, july["110"].personal_amount) == (D("1145.92"), D("572.96"))
    assert (may["310"].unit_amount, may["310"].personal_amount) == (D("668.46"), D("139.42"))
    assert may["110"].parameter_set_id == set_of("110000", 202506, "110").pk
    assert july["110"].parameter_set_id == set_of("110000", 202507, "110").pk
    assert may["110"].parameter_set_id != july["110"].parameter_set_id
    # every line equals the oracle of its own month
    for x in lines:
        sets = [to_params(set_of("110000", x.belongs_period, x.item))]
        expected = compute(sets, D("5000.00"), injury_rate=D("0.004")).lines[0]
        assert (x.base, x.unit_amount, x.personal_amount) == (
            expected.base,
            expected.unit,
            expected.personal,
        )
    assert AuditEntry.objects.filter(action="backpay.apply.back_pay", outcome="ok").exists()


def test_back_pay_of_february_alone_is_one_month(unit_admin, staff_bj):
    """Seed 001: 补缴2017年2月份的社保，【开始月份】【终止月份】都选择二月即可."""
    unit, admin = unit_admin
    person = enrol(unit, 2)
    approved(admin, staff_bj, BACK, request(person, 202502, 202502, wage="9000"))
    assert set(lines_of(person).values_list("belongs_period", flat=True)) == {202502}
    assert lines_of(person).count() == 4
    other = enrol(unit, 3)
    approved(admin, staff_bj, BACK, request(other, 202502, "", wage="9000"))  # to left blank
    assert set(lines_of(other).values_list("belongs_period", flat=True)) == {202502}


def test_work_injury_at_the_units_rate_in_force_each_month(unit_admin, staff_bj):
    unit, admin = unit_admin
    UnitInjuryRate.objects.create(
        unit=unit, valid_from=202507, benchmark=D("0.004"), factor=D("1.50"), rate=D("0.006")
    )
    person = enrol(unit, 4)
    approved(admin, staff_bj, BACK, request(person, 202506, 202507, types=["410"]))
    injury = {x.belongs_period: x.unit_amount for x in lines_of(person, item="410")}
    # June: class-2 benchmark 0.4 % of 6821; July: 0.6 % of 7162
    assert injury == {202506: D("27.28"), 202507: D("42.97")}


def test_chosen_types_only_and_institution_pension_brings_its_annuity(staff_bj, region_bj):
    from shebao.registry.models import UnitType

    region_bj.current_period = CURRENT
    region_bj.save()
    unit = make_unit(staff_bj, region_bj, 32, unit_type=UnitType.INSTITUTION)
    admin = make_admin(unit)
    person = enrol(unit, 5)
    approved(admin, staff_bj, BACK, request(person, 202507, 202507, wage="10000", types=["120"]))
    lines = {x.item: x for x in lines_of(person)}
    assert set(lines) == {"120", "121"}
    assert (lines["121"].unit_amount, lines["121"].personal_amount) == (D("800.00"), D("400.00"))


def test_back_pay_is_picked_up_by_the_next_settlement_by_belongs_period(unit_admin, staff_bj):
    unit, admin = unit_admin
    person = enrol(unit, 6)
    approved(admin, staff_bj, BACK, request(person, 202505, 202508))
    back = list(lines_of(person, kind="back_pay"))
    settlement = settlement_start(actor=admin, unit=unit)
    assert settlement.state == Settlement.State.CONFIRMED
    assert settlement.kind == Settlement.Kind.WITH_CHANGE
    for x in back:
        x.refresh_from_db()
        assert x.settlement_id == settlement.pk and x.settle_period == CURRENT
    summary = notice_summary(line_rows(settlement.lines.filter(withdrawn=False)))
    shown = {(r["item"], r["belongs_period"]): r for r in summary["back_items"]}
    assert set(shown) == {
        (t, p) for t in ["110", "210", "310", "410"] for p in range(202505, 202509)
    }
    assert shown[("110", 202505)]["unit"] == D("1091.36")
    assert shown[("110", 202507)]["unit"] == D("1145.92")
    normal = settlement.lines.filter(kind="normal")
    assert summary["unit_total"] == sum((x.unit_amount for x in [*back, *normal]), D("0"))
    arrears = {
        (a.item, a.belongs_period): a.due
        for a in Arrear.objects.filter(payer=f"U{unit.pk}", settle_period=CURRENT)
    }
    assert arrears[("110", 202506)] == D("1091.36") + D("545.68")


def test_back_pay_approved_after_the_units_settlement_waits_for_the_next_period(
    unit_admin, staff_bj
):
    from shebao.contributions.settlement.services_region import region_open_next_period

    unit, admin = unit_admin
    person = enrol(unit, 7)
    settlement_start(actor=admin, unit=unit)
    approved(admin, staff_bj, BACK, request(person, 202507, 202507))
    assert lines_of(person, kind="back_pay", settlement__isnull=True).count() == 4
    region_open_next_period(actor=staff_bj, region_code="110000")
    unit.region.refresh_from_db()
    later = settlement_start(actor=admin, unit=unit)
    assert later.settle_period == 202510
    assert set(lines_of(person, kind="back_pay").values_list("settle_period", flat=True)) == {
        202510
    }
    assert lines_of(person, kind="back_pay", settlement=later).count() == 4


def test_normal_unit_is_reviewed_vip_unit_approved_on_submit(staff_bj, region_bj):
    unit, admin = bp_unit(staff_bj, region_bj, 33)
    person = enrol(unit, 8)
    filing = backpay_save(actor=admin, kind=BACK, data=request(person, 202505))
    filing_submit(actor=admin, filing=filing)
    filing.refresh_from_db()
    assert filing.state == FilingState.SUBMITTED and not lines_of(person).exists()
    vip, vip_admin = bp_unit(staff_bj, region_bj, 34, vip=True)
    other = enrol(vip, 9)
    filing = backpay_save(actor=vip_admin, kind=BACK, data=request(other, 202505))
    filing_submit(actor=vip_admin, filing=filing)
    filing.refresh_from_db()
    assert filing.state == FilingState.APPROVED and lines_of(other).count() == 4


# --- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("month_from", "month_to", "field", "message"),
    [
        (202509, 202509, "month_to", "须早于当前结算期（2025年09月）"),
        (202508, 202510, "month_to", "须早于当前结算期"),
        (202512, 202601, "month_to", "须早于当前结算期"),
        (202507, 202506, "month_to", "不能早于起始年月"),
        (202509, "", "month_from", "须早于当前结算期"),
        (202505, "2025-13", "month_to", "格式应为yyyyMM"),
        (202001, 202509, "month_to", "须早于当前结算期"),
        (200001, 202508, "month_to", "一次最多补缴240个月"),
        ("2025-13", "", "month_from", "格式应为yyyyMM"),
        ("", "", "month_from", "请填写补缴起始年月"),
    ],
)
def test_months_must_be_before_the_current_period(unit_admin, month_from, month_to, field, message):
    unit, admin = unit_admin
    person = enrol(unit, 10)
    with pytest.raises(ValidationError) as exc:
        backpay_save(actor=admin, kind=BACK, data=request(person, month_from, month_to))
    assert message in errors_of(exc)[field][0]
    assert not lines_of(person).exists()


def test_months_before_the_enrolment_start_are_refused(unit_admin):
    unit, admin = unit_admin
    person = enrol(unit, 11, start=202506)
    with pytest.raises(ValidationError) as exc:
        backpay_save(actor=admin, kind=BACK, data=request(person, 202505, 202507))
    assert "补缴起始年月不能早于参保年月" in errors_of(exc)["month_from"][0]
    assert "2025年06月" in errors_of(exc)["month_from"][0]


def test_months_after_the_stop_are_refused_but_a_stopped_person_can_be_back_paid(
    unit_admin, staff_bj
):
    unit, admin = unit_admin
    person = enrol(unit, 12, start=202501, stop=202506)
    with pytest.raises(ValidationError) as exc:
        backpay_save(actor=admin, kind=BACK, data=request(person, 202505, 202508))
    assert "2025年07月至2025年08月不在本单位参保期间" in errors_of(exc)["month_from"][0]
    approved(admin, staff_bj, BACK, request(person, 202505, 202506))
    assert lines_of(person).count() == 8


def test_months_already_assessed_are_refused_with_a_pointer_to_adjustment(unit_admin, staff_bj):
    unit, admin = unit_admin
    person = enrol(unit, 13)
    approved(admin, staff_bj, BACK, request(person, 202506, 202507))
    with pytest.raises(ValidationError) as exc:
        backpay_save(actor=admin, kind=BACK, data=request(person, 202505, 202508))
    message = errors_of(exc)["month_from"][0]
    assert "已核定缴费，不能重复补缴" in message and ADJUST_HINT in message
    assert "2025年06月至2025年07月" in message
    assert lines_of(person).count() == 8


def test_months_of_a_normal_settlement_are_assessed_too(staff_bj, region_bj):
    unit, admin = bp_unit(staff_bj, region_bj, 35, current=202508)
    person = enrol(unit, 14)
    settlement_start(actor=admin, unit=unit)
    region_bj.current_period = CURRENT
    region_bj.save()
    with pytest.raises(ValidationError) as exc:
        backpay_save(actor=admin, kind=BACK, data=request(person, 202508, 202508))
    assert "调整基数补缴" in errors_of(exc)["month_from"][0]


def test_withdrawn_lines_do_not_count_as_assessed(unit_admin, staff_bj):
    unit, admin = unit_admin
    person = enrol(unit, 15)
    approved(admin, staff_bj, BACK, request(person, 202506))
    lines_of(person).update(withdrawn=True)
    approved(admin, staff_bj, BACK, request(person, 202506))
    assert lines_of(person).count() == 4


def test_months_without_parameters_are_refused(unit_admin):
    unit, admin = unit_admin
    person = enrol(unit, 16, start=202301)
    with pytest.raises(ValidationError) as exc:
        backpay_save(actor=admin, kind=BACK, data=request(person, 202405, 202408))
    message = errors_of(exc)["month_from"][0]
    assert "2024年05月至2024年06月" in message and "缴费参数" in message


@pytest.mark.parametrize(
    ("wage", "message"),
    [
        ("", "请填写缴费工资"),
        ("abc", "必须是数字"),
        ("-1", "应大于0"),
        ("0", "应大于0"),
        ("1.234", "两位小数"),
    ],
)
def test_bad_wage(unit_admin, wage, message):
    unit, admin = unit_admin
    person = enrol(unit, 17)
    with pytest.raises(ValidationError) as exc:
        backpay_save(actor=admin, kind=BACK, data=request(person, 202505, wage=wage))
    assert message in errors_of(exc)["wage"][0]


def test_type_not_held_at_the_unit_is_refused(unit_admin):
    unit, admin = unit_admin
    person = enrol(unit, 18, types=["110", "410"])
    with pytest.raises(ValidationError) as exc:
        backpay_save(actor=admin, kind=BACK, data=request(person, 202505, types=["210"]))
    assert "没有参加210" in errors_of(exc)["insurance_types"][0]
    # default: the person's types at the unit
    checked = backpay_preview(actor=admin, kind=BACK, data=request(person, 202505))
    assert {x.item for x in checked.plan.lines} == {"110", "410"}


def test_person_of_another_unit_answers_404(unit_admin, staff_bj, region_bj):
    _unit, admin = unit_admin
    other_unit = make_unit(staff_bj, region_bj, 36)
    stranger = enrol(other_unit, 19)
    with pytest.raises(Http404):
        backpay_save(actor=admin, kind=BACK, data=request(stranger, 202505))
    with pytest.raises(Http404):
        backpay_preview(actor=admin, kind=BACK, data=request(stranger, 202505))
    with pytest.raises(Http404):
        backpay_save(actor=admin, kind=BACK, data={**request(stranger, 202505), "person": "x"})


def test_another_units_filing_answers_404(unit_admin, staff_bj, region_bj):
    unit, admin = unit_admin
    person = enrol(unit, 20)
    filing = backpay_save(actor=admin, kind=BACK, data=request(person, 202505))
    other = make_admin(make_unit(staff_bj, region_bj, 37))
    other_person = enrol(other.unit, 21)
    from shebao.accounts.models import User

    other = User.objects.get(pk=other.pk)
    with pytest.raises(Http404):
        backpay_save(actor=other, kind=BACK, data=request(other_person, 202505), filing=filing)
    with pytest.raises(Http404):
        backpay_row_remove(actor=other, filing=filing, row_id=filing.rows.get().pk)


def test_permission(unit_admin, staff_bj):
    unit, _admin = unit_admin
    person = enrol(unit, 22)
    clerk = make_operator(unit, "clerk", ALL_BUT_BACK_PAY)
    with pytest.raises(PermissionDenied):
        backpay_save(actor=clerk, kind=BACK, data=request(person, 202505))
    with pytest.raises(PermissionDenied):
        backpay_preview(actor=staff_bj, kind=BACK, data=request(person, 202505))
    denied = AuditEntry.objects.filter(outcome="denied")
    assert sorted(denied.values_list("action", flat=True)) == ["backpay.preview", "backpay.save"]
    allowed = make_operator(unit, "payer", ["back_pay"])
    filing = backpay_save(actor=allowed, kind=BACK, data=request(person, 202505))
    assert filing.rows.count() == 1


def test_person_in_another_open_filing_is_refused(unit_admin):
    unit, admin = unit_admin
    person = enrol(unit, 23)
    first = backpay_save(actor=admin, kind=BACK, data=request(person, 202505))
    with pytest.raises(ValidationError) as exc:
        backpay_save(actor=admin, kind=SUPPLEMENT, data=request(person, 202506, types=["110"]))
    assert first.serial_no in errors_of(exc)["id_number"][0]


def test_saving_the_same_person_again_replaces_the_row_and_remove(unit_admin):
    unit, admin = unit_admin
    a, b = enrol(unit, 24), enrol(unit, 25)
    filing = backpay_save(actor=admin, kind=BACK, data=request(a, 202505))
    filing = backpay_save(actor=admin, kind=BACK, data=request(b, 202505), filing=filing)
    filing = backpay_save(
        actor=admin, kind=BACK, data=request(a, 202505, 202506, wage="8000"), filing=filing
    )
    rows = {r.person_id: r for r in filing.rows.all()}
    assert set(rows) == {a.pk, b.pk}
    assert rows[a.pk].payload["after"]["month_to"] == 202506
    assert rows[a.pk].payload["after"]["wage"] == "8000.00"
    filing = backpay_row_remove(actor=admin, filing=filing, row_id=rows[b.pk].pk)
    assert list(filing.rows.values_list("person_id", flat=True)) == [a.pk]
    with pytest.raises(ValidationError, match="只有这一名人员"):
        backpay_row_remove(actor=admin, filing=filing, row_id=filing.rows.get().pk)


def test_stale_preview_digest_saves_nothing(unit_admin):
    unit, admin = unit_admin
    person = enrol(unit, 26)
    with pytest.raises(ValidationError, match="请重新预览"):
        backpay_save(actor=admin, kind=BACK, data=request(person, 202505), expected_digest="x")
    checked = backpay_preview(actor=admin, kind=BACK, data=request(person, 202505))
    filing = backpay_save(
        actor=admin, kind=BACK, data=request(person, 202505), expected_digest=checked.plan.digest()
    )
    assert filing.rows.get().payload["preview"]["digest"] == checked.plan.digest()


def test_changed_parameters_between_save_and_submit_refuse_the_submit(unit_admin):
    unit, admin = unit_admin
    person = enrol(unit, 27)
    filing = backpay_save(actor=admin, kind=BACK, data=request(person, 202505))
    old = set_of("110000", 202505, "110")
    ParameterSet.objects.create(
        region_id="110000",
        insurance_type="110",
        valid_from=old.valid_from,
        version=old.version + 1,
        floor=D("6900"),
        cap=old.cap,
        unit_rate=old.unit_rate,
        personal_rate=old.personal_rate,
        source="更正",
    )
    with pytest.raises(ValidationError) as exc:
        filing_submit(actor=admin, filing=filing)
    assert CHANGED in exc.value.messages[0]
    filing.refresh_from_db()
    assert filing.state == FilingState.DRAFT


def test_changes_between_submit_and_approval_refuse_the_person(unit_admin, staff_bj):
    from shebao.filings.services import filing_approve

    unit, admin = unit_admin
    person = enrol(unit, 28)
    filing = backpay_save(actor=admin, kind=BACK, data=request(person, 202505))
    filing_submit(actor=admin, filing=filing)
    lines_of(person).delete()
    other = enrol(unit, 29)
    # a line of the month appears meanwhile (e.g. an enrolment's back pay)
    ContributionLine.objects.create(
        unit=unit,
        person=person,
        region_id="110000",
        item="110",
        settle_period=CURRENT,
        belongs_period=202505,
        kind="back_pay",
        base=D("6821"),
        unit_amount=D("1"),
        personal_amount=D("1"),
        parameter_set=set_of("110000", 202505, "110"),
    )
    with pytest.raises(ValidationError, match="可将该人员设为不通过"):
        filing_approve(actor=staff_bj, filing_id=filing.pk)
    filing.refresh_from_db()
    assert filing.state == FilingState.SUBMITTED
    assert not lines_of(other).exists()
    filing_approve(actor=staff_bj, filing_id=filing.pk, refused={filing.rows.get().pk: "已补缴"})
    assert lines_of(person).count() == 1


# --- 调整基数补缴 --------------------------------------------------------------------------------


def test_adjust_writes_the_difference_at_each_months_parameters(unit_admin, staff_bj):
    unit, admin = unit_admin
    person = enrol(unit, 40)
    approved(admin, staff_bj, BACK, request(person, 202505, 202508, wage="5000"))
    approved(admin, staff_bj, ADJUST, request(person, 202505, 202508, wage="10000"))
    adjust = list(lines_of(person, kind="adjust"))
    assert len(adjust) == 16
    by = {(x.belongs_period, x.item): x for x in adjust}
    assert by[(202505, "110")].base == D("3179.00")  # 10000 - 6821
    assert by[(202507, "110")].base == D("2838.00")  # 10000 - 7162
    assert by[(202505, "110")].unit_amount == D("1600.00") - D("1091.36")
    assert by[(202507, "110")].personal_amount == D("800.00") - D("572.96")
    # the personal 3 yuan of medical is not charged twice
    assert by[(202505, "310")].personal_amount == D("200.00") - D("136.42")
    # assessed + difference = what 10000 assesses, month by month
    for (period, item), x in by.items():
        (before,) = lines_of(person, belongs_period=period, item=item, kind="back_pay")
        fresh = compute(
            [to_params(set_of("110000", period, item))], D("10000"), injury_rate=D("0.004")
        ).lines[0]
        assert before.base + x.base == fresh.base
        assert before.unit_amount + x.unit_amount == fresh.unit
        assert before.personal_amount + x.personal_amount == fresh.personal


def test_adjust_skips_months_whose_new_base_is_not_higher(unit_admin, staff_bj):
    unit, admin = unit_admin
    person = enrol(unit, 41)
    approved(admin, staff_bj, BACK, request(person, 202505, 202508, wage="5000"))
    checked = backpay_preview(
        actor=admin, kind=ADJUST, data=request(person, 202505, 202508, wage="7000")
    )
    assert {x.period for x in checked.plan.lines} == {202505, 202506}
    assert {p for p, _ in checked.plan.unchanged} == {202507, 202508}
    assert "2025年07月至2025年08月" in checked.plan.unchanged_label
    with pytest.raises(ValidationError) as exc:
        backpay_save(actor=admin, kind=ADJUST, data=request(person, 202507, 202508, wage="7000"))
    assert "无需调整" in errors_of(exc)["wage"][0]


def test_adjust_twice_builds_on_the_previous_adjustment(unit_admin, staff_bj):
    unit, admin = unit_admin
    person = enrol(unit, 42)
    approved(admin, staff_bj, BACK, request(person, 202505, wage="5000", types=["110"]))
    approved(admin, staff_bj, ADJUST, request(person, 202505, wage="8000", types=["110"]))
    approved(admin, staff_bj, ADJUST, request(person, 202505, wage="9000", types=["110"]))
    lines = list(lines_of(person, item="110"))
    assert [x.base for x in lines] == [D("6821.00"), D("1179.00"), D("1000.00")]
    assert sum((x.unit_amount for x in lines), D("0")) == D("1440.00")


def test_adjust_of_months_not_assessed_points_to_back_pay(unit_admin):
    unit, admin = unit_admin
    person = enrol(unit, 43)
    with pytest.raises(ValidationError) as exc:
        backpay_save(actor=admin, kind=ADJUST, data=request(person, 202505, wage="9000"))
    assert "尚未核定缴费" in errors_of(exc)["month_from"][0]
    assert "核定基数补缴" in errors_of(exc)["month_from"][0]


def test_adjust_counts_only_this_units_lines(unit_admin, staff_bj, region_bj):
    unit, admin = unit_admin
    person = enrol(unit, 44, types=["410"])
    other_unit, other_admin = bp_unit(staff_bj, region_bj, 38)
    from shebao.registry.models import Enrolment

    Enrolment.objects.create(
        person=person,
        unit=other_unit,
        region=region_bj,
        insurance_type="410",
        start_period=202501,
        status="1",
        wage_base=D("5000"),
    )
    approved(other_admin, staff_bj, BACK, request(person, 202505, types=["410"]))
    # work injury may be held at two units: this unit has not assessed May yet
    with pytest.raises(ValidationError, match="尚未核定缴费"):
        backpay_save(actor=admin, kind=ADJUST, data=request(person, 202505, wage="9000"))
    approved(admin, staff_bj, BACK, request(person, 202505, types=["410"]))
    assert lines_of(person, item="410").count() == 2


# --- 个人补收 ------------------------------------------------------------------------------------


def test_supplement_one_type_of_one_person(unit_admin, staff_bj):
    unit, admin = unit_admin
    person = enrol(unit, 50)
    approved(admin, staff_bj, SUPPLEMENT, request(person, 202506, 202507, types=["110"]))
    lines = list(lines_of(person))
    assert [(x.belongs_period, x.item, x.kind) for x in lines] == [
        (202506, "110", "supplement"),
        (202507, "110", "supplement"),
    ]
    assert [x.base for x in lines] == [D("6821.00"), D("7162.00")]
    # the other types of those months are still open to 核定基数补缴; pension is not
    approved(admin, staff_bj, BACK, request(person, 202506, 202507, types=["210", "310", "410"]))
    with pytest.raises(ValidationError, match="已核定缴费"):
        backpay_save(actor=admin, kind=BACK, data=request(person, 202506, types=["110"]))


@pytest.mark.parametrize("types", [[], ["110", "210"]])
def test_supplement_needs_exactly_one_type(unit_admin, types):
    unit, admin = unit_admin
    person = enrol(unit, 51)
    with pytest.raises(ValidationError) as exc:
        backpay_save(actor=admin, kind=SUPPLEMENT, data=request(person, 202506, types=types))
    assert "请选择一个险种" in errors_of(exc)["insurance_types"][0]


def test_supplement_refused_for_assessed_months(unit_admin, staff_bj):
    unit, admin = unit_admin
    person = enrol(unit, 52)
    approved(admin, staff_bj, BACK, request(person, 202506))
    with pytest.raises(ValidationError) as exc:
        backpay_save(actor=admin, kind=SUPPLEMENT, data=request(person, 202506, types=["110"]))
    assert ADJUST_HINT in errors_of(exc)["month_from"][0]


# --- the filing's display -------------------------------------------------------------------------


def test_row_display_shows_months_wage_and_totals(unit_admin):
    from shebao.filings.kinds import handler_for

    unit, admin = unit_admin
    person = enrol(unit, 53)
    filing = backpay_save(actor=admin, kind=BACK, data=request(person, 202505, 202508))
    shown = dict(
        (label, after) for label, _, after in handler_for(BACK).row_display(filing.rows.get())
    )
    checked = backpay_preview(
        actor=admin, kind=BACK, data=request(person, 202505, 202508), filing=filing
    )
    assert shown["补缴月份"] == "2025年05月至2025年08月（4个月）"
    assert shown["合计"] == f"{checked.plan.total:.2f}"
    assert shown["明细条数"] == "16"
    assert filing.title.endswith("1人核定基数补缴")
