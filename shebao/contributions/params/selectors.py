"""Reads of policy parameters and units' work-injury rates.

The sets in force for a region and month (used by settlement, back pay, flexible employment
and the calculator), and the back-office pages' data, scoped by the staff member's regions:
another region's set answers 404 like a missing one."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Exists, Max, OuterRef, QuerySet
from django.http import Http404

from shebao.contributions.calculator.calc import Params, base_note, clamp_base
from shebao.contributions.models import (
    ContributionLine,
    ParameterSet,
    Rounding,
    Settlement,
    UnitInjuryRate,
)
from shebao.contributions.params.calc import (
    RateRow,
    SetRow,
    class_label,
    derive_validity,
    injury_factors,
    parameter_initial,
    percent,
    rate_rows,
    set_labels,
)
from shebao.core.models import Region
from shebao.core.periods import Period
from shebao.registry import access
from shebao.registry.models import INJURY_CLASS_BENCHMARKS, InsuranceType, Unit

# --- sets in force ------------------------------------------------------------------------------


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


@dataclass(frozen=True)
class WageBounds:
    """The floor and cap of the declared wage in a region and month, and the note beside it."""

    floor: Decimal
    cap: Decimal

    def note(self, wage) -> str:
        return base_note(wage, self.floor, self.cap)

    def base_label(self, wage) -> str:
        """The base used for a declared wage with the reason when it differs from the wage,
        e.g. "4,462.00 元（低于缴费基数下限 4,462.00 元，将按下限 4,462.00 元计算）"."""
        try:
            base = clamp_base(Decimal(str(wage).strip().replace(",", "")), self.floor, self.cap)[0]
        except (ArithmeticError, ValueError):
            return ""
        note = self.note(wage)
        return f"{base:,.2f} 元" + (f"（{note}）" if note else "")

    def attrs(self) -> dict[str, str]:
        """Data attributes for a wage input (wage_floor.js shows the note as one types)."""
        return {"data-wage-floor": f"{self.floor:.2f}", "data-wage-cap": f"{self.cap:.2f}"}


def wage_bounds(region_id: str, period: int) -> WageBounds | None:
    """The bounds of the declared wage (the enterprise pension set's, 110, else the first set
    in force: regions publish one floor and cap for all types); None without parameters."""
    sets = parameter_sets_in_force(region_id, int(period))
    ps = sets.get(InsuranceType.ENTERPRISE_PENSION.value) or next(iter(sets.values()), None)
    return WageBounds(floor=ps.floor, cap=ps.cap) if ps is not None else None


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


# --- back office: parameter sets ----------------------------------------------------------------


def staff_regions(actor) -> QuerySet[Region]:
    """The regions a staff member works for (nothing for anyone else)."""
    if not access.is_staff_member(actor):
        return Region.objects.none()
    return Region.objects.filter(pk__in=actor.regions.values("pk")).order_by("code")


@dataclass
class SetGroup:
    region: Region
    insurance_type: str
    rows: list[SetRow]

    @property
    def type_label(self) -> str:
        return InsuranceType(self.insurance_type).label


def _with_used(qs: QuerySet[ParameterSet]) -> QuerySet[ParameterSet]:
    """Annotate whether a settlement's contribution lines point at each set."""
    return qs.annotate(used=Exists(ContributionLine.objects.filter(parameter_set=OuterRef("pk"))))


def parameter_overview(actor, *, region: str = "", insurance_type: str = "") -> list[SetGroup]:
    """Every set of the staff member's regions (optionally one region / type), grouped by
    region × insurance type, each group newest first with its validity and whether a
    settlement used it."""
    regions = {r.pk: r for r in staff_regions(actor)}
    if region:
        regions = {k: v for k, v in regions.items() if k == region}
    qs = _with_used(
        ParameterSet.objects.filter(region_id__in=list(regions)).select_related("entered_by")
    ).order_by("region_id", "insurance_type", "-valid_from", "-version")
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
    """One set of the staff member's regions, with ``used``; anything else answers 404."""
    try:
        return _with_used(ParameterSet.objects.select_related("region", "entered_by")).get(
            pk=parameter_set_id, region__in=staff_regions(actor)
        )
    except ParameterSet.DoesNotExist:
        raise Http404 from None


def parameter_detail(actor, parameter_set_id: int) -> dict:
    """The detail page: the set, its row in the history of its region × type (validity) and
    that history, and its labels."""
    ps = staff_parameter_get(actor, parameter_set_id)
    group = parameter_overview(actor, region=ps.region_id, insurance_type=ps.insurance_type)
    rows = group[0].rows if group else []
    row = next((r for r in rows if r.ps.pk == ps.pk), None)
    return {"ps": ps, "row": row, "rows": rows, "labels": set_labels(ps)}


def parameter_publish_initial(
    actor, source_id: str, *, next_period: bool
) -> tuple[ParameterSet | None, dict]:
    """The set a publish form starts from (``?from=<id>``, one of the staff member's) and the
    form's initial values: that set's (a new version keeps the month; the next period clears
    it), or empty with rounding to the fen."""
    if not source_id.isdigit():
        return None, {"unit_rounding": Rounding.FEN, "personal_rounding": Rounding.FEN}
    base = staff_parameter_get(actor, int(source_id))
    initial = parameter_initial(base)
    if next_period:
        initial["valid_from"] = ""
    return base, initial


# --- back office: work-injury rates -------------------------------------------------------------


def last_settled_period(unit: Unit) -> int | None:
    """The latest 结算期 the unit has settled (withdrawn settlements do not count)."""
    return (
        Settlement.objects.filter(unit=unit)
        .exclude(state=Settlement.State.WITHDRAWN)
        .aggregate(m=Max("settle_period"))["m"]
    )


def injury_rate_history(unit: Unit) -> list[RateRow]:
    """The unit's rates, newest first, each valid until the month before the next one."""
    rates = list(UnitInjuryRate.objects.filter(unit=unit).order_by("valid_from"))
    return rate_rows(rates, last_settled_period(unit))


def injury_rate_state(unit: Unit) -> dict:
    """What the page shows above the history: benchmark, allowed factors, settled up to, the
    month a new rate may start from at the earliest, and the industry class."""
    settled = last_settled_period(unit)
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
        "class_label": class_label(unit.injury_risk_class),
    }
