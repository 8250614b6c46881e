"""The public contribution calculator API (缴费试算): the django-ninja router of
`GET /api/v1/calculator`, over the same read as the calculator page.

The schema is the contract: each parameter's pattern is exactly what the operation accepts
(pydantic enforces it, and the API answers a violation with 400 and a Chinese `detail` built
from `PARAM_RULES`); a well-formed request naming an unknown region or a month without
published parameters answers 404."""

from typing import Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import ConfigDict, Field

from shebao.contributions.calculator.selectors import (
    CalculatorError,
    CalculatorNotFound,
    calculate,
)
from shebao.core.api import responses
from shebao.web.ratelimits import limit

router = Router(tags=["缴费试算"])

REGION = r"^[0-9]{6}$"
PERIOD = r"^[1-9][0-9]{3}-?(0[1-9]|1[0-2])$"
WAGE = r"^[0-9]{1,12}(\.[0-9]{1,6})?$"
INJURY_RATE = r"^(0(\.[0-9]{1,6})?|1(\.0{1,6})?)$"
AMOUNT = r"^[0-9]+\.[0-9]{2}$"

# What each query parameter should be: the 400 message says "参数 <name> 应为<rule>".
PARAM_RULES = {
    "region": "六位数字的统筹区编码，例如 110000",
    "period": "yyyyMM 格式的年月，例如 202408",
    "wage": "金额：不小于 0、最多六位小数的数，例如 5000 或 5000.50",
    "injury_rate": "工伤费率：0 到 1 之间的小数，例如 0.004",
    "scheme": "单位类别 enterprise（企业）或 institution（机关事业单位）",
}


EXAMPLE_OUT = {
    "region": "110000",
    "period": "202408",
    "lines": [
        {"type": "110", "base": "6821.00", "unit": "1091.36", "personal": "545.68"},
        {"type": "210", "base": "6821.00", "unit": "34.11", "personal": "34.11"},
        {"type": "310", "base": "6821.00", "unit": "668.46", "personal": "139.42"},
        {"type": "410", "base": "6821.00", "unit": "27.28", "personal": "0.00"},
    ],
    "unit_total": "1821.21",
    "personal_total": "719.21",
    "total": "2540.42",
}


class LineOut(Schema):
    model_config = ConfigDict(extra="forbid")

    type: str = Field(pattern=r"^[0-9]{3}$", description="险种代码，例如 110 企业职工基本养老保险")
    base: str = Field(pattern=AMOUNT, description="缴费基数（元，两位小数）")
    unit: str = Field(pattern=AMOUNT, description="单位缴费（元，两位小数）")
    personal: str = Field(pattern=AMOUNT, description="个人缴费（元，两位小数）")


class CalculatorOut(Schema):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE_OUT]})

    region: str = Field(pattern=REGION, description="统筹区编码")
    period: str = Field(pattern=r"^[0-9]{4}(0[1-9]|1[0-2])$", description="费款所属期 yyyyMM")
    lines: list[LineOut] = Field(min_length=1, description="每个险种一行")
    unit_total: str = Field(pattern=AMOUNT, description="单位缴费合计（元）")
    personal_total: str = Field(pattern=AMOUNT, description="个人缴费合计（元）")
    total: str = Field(pattern=AMOUNT, description="合计（元）")


@router.get(
    "/calculator",
    response=responses(CalculatorOut),
    summary="缴费试算",
    description="一个人一个月的社保缴费：每个险种一行，金额均为两位小数的字符串。"
    "scheme=institution 按机关事业单位养老保险（120）及职业年金（121）代替企业职工养老保险（110）。"
    "未知的统筹区或该月没有缴费参数时答复 404。",
)
@limit("api_ip", method=None)  # over the limit: Ratelimited, answered 429
def calculator(
    request: HttpRequest,
    region: str = Query(
        ..., pattern=REGION, description="统筹区编码，例如 110000", example="110000"
    ),
    period: str = Query(
        ..., pattern=PERIOD, description="费款所属期 yyyyMM，例如 202408", example="202408"
    ),
    wage: str = Query(..., pattern=WAGE, description="缴费工资（元），例如 5000", example="5000"),
    injury_rate: str = Query(  # optional: absent means the region's rate
        None,
        pattern=INJURY_RATE,
        description="工伤保险费率，例如 0.004（缺省用统筹区的费率）",
        example="0.004",
    ),
    scheme: Literal["enterprise", "institution"] = Query(
        "enterprise", description="单位类别：enterprise 企业，institution 机关事业单位"
    ),
):
    """Contributions of one person for one month: one line per insurance type, every amount
    a string with two decimals. `scheme=institution` computes 机关事业单位养老保险 (120) with
    occupational annuity (121) instead of enterprise pension (110).
    An unknown region, or a month without published parameters, answers 404."""
    try:
        return Status(200, calculate(region, period, wage, injury_rate, scheme))
    except CalculatorNotFound as e:
        return Status(404, {"detail": str(e)})
    except CalculatorError as e:
        return Status(400, {"detail": str(e)})
