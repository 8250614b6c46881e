"""Flexible workers (灵活就业人员, DOMAIN §2 and §5; seed 001 §2.5.5 灵活人员缴费核定 and §2.5.6
灵活人员缴费核定回退).

A person with no employer registers in the person hall (filing kind ``flexible_enrolment``),
is assessed monthly (one ``Settlement`` of kind FLEXIBLE per person and 结算期: unit empty,
person set; database constraint) and pays alone (payer ``P<person id>``). Before any payment the
assessment can be rolled back (回退) and assessed again.

Decisions (the lead asked for them to be written down):

- **Base level (缴费档次)** is a multiple of the floor of the period's parameter set
  (``FlexibleEnrolment.base_level``, two decimals): base = floor × level, rounded half-up to the
  fen, never below the floor nor above the cap. A multiple of the floor follows each July's new
  parameters by itself, so the worker does not declare again every year; where a new cap is
  lower than floor × level the calculator lowers the base to the cap and flags the line. We store
  no average wage (DOMAIN §5: parameters are data, never derived from the average wage at run
  time), so the steps offered are multiples of the floor: 1.0 (the floor, usually 60 % of the
  average wage), 1.5, 2.0, 2.5, 3.0, 4.0 and 5.0 (about 300 %), each only where floor × level does
  not exceed the cap; any other level with two decimals in that range may be typed.
- **Pension (110)**: flexible workers pay 20 % of the base (国发〔2005〕38号, kept by
  国办发〔2019〕13号), of which the 110 set's personal rate (8 %) goes to the personal account. The
  line keeps the two parts apart: ``personal_amount`` = base × the set's personal rate (credited
  to the personal account, ``account.py``), ``unit_amount`` = base × (20 % − personal rate), the
  pooled part (统筹部分, 12 %). Each part is rounded by the set's rounding of that side; the set's
  fixed amounts (none shipped) go with their side. ``flexible_lines(…, pension_rate=…)`` takes
  another total where a region publishes one (e.g. 16 % + 8 % = 24 %): a per-region setting
  needs a ``RegionPolicy`` field (see the report).
- **Medical (310)** at the local rates of the region's 310 set, both sides (unit rate + fixed in
  ``unit_amount``, personal rate + fixed in ``personal_amount``): exactly ``compute_line``.
- **Review policy**: ``ReviewPolicy.REGION``. Every condition is mechanical (no materials) and is
  checked again at approval, so a region may choose 提交即办结 on the 审核规则 page; by default
  staff review it, as for units' enrolment changes.
- **Rollback by the person**: seed 001 lists 灵活人员缴费核定 and 灵活人员缴费核定回退 side by side as
  functions of the online hall: whoever may assess may roll back. Here the person assesses
  themself, so they may roll back their own assessment while nothing is paid; staff may too.
- **Assessment period**: always the region's current 结算期 (费款所属期 = 结算期). Earlier months
  missed are back pay (补缴), not a second kind of assessment.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from shebao.contributions.calculator.calc import Params, Result, compute_line
from shebao.contributions.models import (
    Arrear,
    ContributionLine,
    FlexibleEnrolment,
    ItemType,
    ParameterSet,
    Payment,
    Settlement,
)
from shebao.contributions.params.selectors import parameter_sets_in_force, to_params
from shebao.core.audit import audit_record
from shebao.core.models import AuditEntry, Region
from shebao.core.money import FEN
from shebao.core.periods import Period
from shebao.filings import services as filing_services
from shebao.filings.kinds import FilingHandler, ReviewPolicy
from shebao.filings.models import OPEN_STATES, Filing, FilingKind, FilingState
from shebao.registry.models import Enrolment, InsuranceType, Person

ZERO = Decimal("0.00")
PENSION = InsuranceType.ENTERPRISE_PENSION.value  # 110
MEDICAL = InsuranceType.MEDICAL.value  # 310
FLEXIBLE_TYPES = (PENSION, MEDICAL)
# An open enrolment of one of these (at a unit or individual) excludes flexible enrolment.
BLOCKING_TYPES = (PENSION, InsuranceType.INSTITUTION_PENSION.value, MEDICAL)
FLEXIBLE_PENSION_RATE = Decimal("0.20")
LEVEL_STEPS = tuple(Decimal(x) for x in ("1.00", "1.50", "2.00", "2.50", "3.00", "4.00", "5.00"))
LEVEL_MAX = Decimal("999.99")  # FlexibleEnrolment.base_level: 5 digits, 2 decimals
# How far ahead a registration may start (months after the current 结算期).
START_AHEAD = 11
CHUNK = 500
ITEM_LABELS = dict(ItemType.choices)
KIND = FilingKind.FLEXIBLE_ENROLMENT.value


# --- pure calculation (no ORM) ---------------------------------------------------------------


def level_base(params: Params, level: Decimal) -> Decimal:
    """floor × level, half-up to the fen (the calculator then clamps it to floor–cap)."""
    return (params.floor * level).quantize(FEN, rounding=ROUND_HALF_UP)


def pension_params(params: Params, total_rate: Decimal = FLEXIBLE_PENSION_RATE) -> Params:
    """The 110 set as a flexible worker pays it: the pooled part (total − the set's personal
    rate) on the unit side, the personal-account part (the set's personal rate) on the
    personal side."""
    if total_rate < params.personal_rate:
        raise ValueError("灵活就业养老保险费率不能低于个人账户记账比例")
    return replace(
        params,
        unit_rate=total_rate - params.personal_rate,
        annuity_unit_rate=Decimal(0),
        annuity_personal_rate=Decimal(0),
    )


def flexible_lines(
    params: Mapping[str, Params],
    level: Decimal,
    *,
    pension_rate: Decimal = FLEXIBLE_PENSION_RATE,
) -> Result:
    """One month of a flexible worker: a 110 line and a 310 line at floor × level of each
    type's set. `params` maps insurance type to its set in force."""
    lines = []
    for insurance_type in FLEXIBLE_TYPES:
        p = params[insurance_type]
        calc_params = pension_params(p, pension_rate) if insurance_type == PENSION else p
        lines.append(compute_line(calc_params, level_base(p, level)))
    return Result(lines=tuple(lines))


def level_errors(params: Mapping[str, Params], level: Decimal) -> list[str]:
    """Why a level is outside floor–cap of the sets (empty when it is fine)."""
    if level < 1:
        return ["缴费档次不能低于缴费基数下限（1.00 倍）"]
    if level > LEVEL_MAX:
        return ["缴费档次过高"]
    errors = []
    for insurance_type in FLEXIBLE_TYPES:
        p = params[insurance_type]
        base = level_base(p, level)
        if base > p.cap:
            errors.append(
                f"{ITEM_LABELS[insurance_type]}缴费基数 {base} 元超过上限 {p.cap} 元，"
                f"档次最高 {(p.cap / p.floor).quantize(FEN, rounding=ROUND_DOWN)} 倍"
            )
    return errors


@dataclass(frozen=True)
class LevelChoice:
    """One level offered on the registration page, with what it costs a month."""

    level: Decimal
    bases: dict[str, Decimal]
    result: Result

    @property
    def pension(self):
        return self.result.lines[0]

    @property
    def medical(self):
        return self.result.lines[1]


def level_choices(params: Mapping[str, Params]) -> list[LevelChoice]:
    return [
        LevelChoice(
            level=level,
            bases={t: level_base(params[t], level) for t in FLEXIBLE_TYPES},
            result=flexible_lines(params, level),
        )
        for level in LEVEL_STEPS
        if not level_errors(params, level)
    ]


def parse_level(value) -> Decimal:
    """A level typed or chosen: a positive number with at most two decimals (ValueError)."""
    text = str(value if value is not None else "").strip().removesuffix("倍")
    if not text:
        raise ValueError("请选择缴费档次")
    try:
        level = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"缴费档次“{text}”不是有效的数字") from None
    if not level.is_finite() or level <= 0:
        raise ValueError("缴费档次必须大于 0")
    if level != level.quantize(FEN):
        raise ValueError("缴费档次最多保留两位小数")
    return level.quantize(FEN)


# --- parameters ------------------------------------------------------------------------------


def flexible_sets(region_id: str, period: int) -> dict[str, ParameterSet]:
    """The 110 and 310 sets in force; a clear message when the region has none."""
    sets = parameter_sets_in_force(region_id, period)
    missing = [t for t in FLEXIBLE_TYPES if t not in sets]
    if missing:
        names = "、".join(ITEM_LABELS[t] for t in missing)
        raise ValidationError(
            f"该统筹区 {period} 没有{names}的缴费参数，暂不能办理灵活就业参保，请联系经办机构",
            code="no_parameters",
        )
    return {t: sets[t] for t in FLEXIBLE_TYPES}


def flexible_params(region_id: str, period: int) -> dict[str, Params]:
    return {t: to_params(ps) for t, ps in flexible_sets(region_id, period).items()}


# --- registration (filing kind flexible_enrolment) -------------------------------------------


def _covering(period: int) -> Q:
    return Q(start_period__lte=period) & (Q(stop_period__isnull=True) | Q(stop_period__gte=period))


def open_flexible_enrolment(person: Person) -> FlexibleEnrolment | None:
    return (
        FlexibleEnrolment.objects.filter(person=person, stop_period__isnull=True)
        .select_related("region")
        .first()
    )


def enrolment_blockers(person: Person) -> list[str]:
    """Why the person cannot become a flexible worker now (open pension/medical enrolment at a
    unit or individually, or an open flexible enrolment)."""
    messages = []
    if open_flexible_enrolment(person) is not None:
        messages.append("您已登记为灵活就业人员，不能重复登记")
    for e in (
        Enrolment.objects.filter(
            person=person, insurance_type__in=BLOCKING_TYPES, stop_period__isnull=True
        )
        .select_related("unit")
        .order_by("insurance_type")
    ):
        where = e.unit.name if e.unit_id else "个人参保"
        messages.append(
            f"您在“{where}”有正在缴费的{e.get_insurance_type_display()}（{e.start_period} 起），"
            "不能同时以灵活就业人员身份参保；请先由单位办理停保"
            if e.unit_id
            else f"您已以个人身份参加{e.get_insurance_type_display()}，不能重复登记"
        )
    return messages


def _region(code) -> Region | None:
    return Region.objects.filter(pk=str(code or "").strip()).first()


def registration_check(person: Person, data: Mapping) -> dict:
    """Validate a registration (region, start_period, base_level) for `person`; return the
    cleaned payload or raise a field-keyed ValidationError (Chinese messages)."""
    errors: dict[str, list[str]] = {}
    region = _region(data.get("region"))
    if region is None:
        errors["region"] = ["请选择参保统筹区"]
    start = None
    try:
        start = Period.parse(data.get("start_period"))
    except (TypeError, ValueError):
        errors["start_period"] = ["参保年月格式应为 yyyyMM，例如 202508"]
    if region is not None and start is not None:
        current = Period.parse(region.current_period)
        if start < current:
            errors["start_period"] = [f"参保年月不能早于当前结算期 {current}（以前月份请办理补缴）"]
        elif start > current + START_AHEAD:
            errors["start_period"] = [f"参保年月不能晚于 {current + START_AHEAD}"]
        elif person.first_work_date and start < Period.of(person.first_work_date):
            errors["start_period"] = ["参保年月不能早于参加工作日期"]
    level = None
    try:
        level = parse_level(data.get("base_level"))
    except ValueError as e:
        errors["base_level"] = [str(e)]
    params = None
    if region is not None and start is not None and "start_period" not in errors:
        try:
            params = flexible_params(region.pk, int(start))
        except ValidationError as e:
            errors["region"] = e.messages
    if params is not None and level is not None:
        problems = level_errors(params, level)
        if problems:
            errors["base_level"] = problems
    blockers = enrolment_blockers(person)
    if blockers:
        errors[NON_FIELD_ERRORS] = blockers
    if errors:
        raise ValidationError(errors)
    result = flexible_lines(params, level)
    return {
        "person_no": person.person_no,
        "name": person.name,
        "region": region.pk,
        "region_name": region.name,
        "start_period": int(start),
        "base_level": f"{level:f}",
        "base": f"{result.lines[0].base:f}",
        "monthly": f"{result.total:f}",
    }


class FlexibleEnrolmentHandler(FilingHandler):
    """灵活就业人员参保登记: filed by the person themself (one FilingRow: one open filing per
    person); on approval the individual enrolments 110 and 310 (unit empty) and the
    FlexibleEnrolment with the chosen level."""

    kind = KIND
    review_policy = ReviewPolicy.REGION
    uses_rows = True
    duplicate_message = "您已有正在办理的灵活就业参保登记，请等待办结或先退单"
    labels = {
        "person_no": "个人编号",
        "name": "姓名",
        "region_name": "参保统筹区",
        "start_period": "参保年月",
        "base_level": "缴费档次（基数下限的倍数）",
        "base": "起始月缴费基数（元）",
        "monthly": "起始月应缴合计（元）",
    }

    def check_permission(self, *, actor, unit) -> None:
        """The signed-in person files for themself (the workflow does not pass the filing's
        person here: ownership is checked by the selectors in this module, 404 otherwise)."""
        if (
            unit is not None
            or getattr(actor, "kind", None) != "person"
            or not actor.is_active
            or actor.person_id is None
        ):
            raise PermissionDenied("只有参保人本人可以办理灵活就业参保登记")

    def clean_payload(self, payload: dict, *, filing) -> dict:
        try:
            person = Person.objects.get(person_no=payload.get("person_no"))
        except Person.DoesNotExist:
            raise ValidationError("人员不存在") from None
        if filing is not None and filing.person_id != person.pk:
            raise ValidationError("申报内容与申报人不符")
        return registration_check(person, payload)

    def title(self, payload: dict) -> str:
        return f"{payload['name']}（{payload['person_no']}）灵活就业参保登记"

    def subject_key(self, payload: dict) -> str:
        return f"flex:{payload['person_no']}"

    def row_display(self, row) -> list[tuple[str, str, str]]:
        payload = row.filing.payload
        return [(label, "", str(payload.get(key, ""))) for key, label in self.labels.items()]

    def apply_row(self, *, filing, row, actor) -> None:
        """Approved: the enrolments take effect. The exclusions are checked again (the registry
        may have changed since submission) and by the database constraints."""
        person = Person.objects.select_for_update().get(pk=row.person_id)
        blockers = enrolment_blockers(person)
        if blockers:
            raise ValidationError(blockers)
        payload = filing.payload
        region_id, start = payload["region"], int(payload["start_period"])
        level = Decimal(payload["base_level"])
        base = Decimal(payload["base"])
        try:
            with transaction.atomic():
                Enrolment.objects.bulk_create(
                    Enrolment(
                        person=person,
                        unit=None,
                        region_id=region_id,
                        insurance_type=t,
                        start_period=start,
                        status=Enrolment.Status.ACTIVE,
                        wage_base=base,
                        start_filing=filing,
                    )
                    for t in FLEXIBLE_TYPES
                )
                fe = FlexibleEnrolment.objects.create(
                    person=person, region_id=region_id, base_level=level, start_period=start
                )
        except IntegrityError:
            raise ValidationError(
                "该人员已有正在缴费的养老或医疗保险参保关系，不能登记为灵活就业人员"
            ) from None
        audit_record(
            actor=actor,
            action="flexible.enrol",
            obj=person,
            region=region_id,
            detail={
                "filing": filing.serial_no,
                "flexible_enrolment": fe.pk,
                "start_period": start,
                "base_level": str(level),
            },
        )


def _person_of(actor) -> Person:
    if getattr(actor, "kind", None) != "person" or not actor.is_active or actor.person_id is None:
        audit_record(actor=actor, action="flexible.denied", outcome=AuditEntry.Outcome.DENIED)
        raise PermissionDenied("请以参保人身份登录个人网厅办理")
    return actor.person


def person_flexible_filings(actor) -> QuerySet[Filing]:
    """The signed-in person's flexible registrations, newest first."""
    person = _person_of(actor)
    return Filing.objects.filter(kind=KIND, person=person).order_by("-created_at", "-id")


def person_flexible_filing_get(actor, serial_no: str) -> Filing:
    """One of the person's own flexible registrations; anyone else's answers 404."""
    try:
        return person_flexible_filings(actor).select_related("region").get(serial_no=serial_no)
    except Filing.DoesNotExist:
        raise Http404 from None


def flexible_register(*, actor, data: Mapping, serial_no: str = "") -> Filing:
    """Register the signed-in person as a flexible worker: a new filing (or the person's own
    returned one, `serial_no`, edited) submitted at once. Nothing stays half-done: a refusal
    leaves no draft behind."""
    person = _person_of(actor)
    payload = registration_check(person, data)
    rows = [{"person": person, "id_number": person.id_number, "name": person.name}]
    with transaction.atomic():
        filing = person_flexible_filing_get(actor, serial_no) if serial_no else None
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
    filing = person_flexible_filing_get(actor, serial_no)
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


def _assessed_persons(person_ids, period: int) -> set[int]:
    return set(
        Settlement.objects.filter(
            person_id__in=list(person_ids), settle_period=period, kind=Settlement.Kind.FLEXIBLE
        )
        .exclude(state=Settlement.State.WITHDRAWN)
        .values_list("person_id", flat=True)
    )


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
    kind = getattr(actor, "kind", None)
    if kind == "person":
        person = _person_of(actor)
    elif kind == "staff" and actor.is_active:
        person = _staff_person(actor, person_no)
    else:
        audit_record(actor=actor, action="flexible.assess", outcome=AuditEntry.Outcome.DENIED)
        raise PermissionDenied("您没有办理灵活人员缴费核定的权限")
    fe = _person_enrolment_for_assessment(person)
    if kind == "staff" and not actor.regions.filter(pk=fe.region_id).exists():
        raise Http404
    period = fe.region.current_period
    sets = flexible_sets(fe.region_id, period)
    duplicate = ValidationError(
        f"{period} 已核定，不能重复核定；如需重新核定请先回退", code="duplicate"
    )
    if _assessed_persons([person.pk], period):
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
    persons: list[str] = field(default_factory=list)


def flexible_assess_region(*, actor, region_code: str) -> RegionAssessment:
    """灵活人员缴费核定 of every flexible worker of a staff member's region for its current
    结算期 who is not assessed yet: synchronously, in chunks of CHUNK persons, each chunk one
    transaction with a fixed number of queries. Running it again continues where it stopped
    (those already assessed are skipped), so a failed chunk loses nothing done before it."""
    if getattr(actor, "kind", None) != "staff" or not actor.is_active:
        audit_record(
            actor=actor, action="flexible.assess_region", outcome=AuditEntry.Outcome.DENIED
        )
        raise PermissionDenied("只有经办人员可以办理")
    region = actor.regions.filter(pk=(region_code or "").strip()).first()
    if region is None:
        raise Http404
    period = region.current_period
    sets = flexible_sets(region.pk, period)
    covering = FlexibleEnrolment.objects.filter(region=region).filter(_covering(period))
    person_ids = list(covering.order_by("person_id").values_list("person_id", flat=True))
    report = RegionAssessment(region=region, period=period)
    for start in range(0, len(person_ids), CHUNK):
        chunk = person_ids[start : start + CHUNK]
        for attempt in range(3):
            try:
                with transaction.atomic():
                    done = _assessed_persons(chunk, period)
                    todo = list(covering.filter(person_id__in=[p for p in chunk if p not in done]))
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
    kind = getattr(actor, "kind", None)
    if kind == "person":
        qs = qs.filter(person=_person_of(actor))
    elif kind == "staff" and actor.is_active:
        qs = qs.filter(region__in=actor.regions.all())
    else:
        audit_record(actor=actor, action="flexible.rollback", outcome=AuditEntry.Outcome.DENIED)
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
    from shebao.contributions.settlement.services import settlement_reopen

    target = _rollback_target(actor, settlement_id)
    with transaction.atomic():
        Person.objects.select_for_update().filter(pk=target.person_id).values_list("pk").first()
        if actor.kind == "staff":
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


# --- reads for the pages ---------------------------------------------------------------------


@dataclass
class ItemNotice:
    item: str
    base: Decimal
    unit: Decimal
    personal: Decimal
    due: Decimal
    paid: Decimal

    @property
    def label(self) -> str:
        return ITEM_LABELS.get(self.item, self.item)

    @property
    def total(self) -> Decimal:
        return self.unit + self.personal

    @property
    def outstanding(self) -> Decimal:
        return self.due - self.paid


@dataclass
class AssessmentView:
    """One assessment with its notice amounts per item and what has arrived."""

    settlement: Settlement
    items: list[ItemNotice]
    has_payment: bool

    @property
    def total(self) -> Decimal:
        return sum((i.total for i in self.items), ZERO)

    @property
    def paid(self) -> Decimal:
        return sum((i.paid for i in self.items), ZERO)

    @property
    def fully_paid(self) -> bool:
        return bool(self.items) and all(i.paid >= i.total for i in self.items)

    @property
    def may_roll_back(self) -> bool:
        return self.settlement.state == Settlement.State.CONFIRMED and not self.has_payment


def assessment_views(settlements: list[Settlement]) -> list[AssessmentView]:
    """Notice amounts of several assessments from three queries (sums in Python)."""
    ids = [s.pk for s in settlements]
    by_settlement: dict[int, dict[str, ItemNotice]] = {s.pk: {} for s in settlements}
    for sid, item, base, u, p in (
        ContributionLine.objects.filter(settlement_id__in=ids)
        .order_by("item")
        .values_list("settlement_id", "item", "base", "unit_amount", "personal_amount")
    ):
        row = by_settlement[sid].setdefault(item, ItemNotice(item, base, ZERO, ZERO, ZERO, ZERO))
        row.unit += u
        row.personal += p
        row.due += u + p
    keys = {(s.person_id, s.settle_period): s for s in settlements}
    payers = {f"P{s.person_id}" for s in settlements}
    periods = {s.settle_period for s in settlements}
    for payer, period, item, paid in Arrear.objects.filter(
        payer__in=payers, settle_period__in=periods
    ).values_list("payer", "settle_period", "item", "paid"):
        s = keys.get((int(payer[1:]), period))
        if s is not None and s.state != Settlement.State.WITHDRAWN and item in by_settlement[s.pk]:
            by_settlement[s.pk][item].paid += paid
    paid_keys = set(
        Payment.objects.filter(
            unit__isnull=True,
            person_id__in={s.person_id for s in settlements},
            settle_period__in=periods,
        ).values_list("person_id", "settle_period")
    )
    return [
        AssessmentView(
            settlement=s,
            items=list(by_settlement[s.pk].values()),
            has_payment=(s.person_id, s.settle_period) in paid_keys,
        )
        for s in settlements
    ]


def person_assessments(actor) -> QuerySet[Settlement]:
    """The signed-in person's assessments (withdrawn ones too), newest first."""
    return Settlement.objects.filter(
        person=_person_of(actor), kind=Settlement.Kind.FLEXIBLE
    ).order_by("-settle_period", "-id")


@dataclass
class FlexibleStatus:
    """What the person's 灵活就业 page shows."""

    person: Person
    enrolment: FlexibleEnrolment | None
    filing: Filing | None  # the latest registration (open or decided)
    current: LevelChoice | None = None  # the level in the region's current period
    period: int | None = None
    assessed: bool = False
    may_assess: bool = False
    problem: str = ""


def person_flexible_status(actor) -> FlexibleStatus:
    person = _person_of(actor)
    fe = open_flexible_enrolment(person)
    status = FlexibleStatus(
        person=person,
        enrolment=fe,
        filing=person_flexible_filings(actor).select_related("region").first(),
    )
    if fe is None:
        return status
    period = fe.region.current_period
    status.period = period
    try:
        params = flexible_params(fe.region_id, max(period, fe.start_period))
    except ValidationError as e:
        status.problem = e.messages[0]
        return status
    status.current = LevelChoice(
        level=fe.base_level,
        bases={t: level_base(params[t], fe.base_level) for t in FLEXIBLE_TYPES},
        result=flexible_lines(params, fe.base_level),
    )
    status.assessed = bool(_assessed_persons([person.pk], period))
    status.may_assess = fe.start_period <= period and not status.assessed
    return status


def staff_flexible_overview(actor, region_code: str = "") -> dict:
    """The back office page: the region (one of the staff's), its current 结算期, how many
    flexible workers it has to assess and has assessed."""
    if getattr(actor, "kind", None) != "staff":
        raise PermissionDenied("只有经办人员可以查询")
    regions = list(actor.regions.all())
    code = region_code or (regions[0].pk if regions else "")
    region = next((r for r in regions if r.pk == code), None)
    if region is None:
        raise Http404
    period = region.current_period
    covering = FlexibleEnrolment.objects.filter(region=region).filter(_covering(period))
    assessments = (
        Settlement.objects.filter(
            region=region, settle_period=period, kind=Settlement.Kind.FLEXIBLE
        )
        .select_related("person")
        .order_by("person__person_no", "-id")
    )
    return {
        "regions": regions,
        "region": region,
        "period": period,
        "workers": covering.count(),
        "assessed": assessments.exclude(state=Settlement.State.WITHDRAWN).count(),
        "assessments": assessments,
    }


def open_registration(actor) -> Filing | None:
    """The person's registration still in the workflow (draft, submitted or returned)."""
    return person_flexible_filings(actor).filter(state__in=OPEN_STATES).first()


def returned_registration(actor) -> Filing | None:
    return (
        person_flexible_filings(actor)
        .filter(state__in=[FilingState.DRAFT, FilingState.RETURNED])
        .first()
    )
