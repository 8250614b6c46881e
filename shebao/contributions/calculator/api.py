"""The public contribution calculator API (缴费试算): the django-ninja router of
`GET /api/v1/calculator`, over the same read as the calculator page."""

from django.http import HttpRequest
from ninja import Router, Schema, Status

from shebao.contributions.calculator.selectors import CalculatorError, calculate
from shebao.web.ratelimits import limit

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


@router.get("/calculator", response={200: CalculatorOut, 400: ErrorOut}, summary="缴费试算")
@limit("api_ip", method=None)  # over the limit: Ratelimited, answered 429
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
