"""The filing workflow's invariants, called directly (shebao/filings/services.py), with the unit
first registration as the kind: serial numbers, which state allows which step, and the database
constraints that hold even when the service checks are bypassed."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from shebao.core.models import AuditEntry
from shebao.filings import services
from shebao.filings.models import (
    Filing,
    FilingKind,
    FilingMaterial,
    FilingState,
    FilingStep,
    RegionFilingRule,
)
from shebao.registry.registration.kinds import UnitRegistrationHandler
from tests.conftest import VALID_USCC
from tests.registry.flow import (
    checked_materials,
    form_data,
    make_draft,
    make_submitted,
    media_files,
    uscc,
)

pytestmark = pytest.mark.django_db

KIND = FilingKind.UNIT_REGISTRATION


def messages_of(excinfo) -> list[str]:
    return excinfo.value.messages


def payload(**overrides) -> dict:
    data = form_data(**overrides)
    data["admin_password_hash"] = "md5$x$y"
    return data


def raw_filing(region, serial_no: str, state: str = FilingState.DRAFT, **fields) -> Filing:
    """A filing row written without the services (for constraint tests)."""
    return Filing.objects.create(
        serial_no=serial_no,
        kind=KIND,
        region=region,
        title="t",
        subject_key=fields.pop("subject_key", VALID_USCC),
        state=state,
        **fields,
    )


# --- serial numbers ----------------------------------------------------------------------------


def test_serial_numbers_are_unique_and_increasing(region_bj):
    serials = [make_draft(uscc=uscc(n)).serial_no for n in range(4)]
    assert all(re.fullmatch(r"\d{14}", s) for s in serials)
    assert len(set(serials)) == 4
    assert serials == sorted(serials)
    assert [int(s) for s in serials] == list(range(int(serials[0]), int(serials[0]) + 4))


def test_serial_numbers_are_not_reused_after_cancel(region_bj):
    first = make_draft()
    services.filing_cancel(actor=None, filing=first)
    second = make_draft()
    assert second.serial_no > first.serial_no


# --- create / update ---------------------------------------------------------------------------


def test_create_without_materials_is_refused(region_bj):
    materials = checked_materials()
    del materials["licence"]
    with pytest.raises(ValidationError) as e:
        services.filing_create(
            actor=None, kind=KIND, region=region_bj, payload=payload(), materials=materials
        )
    assert e.value.message_dict == {"materials": ["请上传申报材料：营业执照、法人证或批准成立文件"]}
    assert not Filing.objects.exists()
    assert media_files() == []


def test_update_a_draft(region_bj):
    draft = make_draft()
    updated = services.filing_update(
        actor=None, filing=draft, payload=payload(name="改名后有限公司")
    )
    assert updated.payload["name"] == "改名后有限公司"
    assert updated.title == "改名后有限公司 单位首次参保登记"
    assert updated.steps.filter(action=FilingStep.Action.EDIT).count() == 1
    assert AuditEntry.objects.filter(action="filing.edit.unit_registration").count() == 1


def test_update_refused_when_submitted(region_bj):
    filing = make_submitted()
    with pytest.raises(ValidationError) as e:
        services.filing_update(actor=None, filing=filing, payload=payload(name="提交后再改"))
    assert messages_of(e) == ["该业务已提交或已办结，不能修改"]
    filing.refresh_from_db()
    assert filing.payload["name"] == "新注册科技有限公司"
    assert filing.state == FilingState.SUBMITTED
    assert not filing.steps.filter(action=FilingStep.Action.EDIT).exists()


def test_update_refused_when_approved(staff_bj, region_bj):
    filing = make_submitted()
    services.filing_approve(actor=staff_bj, filing_id=filing.pk)
    with pytest.raises(ValidationError) as e:
        services.filing_update(actor=None, filing=filing, payload=payload(name="办结后再改"))
    # the USCC now belongs to a unit: refused whichever check comes first
    assert messages_of(e)
    filing.refresh_from_db()
    assert filing.payload["name"] == "新注册科技有限公司"


def test_update_with_a_stale_copy_sees_the_current_state(region_bj):
    """The state is read under the lock, not from the caller's (stale) instance."""
    filing = make_draft()
    stale = Filing.objects.get(pk=filing.pk)
    services.filing_submit(actor=None, filing=filing)
    assert stale.state == FilingState.DRAFT
    with pytest.raises(ValidationError):
        services.filing_update(actor=None, filing=stale, payload=payload(name="过期副本"))
    filing.refresh_from_db()
    assert filing.payload["name"] == "新注册科技有限公司"


# --- submit ------------------------------------------------------------------------------------


def test_submit_twice_is_refused(region_bj):
    filing = make_draft()
    services.filing_submit(actor=None, filing=filing)
    with pytest.raises(ValidationError) as e:
        services.filing_submit(actor=None, filing=filing)
    assert messages_of(e) == ["该业务已提交，请勿重复提交"]
    assert filing.steps.filter(action=FilingStep.Action.SUBMIT).count() == 1
    assert AuditEntry.objects.filter(action="filing.submit.unit_registration").count() == 1


def test_submit_without_a_material_is_refused(region_bj):
    filing = make_draft()
    filing.materials.filter(slot="legal_rep_id_back").delete()
    with pytest.raises(ValidationError) as e:
        services.filing_submit(actor=None, filing=filing)
    assert messages_of(e) == ["请上传申报材料：法定代表人身份证（国徽面）"]
    filing.refresh_from_db()
    assert filing.state == FilingState.DRAFT


def test_registration_is_never_approved_on_submit(region_bj):
    """Even where the region approves other kinds on submit, a first registration is reviewed."""
    RegionFilingRule.objects.create(region=region_bj, kind=KIND, auto_approve=True)
    filing = services.filing_submit(actor=None, filing=make_draft())
    assert filing.state == FilingState.SUBMITTED
    assert not services.approves_on_submit(filing)


# --- cancel / delete / approve states ----------------------------------------------------------


def test_cancel_refused_when_submitted(region_bj):
    filing = make_submitted()
    with pytest.raises(ValidationError) as e:
        services.filing_cancel(actor=None, filing=filing)
    assert messages_of(e) == ["只有待提交或已回退的业务可以退单"]
    filing.refresh_from_db()
    assert filing.state == FilingState.SUBMITTED


def test_approve_a_draft_is_refused(staff_bj, region_bj):
    filing = make_draft()
    with pytest.raises(ValidationError) as e:
        services.filing_approve(actor=staff_bj, filing_id=filing.pk)
    assert "待提交" in messages_of(e)[0]
    filing.refresh_from_db()
    assert filing.state == FilingState.DRAFT and filing.unit is None


def test_delete_a_never_submitted_draft_removes_its_files(region_bj):
    filing = make_draft()
    assert len(media_files()) == 3
    services.filing_delete(actor=None, filing=filing)
    assert not Filing.objects.exists()
    assert not FilingMaterial.objects.exists()
    assert media_files() == []
    assert AuditEntry.objects.filter(action="filing.delete.unit_registration").exists()


def test_delete_a_returned_filing_is_refused(staff_bj, region_bj):
    filing = make_submitted()
    services.filing_return(actor=staff_bj, filing_id=filing.pk, reason="请补充材料")
    with pytest.raises(ValidationError):
        services.filing_delete(actor=None, filing=filing)
    assert Filing.objects.filter(pk=filing.pk, state=FilingState.RETURNED).exists()
    assert len(media_files()) == 3


# --- database constraints ----------------------------------------------------------------------


def test_one_open_filing_per_subject_even_bypassing_the_check(region_bj):
    raw_filing(region_bj, "20260101000001")
    with pytest.raises(IntegrityError), transaction.atomic():
        raw_filing(region_bj, "20260101000002", state=FilingState.SUBMITTED)
    with pytest.raises(IntegrityError), transaction.atomic():
        raw_filing(region_bj, "20260101000003", state=FilingState.RETURNED, return_reason="r")
    assert Filing.objects.count() == 1


def test_closed_filings_do_not_block_a_new_one(region_bj):
    raw_filing(region_bj, "20260101000001", state=FilingState.CANCELLED)
    raw_filing(region_bj, "20260101000002", state=FilingState.APPROVED)
    raw_filing(region_bj, "20260101000003")
    # Filings without a subject are not limited.
    raw_filing(region_bj, "20260101000004", subject_key="")
    raw_filing(region_bj, "20260101000005", subject_key="")
    assert Filing.objects.count() == 5


def test_reopening_a_cancelled_filing_next_to_an_open_one_is_refused(region_bj):
    cancelled = raw_filing(region_bj, "20260101000001", state=FilingState.CANCELLED)
    raw_filing(region_bj, "20260101000002")
    with pytest.raises(IntegrityError), transaction.atomic():
        Filing.objects.filter(pk=cancelled.pk).update(state=FilingState.DRAFT)


def test_service_turns_the_constraint_into_the_duplicate_message(region_bj, monkeypatch):
    """When the pre-check is bypassed (as by a concurrent request), the constraint still
    refuses the second application, with the Chinese message and nothing half-written."""
    make_draft()
    files_before = media_files()
    monkeypatch.setattr(UnitRegistrationHandler, "clean_payload", lambda self, p, *, filing: p)

    with pytest.raises(ValidationError) as e:
        make_draft(name="并发的第二份申请")

    assert messages_of(e) == ["该统一社会信用代码已有参保登记申请正在办理，不能重复申请"]
    assert Filing.objects.count() == 1
    assert FilingMaterial.objects.count() == 3
    assert media_files() == files_before
    assert AuditEntry.objects.filter(action="filing.create.unit_registration").count() == 1


def test_update_onto_an_open_subject_is_refused_by_the_constraint(region_bj, monkeypatch):
    make_draft()
    other = make_draft(uscc=uscc(1))
    monkeypatch.setattr(UnitRegistrationHandler, "clean_payload", lambda self, p, *, filing: p)
    with pytest.raises(ValidationError) as e:
        services.filing_update(actor=None, filing=other, payload=payload())
    assert messages_of(e) == ["该统一社会信用代码已有参保登记申请正在办理，不能重复申请"]
    other.refresh_from_db()
    assert other.subject_key == uscc(1)


def test_returned_filing_must_have_a_reason(region_bj):
    with pytest.raises(IntegrityError), transaction.atomic():
        raw_filing(region_bj, "20260101000001", state=FilingState.RETURNED)
    filing = raw_filing(region_bj, "20260101000002", state=FilingState.SUBMITTED)
    with pytest.raises(IntegrityError), transaction.atomic():
        Filing.objects.filter(pk=filing.pk).update(state=FilingState.RETURNED)
    with pytest.raises(IntegrityError), transaction.atomic():
        Filing.objects.filter(pk=filing.pk).update(state=FilingState.RETURNED, return_reason="")
    Filing.objects.filter(pk=filing.pk).update(state=FilingState.RETURNED, return_reason="缺材料")
    filing.refresh_from_db()
    assert filing.state == FilingState.RETURNED
