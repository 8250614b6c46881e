"""The filing workflow (DOMAIN §3): draft → submitted → approved | returned; cancel; delete.

Each business kind plugs in through a handler (filings/kinds.py) that validates its payload
and applies an approved filing. Every step is kept as a FilingStep and an audit row."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone

from shebao.core.audit import actor_label, audit_record
from shebao.core.models import AuditEntry
from shebao.core.sequences import next_serial_no
from shebao.filings.kinds import ReviewPolicy, handler_for
from shebao.filings.materials import CheckedMaterial
from shebao.filings.models import (
    EDITABLE_STATES,
    Filing,
    FilingMaterial,
    FilingRow,
    FilingState,
    FilingStep,
    RegionFilingRule,
)

RETURN_REASON_MAX = 500


def _step(filing: Filing, actor, action: str, from_state: str, note: str = "") -> None:
    FilingStep.objects.create(
        filing=filing,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        actor_label=actor_label(actor) if actor is not None else "申请人",
        action=action,
        from_state=from_state,
        to_state=filing.state,
        note=note,
    )


def _open_subject_error(filing_kind: str) -> ValidationError:
    return ValidationError(handler_for(filing_kind).duplicate_message, code="duplicate")


def _locked(filing_id: int) -> Filing:
    try:
        return Filing.objects.select_for_update().get(pk=filing_id)
    except Filing.DoesNotExist:
        raise Http404 from None


def _store_materials(filing: Filing, materials: dict[str, CheckedMaterial]) -> None:
    for slot, checked in materials.items():
        for old in FilingMaterial.objects.filter(filing=filing, slot=slot):
            # the replaced file leaves storage once the new one is committed
            transaction.on_commit(lambda f=old.file: f.delete(save=False))
            old.delete()
        material = FilingMaterial(
            filing=filing,
            slot=slot,
            original_name=checked.original_name,
            content_type=checked.content_type,
            size=len(checked.content),
            sha256=checked.sha256,
            width=checked.width,
            height=checked.height,
        )
        material.file.save(checked.extension, ContentFile(checked.content), save=False)
        material.save()


def open_filing_blocker(id_number: str, *, unit, exclude_filing=None) -> str | None:
    """The message when a person is already in another not-yet-approved filing: the serial
    number when it is the same unit's, only the fact when it is another unit's."""
    rows = FilingRow.objects.filter(FilingRow.id_number.q(id_number), is_open=True)
    rows = rows.select_related("filing")
    if exclude_filing is not None:
        rows = rows.exclude(filing=exclude_filing)
    row = rows.first()
    if row is None:
        return None
    if unit is not None and row.filing.unit_id == unit.pk:
        return (
            f"{row.name}已在业务 {row.filing.serial_no}（{row.filing.get_kind_display()}）中办理，"
            "请先提交办结或退单"
        )
    return f"{row.name}在其他单位有正在办理的业务，暂不能办理"


def _store_rows(filing: Filing, rows: list[dict] | None) -> None:
    """Replace the filing's rows. Each row: person (or None), id_number, name, payload."""
    if rows is None:
        return
    errors = [
        msg
        for row in rows
        if (msg := open_filing_blocker(row["id_number"], unit=filing.unit, exclude_filing=filing))
    ]
    if errors:
        raise ValidationError(errors, code="open_filing")
    filing.rows.all().delete()
    try:
        with transaction.atomic():
            FilingRow.objects.bulk_create(
                FilingRow(
                    filing=filing,
                    person=row.get("person"),
                    id_number=row["id_number"],
                    name=row["name"],
                    payload=row.get("payload", {}),
                )
                for row in rows
            )
    except IntegrityError:
        # A concurrent filing took one of the persons between the check and the insert.
        errors = [
            msg
            for row in rows
            if (
                msg := open_filing_blocker(
                    row["id_number"], unit=filing.unit, exclude_filing=filing
                )
            )
        ]
        raise ValidationError(errors or "该人员已有正在办理的业务", code="open_filing") from None


def filing_create(
    *,
    actor,
    kind: str,
    region,
    payload: dict,
    materials: dict[str, CheckedMaterial] | None = None,
    unit=None,
    person=None,
    contact_mobile: str = "",
    rows: list[dict] | None = None,
) -> Filing:
    """Save a new draft (保存): the serial number is given here."""
    handler = handler_for(kind)
    handler.check_permission(actor=actor, unit=unit)
    payload = handler.clean_payload(payload, filing=None)
    missing = [
        label for slot, label in handler.required_materials.items() if slot not in (materials or {})
    ]
    if missing:
        raise ValidationError({"materials": f"请上传申报材料：{'、'.join(missing)}"})
    try:
        with transaction.atomic():
            filing = Filing.objects.create(
                serial_no=next_serial_no(),
                kind=kind,
                region=region,
                unit=unit,
                person=person,
                created_by=actor if getattr(actor, "is_authenticated", False) else None,
                contact_mobile=contact_mobile,
                title=handler.title(payload),
                subject_key=handler.subject_key(payload),
                payload=payload,
            )
            _store_materials(filing, materials or {})
            _store_rows(filing, rows)
            _step(filing, actor, FilingStep.Action.CREATE, "")
            audit_record(actor=actor, action=f"filing.create.{kind}", obj=filing, region=region)
    except IntegrityError:
        raise _open_subject_error(kind) from None
    return filing


def filing_update(
    *,
    actor,
    filing: Filing,
    payload: dict,
    materials: dict[str, CheckedMaterial] | None = None,
    contact_mobile: str | None = None,
    rows: list[dict] | None = None,
) -> Filing:
    """Edit a draft or returned filing (rows, when given, replace the old ones)."""
    handler = handler_for(filing.kind)
    handler.check_permission(actor=actor, unit=filing.unit)
    payload = handler.clean_payload(payload, filing=filing)
    try:
        with transaction.atomic():
            locked = _locked(filing.pk)
            if locked.state not in EDITABLE_STATES:
                raise ValidationError("该业务已提交或已办结，不能修改")
            locked.payload = payload
            locked.title = handler.title(payload)
            locked.subject_key = handler.subject_key(payload)
            if contact_mobile is not None:
                locked.contact_mobile = contact_mobile
            locked.save()
            _store_materials(locked, materials or {})
            _store_rows(locked, rows)
            _step(locked, actor, FilingStep.Action.EDIT, locked.state)
            audit_record(actor=actor, action=f"filing.edit.{locked.kind}", obj=locked)
    except IntegrityError:
        raise _open_subject_error(filing.kind) from None
    return locked


def filing_submit(*, actor, filing: Filing) -> Filing:
    handler = handler_for(filing.kind)
    handler.check_permission(actor=actor, unit=filing.unit)
    with transaction.atomic():
        locked = _locked(filing.pk)
        if locked.state not in EDITABLE_STATES:
            raise ValidationError("该业务已提交，请勿重复提交")
        handler.clean_payload(locked.payload, filing=locked)
        missing = [
            label
            for slot, label in handler.required_materials.items()
            if not locked.materials.filter(slot=slot).exists()
        ]
        if missing:
            raise ValidationError(f"请上传申报材料：{'、'.join(missing)}")
        if handler.uses_rows and not locked.rows.exists():
            raise ValidationError("业务中没有人员，不能提交")
        before = locked.state
        locked.state = FilingState.SUBMITTED
        locked.submitted_at = timezone.now()
        locked.save(update_fields=["state", "submitted_at", "updated_at"])
        _step(locked, actor, FilingStep.Action.SUBMIT, before)
        audit_record(actor=actor, action=f"filing.submit.{locked.kind}", obj=locked)
        if approves_on_submit(locked):
            _decide_approved(locked, actor=None, refused={}, note="")
    return locked


def approves_on_submit(filing: Filing) -> bool:
    """VIP units' filings are approved on submit except key-information changes; normal
    units' follow the kind's policy and the region's rule (seed 002)."""
    policy = handler_for(filing.kind).review_policy
    if policy == ReviewPolicy.ALWAYS:
        return False
    if policy == ReviewPolicy.AUTO:
        return True
    if filing.unit is not None and filing.unit.is_vip:
        return True
    if policy == ReviewPolicy.REGION:
        return RegionFilingRule.objects.filter(
            region_id=filing.region_id, kind=filing.kind, auto_approve=True
        ).exists()
    return False


def filing_delete(*, actor, filing: Filing) -> None:
    """删除: only a draft that was never submitted disappears (with its rows and materials)."""
    handler = handler_for(filing.kind)
    handler.check_permission(actor=actor, unit=filing.unit)
    with transaction.atomic():
        locked = _locked(filing.pk)
        if locked.state != FilingState.DRAFT or locked.submitted_at is not None:
            raise ValidationError("只有从未提交过的待提交业务可以删除；已回退的业务请退单")
        audit_record(
            actor=actor,
            action=f"filing.delete.{locked.kind}",
            obj=locked,
            detail={"serial_no": locked.serial_no},
        )
        for material in locked.materials.all():
            material.file.delete(save=False)
        locked.delete()


def filing_cancel(*, actor, filing: Filing) -> Filing:
    """退单: a saved or returned filing is cancelled and kept with its serial number."""
    handler = handler_for(filing.kind)
    handler.check_permission(actor=actor, unit=filing.unit)
    with transaction.atomic():
        locked = _locked(filing.pk)
        if locked.state not in EDITABLE_STATES:
            raise ValidationError("只有待提交或已回退的业务可以退单")
        before = locked.state
        locked.state = FilingState.CANCELLED
        locked.save(update_fields=["state", "updated_at"])
        locked.rows.update(is_open=False)
        _step(locked, actor, FilingStep.Action.CANCEL, before)
        audit_record(actor=actor, action=f"filing.cancel.{locked.kind}", obj=locked)
    return locked


def _staff_may_review(actor, filing: Filing) -> bool:
    return (
        getattr(actor, "is_staff_member", False)
        and actor.is_active
        and actor.regions.filter(pk=filing.region_id).exists()
    )


def _check_reviewer(actor, filing_id: int, action: str) -> None:
    """Before the transaction, so the 'denied' audit row survives: another region's filing
    looks like a missing one."""
    filing = Filing.objects.filter(pk=filing_id).only("region_id").first()
    if filing is None:
        raise Http404
    if not _staff_may_review(actor, filing):
        audit_record(
            actor=actor,
            action=action,
            object_type="filing",
            object_id=str(filing_id),
            outcome=AuditEntry.Outcome.DENIED,
        )
        raise Http404


def _review_target(actor, filing_id: int, action: str) -> Filing:
    locked = _locked(filing_id)
    if locked.state != FilingState.SUBMITTED:
        raise ValidationError(
            f"该业务当前状态为“{locked.get_state_display()}”，已由他人处理或尚未提交",
            code="state",
        )
    return locked


def _decide_approved(locked: Filing, *, actor, refused: dict[int, str], note: str) -> None:
    """Rows named in `refused` get their reason; the rest are approved and applied."""
    now = timezone.now()
    rows = list(locked.rows.all())
    unknown = set(refused) - {row.pk for row in rows}
    if unknown:
        raise ValidationError("不通过的人员不属于该业务")
    for row in rows:
        if row.pk in refused:
            reason = (refused[row.pk] or "").strip()[:200]
            if not reason:
                raise ValidationError(f"请填写 {row.name} 不通过的原因")
            row.result, row.refuse_reason = FilingRow.Result.REFUSED, reason
        else:
            row.result = FilingRow.Result.APPROVED
        row.is_open = False
    FilingRow.objects.bulk_update(rows, ["result", "refuse_reason", "is_open"])
    handler_for(locked.kind).apply(filing=locked, actor=actor)
    locked.state = FilingState.APPROVED
    locked.decided_at = now
    locked.decided_by = actor if getattr(actor, "is_authenticated", False) else None
    locked.save()
    if actor is None:
        FilingStep.objects.create(
            filing=locked,
            actor=None,
            actor_label="系统",
            action=FilingStep.Action.AUTO_APPROVE,
            from_state=FilingState.SUBMITTED,
            to_state=locked.state,
            note="VIP单位或免审业务，提交即办结",
        )
    else:
        summary = f"{len(refused)} 人不通过" if refused else ""
        _step(
            locked,
            actor,
            FilingStep.Action.APPROVE,
            FilingState.SUBMITTED,
            note="；".join(x for x in (note[:300], summary) if x),
        )
    audit_record(
        actor=actor,
        action=f"filing.approve.{locked.kind}",
        obj=locked,
        detail={"refused_rows": len(refused), "auto": actor is None},
    )


def filing_approve(
    *, actor, filing_id: int, note: str = "", refused: dict[int, str] | None = None
) -> Filing:
    """Approve under a row lock: two reviewers can never both decide the same filing.
    `refused` maps row ids to the reason each refused person is listed with."""
    if not getattr(actor, "is_staff_member", False):
        raise PermissionDenied("只有经办人员可以审核")
    _check_reviewer(actor, filing_id, "filing.approve")
    with transaction.atomic():
        locked = _review_target(actor, filing_id, "filing.approve")
        _decide_approved(locked, actor=actor, refused=refused or {}, note=note)
    return locked


def filing_return(*, actor, filing_id: int, reason: str) -> Filing:
    if not getattr(actor, "is_staff_member", False):
        raise PermissionDenied("只有经办人员可以审核")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "请填写回退原因"})
    if len(reason) > RETURN_REASON_MAX:
        raise ValidationError({"reason": f"回退原因不能超过 {RETURN_REASON_MAX} 字"})
    _check_reviewer(actor, filing_id, "filing.return")
    with transaction.atomic():
        locked = _review_target(actor, filing_id, "filing.return")
        locked.state = FilingState.RETURNED
        locked.return_reason = reason
        locked.was_returned = True
        locked.decided_at = timezone.now()
        locked.decided_by = actor
        locked.save()
        _step(locked, actor, FilingStep.Action.RETURN, FilingState.SUBMITTED, note=reason)
        handler_for(locked.kind).on_returned(filing=locked)
        audit_record(
            actor=actor,
            action=f"filing.return.{locked.kind}",
            obj=locked,
            detail={"reason": reason},
        )
    return locked


def region_rules_set(*, actor, rules: dict[tuple[str, str], bool]) -> None:
    """Staff set, for their own regions, which kinds normal units get approved on submit."""
    allowed = set(actor.regions.values_list("code", flat=True)) if actor.is_staff_member else set()
    if any(region not in allowed for region, _ in rules):
        audit_record(actor=actor, action="region_rules.set", outcome=AuditEntry.Outcome.DENIED)
        raise PermissionDenied("只能设置本人经办统筹区的审核规则")
    with transaction.atomic():
        for (region, kind), auto in rules.items():
            RegionFilingRule.objects.update_or_create(
                region_id=region, kind=kind, defaults={"auto_approve": auto}
            )
        audit_record(
            actor=actor,
            action="region_rules.set",
            detail={f"{r}:{k}": v for (r, k), v in rules.items()},
        )


# --- helpers shared by the unit kinds that carry persons (enrolment, wages, back pay) ----------


def lock_own_filing(filing: Filing, unit, kind: str) -> Filing:
    """The unit's own editable filing of this kind, row-locked for the rest of the transaction
    (another unit's answers 404)."""
    try:
        locked = Filing.objects.select_for_update().get(pk=filing.pk, unit=unit, kind=kind)
    except Filing.DoesNotExist:
        raise Http404 from None
    if not locked.is_editable:
        raise ValidationError("该业务已提交或已办结，不能修改")
    return locked


def row_spec(row: FilingRow) -> dict:
    """A stored row in the shape filing_create/filing_update take."""
    return {
        "person": row.person,
        "id_number": row.id_number,
        "name": row.name,
        "payload": row.payload,
    }


def rows_payload(filing: Filing | None, rows: list[dict]) -> dict:
    """The filing's own payload: names for its title and a revision that changes with every
    save (so ``clean_payload`` can tell a submit from an edit)."""
    rev = (filing.payload.get("rev", 0) if filing is not None else 0) + 1
    return {"rev": rev, "count": len(rows), "names": [r["name"] for r in rows[:5]]}
