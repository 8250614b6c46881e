"""The audit log (shebao/core/audit.py, AuditEntry, /staff/audit/): personal data is masked
before it is stored, rows are append-only, staff see their own regions' entries, and the back
office's list pages cost the same number of queries whatever the number of rows."""

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

import shebao
from shebao.core import audit
from shebao.core.audit import audit_record, mask_text
from shebao.core.models import AuditEntry, Region
from shebao.filings.models import Filing, FilingKind, FilingState
from shebao.registry.services import unit_create
from tests.conftest import signed_in
from tests.factories import make_unit
from tests.registry.flow import uscc

pytestmark = pytest.mark.django_db

ID = "11010519491231002X"
MASKED_ID = "1101**********002X"
MOBILE = "13800000001"
MASKED_MOBILE = "138****0001"


def stored_text(entry: AuditEntry) -> str:
    entry = AuditEntry.objects.get(pk=entry.pk)
    return " ".join(
        [
            entry.actor_label,
            entry.object_label,
            entry.object_id,
            json.dumps(entry.detail, ensure_ascii=False),
        ]
    )


# --- masking -----------------------------------------------------------------------------------


def test_label_and_detail_are_masked():
    entry = audit_record(
        actor=None,
        action="test.mask",
        object_label=f"张晓红 {ID} 手机{MOBILE}",
        detail={
            "id_number": ID,
            "mobile": MOBILE,
            "note": f"联系电话：{MOBILE}，证件 {ID.lower()}",
            "rows": [{"mobile": "13912345678"}, ("11010519491231002x",)],
            "count": 3,
            "flag": True,
            "nothing": None,
        },
    )
    entry = AuditEntry.objects.get(pk=entry.pk)
    assert entry.object_label == f"张晓红 {MASKED_ID} 手机{MASKED_MOBILE}"
    assert entry.detail == {
        "id_number": MASKED_ID,
        "mobile": MASKED_MOBILE,
        "note": f"联系电话：{MASKED_MOBILE}，证件 {MASKED_ID}",
        "rows": [{"mobile": "139****5678"}, [MASKED_ID]],
        "count": 3,
        "flag": True,
        "nothing": None,
    }
    assert ID not in stored_text(entry) and MOBILE not in stored_text(entry)


def test_old_15_digit_ids_are_masked():
    assert mask_text("证件 110105491231002") == "证件 110*********002"


def test_longer_numbers_are_left_alone():
    """Serial numbers (14 digits) and person numbers (12 digits) are not personal data."""
    text = "流水号 20261124000001 个人编号 110000000001"
    assert mask_text(text) == text


def test_actor_label_of_a_person_is_masked(person_user):
    entry = audit_record(actor=person_user, action="test.person")
    assert stored_text(entry).count(MASKED_ID) == 1
    assert ID not in stored_text(entry)
    assert entry.actor == person_user


def test_object_label_from_the_object_is_masked(person):
    entry = audit_record(actor=None, action="test.obj", obj=person)
    assert entry.object_type == "person" and entry.object_id == str(person.pk)
    assert entry.object_label == f"张晓红（{MASKED_ID}）"


def test_unit_number_is_kept_in_the_label(staff_bj, region_bj):
    unit = make_unit(staff_bj, region_bj, 1)
    entry = AuditEntry.objects.get(action="unit.create", object_id=str(unit.pk))
    assert unit.unit_no in entry.object_label
    assert entry.region_id == "110000"


def test_unit_number_of_a_region_starting_with_15_is_kept_in_the_label(staff_bj):
    hohhot = Region.objects.create(
        code="150100", name="呼和浩特市", insurance_places=["呼市市本级"]
    )
    staff_bj.regions.add(hohhot)
    unit = make_unit(staff_bj, hohhot, 1)
    assert unit.unit_no.startswith("150100") and len(unit.unit_no) == 12
    entry = AuditEntry.objects.get(action="unit.create", object_id=str(unit.pk))
    assert unit.unit_no in entry.object_label


def test_unit_create_keeps_the_legal_rep_id_out_of_the_log(staff_bj, region_bj):
    unit = make_unit(staff_bj, region_bj, 1)
    for entry in AuditEntry.objects.all():
        assert unit.legal_rep_id_number not in stored_text(entry)
        assert unit.contact_mobile not in stored_text(entry)


# --- append-only -------------------------------------------------------------------------------


def test_entries_cannot_be_changed_or_deleted():
    entry = audit_record(actor=None, action="test.keep", object_label="原样")
    entry.object_label = "篡改"
    with pytest.raises(RuntimeError):
        entry.save()
    with pytest.raises(RuntimeError):
        entry.delete()
    fresh = AuditEntry.objects.get(pk=entry.pk)
    assert fresh.object_label == "原样"
    with pytest.raises(RuntimeError):
        fresh.save(update_fields=["object_label"])


def test_entries_cannot_be_changed_or_deleted_in_bulk():
    entry = audit_record(actor=None, action="test.keep", object_label="原样")
    with pytest.raises(RuntimeError):
        AuditEntry.objects.filter(pk=entry.pk).update(object_label="篡改")
    with pytest.raises(RuntimeError):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    assert AuditEntry.objects.get(pk=entry.pk).object_label == "原样"


# --- the staff audit page ----------------------------------------------------------------------


@pytest.fixture
def entries(staff_bj, staff_sh, region_bj, region_sh):
    audit_record(
        actor=staff_bj,
        action="filing.approve.unit_registration",
        object_label="北京通过",
        region=region_bj,
    )
    audit_record(
        actor=staff_bj,
        action="filing.return.unit_registration",
        object_label="北京拒绝",
        outcome=AuditEntry.Outcome.DENIED,
        region=region_bj,
    )
    audit_record(
        actor=staff_sh,
        action="filing.approve.unit_registration",
        object_label="上海通过",
        region=region_sh,
    )


def rows_of(response) -> set[str]:
    return {e.object_label for e in response.context["page"]}


def test_staff_see_their_region_only(staff_client, staff_sh, entries):
    response = staff_client.get("/staff/audit/")
    assert response.status_code == 200
    assert {"北京通过", "北京拒绝"} <= rows_of(response)
    assert "上海通过" not in rows_of(response)
    assert "上海通过" not in response.content.decode()

    other = signed_in(staff_sh).get("/staff/audit/")
    assert "上海通过" in rows_of(other)
    assert not {"北京通过", "北京拒绝"} & rows_of(other)


def test_filter_by_action(staff_client, entries):
    response = staff_client.get("/staff/audit/", {"action": "filing.approve"})
    assert rows_of(response) == {"北京通过"}


def test_filter_by_outcome(staff_client, entries):
    assert rows_of(staff_client.get("/staff/audit/", {"outcome": "denied"})) == {"北京拒绝"}
    assert "北京拒绝" not in rows_of(staff_client.get("/staff/audit/", {"outcome": "ok"}))


def test_filter_by_text_and_date(staff_client, entries):
    assert rows_of(staff_client.get("/staff/audit/", {"q": "拒绝"})) == {"北京拒绝"}
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    assert rows_of(staff_client.get("/staff/audit/", {"date_from": tomorrow})) == set()


def test_audit_page_is_for_staff_only(client, admin_client, entries):
    assert admin_client.get("/staff/audit/").status_code == 403
    response = client.get("/staff/audit/")
    assert (
        response.status_code == 302
        and response["Location"] == "/accounts/staff/login/?next=%2Fstaff%2Faudit%2F"
    )


# --- list pages: a constant number of queries --------------------------------------------------


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def add_audit_rows(staff, region, n: int) -> None:
    for i in range(n):
        audit_record(actor=staff, action="test.row", object_label=f"行{i}", region=region)


def add_filings(region, unit, start: int, n: int) -> None:
    for i in range(start, start + n):
        Filing.objects.create(
            serial_no=f"2026010100{i:04d}",
            kind=FilingKind.UNIT_REGISTRATION,
            region=region,
            unit=unit,
            title=f"第{i}笔",
            subject_key=uscc(i),
            state=FilingState.SUBMITTED,
            submitted_at=timezone.now(),
        )


def add_units(staff, region, start: int, n: int) -> None:
    for i in range(start, start + n):
        make_unit(staff, region, i)


def test_audit_page_queries_do_not_grow_with_rows(staff_client, staff_bj, region_bj):
    add_audit_rows(staff_bj, region_bj, 3)
    few = count_queries(staff_client, "/staff/audit/")
    add_audit_rows(staff_bj, region_bj, 27)
    assert AuditEntry.objects.count() >= 30
    assert count_queries(staff_client, "/staff/audit/") == few


def test_filing_queue_queries_do_not_grow_with_rows(staff_client, region_bj, unit_a):
    add_filings(region_bj, unit_a, 0, 3)
    few = count_queries(staff_client, "/staff/filings/")
    add_filings(region_bj, None, 3, 27)
    assert count_queries(staff_client, "/staff/filings/") == few
    all_states = count_queries(staff_client, "/staff/filings/?state=")
    assert all_states == few


def test_unit_list_queries_do_not_grow_with_rows(staff_client, staff_bj, region_bj):
    add_units(staff_bj, region_bj, 1, 3)
    few = count_queries(staff_client, "/staff/units/")
    add_units(staff_bj, region_bj, 4, 27)
    assert count_queries(staff_client, "/staff/units/") == few


def test_unit_create_denied_is_audited(staff_sh, region_bj):
    with pytest.raises(PermissionDenied):
        unit_create(actor=staff_sh, region=region_bj, fields={"name": "越权单位"})
    entry = AuditEntry.objects.get(action="unit.create")
    assert entry.outcome == AuditEntry.Outcome.DENIED
    assert entry.actor == staff_sh and entry.region_id == "110000"


# --- the guard at the sink: whatever the caller passes -----------------------------------------


def test_object_id_detail_keys_and_numbers_are_masked():
    entry = audit_record(
        actor=None,
        action="test.guard",
        object_type="person",
        object_id=ID,
        detail={ID: "键", "mobile_as_number": int(MOBILE), "serial": 20261124000001},
    )
    entry = AuditEntry.objects.get(pk=entry.pk)
    assert entry.object_id == MASKED_ID
    assert entry.detail == {
        MASKED_ID: "键",
        "mobile_as_number": MASKED_MOBILE,
        "serial": 20261124000001,
    }
    assert ID not in stored_text(entry) and MOBILE not in stored_text(entry)


def test_actor_label_is_masked_even_when_the_user_leaks(person_user, monkeypatch):
    monkeypatch.setattr(type(person_user), "audit_label", lambda self: f"泄露 {ID} {MOBILE}")
    entry = audit_record(actor=person_user, action="test.guard")
    entry = AuditEntry.objects.get(pk=entry.pk)
    assert entry.actor_label == f"泄露 {MASKED_ID} {MASKED_MOBILE}"


# --- labels -------------------------------------------------------------------------------------

_STATIC_ACTION = re.compile(
    r"""action=["']([a-z_.]+)["']|[A-Z_]*ACTION[A-Z_]* = ["']([a-z_.]+)["']"""
)


def _static_action_codes() -> set[str]:
    root = Path(shebao.__file__).parent
    found = set()
    for path in root.rglob("*.py"):
        for match in _STATIC_ACTION.finditer(path.read_text(encoding="utf-8")):
            found.add(match.group(1) or match.group(2))
    return found


def test_every_action_code_written_by_the_code_base_has_a_label():
    kinds = [k.value for k in FilingKind]
    codes = _static_action_codes() | {"person.view", "person.view_full", "person.export"}
    assert {"login", "logout", "registration.legal_rep_id_reveal", "backpay.late_fee"} <= codes
    # The codes built from a kind (f"filing.create.{kind}", f"{kind}.lookup"…) or a factor.
    codes |= {f"{family}.{kind}" for family in audit.ACTION_FAMILY_LABELS for kind in kinds}
    codes |= {f"{kind}.{verb}" for kind in kinds for verb in audit.ACTION_VERB_LABELS}
    codes |= {"login.sms", "login.totp"}
    unlabelled = sorted(c for c in codes if audit.action_label(c) == c)
    assert unlabelled == []
    assert audit.action_label("enrolment.lookup") == "人员参保·查询人员"
    assert audit.action_label("filing.create.unit_registration") == "新建申报（单位首次参保登记）"
    assert audit.action_label("registration.legal_rep_id_reveal") == "完整显示法定代表人证件号码"
    assert audit.action_label("no.such") == "no.such"


def test_sms_purposes_have_labels():
    from shebao.core.verification import PURPOSES, purpose_label

    assert purpose_label("login") == "登录"
    assert all(purpose_label(p) != p for p in PURPOSES)
    assert purpose_label("other") == "other"
