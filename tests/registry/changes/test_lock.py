"""Person lock (人员信息锁定): staff lock and unlock persons of their regions; a unit asks for a
lock as a filing (reviewed per region, VIP on submit); a locked person's key data cannot change."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from shebao.core.models import AuditEntry
from shebao.core.selectors import audit_entries
from shebao.filings import services as filing_services
from shebao.filings.models import Filing, FilingKind, FilingState, RegionFilingRule
from shebao.registry.changes import services as changes
from shebao.registry.models import Person
from tests.conftest import signed_in
from tests.registry import changes_helpers as h
from tests.registry.changes_helpers import LOCK_REASON, key_change, person_save

# fixtures
worker, stranger, clerk = h.worker, h.stranger, h.clerk
unit_vip, admin_vip, vip_worker = h.unit_vip, h.admin_vip, h.vip_worker

pytestmark = pytest.mark.django_db


def lock_state(person: Person) -> tuple[bool, str]:
    person = Person.objects.get(pk=person.pk)
    return person.is_locked, person.lock_reason


def lock_request(actor, person, reason=LOCK_REASON) -> Filing:
    return person_save(actor, person, kind=FilingKind.PERSON_LOCK, reason=reason)


# --- staff -------------------------------------------------------------------------------------


def test_staff_lock_and_unlock(staff_bj, worker):
    changes.person_lock(actor=staff_bj, person=worker, reason=f"  {LOCK_REASON} ")
    assert lock_state(worker) == (True, LOCK_REASON)
    entry = AuditEntry.objects.get(action="person.lock")
    assert entry.actor == staff_bj and entry.detail == {"reason": LOCK_REASON}

    changes.person_unlock(actor=staff_bj, person=worker, note="退休已办结")
    assert lock_state(worker) == (False, "")
    entry = AuditEntry.objects.get(action="person.unlock")
    assert entry.detail == {"previous_reason": LOCK_REASON, "note": "退休已办结"}


def test_lock_entries_are_filed_under_the_region(staff_bj, staff_sh, worker):
    """A person has no region: the entries take the staff member's region of the person, so
    another region's staff do not see them in the audit log (found by the tenant matrix)."""
    changes.person_lock(actor=staff_bj, person=worker, reason=LOCK_REASON)
    changes.person_unlock(actor=staff_bj, person=worker)
    entries = AuditEntry.objects.filter(action__in=["person.lock", "person.unlock"])
    assert {e.region_id for e in entries} == {"110000"}
    assert not audit_entries(staff_sh).filter(action__startswith="person.").exists()
    assert audit_entries(staff_bj).filter(action="person.lock").exists()


def test_staff_lock_needs_a_reason(staff_bj, worker):
    with pytest.raises(ValidationError) as caught:
        changes.person_lock(actor=staff_bj, person=worker, reason="  ")
    assert "reason" in caught.value.message_dict
    with pytest.raises(ValidationError):
        changes.person_lock(actor=staff_bj, person=worker, reason="长" * 201)
    assert lock_state(worker) == (False, "")


def test_staff_cannot_lock_twice_or_unlock_an_unlocked_person(staff_bj, worker):
    with pytest.raises(ValidationError, match="未锁定"):
        changes.person_unlock(actor=staff_bj, person=worker)
    changes.person_lock(actor=staff_bj, person=worker, reason=LOCK_REASON)
    with pytest.raises(ValidationError, match=f"该人员信息已锁定：{LOCK_REASON}"):
        changes.person_lock(actor=staff_bj, person=worker, reason="另一个原因")
    assert lock_state(worker) == (True, LOCK_REASON)


def test_staff_of_another_region_cannot_lock_404(staff_sh, staff_bj, worker):
    with pytest.raises(Http404):
        changes.person_lock(actor=staff_sh, person=worker, reason=LOCK_REASON)
    assert lock_state(worker) == (False, "")
    changes.person_lock(actor=staff_bj, person=worker, reason=LOCK_REASON)
    with pytest.raises(Http404):
        changes.person_unlock(actor=staff_sh, person=worker)
    assert lock_state(worker) == (True, LOCK_REASON)
    denied = AuditEntry.objects.filter(outcome=AuditEntry.Outcome.DENIED, actor=staff_sh)
    assert set(denied.values_list("action", flat=True)) == {"person.lock", "person.unlock"}


def test_operators_cannot_lock_directly(admin_a, worker):
    with pytest.raises(PermissionDenied):
        changes.person_lock(actor=admin_a, person=worker, reason=LOCK_REASON)
    with pytest.raises(PermissionDenied):
        changes.person_unlock(actor=admin_a, person=worker)
    assert lock_state(worker) == (False, "")


def test_lock_refuses_key_change_with_the_reason_but_not_general_change(staff_bj, admin_a, worker):
    changes.person_lock(actor=staff_bj, person=worker, reason=LOCK_REASON)
    with pytest.raises(ValidationError) as caught:
        key_change(admin_a, worker, name="改名")
    assert caught.value.messages == ["该人员信息已锁定：正在办理退休"]
    h.general_change(admin_a, worker, address="新地址")  # allowed


# --- unit lock request -------------------------------------------------------------------------


def test_unit_lock_request_waits_for_review_at_a_normal_unit(admin_a, staff_bj, worker):
    filing = lock_request(admin_a, worker)
    assert filing.title == f"测试人员1（{worker.person_no}）人员信息锁定"
    assert filing.rows.get().payload == {
        "before": {"is_locked": "未锁定", "lock_reason": ""},
        "after": {"is_locked": "锁定", "lock_reason": LOCK_REASON},
    }
    filing = filing_services.filing_submit(actor=admin_a, filing=filing)
    assert filing.state == FilingState.SUBMITTED
    assert lock_state(worker) == (False, "")

    filing_services.filing_approve(actor=staff_bj, filing_id=filing.pk)
    assert lock_state(worker) == (True, LOCK_REASON)
    assert AuditEntry.objects.filter(action="person.lock", actor=staff_bj).exists()


def test_unit_lock_request_follows_the_region_rule(admin_a, region_bj, worker):
    RegionFilingRule.objects.create(
        region=region_bj, kind=FilingKind.PERSON_LOCK, auto_approve=True
    )
    filing = filing_services.filing_submit(actor=admin_a, filing=lock_request(admin_a, worker))
    assert filing.state == FilingState.APPROVED
    assert lock_state(worker) == (True, LOCK_REASON)


def test_unit_lock_request_at_a_vip_unit_is_approved_on_submit(admin_vip, vip_worker):
    filing = filing_services.filing_submit(
        actor=admin_vip, filing=lock_request(admin_vip, vip_worker)
    )
    assert filing.state == FilingState.APPROVED
    assert lock_state(vip_worker) == (True, LOCK_REASON)


def test_unit_lock_request_refusals(admin_a, staff_bj, worker, stranger, clerk):
    with pytest.raises(ValidationError) as caught:
        lock_request(admin_a, worker, reason=" ")
    assert caught.value.message_dict == {"reason": ["请填写锁定原因"]}
    with pytest.raises(Http404):
        lock_request(admin_a, stranger)
    with pytest.raises(PermissionDenied):
        lock_request(clerk, worker)
    changes.person_lock(actor=staff_bj, person=worker, reason="经办机构锁定")
    with pytest.raises(ValidationError, match="该人员信息已锁定：经办机构锁定，无需重复申请"):
        lock_request(admin_a, worker)
    assert not Filing.objects.exists()


def test_staff_lock_meanwhile_keeps_its_reason(admin_a, staff_bj, worker):
    filing = filing_services.filing_submit(actor=admin_a, filing=lock_request(admin_a, worker))
    changes.person_lock(actor=staff_bj, person=worker, reason="经办机构锁定")
    filing_services.filing_approve(actor=staff_bj, filing_id=filing.pk)
    assert lock_state(worker) == (True, "经办机构锁定")


def test_lock_request_page(admin_a, worker):
    client = signed_in(admin_a)
    url = f"/unit/changes/person/{worker.person_no}/lock/"
    assert "锁定原因" in client.get(url).content.decode()
    response = client.post(url, {"reason": ""})
    assert response.status_code == 200 and "reason" in response.context["form"].errors
    response = client.post(url, {"reason": LOCK_REASON, "then_submit": "1"}, follow=True)
    assert "已提交，请等待经办机构审核" in response.content.decode()
    assert Filing.objects.get().state == FilingState.SUBMITTED


# --- back-office pages -------------------------------------------------------------------------


def test_staff_lock_pages(staff_bj, worker):
    client = signed_in(staff_bj)
    page = client.get("/staff/person-lock/")
    assert page.status_code == 200 and "没有已锁定的人员" in page.content.decode()

    found = client.post("/staff/person-lock/", {"q": worker.id_number}).content.decode()
    assert f"/staff/person-lock/{worker.person_no}/" in found

    url = f"/staff/person-lock/{worker.person_no}/"
    detail = client.get(url).content.decode()
    assert worker.masked_id_number in detail and worker.id_number not in detail
    assert "data-confirm" in detail

    response = client.post(url, {"action": "lock", "reason": ""})
    assert response.status_code == 200 and "reason" in response.context["lock_form"].errors
    response = client.post(url, {"action": "lock", "reason": LOCK_REASON})
    assert response.status_code == 302
    assert lock_state(worker) == (True, LOCK_REASON)
    listing = client.get("/staff/person-lock/").content.decode()
    assert LOCK_REASON in listing and worker.person_no in listing

    client.post(url, {"action": "unlock", "note": ""})
    assert lock_state(worker) == (False, "")


def test_staff_of_another_region_get_404_pages(staff_sh, worker):
    client = signed_in(staff_sh)
    url = f"/staff/person-lock/{worker.person_no}/"
    assert client.get(url).status_code == 404
    assert client.post(url, {"action": "lock", "reason": LOCK_REASON}).status_code == 404
    found = client.post("/staff/person-lock/", {"q": worker.person_no}).content.decode()
    assert "没有找到匹配的人员" in found and url not in found
    assert lock_state(worker) == (False, "")


def test_operators_cannot_open_the_staff_pages(admin_a, worker):
    client = signed_in(admin_a)
    assert client.get("/staff/person-lock/").status_code == 403
    assert client.get(f"/staff/person-lock/{worker.person_no}/").status_code == 403


def test_staff_menu_links_to_person_lock(staff_bj):
    html = signed_in(staff_bj).get("/staff/").content.decode()
    assert 'href="/staff/person-lock/"' in html
