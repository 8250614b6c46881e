"""Reads on parameters, injury rates and wage bases."""

from decimal import Decimal

from django.db.models import Q, QuerySet

from shebao.contributions.calculator.calc import Params
from shebao.contributions.models import ParameterSet, UnitInjuryRate, WageBase


def parameter_sets_in_force(region_id: str, period: int) -> dict[str, ParameterSet]:
    """The set of each insurance type in force in `period`: the latest valid_from ≤ period,
    then the latest version of it."""
    best: dict[str, ParameterSet] = {}
    qs = ParameterSet.objects.filter(region_id=region_id, valid_from__lte=period).order_by(
        "insurance_type", "-valid_from", "-version"
    )
    for ps in qs:
        best.setdefault(ps.insurance_type, ps)
    return best


def parameter_sets_for_periods(
    region_id: str, periods: list[int]
) -> dict[int, dict[str, ParameterSet]]:
    """Sets in force for each of several periods, from one query (back pay over a range)."""
    if not periods:
        return {}
    rows = list(
        ParameterSet.objects.filter(region_id=region_id, valid_from__lte=max(periods)).order_by(
            "insurance_type", "-valid_from", "-version"
        )
    )
    result: dict[int, dict[str, ParameterSet]] = {}
    for period in periods:
        chosen: dict[str, ParameterSet] = {}
        for ps in rows:
            if ps.valid_from <= period:
                chosen.setdefault(ps.insurance_type, ps)
        result[period] = chosen
    return result


def to_params(ps: ParameterSet) -> Params:
    return Params(
        insurance_type=ps.insurance_type,
        floor=ps.floor,
        cap=ps.cap,
        unit_rate=ps.unit_rate,
        personal_rate=ps.personal_rate,
        unit_fixed=ps.unit_fixed,
        personal_fixed=ps.personal_fixed,
        unit_rounding=ps.unit_rounding,
        personal_rounding=ps.personal_rounding,
        annuity_unit_rate=ps.annuity_unit_rate,
        annuity_personal_rate=ps.annuity_personal_rate,
    )


def injury_rate_for(unit_id: int, period: int) -> Decimal | None:
    row = (
        UnitInjuryRate.objects.filter(unit_id=unit_id, valid_from__lte=period)
        .order_by("-valid_from")
        .values_list("rate", flat=True)
        .first()
    )
    return row


def parameter_history(region_ids, *, insurance_type: str = "") -> QuerySet[ParameterSet]:
    qs = ParameterSet.objects.filter(region_id__in=region_ids).select_related(
        "region", "entered_by"
    )
    if insurance_type:
        qs = qs.filter(insurance_type=insurance_type)
    return qs.order_by("region_id", "insurance_type", "-valid_from", "-version")


def wage_in_force(person_id: int, unit_id: int | None, period: int) -> Decimal | None:
    return (
        WageBase.objects.filter(person_id=person_id, valid_from__lte=period)
        .filter(Q(unit_id=unit_id) if unit_id else Q(unit__isnull=True))
        .order_by("-valid_from")
        .values_list("wage", flat=True)
        .first()
    )
