"""Policy parameters in the back office (DOMAIN §5; issue 5 "Parameters") and units' work-injury
rates: the services (publish a set or a new version, verify, set a unit's rate) and the reads of
those pages, scoped by the staff member's regions.

A parameter set is never edited. A correction, or the next year's bases, is a new row:
the same region × type × valid_from gets version + 1 (the highest version is the one in force),
a later valid_from supersedes the set from that month. Settled contribution lines keep pointing
at the set they were computed with, so history never changes under them. Validity is derived:
a set runs from its valid_from until the month before the next valid_from; the last one is
open-ended (regions announce new bases months after July and keep the old ones meanwhile).

A unit's work-injury rate is its industry class benchmark × a floating factor (class 1: 100,
120 or 150 %; classes 2–8: 50, 80, 100, 120 or 150 %), from a month on, with its history.
A month the unit has already settled keeps the rate it was settled with."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, Max, OuterRef, QuerySet
from django.http import Http404

from shebao.contributions.models import (
    ContributionLine,
    ParameterSet,
    Rounding,
    Settlement,
    UnitInjuryRate,
)
from shebao.core.audit import audit_record
from shebao.core.models import AuditEntry, Region
from shebao.core.periods import Period
from shebao.registry.models import INJURY_CLASS_BENCHMARKS, InsuranceType, Unit

MONEY_MAX = Decimal("999999999999.99")
FEN = Decimal("0.01")
RATE_PLACES = Decimal("0.000001")
ANNUITY_TYPE = InsuranceType.INSTITUTION_PENSION.value
PUBLISH_STATUSES = (ParameterSet.Status.UNVERIFIED.value, ParameterSet.Status.DEMO.value)

MONEY_FIELDS = {
    "floor": "缴费基数下限",
    "cap": "缴费基数上限",
    "unit_fixed": "单位定额",
    "personal_fixed": "个人定额",
}
RATE_FIELDS = {
    "unit_rate": "单位费率",
    "personal_rate": "个人费率",
    "annuity_unit_rate": "职业年金单位费率",
    "annuity_personal_rate": "职业年金个人费率",
}
ROUNDING_FIELDS = {"unit_rounding": "单位舍入方式", "personal_rounding": "个人舍入方式"}
OPTIONAL_ZERO = ("unit_fixed", "personal_fixed", "annuity_unit_rate", "annuity_personal_rate")
FIELDS = (
    *MONEY_FIELDS,
    *RATE_FIELDS,
    *ROUNDING_FIELDS,
    "source",
    "status",
)

# Floating factors of the work-injury rate (DOMAIN §5).
CLASS_1_FACTORS = (Decimal("1.00"), Decimal("1.20"), Decimal("1.50"))
OTHER_FACTORS = (
    Decimal("0.50"),
    Decimal("0.80"),
    Decimal("1.00"),
    Decimal("1.20"),
    Decimal("1.50"),
)


def injury_factors(risk_class: int) -> tuple[Decimal, ...]:
    return CLASS_1_FACTORS if int(risk_class) == 1 else OTHER_FACTORS


def class_label(risk_class: int) -> str:
    return "一二三四五六七八"[int(risk_class) - 1] + "类"


def percent(value: Decimal) -> str:
    """0.098 → "9.8"; 1.20 → "120" (for labels)."""
    text = f"{(Decimal(value) * 100).normalize():f}"
    return text


# --- access -------------------------------------------------------------------------------------


def staff_regions(actor) -> QuerySet[Region]:
    """The regions a staff member works for (nothing for anyone else)."""
    if getattr(actor, "kind", None) != "staff" or not actor.is_active:
        return Region.objects.none()
    return Region.objects.filter(pk__in=actor.regions.values("pk")).order_by("code")


def _deny(actor, action: str, *, object_type: str = "", object_id: str = "") -> None:
    audit_record(
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        outcome=AuditEntry.Outcome.DENIED,
    )


def _require_staff(actor, action: str) -> None:
    if getattr(actor, "kind", None) != "staff" or not actor.is_active:
        _deny(actor, action)
        raise PermissionDenied("只有经办人员可以维护缴费参数")


def _staff_region(actor, region, action: str) -> Region:
    """The region when it is one of the staff member's; another region looks missing (404)."""
    code = getattr(region, "pk", region)
    found = staff_regions(actor).filter(pk=code).first()
    if found is None:
        _deny(actor, action, object_type="region", object_id=str(code or ""))
        raise Http404
    return found


# --- parsing ------------------------------------------------------------------------------------


def _decimal(value) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, float):
        raise TypeError("金额和费率不能使用浮点数（float）")
    if isinstance(value, Decimal):
        number = value
    else:
        text = str(value).strip().replace(",", "").replace("，", "")
        if not text:
            return None
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ValueError from None
    if not number.is_finite():
        raise ValueError
    return number


def parse_period(value, label: str = "起始年月") -> Period:
    try:
        p = Period.parse(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        raise ValidationError(f"{label}格式应为yyyyMM，例如202507") from None
    if not 190001 <= int(p) <= 299912:
        raise ValidationError(f"{label}超出范围（1900年01月至2999年12月）")
    return p


def clean_parameter_fields(insurance_type: str, fields: dict) -> dict:
    """Check the values of a set; return them typed, or raise ValidationError keyed by field
    with Chinese messages."""
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise ValueError(f"unknown parameter fields: {sorted(unknown)}")
    errors: dict[str, str] = {}
    clean: dict = {}
    for name, label in MONEY_FIELDS.items():
        try:
            value = _decimal(fields.get(name))
        except ValueError:
            errors[name] = f"{label}必须是数字（元）"
            continue
        if value is None:
            if name in OPTIONAL_ZERO:
                clean[name] = Decimal("0.00")
            else:
                errors[name] = f"请填写{label}"
            continue
        if value < 0:
            errors[name] = f"{label}不能为负数"
        elif value > MONEY_MAX:
            errors[name] = f"{label}超出范围"
        elif value != value.quantize(FEN):
            errors[name] = f"{label}最多保留两位小数"
        else:
            clean[name] = value.quantize(FEN)
    for name, label in RATE_FIELDS.items():
        try:
            value = _decimal(fields.get(name))
        except ValueError:
            errors[name] = f"{label}必须是数字，例如 0.16 表示 16%"
            continue
        if value is None:
            if name in OPTIONAL_ZERO:
                clean[name] = Decimal("0")
            else:
                errors[name] = f"请填写{label}"
            continue
        if value < 0 or value > 1:
            errors[name] = f"{label}应在 0 到 1 之间（小数，例如 0.16 表示 16%）"
        elif value != value.quantize(RATE_PLACES):
            errors[name] = f"{label}最多保留六位小数"
        else:
            clean[name] = value
    if "floor" in clean and "cap" in clean and clean["floor"] > clean["cap"]:
        errors["cap"] = "缴费基数上限不能低于下限"
    if insurance_type != ANNUITY_TYPE:
        for name in ("annuity_unit_rate", "annuity_personal_rate"):
            if clean.get(name):
                errors[name] = "职业年金费率只适用于机关事业单位养老保险（120）"
    modes = "、".join(label for _, label in Rounding.choices)
    for name, label in ROUNDING_FIELDS.items():
        value = fields.get(name, Rounding.FEN.value)
        if value not in Rounding.values:
            errors[name] = f"{label}只能是：{modes}"
        else:
            clean[name] = value
    source = (fields.get("source") or "").strip()
    if not source:
        errors["source"] = "请填写依据（文件文号或公布网址）"
    elif len(source) > 300:
        errors["source"] = "依据不能超过300字"
    clean["source"] = source
    status = fields.get("status") or ParameterSet.Status.UNVERIFIED.value
    if status not in PUBLISH_STATUSES:
        errors["status"] = "新发布的参数只能是“待核实”或“演示数据”；核实后再标记为已核实"
    clean["status"] = status
    if errors:
        raise ValidationError(errors)
    return clean


# --- services -----------------------------------------------------------------------------------


def parameter_set_publish(
    *, actor, region, insurance_type: str, valid_from, fields: dict
) -> ParameterSet:
    """Publish a set: always a new row. The same region × type × valid_from gets version + 1
    (a correction); a new valid_from supersedes the previous set from that month. Nothing is
    ever edited, so a set used by a settlement stays exactly as it was."""
    action = "parameters.publish"
    _require_staff(actor, action)
    region_obj = _staff_region(actor, region, action)
    errors: dict[str, str] = {}
    if insurance_type not in InsuranceType.values:
        errors["insurance_type"] = "请选择险种"
    try:
        period = parse_period(valid_from)
    except ValidationError as e:
        errors["valid_from"] = e.messages[0]
        period = None
    try:
        clean = clean_parameter_fields(insurance_type, fields)
    except ValidationError as e:
        errors.update({k: v[0] for k, v in e.message_dict.items()})
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            same = ParameterSet.objects.filter(
                region=region_obj, insurance_type=insurance_type, valid_from=int(period)
            )
            previous = same.order_by("-version").first()
            ps = ParameterSet.objects.create(
                region=region_obj,
                insurance_type=insurance_type,
                valid_from=int(period),
                version=(previous.version + 1) if previous else 1,
                entered_by=actor,
                **clean,
            )
            superseded_used = (
                previous is not None
                and ContributionLine.objects.filter(parameter_set=previous).exists()
            )
            audit_record(
                actor=actor,
                action=action,
                obj=ps,
                region=region_obj,
                detail={
                    "insurance_type": insurance_type,
                    "valid_from": int(period),
                    "version": ps.version,
                    "supersedes_version": previous.version if previous else None,
                    "superseded_set_used_by_settlement": superseded_used,
                    **{k: str(v) for k, v in clean.items()},
                },
            )
    except IntegrityError:
        raise ValidationError(
            {"valid_from": "刚有他人发布了同一险种、同一起始年月的参数，请刷新后核对再发布"}
        ) from None
    return ps


def parameter_set_verify(*, actor, parameter_set_id: int) -> ParameterSet:
    """Mark a set 已核实 after checking it against the notice. Changes the status only (never
    the values), so it is allowed whether or not settlements used the set."""
    action = "parameters.verify"
    _require_staff(actor, action)
    found = ParameterSet.objects.filter(pk=parameter_set_id).only("region_id").first()
    if found is None or not staff_regions(actor).filter(pk=found.region_id).exists():
        _deny(actor, action, object_type="parameterset", object_id=str(parameter_set_id))
        raise Http404
    with transaction.atomic():
        ps = ParameterSet.objects.select_for_update().get(pk=parameter_set_id)
        if ps.status == ParameterSet.Status.VERIFIED:
            raise ValidationError("该参数已是“已核实”状态")
        before = ps.status
        ps.status = ParameterSet.Status.VERIFIED
        ps.save(update_fields=["status"])
        audit_record(
            actor=actor,
            action=action,
            obj=ps,
            region=ps.region_id,
            detail={"before": before, "after": ps.status},
        )
    return ps


def _last_settled_period(unit: Unit) -> int | None:
    return (
        Settlement.objects.filter(unit=unit)
        .exclude(state=Settlement.State.WITHDRAWN)
        .aggregate(m=Max("settle_period"))["m"]
    )


def unit_injury_rate_set(*, actor, unit: Unit, valid_from, factor) -> UnitInjuryRate:
    """Set a unit's work-injury rate from a month: the benchmark of its industry class × the
    floating factor (1.20 = 120 %). A month already settled keeps its rate; setting the same
    month again (not yet settled) replaces that month's rate, with before/after in the audit."""
    action = "injury_rate.set"
    _require_staff(actor, action)
    if not staff_regions(actor).filter(pk=unit.region_id).exists():
        _deny(actor, action, object_type="unit", object_id=str(unit.pk))
        raise Http404
    errors: dict[str, str] = {}
    allowed = injury_factors(unit.injury_risk_class)
    allowed_label = "、".join(f"{percent(f)}%" for f in allowed)
    try:
        f = _decimal(factor)
    except (ValueError, TypeError):
        f = None
    if f is None:
        errors["factor"] = f"请选择浮动比例（{allowed_label}）"
    elif f not in allowed:
        errors["factor"] = (
            f"{class_label(unit.injury_risk_class)}行业的浮动比例只能是{allowed_label}"
        )
    try:
        period = parse_period(valid_from)
    except ValidationError as e:
        errors["valid_from"] = e.messages[0]
        period = None
    if errors:
        raise ValidationError(errors)
    benchmark = Decimal(INJURY_CLASS_BENCHMARKS[unit.injury_risk_class])
    rate = (benchmark * f).quantize(RATE_PLACES)
    with transaction.atomic():
        Unit.objects.select_for_update().filter(pk=unit.pk).first()
        settled = _last_settled_period(unit)
        if settled is not None and int(period) <= settled:
            raise ValidationError(
                {
                    "valid_from": (
                        f"本单位已结算至{Period.parse(settled).label}，已结算月份的工伤费率不能更改；"
                        f"请从{(Period.parse(settled) + 1).label}或以后起调整"
                    )
                }
            )
        row = UnitInjuryRate.objects.filter(unit=unit, valid_from=int(period)).first()
        if row is None:
            row = UnitInjuryRate(unit=unit, valid_from=int(period))
            before = {}
        else:
            before = {
                "benchmark": str(row.benchmark),
                "factor": str(row.factor),
                "rate": str(row.rate),
            }
        row.benchmark, row.factor, row.rate = benchmark, f.quantize(FEN), rate
        row.save()
        audit_record(
            actor=actor,
            action=action,
            obj=unit,
            region=unit.region_id,
            detail={
                "valid_from": int(period),
                "before": before,
                "after": {"benchmark": str(benchmark), "factor": str(f), "rate": str(rate)},
            },
        )
    return row


# --- reads --------------------------------------------------------------------------------------


@dataclass
class SetRow:
    """One parameter set with its derived validity, for the history table."""

    ps: ParameterSet
    used: bool
    valid_until: Period | None = None  # None: open-ended (or superseded)
    superseded_by: int | None = None  # the version that replaced this one
    in_force_now: bool = False

    @property
    def labels(self) -> dict[str, str]:
        return set_labels(self.ps)

    @property
    def valid_from_label(self) -> str:
        return Period.parse(self.ps.valid_from).label

    @property
    def validity(self) -> str:
        if self.superseded_by is not None:
            return f"已被第{self.superseded_by}版取代"
        start = self.valid_from_label
        if self.valid_until is None:
            return f"{start}起（至新参数发布）"
        return f"{start} 至 {self.valid_until.label}"


def set_labels(ps: ParameterSet) -> dict[str, str]:
    """Rates as percentages and the rounding modes in Chinese, for display."""
    annuity = ""
    if ps.annuity_unit_rate or ps.annuity_personal_rate:
        annuity = f"{percent(ps.annuity_unit_rate)}% / {percent(ps.annuity_personal_rate)}%"
    return {
        "unit_rate": f"{percent(ps.unit_rate)}%",
        "personal_rate": f"{percent(ps.personal_rate)}%",
        "annuity": annuity,
        "unit_rounding": Rounding(ps.unit_rounding).label,
        "personal_rounding": Rounding(ps.personal_rounding).label,
    }


@dataclass
class SetGroup:
    region: Region
    insurance_type: str
    rows: list[SetRow]

    @property
    def type_label(self) -> str:
        return InsuranceType(self.insurance_type).label


def derive_validity(sets: list[ParameterSet], *, now: int, used: set[int]) -> list[SetRow]:
    """Pure: the sets of one region × type, newest first, with validity derived from the next
    valid_from; only the highest version of each valid_from is in force."""
    latest: dict[int, int] = {}
    for ps in sets:
        latest[ps.valid_from] = max(latest.get(ps.valid_from, 0), ps.version)
    starts = sorted(latest)
    rows = []
    for ps in sorted(sets, key=lambda s: (s.valid_from, s.version), reverse=True):
        row = SetRow(ps=ps, used=ps.pk in used)
        if ps.version != latest[ps.valid_from]:
            row.superseded_by = latest[ps.valid_from]
        else:
            i = starts.index(ps.valid_from)
            if i + 1 < len(starts):
                row.valid_until = Period.parse(starts[i + 1]) - 1
            row.in_force_now = ps.valid_from <= now and (
                row.valid_until is None or now <= int(row.valid_until)
            )
        rows.append(row)
    return rows


def parameter_overview(actor, *, region: str = "", insurance_type: str = "") -> list[SetGroup]:
    """Every set of the staff member's regions (optionally one region / type), grouped by
    region × insurance type, each group newest first with its validity and whether a
    settlement used it."""
    regions = {r.pk: r for r in staff_regions(actor)}
    if region:
        regions = {k: v for k, v in regions.items() if k == region}
    qs = (
        ParameterSet.objects.filter(region_id__in=list(regions))
        .select_related("entered_by")
        .annotate(used=Exists(ContributionLine.objects.filter(parameter_set=OuterRef("pk"))))
        .order_by("region_id", "insurance_type", "-valid_from", "-version")
    )
    if insurance_type:
        qs = qs.filter(insurance_type=insurance_type)
    grouped: dict[tuple[str, str], list[ParameterSet]] = {}
    for ps in qs:
        grouped.setdefault((ps.region_id, ps.insurance_type), []).append(ps)
    groups = []
    for (code, t), sets in grouped.items():
        now = regions[code].current_period
        used = {ps.pk for ps in sets if ps.used}
        groups.append(SetGroup(regions[code], t, derive_validity(sets, now=now, used=used)))
    return groups


def staff_parameter_get(actor, parameter_set_id: int) -> ParameterSet:
    try:
        return (
            ParameterSet.objects.select_related("region", "entered_by")
            .annotate(used=Exists(ContributionLine.objects.filter(parameter_set=OuterRef("pk"))))
            .get(pk=parameter_set_id, region__in=staff_regions(actor))
        )
    except ParameterSet.DoesNotExist:
        raise Http404 from None


def parameter_initial(ps: ParameterSet) -> dict:
    """A publish form pre-filled from an existing set (for a new version or the next period)."""
    return {
        "region": ps.region_id,
        "insurance_type": ps.insurance_type,
        "valid_from": str(ps.valid_from),
        "floor": f"{ps.floor:f}",
        "cap": f"{ps.cap:f}",
        "unit_rate": f"{ps.unit_rate.normalize():f}",
        "personal_rate": f"{ps.personal_rate.normalize():f}",
        "unit_fixed": f"{ps.unit_fixed:f}",
        "personal_fixed": f"{ps.personal_fixed:f}",
        "unit_rounding": ps.unit_rounding,
        "personal_rounding": ps.personal_rounding,
        "annuity_unit_rate": f"{ps.annuity_unit_rate.normalize():f}",
        "annuity_personal_rate": f"{ps.annuity_personal_rate.normalize():f}",
        "source": ps.source,
        "status": ps.status if ps.status in PUBLISH_STATUSES else PUBLISH_STATUSES[0],
    }


@dataclass
class RateRow:
    rate: UnitInjuryRate
    valid_until: Period | None
    settled: bool

    @property
    def factor_label(self) -> str:
        return f"{percent(self.rate.factor)}%"

    @property
    def rate_label(self) -> str:
        return f"{percent(self.rate.rate)}%"

    @property
    def benchmark_label(self) -> str:
        return f"{percent(self.rate.benchmark)}%"

    @property
    def validity(self) -> str:
        start = Period.parse(self.rate.valid_from).label
        return f"{start} 至 {self.valid_until.label}" if self.valid_until else f"{start}起"


def injury_rate_history(unit: Unit) -> list[RateRow]:
    """The unit's rates, newest first, each valid until the month before the next one."""
    rates = list(UnitInjuryRate.objects.filter(unit=unit).order_by("valid_from"))
    settled = _last_settled_period(unit)
    rows = []
    for i, r in enumerate(rates):
        until = Period.parse(rates[i + 1].valid_from) - 1 if i + 1 < len(rates) else None
        rows.append(RateRow(r, until, settled is not None and r.valid_from <= settled))
    return list(reversed(rows))


def injury_rate_state(unit: Unit) -> dict:
    """What the page shows above the history: benchmark, allowed factors, settled up to."""
    settled = _last_settled_period(unit)
    benchmark = Decimal(INJURY_CLASS_BENCHMARKS[unit.injury_risk_class])
    return {
        "benchmark": benchmark,
        "benchmark_label": f"{percent(benchmark)}%",
        "factors_label": "、".join(
            f"{percent(f)}%" for f in injury_factors(unit.injury_risk_class)
        ),
        "factors": injury_factors(unit.injury_risk_class),
        "settled": Period.parse(settled) if settled else None,
        "next_open": (Period.parse(settled) + 1) if settled else None,
    }
