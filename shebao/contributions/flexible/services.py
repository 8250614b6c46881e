"""Writes of flexible workers (灵活就业人员, DOMAIN §2 and §5; seed 001 §2.5.5 灵活人员缴费核定 and
§2.5.6 灵活人员缴费核定回退): registration, monthly assessment and its rollback.

A person with no employer registers in the person hall (filing kind ``flexible_enrolment``,
``kinds.py``), is assessed monthly (one ``Settlement`` of kind FLEXIBLE per person and 结算期:
unit empty, person set; database constraint) and pays alone (payer ``P<person id>``). Before any
payment the assessment can be rolled back (回退) and assessed again. The calculation and its
decisions are in ``calc.py``.

- **Rollback by the person**: seed 001 lists 灵活人员缴费核定 and 灵活人员缴费核定回退 side by side as
  functions of the online hall: whoever may assess may roll back. Here the person assesses
  themself, so they may roll back their own assessment while nothing is paid; staff may too.
- **Assessment period**: always the region's current 结算期 (费款所属期 = 结算期). Earlier months
  missed are back pay (补缴), not a second kind of assessment.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone

from shebao.contributions.flexible.calc import flexible_lines
from shebao.contributions.flexible.kinds import registration_check
from shebao.contributions.flexible.selectors import (
    KIND,
    assessed_persons,
    covering,
    flexible_sets,
    person_flexible_filing_get,
    person_of,
    registration_blockers,
)
from shebao.contributions.models import (
    Arrear,
    ContributionLine,
    FlexibleEnrolment,
    ParameterSet,
    Payment,
    Settlement,
)
from shebao.contributions.params.selectors import to_params
from shebao.contributions.settlement.services import settlement_reopen
from shebao.core.audit import audit_record
from shebao.core.models import Region
from shebao.filings import services as filing_services
from shebao.filings.models import Filing
from shebao.registry import access
from shebao.registry.models import Person

ZERO = Decimal("0.00")
CHUNK = 500


# --- registration (filing kind flexible_enrolment) -------------------------------------------


def flexible_register(*, actor, data: Mapping, serial_no: str = "") -> Filing:
    """Register the signed-in person as a flexible worker: a new filing (or the person's own
    returned one, `serial_no`, edited) submitted at once. Nothing stays half-done: a refusal
    leaves no draft behind. A person the page gives reasons to (in review, retired, already
    enrolled...) is refused with them before anything else, audited as denied."""
    person = person_of(actor, action="flexible.register")
    blockers = registration_blockers(actor, person)
    if blockers:
        access.deny(
            actor, action="flexible.register", object_type="person", object_id=str(person.pk)
        )
        raise ValidationError({NON_FIELD_ERRORS: blockers})
    payload = registration_check(person, data)
    rows = [{"person": person, "id_number": person.id_number, "name": person.name}]
    with transaction.atomic():
        filing = (
            person_flexible_filing_get(actor, serial_no, action="flexible.register")
            if serial_no
            else None
        )
        if filing is not None and filing.region_id != payload["region"]:
            # another region reviews it: the returned filing is cancelled (kept as 已退单)
            # and a new one is filed there
            filing_services.filing_cancel(actor=actor, filing=filing)
            filing = None
        if filing is not None:
            filing = filing_services.filing_update(
                actor=actor, filing=filing, payload=payload, rows=rows
            )
        else:
            filing = filing_services.filing_create(
                actor=actor,
                kind=KIND,
                region=Region.objects.get(pk=payload["region"]),
                payload=payload,
                person=person,
                contact_mobile=person.mobile,
                rows=rows,
            )
        return filing_services.filing_submit(actor=actor, filing=filing)


def flexible_filing_cancel(*, actor, serial_no: str) -> Filing:
    """退单 of the person's own draft or returned registration."""
    filing = person_flexible_filing_get(actor, serial_no, action="flexible.cancel")
    return filing_services.filing_cancel(actor=actor, filing=filing)


# --- monthly assessment (灵活人员缴费核定) -----------------------------------------------------


def _assessment_rows(
    enrolments: Iterable[FlexibleEnrolment],
    region_id: str,
    period: int,
    sets: Mapping[str, ParameterSet],
    actor,
) -> int:
    """Write the assessments of `enrolments` (none assessed yet for `period`): settlements,
    lines and arrears, a fixed number of queries whatever their number. Returns how many."""
    params = {t: to_params(ps) for t, ps in sets.items()}
    computed = {fe.person_id: flexible_lines(params, fe.base_level) for fe in enrolments}
    if not computed:
        return 0
    now = timezone.now()
    Settlement.objects.bulk_create(
        Settlement(
            person_id=person_id,
            unit=None,
            region_id=region_id,
            settle_period=period,
            kind=Settlement.Kind.FLEXIBLE,
            state=Settlement.State.CONFIRMED,
            headcount=1,
            unit_total=result.unit_total,
            personal_total=result.personal_total,
            progress=100,
            created_by=actor,
            finished_at=now,
        )
        for person_id, result in computed.items()
    )
    ids = dict(
        Settlement.objects.filter(
            person_id__in=list(computed), settle_period=period, kind=Settlement.Kind.FLEXIBLE
        )
        .exclude(state=Settlement.State.WITHDRAWN)
        .values_list("person_id", "pk")
    )
    lines, arrears = [], []
    for person_id, result in computed.items():
        for x in result.lines:
            lines.append(
                ContributionLine(
                    settlement_id=ids[person_id],
                    unit=None,
                    person_id=person_id,
                    region_id=region_id,
                    item=x.insurance_type,
                    settle_period=period,
                    belongs_period=period,
                    kind=ContributionLine.Kind.FLEXIBLE,
                    base=x.base,
                    unit_amount=x.unit,
                    personal_amount=x.personal,
                    below_floor=x.below_floor,
                    above_cap=x.above_cap,
                    parameter_set_id=sets[x.insurance_type].pk,
                )
            )
            # A new assessment has no payment yet (a rolled-back one had none either), so its
            # arrears are what rebuild_arrears would compute: due in full, nothing paid.
            arrears.append(
                Arrear(
                    payer=f"P{person_id}",
                    unit=None,
                    person_id=person_id,
                    region_id=region_id,
                    settle_period=period,
                    item=x.insurance_type,
                    belongs_period=period,
                    due=x.total,
                    paid=ZERO,
                )
            )
    ContributionLine.objects.bulk_create(lines, batch_size=2 * CHUNK)
    Arrear.objects.filter(payer__in=[f"P{p}" for p in computed], settle_period=period).delete()
    Arrear.objects.bulk_create(arrears, batch_size=2 * CHUNK)
    return len(computed)


def _person_enrolment_for_assessment(person: Person) -> FlexibleEnrolment:
    """The person's flexible enrolment covering its region's current 结算期."""
    candidates = list(
        FlexibleEnrolment.objects.filter(person=person)
        .select_related("region")
        .order_by("-start_period", "-id")
    )
    for fe in candidates:
        period = fe.region.current_period
        if fe.start_period <= period and (fe.stop_period is None or fe.stop_period >= period):
            return fe
    open_one = next((fe for fe in candidates if fe.stop_period is None), None)
    if open_one is not None:
        raise ValidationError(
            f"灵活就业参保从 {open_one.start_period} 开始，当前结算期 "
            f"{open_one.region.current_period} 尚无需核定"
        )
    raise ValidationError("没有正在缴费的灵活就业参保登记，不能核定")


def _staff_person(actor, person_no: str) -> Person:
    """A flexible worker of one of the staff member's regions (by 个人编号), else 404."""
    person = Person.objects.filter(person_no=(person_no or "").strip()).first()
    if (
        person is None
        or not FlexibleEnrolment.objects.filter(
            person=person, region__in=actor.regions.all()
        ).exists()
    ):
        raise Http404
    return person


def flexible_assess(*, actor, person_no: str = "") -> Settlement:
    """灵活人员缴费核定 of one person for their region's current 结算期: by the person themself
    (``person_no`` ignored) or by staff of the region (``person_no`` required; another
    region's person answers 404). One assessment per person and 结算期 (database constraint):
    a second one is refused until the first is rolled back."""
    by_staff = access.is_staff_member(actor)
    if access.is_person(actor):
        person = person_of(actor, action="flexible.assess")
    elif by_staff:
        person = _staff_person(actor, person_no)
    else:
        access.deny(actor, action="flexible.assess")
        raise PermissionDenied("您没有办理灵活人员缴费核定的权限")
    fe = _person_enrolment_for_assessment(person)
    if by_staff and not actor.regions.filter(pk=fe.region_id).exists():
        raise Http404
    period = fe.region.current_period
    sets = flexible_sets(fe.region_id, period)
    duplicate = ValidationError(
        f"{period} 已核定，不能重复核定；如需重新核定请先回退", code="duplicate"
    )
    if assessed_persons([person.pk], period):
        raise duplicate
    try:
        with transaction.atomic():
            _assessment_rows([fe], fe.region_id, period, sets, actor)
            settlement = Settlement.objects.get(
                person=person,
                settle_period=period,
                kind=Settlement.Kind.FLEXIBLE,
                state=Settlement.State.CONFIRMED,
            )
            audit_record(
                actor=actor,
                action="flexible.assess",
                obj=person,
                region=fe.region_id,
                detail={
                    "period": period,
                    "settlement": settlement.pk,
                    "base_level": str(fe.base_level),
                    "total": str(settlement.total),
                },
            )
    except IntegrityError:  # assessed at the same moment by someone else
        raise duplicate from None
    return settlement


@dataclass
class RegionAssessment:
    region: Region
    period: int
    assessed: int = 0
    already: int = 0
    chunks: int = 0


def flexible_assess_region(*, actor, region_code: str) -> RegionAssessment:
    """灵活人员缴费核定 of every flexible worker of a staff member's region for its current
    结算期 who is not assessed yet: synchronously, in chunks of CHUNK persons, each chunk one
    transaction with a fixed number of queries. Running it again continues where it stopped
    (those already assessed are skipped), so a failed chunk loses nothing done before it."""
    region = access.access_staff_region(
        actor, region=(region_code or "").strip(), action="flexible.assess_region"
    )
    period = region.current_period
    sets = flexible_sets(region.pk, period)
    workers = FlexibleEnrolment.objects.filter(region=region).filter(covering(period))
    person_ids = list(workers.order_by("person_id").values_list("person_id", flat=True))
    report = RegionAssessment(region=region, period=period)
    for start in range(0, len(person_ids), CHUNK):
        chunk = person_ids[start : start + CHUNK]
        for attempt in range(3):
            try:
                with transaction.atomic():
                    done = assessed_persons(chunk, period)
                    todo = list(workers.filter(person_id__in=[p for p in chunk if p not in done]))
                    written = _assessment_rows(todo, region.pk, period, sets, actor)
                break
            except IntegrityError:  # a person assessed themself meanwhile: take the rest
                if attempt == 2:
                    raise
        report.assessed += written
        report.already += len(done)
        report.chunks += 1
    audit_record(
        actor=actor,
        action="flexible.assess_region",
        obj=region,
        region=region,
        detail={"period": period, "assessed": report.assessed, "already": report.already},
    )
    return report


# --- rollback (灵活人员缴费核定回退) -----------------------------------------------------------


def _rollback_target(actor, settlement_id: int) -> Settlement:
    qs = Settlement.objects.filter(pk=settlement_id, kind=Settlement.Kind.FLEXIBLE)
    if access.is_person(actor):
        qs = qs.filter(person=person_of(actor, action="flexible.rollback"))
    elif access.is_staff_member(actor):
        qs = qs.filter(region__in=actor.regions.all())
    else:
        access.deny(actor, action="flexible.rollback")
        raise PermissionDenied("您没有办理核定回退的权限")
    settlement = qs.select_related("person").first()
    if settlement is None:
        raise Http404
    return settlement


def flexible_rollback(*, actor, settlement_id: int) -> Settlement:
    """回退 of a flexible assessment before any payment: its lines are withdrawn (kept), its
    arrears go, and the month can be assessed again. Staff use ``settlement_reopen``; the
    person may roll back their own. The person row is locked first: a flexible worker's
    payment locks the same row, so a rollback never races a payment."""
    target = _rollback_target(actor, settlement_id)
    with transaction.atomic():
        Person.objects.select_for_update().filter(pk=target.person_id).values_list("pk").first()
        if actor.is_staff_member:
            return settlement_reopen(actor=actor, settlement_id=target.pk)
        settlement = Settlement.objects.select_for_update().get(pk=target.pk)
        if settlement.state != Settlement.State.CONFIRMED:
            raise ValidationError("只有已核定的记录可以回退")
        paid = Payment.objects.filter(
            unit__isnull=True,
            person_id=settlement.person_id,
            settle_period=settlement.settle_period,
        ).exists()
        if paid:
            raise ValidationError("该期已有缴费到账记录，不能回退")
        settlement.lines.update(withdrawn=True)
        settlement.state = Settlement.State.WITHDRAWN
        settlement.withdrawn_at = timezone.now()
        settlement.withdrawn_by = actor
        settlement.save()
        Arrear.objects.filter(
            payer=f"P{settlement.person_id}", settle_period=settlement.settle_period
        ).delete()
        audit_record(
            actor=actor,
            action="flexible.rollback",
            obj=target.person,
            region=settlement.region_id,
            detail={"period": settlement.settle_period, "settlement": settlement.pk},
        )
    return settlement
