"""人员参保 (new, 续保, 险种新增) and 人员转入 through the services: what typing an ID number
decides, each refusal rule, batch drafts, approval effects, another unit's filing, permission."""

import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from pypdf import PdfWriter

from shebao.core.models import AuditEntry
from shebao.filings.business import BusinessKind
from shebao.filings.kinds import handler_for
from shebao.filings.materials import check_material
from shebao.filings.models import Filing, FilingMaterial, FilingRow, FilingState
from shebao.filings.selectors import unit_todo
from shebao.filings.services import filing_approve, filing_cancel, filing_return, filing_submit
from shebao.registry.enrolment.calc import ADD_TYPES, BETWEEN_UNITS, NEW, RESUME, TRANSFER_IN
from shebao.registry.enrolment.selectors import enrolment_lookup
from shebao.registry.enrolment.services import enrolment_save, filing_row_remove
from shebao.registry.models import Enrolment, Person, Unit
from tests.conftest import jpeg_bytes
from tests.factories import make_admin, make_operator, make_staff, make_unit
from tests.registry.enrolment_helpers import (
    CURRENT,
    FIRST_WORK,
    TODAY,
    enrol,
    enrol_data,
    enrol_new,
    ident,
    make_person,
    open_types,
    stop_persons,
    stopped,
    submit_and_approve,
)

pytestmark = pytest.mark.django_db


def errors_of(exc: pytest.ExceptionInfo) -> dict:
    return exc.value.message_dict


# --- new enrolment ---------------------------------------------------------------------------------


def test_lookup_of_a_never_insured_person_decides_new_enrolment(admin_a):
    lookup = enrolment_lookup(actor=admin_a, id_number=ident(11).lower())
    assert lookup.ok and lookup.business == NEW and lookup.business_label == "新参保"
    assert lookup.person is None
    assert lookup.available == ["110", "210", "310", "410"]
    assert lookup.birth_date == date(1990, 3, 7) and lookup.sex_label == "男"
    entry = AuditEntry.objects.get(action="enrolment.lookup")
    assert ident(11) not in entry.object_label and "**" in entry.object_label


def test_new_enrolment_is_saved_as_a_draft_then_reviewed_and_applied(admin_a, staff_bj, unit_a):
    filing = enrolment_save(actor=admin_a, data=enrol_data(ident(11)))

    assert filing.state == FilingState.DRAFT and filing.serial_no
    assert filing.kind == "enrolment" and filing.unit == unit_a
    assert filing.title == "李新员1人参保"
    row = filing.rows.get()
    assert row.person is None and row.id_number == ident(11) and row.name == "李新员"
    after = row.payload["after"]
    assert after["business"] == NEW and after["birth_date"] == "1990-03-07" and after["sex"] == "1"
    assert after["back_pay"] is False and after["wage"] == "6500.00"
    assert not Person.objects.exists()

    filing_submit(actor=admin_a, filing=filing)
    filing.refresh_from_db()
    assert filing.state == FilingState.SUBMITTED  # a normal unit waits for review
    filing_approve(actor=staff_bj, filing_id=filing.pk)

    person = Person.objects.get(Person.id_number.q(ident(11)))
    assert (person.name, person.sex, person.birth_date) == ("李新员", "1", date(1990, 3, 7))
    assert person.person_no.startswith("1100") and person.first_work_date == FIRST_WORK
    assert person.hukou == "11" and person.mobile == "13811112222"
    assert person.last_change_date == CURRENT.first_day
    enrolments = list(Enrolment.objects.filter(person=person).order_by("insurance_type"))
    assert [e.insurance_type for e in enrolments] == ["110", "210", "310", "410"]
    for e in enrolments:
        assert e.unit == unit_a and e.region_id == "110000"
        assert e.start_period == int(CURRENT) and e.stop_period is None
        assert e.status == Enrolment.Status.ACTIVE and e.wage_base == Decimal("6500.00")
        assert e.scope == Enrolment.Scope.REGULAR and e.back_pay is False
        assert e.contract_start == date(2024, 1, 1) and e.contract_end is None
        assert e.employment_registered and e.start_filing_id == filing.pk
    row.refresh_from_db()
    assert row.person == person and row.result == FilingRow.Result.APPROVED and not row.is_open


def test_vip_unit_enrolment_is_approved_on_submit(staff_bj, region_bj):
    vip = make_unit(staff_bj, region_bj, 7, vip=True)
    admin = make_admin(vip)
    filing = enrolment_save(actor=admin, data=enrol_data(ident(11)))
    filing_submit(actor=admin, filing=filing)
    filing.refresh_from_db()
    assert filing.state == FilingState.APPROVED
    assert filing.steps.last().action == "auto"
    assert open_types(Person.objects.get(), vip) == ["110", "210", "310", "410"]


@pytest.mark.parametrize(
    ("months_back", "waive", "expected"),
    [(0, False, False), (1, False, True), (3, False, True), (3, True, False)],
)
def test_back_pay_flag_follows_the_settlement_period_and_is_the_same_for_all_types(
    admin_a, staff_bj, unit_a, months_back, waive, expected
):
    start = CURRENT - months_back
    person = enrol_new(admin_a, staff_bj, ident(11), start_period=str(start), waive_back_pay=waive)
    flags = set(Enrolment.objects.filter(person=person).values_list("back_pay", flat=True))
    assert flags == {expected}


def test_back_pay_uses_the_regions_settlement_period(admin_a, staff_bj, region_bj):
    region_bj.current_period = int(CURRENT + 1)  # staff opened the next period
    region_bj.save()
    person = enrol_new(admin_a, staff_bj, ident(11), start_period=str(CURRENT))
    assert set(Enrolment.objects.filter(person=person).values_list("back_pay", flat=True)) == {True}


def test_start_month_before_the_first_work_date_month_is_refused(admin_a):
    with pytest.raises(ValidationError) as exc:
        enrolment_save(
            actor=admin_a,
            data=enrol_data(ident(11), first_work_date=date(2024, 5, 20), start_period="202404"),
        )
    assert errors_of(exc)["start_period"] == ["参保年月不能早于参加工作日期所在月份（2024年05月）"]
    assert not Filing.objects.exists()


def test_start_month_in_the_first_work_month_is_accepted(admin_a):
    filing = enrolment_save(
        actor=admin_a,
        data=enrol_data(ident(11), first_work_date=date(2024, 5, 20), start_period="202405"),
    )
    assert filing.rows.get().payload["after"]["start_period"] == 202405


def test_start_month_after_the_next_settlement_period_is_refused(admin_a):
    with pytest.raises(ValidationError) as exc:
        enrolment_save(actor=admin_a, data=enrol_data(ident(11), start_period=str(CURRENT + 2)))
    assert "不能晚于下一结算期" in errors_of(exc)["start_period"][0]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("start_period", "2024-13", "参保年月格式应为yyyyMM"),
        ("first_work_date", TODAY + timedelta(days=1), "参加工作日期不能晚于今天"),
        ("first_work_date", date(2005, 3, 6), "参加工作日期早于年满16周岁"),
        ("first_work_date", None, "请填写参加工作日期"),
        ("name", "  ", "请填写姓名"),
        ("hukou", "", "请选择户口性质"),
        ("mobile", "12345", "请填写11位手机号码"),
        ("insurance_types", [], "请至少选择一个险种"),
        ("insurance_types", ["110", "510"], "不能选择510 生育保险（本单位未参加）"),
        ("wage", Decimal("0"), "申报工资应大于0"),
        ("wage", Decimal("123.456"), "申报工资最多保留两位小数"),
        ("contract_start", None, "请填写劳动合同起始日期"),
        ("contract_end", date(2023, 12, 31), "劳动合同终止日期不能早于起始日期"),
        ("scope", "9", "请选择用工形式"),
    ],
)
def test_bad_input_gets_a_message_on_its_field_and_nothing_is_saved(admin_a, field, value, message):
    with pytest.raises(ValidationError) as exc:
        enrolment_save(actor=admin_a, data=enrol_data(ident(11), **{field: value}))
    assert message in errors_of(exc)[field][0]
    assert not Filing.objects.exists() and not FilingRow.objects.exists()


def test_invalid_id_number_is_refused_on_the_id_field(admin_a):
    bad = ident(11)[:-1] + ("0" if ident(11)[-1] != "0" else "1")
    with pytest.raises(ValidationError) as exc:
        enrolment_lookup(actor=admin_a, id_number=bad)
    assert "校验位错误" in errors_of(exc)["id_number"][0]
    with pytest.raises(ValidationError) as exc:
        enrolment_save(actor=admin_a, data=enrol_data(bad))
    assert "校验位错误" in errors_of(exc)["id_number"][0]


def test_migrant_two_types_needs_rural_hukou_and_only_medical_and_injury(admin_a, staff_bj, unit_a):
    with pytest.raises(ValidationError) as exc:
        enrolment_save(actor=admin_a, data=enrol_data(ident(11), scope="2"))
    assert "只适用于农村户口" in errors_of(exc)["scope"][0]
    with pytest.raises(ValidationError) as exc:
        enrolment_save(actor=admin_a, data=enrol_data(ident(11), scope="2", hukou="22"))
    assert "农民工两险只参加" in errors_of(exc)["insurance_types"][0]

    person = enrol_new(
        admin_a, staff_bj, ident(11), scope="2", hukou="22", insurance_types=["410", "310"]
    )
    assert open_types(person, unit_a) == ["310", "410"]
    assert set(Enrolment.objects.values_list("scope", flat=True)) == {"2"}


def test_migrant_five_types_is_allowed_for_rural_hukou(admin_a, staff_bj, unit_a):
    person = enrol_new(admin_a, staff_bj, ident(11), scope="5", hukou="12")
    assert open_types(person, unit_a) == ["110", "210", "310", "410"]


def test_unit_that_is_not_active_cannot_enrol(admin_a, unit_a):
    Unit.objects.filter(pk=unit_a.pk).update(status=Unit.Status.SUSPENDED)
    lookup = enrolment_lookup(actor=admin_a, id_number=ident(11))
    assert "本单位状态为“暂停”" in lookup.refusal
    with pytest.raises(ValidationError):
        enrolment_save(actor=admin_a, data=enrol_data(ident(11)))


# --- photo -----------------------------------------------------------------------------------------


def test_photo_is_checked_kept_with_the_filing_and_given_to_the_person(admin_a, staff_bj):
    photo = check_material(jpeg_bytes((400, 500)), name="证件照.jpg")
    filing = enrolment_save(actor=admin_a, data=enrol_data(ident(11)), photo=photo)
    slot = filing.rows.get().payload["after"]["photo_slot"]
    assert slot.startswith("photo_") and ident(11) not in slot
    material = FilingMaterial.objects.get(filing=filing)
    assert material.slot == slot and ident(11) not in material.file.name

    submit_and_approve(admin_a, staff_bj, filing)
    person = Person.objects.get()
    assert person.photo.name.startswith("photos/") and ident(11) not in person.photo.name
    with person.photo.open("rb") as f:
        assert f.read(3) == b"\xff\xd8\xff"


def test_pdf_is_not_a_photo(admin_a):
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    buf = io.BytesIO()
    writer.write(buf)
    pdf = check_material(buf.getvalue(), name="照片.pdf")
    with pytest.raises(ValidationError) as exc:
        enrolment_save(actor=admin_a, data=enrol_data(ident(11)), photo=pdf)
    assert errors_of(exc)["photo"] == ["社保卡照片须为 JPG 或 PNG 图片"]


# --- existing persons: 续保, 险种新增, 单位间转移 -----------------------------------------------------


def test_person_stopped_before_is_resumed_keeping_key_data(admin_a, staff_bj, unit_a, unit_b):
    person = make_person(21, name="赵续保")
    stopped(person, unit_b, stop=202001)
    lookup = enrolment_lookup(actor=admin_a, id_number=person.id_number)
    assert lookup.ok and lookup.business == RESUME and lookup.person == person

    filing = enrolment_save(
        actor=admin_a,
        data=enrol_data(
            person.id_number, name="改名字", hukou="21", mobile="13900009999", address="新地址"
        ),
    )
    assert filing.rows.get().name == "赵续保"
    submit_and_approve(admin_a, staff_bj, filing)

    person.refresh_from_db()
    assert person.name == "赵续保"  # key data never changes through an enrolment
    assert (person.hukou, person.mobile, person.address) == ("21", "13900009999", "新地址")
    assert open_types(person, unit_a) == ["110", "210", "310", "410"]
    assert Enrolment.objects.filter(person=person).count() == 8


def test_resumption_must_start_after_the_last_stop_month(admin_a, unit_b):
    person = make_person(21)
    stopped(person, unit_b, stop=int(CURRENT - 1), stop_date=(CURRENT - 1).first_day)
    with pytest.raises(ValidationError) as exc:
        enrolment_save(
            actor=admin_a, data=enrol_data(person.id_number, start_period=str(CURRENT - 1))
        )
    assert "参保年月须晚于该人员上次停保年月" in errors_of(exc)["start_period"][0]
    enrolment_save(actor=admin_a, data=enrol_data(person.id_number, start_period=str(CURRENT)))


def test_person_insured_here_for_some_types_gets_the_others_added(admin_a, staff_bj, unit_a):
    person = make_person(22)
    enrol(person, unit_a, ["310", "410"])
    lookup = enrolment_lookup(actor=admin_a, id_number=person.id_number)
    assert lookup.business == ADD_TYPES and lookup.business_label == "险种新增"
    assert lookup.open_here == ["310", "410"] and lookup.available == ["110", "210"]

    with pytest.raises(ValidationError) as exc:
        enrolment_save(actor=admin_a, data=enrol_data(person.id_number))
    assert "已在本单位参保" in errors_of(exc)["insurance_types"][0]

    filing = enrolment_save(
        actor=admin_a, data=enrol_data(person.id_number, insurance_types=["110", "210"])
    )
    submit_and_approve(admin_a, staff_bj, filing)
    assert open_types(person, unit_a) == ["110", "210", "310", "410"]


def test_person_insured_here_for_all_types_has_nothing_to_add(admin_a, unit_a):
    person = make_person(22)
    enrol(person, unit_a)
    lookup = enrolment_lookup(actor=admin_a, id_number=person.id_number)
    assert lookup.refusal == "该人员已在本单位参加全部险种，无需新增"


def test_person_insured_at_another_unit_is_refused_until_the_old_unit_stops(
    admin_a, admin_b, staff_bj, unit_a, unit_b
):
    person = make_person(23)
    enrol(person, unit_b)
    lookup = enrolment_lookup(actor=admin_a, id_number=person.id_number)
    assert lookup.business == BETWEEN_UNITS and lookup.business_label == "单位间转移"
    assert "须由原单位先办理停保或转出" in lookup.refusal
    assert unit_b.name not in lookup.refusal  # another unit is not named
    with pytest.raises(ValidationError) as exc:
        enrolment_save(actor=admin_a, data=enrol_data(person.id_number))
    assert "须由原单位先办理停保或转出" in errors_of(exc)["id_number"][0]
    assert not Filing.objects.filter(unit=unit_a).exists()

    stop_persons(admin_b, staff_bj, [person], stop_date=TODAY)
    lookup = enrolment_lookup(actor=admin_a, id_number=person.id_number)
    assert lookup.ok and lookup.business == RESUME


def test_flexible_worker_must_stop_individual_enrolment_first(admin_a, region_bj):
    person = make_person(24)
    enrol(person, None, ["110"], region=region_bj)
    lookup = enrolment_lookup(actor=admin_a, id_number=person.id_number)
    assert "以个人身份（灵活就业）参保" in lookup.refusal


def test_work_injury_may_be_held_at_several_units(admin_a, staff_bj, unit_a, unit_b):
    person = make_person(25)
    enrol(person, unit_b, ["410"])
    lookup = enrolment_lookup(actor=admin_a, id_number=person.id_number)
    assert lookup.ok and lookup.business == NEW
    assert any("工伤保险可在多个单位同时参加" in n for n in lookup.notes)

    filing = enrolment_save(actor=admin_a, data=enrol_data(person.id_number))
    submit_and_approve(admin_a, staff_bj, filing)
    assert open_types(person, unit_a) == ["110", "210", "310", "410"]
    assert open_types(person, unit_b) == ["410"]


def test_person_who_died_cannot_be_enrolled(admin_a, unit_b):
    person = make_person(26)
    stopped(person, unit_b, reason=Enrolment.StopReason.DEATH)
    assert enrolment_lookup(actor=admin_a, id_number=person.id_number).refusal == (
        "该人员已办理死亡停保，不能参保"
    )


def test_locked_person_can_be_enrolled_and_the_lock_is_shown(admin_a, staff_bj, unit_a, unit_b):
    person = make_person(27, is_locked=True, lock_reason="退休审批中")
    stopped(person, unit_b)
    lookup = enrolment_lookup(actor=admin_a, id_number=person.id_number)
    assert lookup.ok and any("已锁定（退休审批中）" in n for n in lookup.notes)
    filing = enrolment_save(actor=admin_a, data=enrol_data(person.id_number))
    row = filing.rows.get()
    shown = handler_for("enrolment").row_display(row)
    assert ("信息锁定", "", "已锁定 退休审批中") in shown
    submit_and_approve(admin_a, staff_bj, filing)
    assert open_types(person, unit_a) == ["110", "210", "310", "410"]


# --- one open filing per person, duplicates ------------------------------------------------------


def test_person_in_another_open_filing_of_the_same_unit_names_its_serial_number(admin_a):
    first = enrolment_save(actor=admin_a, data=enrol_data(ident(11)))
    lookup = enrolment_lookup(actor=admin_a, id_number=ident(11))
    assert first.serial_no in lookup.refusal and "人员参保" in lookup.refusal
    with pytest.raises(ValidationError) as exc:
        enrolment_save(actor=admin_a, data=enrol_data(ident(11)))
    assert first.serial_no in errors_of(exc)["id_number"][0]
    assert Filing.objects.count() == 1


def test_person_in_another_units_open_filing_is_refused_without_its_serial_number(admin_a, admin_b):
    other = enrolment_save(actor=admin_b, data=enrol_data(ident(11)))
    lookup = enrolment_lookup(actor=admin_a, id_number=ident(11))
    assert lookup.refusal == "李新员在其他单位有正在办理的业务，暂不能办理"
    assert other.serial_no not in lookup.refusal
    with pytest.raises(ValidationError) as exc:
        enrolment_save(actor=admin_a, data=enrol_data(ident(11)))
    assert other.serial_no not in str(exc.value)


def test_the_same_person_twice_in_one_filing_is_refused(admin_a):
    filing = enrolment_save(actor=admin_a, data=enrol_data(ident(11)))
    lookup = enrolment_lookup(actor=admin_a, id_number=ident(11), filing=filing)
    assert lookup.refusal == "该人员已在本业务中，请在人员列表中修改"
    with pytest.raises(ValidationError) as exc:
        enrolment_save(actor=admin_a, data=enrol_data(ident(11)), filing=filing)
    assert errors_of(exc)["id_number"] == ["该人员已在本业务中，请在人员列表中修改"]
    assert filing.rows.count() == 1


def test_a_cancelled_filing_frees_the_person(admin_a):
    first = enrolment_save(actor=admin_a, data=enrol_data(ident(11)))
    filing_cancel(actor=admin_a, filing=first)
    assert enrolment_lookup(actor=admin_a, id_number=ident(11)).ok


# --- batch: several persons in one draft ------------------------------------------------------------


def test_save_adds_persons_to_the_draft_shown_in_the_todo_list(admin_a, staff_bj, unit_a):
    filing = enrolment_save(actor=admin_a, data=enrol_data(ident(11), name="甲"))
    again = enrolment_save(actor=admin_a, data=enrol_data(ident(13), name="乙"), filing=filing)
    again = enrolment_save(actor=admin_a, data=enrol_data(ident(15), name="丙"), filing=again)
    assert again.pk == filing.pk and again.serial_no == filing.serial_no
    assert list(again.rows.values_list("name", flat=True)) == ["甲", "乙", "丙"]
    assert again.title == "甲、乙、丙3人参保"
    todo = unit_todo(admin_a)
    assert [f.serial_no for f in todo] == [filing.serial_no]

    submit_and_approve(admin_a, staff_bj, again)
    assert Person.objects.count() == 3
    assert Enrolment.objects.filter(unit=unit_a).count() == 12


def test_reviewer_may_refuse_one_person_and_approve_the_others(admin_a, staff_bj, unit_a):
    filing = enrolment_save(actor=admin_a, data=enrol_data(ident(11), name="甲"))
    enrolment_save(actor=admin_a, data=enrol_data(ident(13), name="乙"), filing=filing)
    refused = filing.rows.get(name="乙")
    submit_and_approve(admin_a, staff_bj, filing, refused={refused.pk: "劳动合同日期有误"})
    assert list(Person.objects.values_list("name", flat=True)) == ["甲"]
    refused.refresh_from_db()
    assert refused.result == "refused" and not refused.is_open
    assert enrolment_lookup(actor=admin_a, id_number=ident(13)).ok  # free for a new filing


def test_edit_one_person_of_the_draft(admin_a):
    filing = enrolment_save(actor=admin_a, data=enrol_data(ident(11), name="甲"))
    enrolment_save(actor=admin_a, data=enrol_data(ident(13), name="乙"), filing=filing)
    row = filing.rows.get(name="甲")
    enrolment_save(
        actor=admin_a,
        data=enrol_data(ident(11), name="甲", wage=Decimal("8800")),
        filing=filing,
        row_id=row.pk,
    )
    rows = list(filing.rows.all())
    assert [r.name for r in rows] == ["甲", "乙"]
    assert rows[0].payload["after"]["wage"] == "8800.00"

    with pytest.raises(ValidationError) as exc:
        enrolment_save(actor=admin_a, data=enrol_data(ident(15)), filing=filing, row_id=rows[0].pk)
    assert "不能更改身份证号码" in errors_of(exc)["id_number"][0]
    with pytest.raises(Http404):
        enrolment_save(actor=admin_a, data=enrol_data(ident(11)), filing=filing, row_id=999999)


def test_remove_a_person_but_never_the_last(admin_a):
    photo = check_material(jpeg_bytes((400, 500)), name="a.jpg")
    filing = enrolment_save(actor=admin_a, data=enrol_data(ident(11), name="甲"), photo=photo)
    enrolment_save(actor=admin_a, data=enrol_data(ident(13), name="乙"), filing=filing)
    assert FilingMaterial.objects.count() == 1
    filing_row_remove(actor=admin_a, filing=filing, row_id=filing.rows.get(name="甲").pk)
    assert list(filing.rows.values_list("name", flat=True)) == ["乙"]
    assert FilingMaterial.objects.count() == 0  # the removed person's photo went too
    with pytest.raises(ValidationError, match="不能移除"):
        filing_row_remove(actor=admin_a, filing=filing, row_id=filing.rows.get().pk)


def test_returned_filing_is_fixed_and_resubmitted(admin_a, staff_bj, unit_a):
    filing = enrolment_save(actor=admin_a, data=enrol_data(ident(11), wage=Decimal("100")))
    filing_submit(actor=admin_a, filing=filing)
    filing_return(actor=staff_bj, filing_id=filing.pk, reason="申报工资过低，请核实")
    filing.refresh_from_db()
    assert filing.state == FilingState.RETURNED and filing.was_returned
    row = filing.rows.get()
    enrolment_save(
        actor=admin_a,
        data=enrol_data(ident(11), wage=Decimal("7000")),
        filing=filing,
        row_id=row.pk,
    )
    submit_and_approve(admin_a, staff_bj, filing)
    assert set(Enrolment.objects.values_list("wage_base", flat=True)) == {Decimal("7000.00")}


def test_submitted_filing_cannot_be_edited(admin_a):
    filing = enrolment_save(actor=admin_a, data=enrol_data(ident(11)))
    filing_submit(actor=admin_a, filing=filing)
    with pytest.raises(ValidationError, match="不能修改"):
        enrolment_save(actor=admin_a, data=enrol_data(ident(13)), filing=filing)


# --- the registry changed between save, submit and review ---------------------------------------


def test_submit_checks_the_persons_again(admin_a, unit_b):
    person = make_person(21, name="钱变化")
    stopped(person, unit_b)
    filing = enrolment_save(actor=admin_a, data=enrol_data(person.id_number))
    enrol(person, unit_b, start=int(CURRENT))  # meanwhile insured again at the old unit
    with pytest.raises(ValidationError) as exc:
        filing_submit(actor=admin_a, filing=filing)
    assert "钱变化：该人员正在其他单位参保" in exc.value.messages[0]
    filing.refresh_from_db()
    assert filing.state == FilingState.DRAFT


def test_review_checks_the_persons_again_and_the_reviewer_refuses_the_row(
    admin_a, staff_bj, unit_a, unit_b
):
    person = make_person(21, name="孙冲突")
    stopped(person, unit_b)
    filing = enrolment_save(actor=admin_a, data=enrol_data(person.id_number))
    enrolment_save(actor=admin_a, data=enrol_data(ident(13), name="乙"), filing=filing)
    filing_submit(actor=admin_a, filing=filing)
    enrol(person, unit_b, ["110"], start=int(CURRENT))
    with pytest.raises(ValidationError) as exc:
        filing_approve(actor=staff_bj, filing_id=filing.pk)
    assert "孙冲突：" in exc.value.messages[0] and "不通过" in exc.value.messages[0]
    filing.refresh_from_db()
    assert filing.state == FilingState.SUBMITTED
    assert not Enrolment.objects.filter(unit=unit_a).exists()

    row = filing.rows.get(name="孙冲突")
    filing_approve(actor=staff_bj, filing_id=filing.pk, refused={row.pk: "已在其他单位参保"})
    assert Enrolment.objects.filter(unit=unit_a).count() == 4


# --- another unit, permission ----------------------------------------------------------------------


def test_another_units_filing_answers_404_and_nothing_changes(admin_a, admin_b):
    theirs = enrolment_save(actor=admin_b, data=enrol_data(ident(11)))
    before = list(FilingRow.objects.values_list("pk", "payload"))
    with pytest.raises(Http404):
        enrolment_save(actor=admin_a, data=enrol_data(ident(13)), filing=theirs)
    with pytest.raises(Http404):
        enrolment_lookup(actor=admin_a, id_number=ident(13), filing=theirs)
    with pytest.raises(Http404):
        filing_row_remove(actor=admin_a, filing=theirs, row_id=theirs.rows.get().pk)
    assert list(FilingRow.objects.values_list("pk", "payload")) == before


@pytest.mark.parametrize("kinds", [[], [BusinessKind.STOP, BusinessKind.TRANSFER]])
def test_operator_without_the_enrolment_business_is_denied(admin_a, unit_a, kinds):
    clerk = make_operator(unit_a, "clerk", kinds)
    with pytest.raises(PermissionDenied):
        enrolment_lookup(actor=clerk, id_number=ident(11))
    with pytest.raises(PermissionDenied):
        enrolment_save(actor=clerk, data=enrol_data(ident(11)))
    assert not Filing.objects.exists()
    assert AuditEntry.objects.filter(outcome="denied").exists()


def test_operator_with_the_enrolment_business_may_file(admin_a, unit_a):
    clerk = make_operator(unit_a, "clerk", [BusinessKind.ENROLMENT])
    assert enrolment_save(actor=clerk, data=enrol_data(ident(11))).created_by == clerk


def test_staff_and_persons_cannot_file_enrolments(staff_bj, person_user):
    for actor in (staff_bj, person_user):
        with pytest.raises(PermissionDenied):
            enrolment_save(actor=actor, data=enrol_data(ident(11)))


# --- 转入 -------------------------------------------------------------------------------------------


def test_transfer_out_then_transfer_in_keeps_the_persons_data(
    admin_a, admin_b, staff_bj, unit_a, unit_b
):
    person = make_person(31, name="周转移", hukou="12", mobile="13700002222")
    enrol(person, unit_b)
    stop_persons(admin_b, staff_bj, [person], kind="transfer_out", stop_date=TODAY)
    assert open_types(person, unit_b) == []

    lookup = enrolment_lookup(actor=admin_a, id_number=person.id_number, kind="transfer_in")
    assert lookup.ok and lookup.business == TRANSFER_IN and lookup.business_label == "转入"
    assert any("由原单位办理转出" in n for n in lookup.notes)

    start = CURRENT + 1
    filing = enrolment_save(
        actor=admin_a,
        kind="transfer_in",
        data=enrol_data(
            person.id_number, hukou="11", mobile="13900000000", start_period=str(start)
        ),
    )
    assert filing.kind == "transfer_in" and filing.title == "周转移1人转入"
    submit_and_approve(admin_a, staff_bj, filing)
    person.refresh_from_db()
    assert (person.hukou, person.mobile) == ("12", "13700002222")  # kept
    assert open_types(person, unit_a) == ["110", "210", "310", "410"]
    assert set(
        Enrolment.objects.filter(person=person, unit=unit_a).values_list("start_filing", flat=True)
    ) == {filing.pk}


def test_enrolment_of_a_transferred_out_person_is_a_resumption_with_a_hint(
    admin_a, admin_b, staff_bj, unit_b
):
    person = make_person(31)
    enrol(person, unit_b)
    stop_persons(admin_b, staff_bj, [person], kind="transfer_out")
    lookup = enrolment_lookup(actor=admin_a, id_number=person.id_number)
    assert lookup.business == RESUME and any("转入" in n for n in lookup.notes)


def test_transfer_in_refusals(admin_a, staff_bj, region_sh, unit_a, unit_b):
    never = ident(11)
    assert (
        "从未参保" in enrolment_lookup(actor=admin_a, id_number=never, kind="transfer_in").refusal
    )

    insured = make_person(32)
    enrol(insured, unit_b)
    refusal = enrolment_lookup(actor=admin_a, id_number=insured.id_number, kind="transfer_in")
    assert "须由原单位先办理停保或转出" in refusal.refusal

    left = make_person(33)
    stopped(left, unit_b, reason=Enrolment.StopReason.LEFT)
    refusal = enrolment_lookup(actor=admin_a, id_number=left.id_number, kind="transfer_in")
    assert "不是由其他单位办理的转出" in refusal.refusal and "续保" in refusal.refusal

    here = make_person(34)
    enrol(here, unit_a, ["410"])
    refusal = enrolment_lookup(actor=admin_a, id_number=here.id_number, kind="transfer_in")
    assert "已在本单位参保" in refusal.refusal

    elsewhere = make_person(35)
    sh_unit = make_unit(make_staff("staff_sh2", region_sh), region_sh, 9)
    stopped(elsewhere, sh_unit, reason=Enrolment.StopReason.TRANSFERRED)
    refusal = enrolment_lookup(actor=admin_a, id_number=elsewhere.id_number, kind="transfer_in")
    assert "跨统筹区" in refusal.refusal

    with pytest.raises(ValidationError):
        enrolment_save(actor=admin_a, kind="transfer_in", data=enrol_data(left.id_number))
    assert not Filing.objects.filter(kind="transfer_in").exists()


def test_transfer_in_needs_the_transfer_business(admin_a, unit_a):
    clerk = make_operator(unit_a, "clerk", [BusinessKind.ENROLMENT])
    with pytest.raises(PermissionDenied):
        enrolment_lookup(actor=clerk, id_number=ident(11), kind="transfer_in")
    with pytest.raises(PermissionDenied):
        enrolment_save(actor=clerk, kind="transfer_in", data=enrol_data(ident(11)))


def test_refusals_are_audited_as_kind_and_action(admin_a, unit_a):
    clerk = make_operator(unit_a, "clerk2", [BusinessKind.STOP])
    with pytest.raises(PermissionDenied):
        enrolment_lookup(actor=clerk, id_number=ident(11))
    with pytest.raises(PermissionDenied):
        enrolment_save(actor=clerk, data=enrol_data(ident(11)), kind="transfer_in")
    denied = set(AuditEntry.objects.filter(outcome="denied").values_list("action", flat=True))
    assert denied == {"enrolment.lookup", "transfer_in.save"}
