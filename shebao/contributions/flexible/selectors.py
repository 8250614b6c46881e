"""Reads of flexible workers (灵活就业人员), scoped by the actor: the parameter sets a
registration needs, the exclusions, the person's registrations and assessments with their notice
amounts, and the page data of the person's 灵活就业 page and the back office's 灵活人员缴费核定."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from shebao.contributions.flexible.calc import (
    FLEXIBLE_PENSION_RATE,
    FLEXIBLE_TYPES,
    ITEM_LABELS,
    MEDICAL,
    PENSION,
    LevelChoice,
    age_blocker,
    level_choice,
    level_choices,
)
from shebao.contributions.models import (
    Arrear,
    ContributionLine,
    FlexibleEnrolment,
    ParameterSet,
    Payment,
    Settlement,
)
from shebao.contributions.params.selectors import parameter_sets_in_force, to_params
from shebao.core.models import Region
from shebao.core.periods import Period
from shebao.filings.models import OPEN_STATES, Filing, FilingKind, FilingState
from shebao.registry import access
from shebao.registry.models import Enrolment, InsuranceType, Person

ZERO = Decimal("0.00")
KIND = FilingKind.FLEXIBLE_ENROLMENT.value
# An open enrolment of one of these (at a unit or individually) excludes flexible enrolment.
BLOCKING_TYPES = (PENSION, InsuranceType.INSTITUTION_PENSION.value, MEDICAL)
PERSON_ONLY = "请以参保人身份登录个人网厅办理"
OTHER = "other"  # the level radio meaning "the level typed in other_level"


def person_of(actor, *, action: str) -> Person:
    """The signed-in person (an active person account); anyone else is refused and audited
    as ``action``."""
    if not access.is_person(actor) or actor.person_id is None:
        access.deny(actor, action=action)
        raise PermissionDenied(PERSON_ONLY)
    return actor.person


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


def flexible_params(region_id: str, period: int):
    return {t: to_params(ps) for t, ps in flexible_sets(region_id, period).items()}


def enrolment_regions() -> list[Region]:
    """Regions where a flexible worker can enrol now (110 and 310 parameters in force)."""
    out = []
    for region in Region.objects.order_by("code"):
        try:
            flexible_sets(region.pk, region.current_period)
        except ValidationError:
            continue
        out.append(region)
    return out


def levels_offer(region_code: str, start: str) -> dict:
    """The levels offered for a region and start month, each with its monthly amounts (the
    level table of the registration page)."""
    region = Region.objects.filter(pk=region_code).first() if region_code else None
    if region is None:
        return {"levels": [], "levels_note": "请选择参保统筹区和参保年月，查看各档次每月缴费额"}
    try:
        period = int(Period.parse(start)) if start else region.current_period
    except ValueError:
        return {"levels": [], "levels_note": "参保年月格式应为 yyyyMM"}
    try:
        params = flexible_params(region.pk, period)
    except ValidationError as e:
        return {"levels": [], "levels_note": e.messages[0]}
    return {
        "levels": level_choices(params),
        "levels_period": period,
        "levels_region": region,
        "floor": params[PENSION].floor,
        "cap": params[PENSION].cap,
        "pension_rate": FLEXIBLE_PENSION_RATE * 100,
        "account_rate": params[PENSION].personal_rate * 100,
    }


# --- enrolments and exclusions ---------------------------------------------------------------


def covering(period: int) -> Q:
    return Q(start_period__lte=period) & (Q(stop_period__isnull=True) | Q(stop_period__gte=period))


def open_flexible_enrolment(person: Person) -> FlexibleEnrolment | None:
    return (
        FlexibleEnrolment.objects.filter(person=person, stop_period__isnull=True)
        .select_related("region")
        .first()
    )


def enrolment_blockers(person: Person) -> list[str]:
    """Why the person cannot become a flexible worker now (an open flexible enrolment, retired,
    under 16 or at the retirement age, an open pension/medical enrolment at a unit or
    individually). The page shows these instead of the form; the service refuses with them."""
    messages = []
    if open_flexible_enrolment(person) is not None:
        messages.append("您已登记为灵活就业人员，不能重复登记")
    if Enrolment.objects.filter(
        person=person,
        insurance_type__in=BLOCKING_TYPES,
        stop_reason=Enrolment.StopReason.RETIRED,
    ).exists():
        messages.append("您已办理退休，不能登记为灵活就业人员")
    elif age := age_blocker(person.birth_date, person.sex, timezone.localdate()):
        messages.append(f"您{age}")
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


def assessed_persons(person_ids, period: int) -> set[int]:
    """Which of these persons have an assessment (not rolled back) for `period`."""
    return set(
        Settlement.objects.filter(
            person_id__in=list(person_ids), settle_period=period, kind=Settlement.Kind.FLEXIBLE
        )
        .exclude(state=Settlement.State.WITHDRAWN)
        .values_list("person_id", flat=True)
    )


# --- the person's registrations --------------------------------------------------------------


def person_flexible_filings(actor, *, action: str = "flexible.view") -> QuerySet[Filing]:
    """The signed-in person's flexible registrations, newest first."""
    person = person_of(actor, action=action)
    return Filing.objects.filter(kind=KIND, person=person).order_by("-created_at", "-id")


def person_flexible_filing_get(actor, serial_no: str, *, action: str = "flexible.view") -> Filing:
    """One of the person's own flexible registrations; anyone else's answers 404."""
    try:
        return (
            person_flexible_filings(actor, action=action)
            .select_related("region")
            .get(serial_no=serial_no)
        )
    except Filing.DoesNotExist:
        raise Http404 from None


def open_registration(actor) -> Filing | None:
    """The person's registration still in the workflow (draft, submitted or returned)."""
    return person_flexible_filings(actor).filter(state__in=OPEN_STATES).first()


def returned_registration(actor) -> Filing | None:
    return (
        person_flexible_filings(actor)
        .filter(state__in=[FilingState.DRAFT, FilingState.RETURNED])
        .first()
    )


# --- assessments with their notice amounts ---------------------------------------------------


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
        person=person_of(actor, action="flexible.view"), kind=Settlement.Kind.FLEXIBLE
    ).order_by("-settle_period", "-id")


# --- the person's 灵活就业 page --------------------------------------------------------------


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
    person = person_of(actor, action="flexible.view")
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
    status.current = level_choice(params, fe.base_level)
    status.assessed = bool(assessed_persons([person.pk], period))
    status.may_assess = fe.start_period <= period and not status.assessed
    return status


@dataclass
class PersonFlexiblePage:
    """The person's 灵活就业 page: status, the registration in the workflow (returned for
    correction or in review) and the latest assessments."""

    status: FlexibleStatus
    returned: Filing | None
    in_review: Filing | None
    assessments: list[AssessmentView]

    @property
    def may_register(self) -> bool:
        """The registration form is offered: nothing open, and nothing blocks the person."""
        return not self.blockers

    @cached_property
    def blockers(self) -> list[str]:
        """Why the person cannot register now (shown instead of the form; a POST is refused
        with them)."""
        return _blockers(self.status.person, self.in_review, self.returned)

    def context(self) -> dict:
        filing = self.status.filing
        return {
            "status": self.status,
            "returned": self.returned,
            "in_review": self.in_review,
            "filing": filing,
            "steps": filing.steps.all() if filing else [],
            "assessments": self.assessments,
            "blockers": self.blockers,
        }


def person_flexible_page(actor) -> PersonFlexiblePage:
    status = person_flexible_status(actor)
    return PersonFlexiblePage(
        status=status,
        returned=returned_registration(actor),
        in_review=open_registration(actor),
        assessments=assessment_views(list(person_assessments(actor)[:24])),
    )


def _blockers(person: Person, in_review: Filing | None, returned: Filing | None) -> list[str]:
    if in_review is not None and returned is None:
        return [f"您的灵活就业参保登记（流水号 {in_review.serial_no}）正在办理，请等待办结"]
    return enrolment_blockers(person)


def registration_blockers(actor, person: Person) -> list[str]:
    """Why the signed-in person cannot file a registration now (the page's reasons): one in
    review, else ``enrolment_blockers``."""
    return _blockers(person, open_registration(actor), returned_registration(actor))


def registration_initial(returned: Filing | None, regions: list[Region]) -> dict:
    """The registration form's first values: the returned filing's, else the latest current
    结算期 (and the region when there is only one)."""
    if returned is not None:
        return {
            "region": returned.payload.get("region"),
            "start_period": returned.payload.get("start_period"),
            "base_level": returned.payload.get("base_level"),
        }
    if not regions:
        return {}
    initial = {"start_period": max(r.current_period for r in regions)}
    if len(regions) == 1:
        initial["region"] = regions[0].code
    return initial


def registration_levels(person: Person, *, region: str, start: str, chosen_level: str) -> dict:
    """The level table beside the registration form, the level chosen and whether it is one
    typed (其他档次), and why the person cannot register now."""
    context = levels_offer(region, start)
    context["chosen_level"] = chosen_level
    context["blockers"] = enrolment_blockers(person)
    context["other_chosen"] = chosen_level == OTHER or (
        chosen_level and chosen_level not in {f"{x.level}" for x in context["levels"]}
    )
    return context


# --- the back office page --------------------------------------------------------------------


def staff_flexible_overview(actor, region_code: str = "") -> dict:
    """The back office page: the region (one of the staff's), its current 结算期, how many
    flexible workers it has to assess and has assessed."""
    access.require_staff(actor, action="flexible.view", message="只有经办人员可以查询")
    regions = list(actor.regions.all())
    code = region_code or (regions[0].pk if regions else "")
    region = next((r for r in regions if r.pk == code), None)
    if region is None:
        access.deny(actor, action="flexible.view", object_type="region", object_id=code)
        raise Http404
    period = region.current_period
    workers = FlexibleEnrolment.objects.filter(region=region).filter(covering(period))
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
        "workers": workers.count(),
        "assessed": assessments.exclude(state=Settlement.State.WITHDRAWN).count(),
        "assessments": assessments,
    }


def staff_flexible_page(actor, *, region_code: str = "", page_number=None) -> dict:
    """The overview with one page (50) of the period's assessments and their notice amounts."""
    overview = staff_flexible_overview(actor, region_code)
    page: Page = Paginator(overview["assessments"], 50).get_page(page_number)
    return {
        **overview,
        "page": page,
        "rows": assessment_views(list(page.object_list)),
        "query": f"region={overview['region'].pk}",
    }
