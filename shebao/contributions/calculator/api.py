"""The public contribution calculator API (缴费试算)."""

from decimal import Decimal, InvalidOperation

from django.http import HttpRequest
from ninja import Router, Schema, Status

from shebao.contributions.calculator.calc import compute
from shebao.contributions.params.selectors import parameter_sets_in_force, to_params
from shebao.core.models import Region
from shebao.core.money import money_str
from shebao.core.periods import Period

router = Router(tags=["缴费试算"])


class LineOut(Schema):
    type: str
    base: str
    unit: str
    personal: str


class CalculatorOut(Schema):
    region: str
    period: str
    lines: list[LineOut]
    unit_total: str
    personal_total: str
    total: str


class ErrorOut(Schema):
    detail: str


class CalculatorError(ValueError):
    pass


# Which pension a unit pays: enterprises 110; 机关事业 units 120 with occupational annuity.
SCHEMES = {"enterprise": {"120"}, "institution": {"110"}}


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
        raise CalculatorError(f"未知的统筹区：{region}")
    try:
        p = Period.parse(period)
    except ValueError as e:
        raise CalculatorError(str(e)) from None
    try:
        wage_d = Decimal((wage or "").strip())
        if not wage_d.is_finite():
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        raise CalculatorError("缴费工资必须是数字") from None
    if wage_d < 0:
        raise CalculatorError("缴费工资不能为负数")
    rate = None
    if injury_rate not in (None, ""):
        try:
            rate = Decimal(injury_rate.strip())
            if not rate.is_finite() or rate < 0 or rate > 1:
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            raise CalculatorError("工伤费率必须是 0 到 1 之间的小数，例如 0.004") from None
    sets = {
        t: ps
        for t, ps in parameter_sets_in_force(region_obj.code, int(p)).items()
        if t not in SCHEMES[scheme]
    }
    if not sets:
        raise CalculatorError(f"{region_obj.name}在 {p.label} 没有缴费参数")
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


@router.get("/calculator", response={200: CalculatorOut, 400: ErrorOut}, summary="缴费试算")
def calculator(
    request: HttpRequest,
    region: str,
    period: str,
    wage: str,
    injury_rate: str | None = None,
    scheme: str = "enterprise",
):
    """Contributions of one person for one month: one line per insurance type, every amount
    a string with two decimals. `scheme=institution` computes 机关事业单位养老保险 (120) with
    occupational annuity (121) instead of enterprise pension (110)."""
    try:
        return Status(200, calculate(region, period, wage, injury_rate, scheme))
    except CalculatorError as e:
        return Status(400, {"detail": str(e)})
