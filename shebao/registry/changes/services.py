"""Writes of the information changes and locks: a unit saves a person key / general change, a
lock request or a unit general / key change (as filings of the kinds in ``kinds.py``); staff
lock and unlock persons of their regions directly; the printable 人员变更表 (an audited export).

A unit only reaches persons it currently enrols (others: 404). Refusals are audited as
``<kind>.create`` (e.g. ``person_key_change.create``), ``person.lock`` or ``person.unlock``
with outcome ``denied``."""

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from shebao.core.audit import PERSON_VIEW, PERSON_VIEW_FULL, audit_person_views, audit_record
from shebao.core.excel import build_xlsx
from shebao.core.ids import mask_id_number
from shebao.filings import services as filing_services
from shebao.filings.kinds import handler_for
from shebao.filings.materials import CheckedMaterial
from shebao.filings.models import Filing, FilingKind
from shebao.registry import access
from shebao.registry.changes.calc import (
    CHANGE_FORM_KINDS,
    LEGAL_REP_ID_LABEL,
    LEGAL_REP_ID_SLOT,
    LOCK_REASON_MAX,
    PERSON_KINDS,
    UNIT_KINDS,
    changed_keys,
    clean_text,
    locked_message,
    shown_value,
)
from shebao.registry.changes.selectors import is_current_person, staff_persons
from shebao.registry.models import Enrolment, Person, Unit


def _denied_action(kind: str) -> str:
    return f"{kind}.create"


def _operator_unit(actor, kind: str) -> Unit:
    """The actor's unit when they may file ``kind`` (PermissionDenied, audited, otherwise)."""
    return access.access_operator_unit(
        actor, business_kind=handler_for(kind).business_kind, action=_denied_action(kind)
    )


def _check_editable(filing: Filing | None, kind: str, unit: Unit, person=None) -> None:
    if filing is None:
        return
    if filing.kind != kind or filing.unit_id != unit.pk:
        raise Http404
    if person is not None and filing.person_id != person.pk:
        raise Http404
    if not filing.is_editable:
        raise ValidationError("该业务已提交或已办结，不能修改")


def _missing_materials(
    filing: Filing | None, materials: dict, slots: dict[str, str]
) -> dict[str, str]:
    stored = set(filing.materials.values_list("slot", flat=True)) if filing is not None else set()
    return {
        slot: f"请上传{label}"
        for slot, label in slots.items()
        if slot not in materials and slot not in stored
    }


def _clean_with_materials(handler, payload: dict, filing, materials: dict) -> dict:
    """The handler's clean payload; missing required materials are reported with the other
    errors at once."""
    missing = _missing_materials(filing, materials, handler.required_materials)
    try:
        payload = handler.clean_payload(payload, filing=filing)
    except ValidationError as e:
        if not missing:
            raise
        errors = e.message_dict if hasattr(e, "error_dict") else {NON_FIELD_ERRORS: e.messages}
        raise ValidationError({**errors, **missing}) from None
    if missing:
        raise ValidationError(missing)
    return payload


def person_change_save(
    *,
    actor,
    kind: str,
    person: Person,
    after: dict | None = None,
    reason: str = "",
    materials: dict[str, CheckedMaterial] | None = None,
    filing: Filing | None = None,
) -> Filing:
    """Save (create or edit) a person key / general change or a lock request of the actor's
    unit. A person the unit does not currently enrol answers 404, nothing written."""
    if kind not in PERSON_KINDS:
        raise ValueError(kind)
    unit = _operator_unit(actor, kind)
    if not is_current_person(unit, person):
        access.deny(
            actor, action=_denied_action(kind), object_type="person", object_id=str(person.pk)
        )
        raise Http404
    _check_editable(filing, kind, unit, person)
    handler = handler_for(kind)
    materials = materials or {}
    payload = {"person_no": person.person_no, "name": person.name}
    if kind == FilingKind.PERSON_LOCK:
        payload["reason"] = reason
    else:
        payload["after"] = after or {}
    payload = _clean_with_materials(handler, payload, filing, materials)
    rows = [
        {
            "person": person,
            "id_number": person.id_number,
            "name": person.name,
            "payload": {"before": payload["before"], "after": payload["after"]},
        }
    ]
    if filing is None:
        return filing_services.filing_create(
            actor=actor,
            kind=kind,
            region=unit.region,
            unit=unit,
            person=person,
            payload=payload,
            materials=materials,
            rows=rows,
        )
    return filing_services.filing_update(
        actor=actor, filing=filing, payload=payload, materials=materials, rows=rows
    )


def unit_change_save(
    *,
    actor,
    kind: str,
    after: dict,
    materials: dict[str, CheckedMaterial] | None = None,
    filing: Filing | None = None,
) -> Filing:
    """Save (create or edit) a unit general / key information change of the actor's unit."""
    if kind not in UNIT_KINDS:
        raise ValueError(kind)
    unit = _operator_unit(actor, kind)
    _check_editable(filing, kind, unit)
    handler = handler_for(kind)
    materials = materials or {}
    payload = _clean_with_materials(
        handler, {"unit_no": unit.unit_no, "after": after}, filing, materials
    )
    if kind == FilingKind.UNIT_KEY_CHANGE and (
        payload["after"]["legal_rep_id_number"] != payload["before"]["legal_rep_id_number"]
    ):
        missing = _missing_materials(filing, materials, {LEGAL_REP_ID_SLOT: LEGAL_REP_ID_LABEL})
        if missing:
            raise ValidationError(missing)
    if filing is None:
        return filing_services.filing_create(
            actor=actor,
            kind=kind,
            region=unit.region,
            unit=unit,
            payload=payload,
            materials=materials,
        )
    return filing_services.filing_update(
        actor=actor, filing=filing, payload=payload, materials=materials
    )


def _staff_person_check(actor, person: Person, action: str) -> str:
    """Staff of one of the person's regions may go on; others: PermissionDenied / 404 (the
    refusal is audited outside the transaction that would roll it back). Returns that region's
    code: a person has no region of their own, so the audit row is filed under it (an entry
    without a region is shown to every region's staff)."""
    access.require_staff(actor, action=action, message="只有经办人员可以锁定或解锁人员信息")
    region = (
        Enrolment.objects.filter(person=person, region__in=actor.regions.all())
        .order_by("region_id")
        .values_list("region_id", flat=True)
        .first()
    )
    if region is None or not staff_persons(actor).filter(pk=person.pk).exists():
        access.deny(actor, action=action, object_type="person", object_id=str(person.pk))
        raise Http404
    return region


def person_lock(*, actor, person: Person, reason: str) -> Person:
    """Staff lock a person's key data with a reason (persons of their regions only)."""
    region = _staff_person_check(actor, person, "person.lock")
    reason = clean_text(reason)
    if not reason:
        raise ValidationError({"reason": "请填写锁定原因"})
    if len(reason) > LOCK_REASON_MAX:
        raise ValidationError({"reason": f"锁定原因不能超过 {LOCK_REASON_MAX} 字"})
    with transaction.atomic():
        locked = Person.objects.select_for_update().get(pk=person.pk)
        if locked.is_locked:
            raise ValidationError(f"{locked_message(locked)}，无需重复锁定")
        locked.is_locked = True
        locked.lock_reason = reason
        locked.save(update_fields=["is_locked", "lock_reason"])
        audit_record(
            actor=actor,
            action="person.lock",
            obj=locked,
            region=region,
            detail={"reason": reason},
        )
    return locked


def person_unlock(*, actor, person: Person, note: str = "") -> Person:
    """Staff lift a lock (persons of their regions only)."""
    note = clean_text(note)[:200]
    region = _staff_person_check(actor, person, "person.unlock")
    with transaction.atomic():
        locked = Person.objects.select_for_update().get(pk=person.pk)
        if not locked.is_locked:
            raise ValidationError("该人员信息未锁定")
        previous = locked.lock_reason
        locked.is_locked = False
        locked.lock_reason = ""
        locked.save(update_fields=["is_locked", "lock_reason"])
        audit_record(
            actor=actor,
            action="person.unlock",
            obj=locked,
            region=region,
            detail={"previous_reason": previous, "note": note},
        )
    return locked


# --- the printable change form (人员变更表) ------------------------------------------------------


def person_change_form_xlsx(*, actor, filing: Filing) -> bytes:
    """The change form of a person key / general change: the person, the unit, each field
    before and after. ID numbers are masked unless the ID number itself is what changes
    (then both are needed in full, and the export is audited as such). The person is recorded
    as viewed (``person.view_full`` when their ID number is shown in full)."""
    if filing.kind not in CHANGE_FORM_KINDS:
        raise Http404
    handler = handler_for(filing.kind)
    row = filing.rows.select_related("person").first()
    if row is None:
        raise Http404
    before, after = row.payload.get("before", {}), row.payload.get("after", {})
    changed = changed_keys(before, after)
    full_id = "id_number" in changed

    def shown(key: str, value) -> str:
        if key == "id_number" and full_id:
            return value or ""
        if key == "mobile":
            return value or ""  # the form is the person's own change: their number in full
        return shown_value(key, value)

    unit = filing.unit
    lines = [
        ("流水号", filing.serial_no, ""),
        ("业务类型", filing.get_kind_display(), ""),
        ("单位编号", unit.unit_no if unit else "", ""),
        ("单位名称", unit.name if unit else "", ""),
        ("个人编号", row.person.person_no, ""),
        ("姓名", row.name, ""),
        ("证件号码", row.id_number if full_id else mask_id_number(row.id_number), ""),
        ("", "", ""),
        ("变更项目", "变更前", "变更后"),
    ]
    for key, label in handler.labels.items():
        mark = "（变更）" if key in changed else ""
        lines.append((f"{label}{mark}", shown(key, before.get(key)), shown(key, after.get(key))))
    lines += [
        ("", "", ""),
        ("状态", filing.get_state_display(), ""),
        ("保存时间", timezone.localtime(filing.created_at).strftime("%Y-%m-%d %H:%M"), ""),
        (
            "提交时间",
            timezone.localtime(filing.submitted_at).strftime("%Y-%m-%d %H:%M")
            if filing.submitted_at
            else "",
            "",
        ),
        (
            "办结时间",
            timezone.localtime(filing.decided_at).strftime("%Y-%m-%d %H:%M")
            if filing.decided_at and filing.state == "approved"
            else "",
            "",
        ),
        ("", "", ""),
        ("单位经办人（签字）", "", "参保人（签字）"),
        ("单位（盖章）", "", "日期"),
    ]
    content = build_xlsx([("人员变更表", ["人员变更表", "", ""], lines)])
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="person.change_form.export",
            obj=filing,
            detail={"full_id": full_id},
        )
        # The form shows the person's data (their ID number in full when it changes): their
        # PIPL 访问记录 lists it.
        audit_person_views(
            actor=actor,
            persons=[row.person],
            via="单位网厅·人员变更表导出",
            region=filing.region_id,
            detail={"export": "person.change_form.export", "serial_no": filing.serial_no},
            action=PERSON_VIEW_FULL if full_id else PERSON_VIEW,
        )
    return content
