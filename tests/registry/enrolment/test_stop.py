"""人员停保 and 人员转出 through the services: several persons of the roster at once, the date
rules, the unpaid-contributions hook, another unit's person, permission, approval effects."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from shebao.core.periods import Period
from shebao.filings.business import BusinessKind
from shebao.filings.kinds import handler_for
from shebao.filings.models import Filing, FilingState
from shebao.filings.services import filing_approve, filing_submit
from shebao.registry.enrolment import services as enrolment
from shebao.registry.enrolment.selectors import unit_roster
from shebao.registry.enrolment.services import enrolment_save, stop_save
from shebao.registry.models import Enrolment
from tests.factories import make_admin, make_operator, make_unit
from tests.registry.enrolment_helpers import (
    TODAY,
    enrol,
    enrol_data,
    make_person,
    open_types,
    stop_data,
    stop_persons,
    submit_and_approve,
)

pytestmark = pytest.mark.django_db

LAST_WEEK = TODAY - timedelta(days=7)


@pytest.fixture
def staffed(unit_a):
    """Three persons on unit A's roster."""
    persons = [make_person(40 + i, name=name) for i, name in enumerate(["陈一", "陈二", "林三"])]
    for p in persons:
        enrol(p, unit_a)
    return persons


def test_stop_several_persons_at_once(admin_a, staff_bj, unit_a, staffed):
    one, two, _ = staffed
    filing = stop_save(
        actor=admin_a,
        data=stop_data(insurance_types=["110", "210"], stop_date=LAST_WEEK),
        person_ids=[one.pk, two.pk],
    )
    assert filing.kind == "stop" and filing.state == FilingState.DRAFT
    assert filing.title == "陈一、陈二2人停保"
    rows = list(filing.rows.order_by("id"))
    assert [r.person for r in rows] == [one, two]
    assert rows[0].payload["after"] == {
        "insurance_types": ["110", "210"],
        "reason": "11",
        "stop_date": LAST_WEEK.isoformat(),
        "stop_period": int(Period.of(LAST_WEEK)),
    }
    shown = handler_for("stop").row_display(rows[0])
    assert ("停保原因", "", "离职") in shown
    assert (
        "本单位参保险种",
        "110 企业职工基本养老保险、210 失业保险、310 职工基本医疗保险、410 工伤保险",
        "310 职工基本医疗保险、410 工伤保险",
    ) in shown

    submit_and_approve(admin_a, staff_bj, filing)
    for person in (one, two):
        assert open_types(person, unit_a) == ["310", "410"]
        ended = Enrolment.objects.filter(person=person, insurance_type__in=["110", "210"])
        for e in ended:
            assert e.stop_period == int(Period.of(LAST_WEEK))  # the last contributed month
            assert e.stop_date == LAST_WEEK and e.stop_reason == "11"
            assert e.stop_filing_id == filing.pk and e.status == Enrolment.Status.SUSPENDED
        person.refresh_from_db()
        assert person.last_change_date == LAST_WEEK
    assert open_types(staffed[2], unit_a) == ["110", "210", "310", "410"]


@pytest.mark.parametrize(
    ("reason", "status"),
    [("21", Enrolment.Status.ENDED), ("31", Enrolment.Status.ENDED), ("99", "2")],
)
def test_status_after_the_stop_follows_the_reason(admin_a, staff_bj, staffed, reason, status):
    stop_persons(admin_a, staff_bj, staffed[:1], reason=reason)
    assert set(Enrolment.objects.filter(person=staffed[0]).values_list("status", flat=True)) == {
        status
    }


def test_vip_unit_stop_is_approved_on_submit(staff_bj, region_bj):
    vip = make_unit(staff_bj, region_bj, 7, vip=True)
    admin = make_admin(vip)
    person = make_person(49)
    enrol(person, vip)
    filing = stop_save(actor=admin, data=stop_data(), person_ids=[person.pk])
    filing_submit(actor=admin, filing=filing)
    filing.refresh_from_db()
    assert filing.state == FilingState.APPROVED and open_types(person, vip) == []


def test_stop_date_in_the_future_is_refused(admin_a, staffed):
    with pytest.raises(ValidationError) as exc:
        stop_save(
            actor=admin_a,
            data=stop_data(stop_date=TODAY + timedelta(days=1)),
            person_ids=[staffed[0].pk],
        )
    assert exc.value.message_dict["stop_date"] == ["停保日期不能晚于今天"]
    assert not Filing.objects.exists()


def test_stop_date_before_the_last_change_is_refused(admin_a, staffed):
    person = staffed[0]
    person.last_change_date = LAST_WEEK
    person.save()
    with pytest.raises(ValidationError) as exc:
        stop_save(
            actor=admin_a,
            data=stop_data(stop_date=LAST_WEEK - timedelta(days=1)),
            person_ids=[person.pk, staffed[1].pk],
        )
    assert exc.value.message_dict["stop_date"] == [
        f"陈一：停保日期不能早于该人员上次变更日期（{LAST_WEEK.isoformat()}）"
    ]
    assert not Filing.objects.exists()
    stop_save(actor=admin_a, data=stop_data(stop_date=LAST_WEEK), person_ids=[person.pk])


def test_stop_month_before_the_start_month_is_refused(admin_a, unit_a):
    person = make_person(50, name="新来的")
    enrol(person, unit_a, start=int(Period.of(TODAY)))
    previous_month = Period.of(TODAY).first_day - timedelta(days=1)
    with pytest.raises(ValidationError) as exc:
        stop_save(actor=admin_a, data=stop_data(stop_date=previous_month), person_ids=[person.pk])
    assert "停保日期所在月份早于参保年月" in exc.value.message_dict["stop_date"][0]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"insurance_types": []}, "insurance_types", "请至少选择一个险种"),
        ({"reason": ""}, "reason", "请选择停保原因"),
        ({"reason": "77"}, "reason", "请选择停保原因"),
        ({"stop_date": None}, "stop_date", "请填写停保日期"),
    ],
)
def test_bad_input_is_refused_on_its_field(admin_a, staffed, overrides, field, message):
    with pytest.raises(ValidationError) as exc:
        stop_save(actor=admin_a, data=stop_data(**overrides), person_ids=[staffed[0].pk])
    assert exc.value.message_dict[field] == [message]


def test_no_person_ticked_is_refused(admin_a, staffed):
    with pytest.raises(ValidationError) as exc:
        stop_save(actor=admin_a, data=stop_data(), person_ids=[])
    assert exc.value.message_dict["persons"] == ["请至少勾选一名人员"]


def test_person_without_the_chosen_types_is_refused(admin_a, unit_a):
    person = make_person(51, name="只工伤")
    enrol(person, unit_a, ["410"])
    with pytest.raises(ValidationError) as exc:
        stop_save(actor=admin_a, data=stop_data(insurance_types=["110"]), person_ids=[person.pk])
    assert exc.value.message_dict["persons"] == ["只工伤：在本单位没有所选险种的正常参保记录"]


def test_duplicates_are_stopped_once(admin_a, staffed):
    filing = stop_save(
        actor=admin_a,
        data=stop_data(),
        person_ids=[staffed[0].pk, staffed[0].pk, str(staffed[0].pk)],
    )
    assert filing.rows.count() == 1


def test_person_in_another_open_filing_is_refused(admin_a, staffed):
    first = stop_save(actor=admin_a, data=stop_data(), person_ids=[staffed[0].pk])
    with pytest.raises(ValidationError) as exc:
        stop_save(actor=admin_a, data=stop_data(), person_ids=[staffed[0].pk])
    assert first.serial_no in exc.value.message_dict["persons"][0]


def test_unpaid_contributions_refuse_the_stop(admin_a, staffed, monkeypatch):
    assert enrolment.unpaid_periods(staffed[0], admin_a.unit) == []
    calls = []

    def unpaid(person, unit):
        calls.append((person.pk, unit.pk))
        return [202501, 202502] if person == staffed[0] else []

    monkeypatch.setattr(enrolment, "unpaid_periods", unpaid)
    with pytest.raises(ValidationError) as exc:
        stop_save(actor=admin_a, data=stop_data(), person_ids=[staffed[0].pk, staffed[1].pk])
    assert exc.value.message_dict["persons"] == [
        "陈一：存在欠缴（费款所属期 202501、202502），不能在网上办理停保，请先补缴"
    ]
    assert (staffed[0].pk, admin_a.unit_id) in calls


def test_unpaid_contributions_found_at_submit_refuse_it(admin_a, staffed, monkeypatch):
    filing = stop_save(actor=admin_a, data=stop_data(), person_ids=[staffed[0].pk])
    monkeypatch.setattr(enrolment, "unpaid_periods", lambda person, unit: [202501])
    with pytest.raises(ValidationError) as exc:
        filing_submit(actor=admin_a, filing=filing)
    assert "陈一：存在欠缴" in exc.value.messages[0]
    filing.refresh_from_db()
    assert filing.state == FilingState.DRAFT


def test_review_rechecks_the_last_change_date(admin_a, staff_bj, staffed):
    filing = stop_save(
        actor=admin_a, data=stop_data(stop_date=LAST_WEEK), person_ids=[staffed[0].pk]
    )
    filing_submit(actor=admin_a, filing=filing)
    staffed[0].last_change_date = TODAY
    staffed[0].save()
    with pytest.raises(ValidationError, match="陈一：停保日期不能早于该人员上次变更日期"):
        filing_approve(actor=staff_bj, filing_id=filing.pk)
    assert open_types(staffed[0], staffed[0].enrolments.first().unit) == [
        "110",
        "210",
        "310",
        "410",
    ]


def test_locked_person_can_be_stopped(admin_a, staff_bj, unit_a):
    person = make_person(52, is_locked=True, lock_reason="退休审批中")
    enrol(person, unit_a)
    filing = stop_persons(admin_a, staff_bj, [person])
    assert filing.state == FilingState.APPROVED and open_types(person, unit_a) == []


def test_edit_replaces_the_persons(admin_a, staffed):
    filing = stop_save(actor=admin_a, data=stop_data(), person_ids=[staffed[0].pk])
    stop_save(
        actor=admin_a,
        data=stop_data(reason="31"),
        person_ids=[staffed[1].pk, staffed[2].pk],
        filing=filing,
    )
    assert list(filing.rows.values_list("name", flat=True)) == ["陈二", "林三"]
    assert {r.payload["after"]["reason"] for r in filing.rows.all()} == {"31"}
    filing.refresh_from_db()
    assert filing.title == "陈二、林三2人停保"


# --- roster, another unit, permission ------------------------------------------------------------


def test_roster_is_the_units_insured_persons_searchable_by_name(admin_a, admin_b, unit_b, staffed):
    other = make_person(60, name="陈外单位")
    enrol(other, unit_b)
    assert list(unit_roster(admin_a)) == [staffed[2], staffed[0], staffed[1]]  # by name
    assert set(unit_roster(admin_a, q="陈")) == {staffed[0], staffed[1]}
    assert list(unit_roster(admin_a, q=staffed[2].person_no)) == [staffed[2]]
    assert list(unit_roster(admin_b)) == [other]


def test_another_units_person_answers_404_and_nothing_changes(admin_a, unit_b, staffed):
    other = make_person(60, name="外单位")
    enrol(other, unit_b)
    with pytest.raises(Http404):
        stop_save(actor=admin_a, data=stop_data(), person_ids=[staffed[0].pk, other.pk])
    with pytest.raises(Http404):
        stop_save(actor=admin_a, data=stop_data(), person_ids=[999999])
    assert not Filing.objects.exists()
    assert open_types(other, unit_b) == ["110", "210", "310", "410"]


def test_another_units_filing_answers_404(admin_a, admin_b, unit_b):
    other = make_person(60)
    enrol(other, unit_b)
    theirs = stop_save(actor=admin_b, data=stop_data(), person_ids=[other.pk])
    with pytest.raises(Http404):
        stop_save(actor=admin_a, data=stop_data(), person_ids=[], filing=theirs)
    assert theirs.rows.count() == 1


@pytest.mark.parametrize(
    ("kind", "kinds"),
    [
        ("stop", [BusinessKind.ENROLMENT, BusinessKind.TRANSFER]),
        ("transfer_out", [BusinessKind.ENROLMENT, BusinessKind.STOP]),
    ],
)
def test_operator_without_the_business_is_denied(admin_a, unit_a, staffed, kind, kinds):
    clerk = make_operator(unit_a, "clerk", kinds)
    with pytest.raises(PermissionDenied):
        stop_save(actor=clerk, data=stop_data(), person_ids=[staffed[0].pk], kind=kind)
    assert not Filing.objects.exists()


def test_operator_with_the_stop_business_may_file(admin_a, unit_a, staffed):
    clerk = make_operator(unit_a, "clerk", [BusinessKind.STOP])
    assert stop_save(actor=clerk, data=stop_data(), person_ids=[staffed[0].pk]).rows.count() == 1


# --- 转出 -----------------------------------------------------------------------------------------


def test_transfer_out_stops_every_type_with_reason_transfer(admin_a, staff_bj, unit_a, staffed):
    person = staffed[0]
    filing = stop_save(
        actor=admin_a,
        data={"stop_date": LAST_WEEK, "reason": "11", "insurance_types": ["110"]},  # ignored
        person_ids=[person.pk],
        kind="transfer_out",
    )
    assert filing.kind == "transfer_out" and filing.title == "陈一1人转出"
    submit_and_approve(admin_a, staff_bj, filing)
    rows = Enrolment.objects.filter(person=person)
    assert {(e.stop_reason, e.stop_date, e.status) for e in rows} == {
        ("51", LAST_WEEK, Enrolment.Status.SUSPENDED)
    }
    assert open_types(person, unit_a) == []


def test_transferred_person_is_taken_up_by_the_next_unit(
    admin_a, admin_b, staff_bj, unit_a, unit_b, staffed
):
    person = staffed[0]
    stop_persons(admin_a, staff_bj, [person], kind="transfer_out", stop_date=TODAY)
    filing = enrolment_save(
        actor=admin_b,
        kind="transfer_in",
        data=enrol_data(person.id_number, start_period=str(Period.of(TODAY) + 1)),
    )
    submit_and_approve(admin_b, staff_bj, filing)
    assert open_types(person, unit_b) == ["110", "210", "310", "410"]
    assert open_types(person, unit_a) == []


def test_transfer_out_needs_a_person_on_the_roster(admin_a, unit_a):
    person = make_person(61)
    with pytest.raises(Http404):
        stop_save(actor=admin_a, data=stop_data(), person_ids=[person.pk], kind="transfer_out")
