"""Reads on filings, scoped by the actor."""

from datetime import timedelta

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from shebao.core.audit import audit_person_views, audit_record
from shebao.core.ids import mask_id_number
from shebao.core.models import AuditEntry
from shebao.filings.kinds import HANDLERS, ReviewPolicy, handler_for
from shebao.filings.models import (
    Filing,
    FilingKind,
    FilingMaterial,
    FilingRow,
    FilingState,
    FilingStep,
    RegionFilingRule,
)

WAITING_CHOICES = {
    "": "不限",
    "1": "超过1天",
    "3": "超过3天",
    "7": "超过7天",
}


def filing_progress(filing: Filing) -> QuerySet[FilingStep]:
    return filing.steps.all()


def staff_filings(actor) -> QuerySet[Filing]:
    return Filing.objects.filter(region__in=actor.regions.all())


def review_queue(
    actor,
    *,
    region: str = "",
    kind: str = "",
    unit: str = "",
    waiting_days: str = "",
    state: str = FilingState.SUBMITTED,
) -> QuerySet[Filing]:
    """Filings waiting for review in the staff member's regions, oldest first."""
    qs = staff_filings(actor).select_related("region", "unit")
    if state:
        qs = qs.filter(state=state)
    if region:
        qs = qs.filter(region_id=region)
    if kind:
        qs = qs.filter(kind=kind)
    if unit:
        qs = qs.filter(
            Q(unit__unit_no=unit)
            | Q(unit__name__icontains=unit)
            | Q(title__icontains=unit)
            | Q(serial_no=unit)
        )
    if waiting_days.isdigit():
        qs = qs.filter(submitted_at__lte=timezone.now() - timedelta(days=int(waiting_days)))
    return qs.defer("payload").order_by("submitted_at", "id")  # a list decrypts nothing


def _not_found(actor, serial_no: str) -> Http404:
    """Another tenant's filing answers like a missing one; the refusal is audited
    (``filing.open``, outcome denied)."""
    audit_record(
        actor=actor,
        action="filing.open",
        object_type="filing",
        object_id=serial_no[:40],
        outcome=AuditEntry.Outcome.DENIED,
    )
    return Http404()


def staff_filing_get(actor, serial_no: str) -> Filing:
    try:
        return (
            staff_filings(actor)
            .select_related("region", "unit", "decided_by")
            .get(serial_no=serial_no)
        )
    except Filing.DoesNotExist:
        raise _not_found(actor, serial_no) from None


def material_for_request(request, material_id: int) -> FilingMaterial:
    """A material is visible to staff of its region, to its unit's operators, and to the
    anonymous applicant's session (first registration)."""
    try:
        material = FilingMaterial.objects.select_related("filing").get(pk=material_id)
    except FilingMaterial.DoesNotExist:
        raise Http404 from None
    filing = material.filing
    user = request.user
    if user.is_authenticated:
        if user.is_staff_member and user.regions.filter(pk=filing.region_id).exists():
            return material
        if user.is_operator and filing.unit_id and filing.unit_id == user.unit_id:
            return material
    if filing.serial_no in request.session.get("registration_serials", []):
        return material
    raise Http404


def unit_filings(actor) -> QuerySet[Filing]:
    return Filing.objects.filter(unit_id=actor.unit_id)


def unit_todo(actor, *, kind: str = "") -> QuerySet[Filing]:
    """待办: drafts and returned filings (回退标志 and reason shown)."""
    qs = unit_filings(actor).filter(state__in=[FilingState.DRAFT, FilingState.RETURNED])
    if kind:
        qs = qs.filter(kind=kind)
    return qs.select_related("created_by").defer("payload").order_by("-updated_at", "-id")


def unit_returned_count(actor) -> int:
    """How many of the unit's filings were returned and wait for the unit (the home page's hint)."""
    return unit_filings(actor).filter(state=FilingState.RETURNED).count()


def unit_recent(actor, limit: int = 5) -> list[Filing]:
    """The unit's newest filings (the home page)."""
    return list(unit_filings(actor).defer("payload").order_by("-created_at", "-id")[:limit])


def unit_done(actor, *, kind: str = "", state: str = "") -> QuerySet[Filing]:
    """已办: submitted, finished and cancelled filings."""
    qs = unit_filings(actor).filter(
        state__in=[FilingState.SUBMITTED, FilingState.APPROVED, FilingState.CANCELLED]
    )
    if kind:
        qs = qs.filter(kind=kind)
    if state:
        qs = qs.filter(state=state)
    return qs.select_related("decided_by").defer("payload").order_by("-submitted_at", "-id")


def unit_filing_get(actor, serial_no: str) -> Filing:
    try:
        return unit_filings(actor).select_related("unit", "region").get(serial_no=serial_no)
    except Filing.DoesNotExist:
        raise _not_found(actor, serial_no) from None


def with_row_counts(qs: QuerySet[Filing]) -> QuerySet[Filing]:
    """Each filing with its number of rows (``n_rows``) and of refused rows (``n_refused``)."""
    return qs.annotate(
        n_rows=Count("rows"), n_refused=Count("rows", filter=Q(rows__result="refused"))
    )


def _rows_seen(actor, filing: Filing, *, via: str) -> list:
    """The filing's rows, each person shown recorded as a ``person.view`` audit row."""
    rows = list(filing.rows.select_related("person"))
    persons = {r.person_id: r.person for r in rows if r.person_id}
    if filing.person_id:
        persons.setdefault(filing.person_id, filing.person)
    audit_person_views(
        actor=actor,
        persons=persons.values(),
        via=via,
        region=filing.region_id,
        detail={"serial_no": filing.serial_no},
    )
    return rows


def _approve_confirm(count: int, uses_rows: bool) -> str:
    """The approve button's question before any refusal is typed (review_confirm.js names the
    refused persons as the reviewer types their reasons)."""
    if uses_rows:
        return f"确定审核通过？全部 {count} 人通过，通过后立即生效，不能撤销。"
    return "确定审核通过？通过后立即生效，不能撤销。"


def review_page(actor, filing: Filing) -> dict:
    """What the review page shows of a filing: its rows and payload as the kind's handler
    shows them, materials and steps. The persons shown are recorded (``person.view``)."""
    handler = handler_for(filing.kind)
    # The legal representative's ID is shown masked; 显示完整 asks the audited reveal.
    legal_rep_id = mask_id_number(handler.legal_rep_id_number(filing.payload))
    rows = _rows_seen(actor, filing, via="经办后台·业务审核")
    return {
        "legal_rep_id_masked": legal_rep_id,
        "filing": filing,
        "rows": [{"row": r, "fields": handler.row_display(r)} for r in rows],
        "refuse_inputs": filing.state == FilingState.SUBMITTED,
        "approve_confirm": _approve_confirm(len(rows), handler.uses_rows),
        "payload_rows": handler.display_rows(filing.payload) if not handler.uses_rows else [],
        "materials": filing.materials.all(),
        "steps": filing_progress(filing),
    }


def refused_row_label(row: FilingRow) -> str:
    """How a refused person is named to the reviewer: name and masked ID number."""
    return f"{row.name}（{row.id_number_masked}）"


def refused_rows_summary(filing: Filing) -> list[str]:
    """The refused persons of a decided filing with their reasons, for the reviewer's message."""
    rows = filing.rows.filter(result=FilingRow.Result.REFUSED).order_by("pk")
    return [f"{refused_row_label(r)}：{r.refuse_reason}" for r in rows]


def unit_filing_page(actor, filing: Filing) -> dict:
    """The unit's page of one of its filings (rows, payload, steps, materials); the persons
    shown are recorded (``person.view``)."""
    handler = handler_for(filing.kind)
    rows = _rows_seen(actor, filing, via="单位网厅·业务详情")
    return {
        "filing": filing,
        "rows": [{"row": row, "fields": handler.row_display(row)} for row in rows],
        "payload_rows": handler.display_rows(filing.payload) if not handler.uses_rows else [],
        "steps": filing_progress(filing),
        "materials": filing.materials.all(),
        "business_kind": handler.business_kind or "",
    }


def region_rule_kinds() -> list[tuple[str, str]]:
    """The kinds whose review depends on the region's rule (ReviewPolicy.REGION)."""
    return [
        (k, FilingKind(k).label)
        for k in HANDLERS
        if handler_for(k).review_policy == ReviewPolicy.REGION
    ]


def region_rules_grid(regions, kinds: list[tuple[str, str]]) -> list:
    """Per region (the staff member's): (region, [(kind, approved on submit?)])."""
    current = {
        (rule.region_id, rule.kind): rule.auto_approve
        for rule in RegionFilingRule.objects.filter(region__in=regions)
    }
    return [(r, [(k, current.get((r.code, k), False)) for k, _ in kinds]) for r in regions]
