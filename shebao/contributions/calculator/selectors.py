"""Reads of the public contribution calculator (缴费试算): the regions with published parameters,
one person's contributions for one month computed from the sets in force (shared by
`GET /api/v1/calculator` and the calculator page, so they agree to the fen), and that result
as the page's table, narrowed to what a kind of unit pays."""

from decimal import Decimal, InvalidOperation

from shebao.contributions.calculator.calc import ANNUITY_ITEM, compute
from shebao.contributions.models import ItemType, ParameterSet
from shebao.contributions.params.selectors import (
    WageBounds,
    parameter_sets_in_force,
    to_params,
    wage_bounds,
)
from shebao.core.models import Region
from shebao.core.money import format_money, money_str
from shebao.core.periods import Period


class CalculatorError(ValueError):
    """Bad input to the calculator, with a Chinese message."""


class CalculatorNotFound(CalculatorError):
    """Well-formed input naming what does not exist: an unknown region, or a month without
    published parameters (the API answers 404)."""


# Which pension a unit pays: enterprises 110; 机关事业 units 120 with occupational annuity.
SCHEMES = {"enterprise": {"120"}, "institution": {"110"}}

ITEM_LABELS = dict(ItemType.choices)
ENTERPRISE = "enterprise"
INSTITUTION = "institution"
# unit kind -> the lines that kind of unit does not pay
EXCLUDED = {
    ENTERPRISE: {ItemType.INSTITUTION_PENSION.value, ANNUITY_ITEM},
    INSTITUTION: {ItemType.ENTERPRISE_PENSION.value},
}


def calculator_regions() -> list[tuple[str, str]]:
    """Regions that have published parameters, for the select."""
    codes = ParameterSet.objects.values("region_id").distinct()
    return [(r.code, f"{r.name}（{r.code}）") for r in Region.objects.filter(code__in=codes)]


def _wage(wage: str) -> Decimal:
    try:
        wage_d = Decimal((wage or "").strip())
        if not wage_d.is_finite():
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        raise CalculatorError("缴费工资必须是数字") from None
    if wage_d < 0:
        raise CalculatorError("缴费工资不能为负数")
    return wage_d


def _injury_rate(injury_rate: str | None) -> Decimal | None:
    if injury_rate in (None, ""):
        return None
    try:
        rate = Decimal(injury_rate.strip())
        if not rate.is_finite() or rate < 0 or rate > 1:
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        raise CalculatorError("工伤费率必须是 0 到 1 之间的小数，例如 0.004") from None
    return rate


def calculate(
    region: str, period: str, wage: str, injury_rate: str | None, scheme: str = ""
) -> dict:
    """Shared by the API and the calculator page; raises CalculatorError in Chinese.
    `scheme` (enterprise, the default, or institution) picks the pension the unit pays."""
    scheme = scheme or "enterprise"
    if scheme not in SCHEMES:
        raise CalculatorError("单位类别只能是 enterprise（企业）或 institution（机关事业单位）")
    region_obj = Region.objects.filter(code=(region or "").strip()).first()
    if region_obj is None:
        raise CalculatorNotFound(f"未知的统筹区：{region}")
    try:
        p = Period.parse(period)
    except ValueError as e:
        raise CalculatorError(str(e)) from None
    wage_d = _wage(wage)
    rate = _injury_rate(injury_rate)
    sets = {
        t: ps
        for t, ps in parameter_sets_in_force(region_obj.code, int(p)).items()
        if t not in SCHEMES[scheme]
    }
    if not sets:
        raise CalculatorNotFound(f"{region_obj.name}在 {p.label} 没有缴费参数")
    result = compute([to_params(ps) for ps in sets.values()], wage_d, injury_rate=rate)
    return {
        "region": region_obj.code,
        "period": str(p),
        "lines": [
            {
                "type": line.insurance_type,
                "base": money_str(line.base),
                "unit": money_str(line.unit),
                "personal": money_str(line.personal),
            }
            for line in result.lines
        ],
        "unit_total": money_str(result.unit_total),
        "personal_total": money_str(result.personal_total),
        "total": money_str(result.total),
    }


def calculator_table(result: dict, unit_kind: str) -> dict:
    """The API's result as rows for the page, narrowed to the unit kind (totals re-summed from
    the shown lines' two-decimal strings: exact Decimal arithmetic)."""
    excluded = EXCLUDED.get(unit_kind, set())
    rows = []
    unit_total = personal_total = Decimal("0.00")
    for line in result["lines"]:
        if line["type"] in excluded:
            continue
        unit, personal = Decimal(line["unit"]), Decimal(line["personal"])
        unit_total += unit
        personal_total += personal
        rows.append(
            {
                **line,
                "label": ITEM_LABELS.get(line["type"], line["type"]),
                "total": money_str(unit + personal),
                "base_display": format_money(line["base"]),
                "unit_display": format_money(line["unit"]),
                "personal_display": format_money(line["personal"]),
                "total_display": format_money(unit + personal),
            }
        )
    totals = {
        "unit_total": money_str(unit_total),
        "personal_total": money_str(personal_total),
        "total": money_str(unit_total + personal_total),
    }
    return {
        "lines": rows,
        **totals,
        **{f"{k}_display": format_money(v) for k, v in totals.items()},
    }


def calculator_bounds(region: str, period: str) -> WageBounds | None:
    """The wage floor and cap for the region and month on the form (None when either is not
    valid yet): the page says under the wage which base will be used."""
    try:
        p = Period.parse(period)
    except (TypeError, ValueError):
        return None
    return wage_bounds((region or "").strip(), int(p))
