"""Policy parameters in the back office (DOMAIN §5; issue 5 "Parameters") and units' work-injury
rates: the writes (publish a set or a new version, verify a set, set a unit's rate), each
refused to anyone but staff of the region.

A parameter set is never edited. A correction, or the next year's bases, is a new row:
the same region × type × valid_from gets version + 1 (the highest version is the one in force),
a later valid_from supersedes the set from that month. Settled contribution lines keep pointing
at the set they were computed with, so history never changes under them.

A unit's work-injury rate is its industry class benchmark × a floating factor (class 1: 100,
120 or 150 %; classes 2–8: 50, 80, 100, 120 or 150 %), from a month on, with its history.
A month the unit has already settled keeps the rate it was settled with."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404

from shebao.contributions.models import ContributionLine, ParameterSet, UnitInjuryRate
from shebao.contributions.params.calc import (
    FEN,
    RATE_PLACES,
    clean_injury_factor,
    clean_parameter_fields,
    parse_period,
)
from shebao.contributions.params.selectors import last_settled_period
from shebao.core.audit import audit_record
from shebao.core.periods import Period
from shebao.registry.access import access_staff_region, deny, require_staff
from shebao.registry.models import INJURY_CLASS_BENCHMARKS, InsuranceType, Unit

STAFF_ONLY = "只有经办人员可以维护缴费参数"


def parameter_set_publish(
    *, actor, region, insurance_type: str, valid_from, fields: dict
) -> ParameterSet:
    """Publish a set: always a new row. The same region × type × valid_from gets version + 1
    (a correction); a new valid_from supersedes the previous set from that month. Nothing is
    ever edited, so a set used by a settlement stays exactly as it was."""
    action = "parameters.publish"
    region_obj = access_staff_region(actor, region=region, action=action, message=STAFF_ONLY)
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
    require_staff(actor, action=action, message=STAFF_ONLY)
    found = ParameterSet.objects.filter(pk=parameter_set_id).only("region_id").first()
    if found is None:
        deny(actor, action=action, object_type="parameterset", object_id=str(parameter_set_id))
        raise Http404
    access_staff_region(actor, region=found.region_id, action=action, message=STAFF_ONLY)
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


def unit_injury_rate_set(*, actor, unit: Unit, valid_from, factor) -> UnitInjuryRate:
    """Set a unit's work-injury rate from a month: the benchmark of its industry class × the
    floating factor (1.20 = 120 %). A month already settled keeps its rate; setting the same
    month again (not yet settled) replaces that month's rate, with before/after in the audit."""
    action = "injury_rate.set"
    access_staff_region(actor, region=unit.region_id, action=action, message=STAFF_ONLY)
    errors: dict[str, str] = {}
    try:
        f = clean_injury_factor(unit.injury_risk_class, factor)
    except ValidationError as e:
        errors.update({k: v[0] for k, v in e.message_dict.items()})
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
        settled = last_settled_period(unit)
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
