"""Person key information change (always reviewed, materials) and general information change
(approved on submit): success, each refusal, another unit's person, permissions, the pages."""

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from shebao.accounts.models import User
from shebao.core.ids import make_resident_id
from shebao.core.models import AuditEntry
from shebao.filings import services as filing_services
from shebao.filings.models import Filing, FilingKind, FilingRow, FilingState
from shebao.registry.changes import services as changes
from shebao.registry.models import Person
from tests.conftest import signed_in
from tests.registry import changes_helpers as h
from tests.registry.changes_helpers import (
    LOCK_REASON,
    general_change,
    key_change,
    person_save,
    upload,
)

# fixtures
worker, stranger, clerk = h.worker, h.stranger, h.clerk
unit_vip, admin_vip, vip_worker = h.unit_vip, h.admin_vip, h.vip_worker

pytestmark = pytest.mark.django_db


def refreshed(person: Person) -> Person:
    return Person.objects.get(pk=person.pk)


def errors_of(exc: ValidationError) -> dict:
    return exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}


# --- key change: success -----------------------------------------------------------------------


def test_key_change_is_saved_with_before_after_and_materials(admin_a, worker):
    filing = key_change(admin_a, worker, name="张新名")

    assert filing.state == FilingState.DRAFT
    assert filing.kind == FilingKind.PERSON_KEY_CHANGE
    assert filing.person == worker and filing.unit == admin_a.unit
    assert filing.title == f"测试人员1（{worker.person_no}）人员关键信息变更"
    assert filing.materials.get().slot == "proof"
    row = filing.rows.get()
    assert row.id_number == worker.id_number and row.is_open
    assert row.payload["before"]["name"] == "测试人员1"
    assert row.payload["after"] == {**row.payload["before"], "name": "张新名"}
    # nothing applied before review
    assert refreshed(worker).name == "测试人员1"


def test_key_change_waits_for_review_and_applies_on_approval(admin_a, staff_bj, worker):
    filing = key_change(admin_a, worker, name="张新名")
    filing = filing_services.filing_submit(actor=admin_a, filing=filing)
    assert filing.state == FilingState.SUBMITTED
    assert refreshed(worker).name == "测试人员1"

    filing_services.filing_approve(actor=staff_bj, filing_id=filing.pk)

    filing.refresh_from_db()
    assert filing.state == FilingState.APPROVED
    assert refreshed(worker).name == "张新名"
    row = filing.rows.get()
    assert (row.result, row.is_open) == (FilingRow.Result.APPROVED, False)
    entry = AuditEntry.objects.get(action="person.person_key_change")
    assert entry.detail["changed"] == {"name": ["测试人员1", "张新名"]}
    assert entry.actor == staff_bj


def test_key_change_at_a_vip_unit_is_still_reviewed(admin_vip, vip_worker):
    filing = key_change(admin_vip, vip_worker, name="王新名")
    filing = filing_services.filing_submit(actor=admin_vip, filing=filing)

    assert filing.state == FilingState.SUBMITTED
    assert refreshed(vip_worker).name == "测试人员9"


def test_id_number_change_brings_birth_date_and_sex_along(admin_a, staff_bj, worker):
    new_id = make_resident_id("110105", date(1981, 4, 16), 124)  # even order: female
    filing = key_change(admin_a, worker, id_number=new_id.lower())

    after = filing.rows.get().payload["after"]
    assert after["id_number"] == new_id
    assert (after["birth_date"], after["sex"]) == ("1981-04-16", "2")
    filing_services.filing_submit(actor=admin_a, filing=filing)
    filing_services.filing_approve(actor=staff_bj, filing_id=filing.pk)
    person = refreshed(worker)
    assert (person.id_number, person.birth_date, person.sex) == (new_id, date(1981, 4, 16), "2")
    # the audit log never holds the ID numbers in clear
    entry = AuditEntry.objects.get(action="person.person_key_change")
    assert new_id not in str(entry.detail) and worker.id_number not in str(entry.detail)


def test_person_login_shows_the_new_name(admin_a, staff_bj, worker):
    account = User.objects.create(
        username="pw1", kind=User.Kind.PERSON, person=worker, display_name=worker.name
    )
    filing = key_change(admin_a, worker, name="张新名")
    filing_services.filing_submit(actor=admin_a, filing=filing)
    filing_services.filing_approve(actor=staff_bj, filing_id=filing.pk)
    account.refresh_from_db()
    assert account.display_name == "张新名"


def test_returned_key_change_can_be_fixed_and_resubmitted(admin_a, staff_bj, worker):
    filing = key_change(admin_a, worker, name="张新明")
    filing_services.filing_submit(actor=admin_a, filing=filing)
    filing_services.filing_return(actor=staff_bj, filing_id=filing.pk, reason="姓名与户口簿不符")

    filing = Filing.objects.get(pk=filing.pk)
    fixed = person_save(admin_a, worker, after={"name": "张新名"}, materials={}, filing=filing)
    assert fixed.pk == filing.pk
    assert fixed.rows.get().payload["after"]["name"] == "张新名"
    assert fixed.materials.count() == 1  # the stored material is kept
    filing_services.filing_submit(actor=admin_a, filing=fixed)
    filing_services.filing_approve(actor=staff_bj, filing_id=fixed.pk)
    assert refreshed(worker).name == "张新名"


# --- key change: refusals ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("after", "field", "message"),
    [
        ({"id_number": "110105198003150013"}, "id_number", "校验位错误"),
        ({"id_number": "12345"}, "id_number", "长度应为18位"),
        ({"name": "张3"}, "name", "不能包含数字"),
        ({"birth_date": date(1979, 1, 1)}, "birth_date", "出生日期应与证件号码一致"),
        ({"sex": "2"}, "sex", "性别应与证件号码一致"),
        ({"birth_date": date(2999, 1, 1)}, "birth_date", "不能晚于今天"),
        ({}, "__all__", "没有需要变更的内容"),
    ],
)
def test_key_change_bad_input_is_refused_next_to_the_field(admin_a, worker, after, field, message):
    with pytest.raises(ValidationError) as caught:
        key_change(admin_a, worker, **after)
    assert any(message in m for m in errors_of(caught.value)[field])
    assert not Filing.objects.exists()


def test_id_number_of_another_person_is_refused(admin_a, worker, stranger):
    with pytest.raises(ValidationError) as caught:
        key_change(admin_a, worker, id_number=stranger.id_number)
    assert "已被其他人员使用" in errors_of(caught.value)["id_number"][0]
    assert not Filing.objects.exists()


def test_key_change_needs_materials(admin_a, worker):
    with pytest.raises(ValidationError) as caught:
        person_save(admin_a, worker, after={"name": "张新名"}, materials={})
    assert "居民户口簿" in errors_of(caught.value)["proof"][0]
    assert not Filing.objects.exists()


def test_locked_person_key_change_is_refused_with_the_reason(admin_a, worker):
    Person.objects.filter(pk=worker.pk).update(is_locked=True, lock_reason=LOCK_REASON)
    worker.refresh_from_db()
    with pytest.raises(ValidationError) as caught:
        key_change(admin_a, worker, name="张新名")
    assert caught.value.messages == [f"该人员信息已锁定：{LOCK_REASON}"]
    assert not Filing.objects.exists()


def test_lock_after_saving_refuses_the_submit(admin_a, staff_bj, worker):
    filing = key_change(admin_a, worker, name="张新名")
    changes.person_lock(actor=staff_bj, person=worker, reason=LOCK_REASON)
    with pytest.raises(ValidationError, match=f"该人员信息已锁定：{LOCK_REASON}"):
        filing_services.filing_submit(actor=admin_a, filing=filing)
    filing.refresh_from_db()
    assert filing.state == FilingState.DRAFT


def test_lock_after_submitting_refuses_the_approval(admin_a, staff_bj, worker):
    filing = key_change(admin_a, worker, name="张新名")
    filing_services.filing_submit(actor=admin_a, filing=filing)
    changes.person_lock(actor=staff_bj, person=worker, reason=LOCK_REASON)

    with pytest.raises(ValidationError, match=f"该人员信息已锁定：{LOCK_REASON}"):
        filing_services.filing_approve(actor=staff_bj, filing_id=filing.pk)

    filing.refresh_from_db()
    assert filing.state == FilingState.SUBMITTED
    assert refreshed(worker).name == "测试人员1"
    assert filing.rows.get().is_open
    # the reviewer can still return it
    filing_services.filing_return(actor=staff_bj, filing_id=filing.pk, reason="人员已锁定")


def test_another_units_person_is_404_and_nothing_changes(admin_a, stranger):
    for kind, kwargs in [
        (FilingKind.PERSON_KEY_CHANGE, {"after": {"name": "改名"}}),
        (FilingKind.PERSON_GENERAL_CHANGE, {"after": {"mobile": "13900001111"}}),
        (FilingKind.PERSON_LOCK, {"reason": LOCK_REASON}),
    ]:
        with pytest.raises(Http404):
            person_save(admin_a, stranger, kind=kind, **kwargs)
    assert not Filing.objects.exists()
    person = refreshed(stranger)
    assert (person.name, person.mobile, person.is_locked) == ("测试人员2", "13600000002", False)
    assert AuditEntry.objects.filter(outcome=AuditEntry.Outcome.DENIED).count() == 3


def test_person_who_left_the_unit_is_404(admin_a, worker):
    worker.enrolments.update(stop_period=202405, status="3")
    with pytest.raises(Http404):
        key_change(admin_a, worker, name="张新名")


def test_operator_without_the_business_kind_is_denied(clerk, worker):
    for kind, kwargs in [
        (FilingKind.PERSON_KEY_CHANGE, {"after": {"name": "改名"}}),
        (FilingKind.PERSON_GENERAL_CHANGE, {"after": {"mobile": "13900001111"}}),
    ]:
        with pytest.raises(PermissionDenied):
            person_save(clerk, worker, kind=kind, **kwargs)
    assert not Filing.objects.exists()


def test_staff_cannot_file_a_unit_change(staff_bj, worker):
    with pytest.raises(PermissionDenied):
        key_change(staff_bj, worker, name="改名")


def test_one_open_filing_per_person(admin_a, worker):
    first = key_change(admin_a, worker, name="张新名")
    with pytest.raises(ValidationError) as caught:
        general_change(admin_a, worker, mobile="13900001111")
    assert first.serial_no in caught.value.messages[0]
    assert Filing.objects.count() == 1


def test_new_id_number_that_is_in_an_open_filing_is_refused(admin_a, admin_b, worker):
    """A new enrolment of that ID number is being filed somewhere (no person yet)."""
    new_id = make_resident_id("110105", date(1980, 3, 15), 555)
    enrolment = Filing.objects.create(
        serial_no="20250101000001",
        kind=FilingKind.ENROLMENT,
        region=admin_b.unit.region,
        unit=admin_b.unit,
        title="新参保",
    )
    FilingRow.objects.create(filing=enrolment, id_number=new_id, name="某某")
    with pytest.raises(ValidationError) as caught:
        key_change(admin_a, worker, id_number=new_id)
    message = errors_of(caught.value)["id_number"][0]
    assert "其他正在办理的业务" in message and enrolment.serial_no not in message


# --- general change ----------------------------------------------------------------------------


def test_general_change_is_approved_and_applied_on_submit(admin_a, worker):
    filing = general_change(
        admin_a, worker, mobile="13900001111", address="北京市海淀区新地址8号", hukou="21"
    )
    assert filing.state == FilingState.DRAFT
    filing = filing_services.filing_submit(actor=admin_a, filing=filing)

    assert filing.state == FilingState.APPROVED
    person = refreshed(worker)
    assert (person.mobile, person.address, person.hukou) == (
        "13900001111",
        "北京市海淀区新地址8号",
        "21",
    )
    assert filing.steps.filter(action="auto").exists()
    entry = AuditEntry.objects.get(action="person.person_general_change")
    assert entry.actor == admin_a


def test_general_change_at_a_vip_unit_is_applied_on_submit(admin_vip, vip_worker):
    filing = general_change(admin_vip, vip_worker, address="新地址")
    filing_services.filing_submit(actor=admin_vip, filing=filing)
    assert refreshed(vip_worker).address == "新地址"


def test_general_change_of_a_locked_person_is_allowed(admin_a, staff_bj, worker):
    changes.person_lock(actor=staff_bj, person=worker, reason=LOCK_REASON)
    filing = general_change(admin_a, worker, address="新地址")
    filing_services.filing_submit(actor=admin_a, filing=filing)
    person = refreshed(worker)
    assert person.address == "新地址" and person.is_locked


@pytest.mark.parametrize(
    ("after", "field"),
    [
        ({"mobile": "1390000111"}, "mobile"),
        ({"mobile": "23900001111"}, "mobile"),
        ({"hukou": "99"}, "hukou"),
        ({"address": "长" * 201}, "address"),
    ],
)
def test_general_change_bad_input(admin_a, worker, after, field):
    with pytest.raises(ValidationError) as caught:
        general_change(admin_a, worker, **after)
    assert field in errors_of(caught.value)
    assert not Filing.objects.exists()


def test_general_change_without_change_is_refused(admin_a, worker):
    with pytest.raises(ValidationError, match="没有需要变更的内容"):
        general_change(admin_a, worker)


def test_mobile_of_a_person_with_own_account_is_theirs_to_change(admin_a, worker):
    User.objects.create(username="pw1", kind=User.Kind.PERSON, person=worker)
    with pytest.raises(ValidationError) as caught:
        general_change(admin_a, worker, mobile="13900001111")
    assert "个人网厅" in errors_of(caught.value)["mobile"][0]
    # other general data can still be changed
    general_change(admin_a, worker, address="新地址")


# --- pages -------------------------------------------------------------------------------------


def test_changes_page_finds_own_persons_by_posted_id_number(admin_a, worker, stranger):
    client = signed_in(admin_a)
    assert client.get("/unit/changes/").status_code == 200
    html = client.post("/unit/changes/", {"q": worker.id_number}).content.decode()
    assert worker.person_no in html and worker.masked_id_number in html
    # the number is only echoed in the search box
    assert html.count(worker.id_number) == 1 and f'value="{worker.id_number}"' in html
    html = client.post("/unit/changes/", {"q": stranger.id_number}).content.decode()
    assert stranger.person_no not in html
    assert "没有找到匹配的人员" in html


def test_another_units_person_pages_are_404(admin_a, stranger):
    client = signed_in(admin_a)
    for what in ("key", "general", "lock"):
        url = f"/unit/changes/person/{stranger.person_no}/{what}/"
        assert client.get(url).status_code == 404
        assert client.post(url, {"name": "改名", "reason": "x"}).status_code == 404
    assert not Filing.objects.exists()


def test_clerk_gets_403_on_the_change_pages(clerk, worker):
    client = signed_in(clerk)
    assert client.get(f"/unit/changes/person/{worker.person_no}/key/").status_code == 403
    assert client.get("/unit/changes/unit/key/").status_code == 403
    html = client.get("/unit/changes/").content.decode()
    assert "没有办理人员信息变更或锁定的权限" in html


def test_key_change_through_the_page(admin_a, worker):
    client = signed_in(admin_a)
    url = f"/unit/changes/person/{worker.person_no}/key/"
    page = client.get(url).content.decode()
    assert "变更前：测试人员1" in page and worker.masked_id_number in page
    assert worker.id_number not in page

    missing = client.post(url, {"name": "张新名"})
    assert missing.status_code == 200
    assert "请上传变更依据" in missing.content.decode()

    response = client.post(url, {"name": "张新名", "proof": upload()})
    filing = Filing.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/unit/filings/{filing.serial_no}/"
    progress = client.get(response["Location"]).content.decode()
    assert "张新名" in progress and "<del>测试人员1</del>" in progress
    assert f"/unit/changes/filing/{filing.serial_no}/edit/" in progress

    edit = client.get(f"/unit/changes/filing/{filing.serial_no}/edit/").content.decode()
    assert 'value="张新名"' in edit and "已上传的材料" in edit


def test_bad_id_number_is_shown_next_to_the_field(admin_a, worker):
    client = signed_in(admin_a)
    response = client.post(
        f"/unit/changes/person/{worker.person_no}/key/",
        {"id_number": "110105198003150013", "proof": upload()},
    )
    assert response.status_code == 200
    assert "校验位错误" in response.context["form"].errors["id_number"][0]


def test_general_change_save_and_submit_through_the_page(admin_a, worker):
    client = signed_in(admin_a)
    url = f"/unit/changes/person/{worker.person_no}/general/"
    assert 'value="13600000001"' in client.get(url).content.decode()
    response = client.post(
        url,
        {"mobile": "13900001111", "address": worker.address, "hukou": "11", "then_submit": "1"},
        follow=True,
    )
    assert "已提交并自动办结" in response.content.decode()
    assert refreshed(worker).mobile == "13900001111"


def test_locked_person_key_page_shows_the_reason(admin_a, staff_bj, worker):
    changes.person_lock(actor=staff_bj, person=worker, reason=LOCK_REASON)
    client = signed_in(admin_a)
    html = client.get(f"/unit/changes/person/{worker.person_no}/key/").content.decode()
    assert f"该人员信息已锁定：{LOCK_REASON}" in html
    response = client.post(
        f"/unit/changes/person/{worker.person_no}/key/", {"name": "改名", "proof": upload()}
    )
    assert response.status_code == 200
    assert not Filing.objects.exists()


def test_menu_links_to_the_changes_page(admin_a):
    html = signed_in(admin_a).get("/unit/").content.decode()
    assert 'href="/unit/changes/"' in html
