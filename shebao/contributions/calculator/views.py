"""The public contribution calculator page (缴费试算, no sign-in). It calls the same helper as
`GET /api/v1/calculator` (contributions.api.calculate), so the page and the API agree to the fen.

The query string mirrors the API (region, period, wage, injury_rate). One extra, optional
parameter narrows the lines to what a kind of unit pays: the published sets of a region hold
both enterprise pension (110) and 机关事业 pension (120, with 职业年金 121), and nobody pays both.
Without it the page shows exactly the API's lines and totals; the form sends 企业 by default."""

from decimal import Decimal

from django import forms
from django.shortcuts import render

from shebao.contributions.calculator.api import CalculatorError, calculate
from shebao.contributions.calculator.calc import ANNUITY_ITEM
from shebao.contributions.models import ItemType, ParameterSet
from shebao.core.models import Region, this_month
from shebao.core.money import format_money, money_str
from shebao.web.forms import StyledForm

ITEM_LABELS = dict(ItemType.choices)
ENTERPRISE = "enterprise"
INSTITUTION = "institution"
# unit kind -> the lines that kind of unit does not pay
EXCLUDED = {
    ENTERPRISE: {ItemType.INSTITUTION_PENSION.value, ANNUITY_ITEM},
    INSTITUTION: {ItemType.ENTERPRISE_PENSION.value},
}
QUERY_FIELDS = ("region", "period", "wage", "injury_rate", "unit_kind")


class CalculatorForm(StyledForm):
    # Free text behind a select: an unknown code reaches calculate() and gets its message.
    region = forms.CharField(
        label="参保地（统筹区）",
        max_length=12,
        widget=forms.Select(),
        error_messages={"required": "请选择参保地"},
    )
    period = forms.CharField(
        label="费款所属期",
        max_length=10,
        help_text="yyyyMM，例如 202408",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "placeholder": "例如 202408"}),
        error_messages={"required": "请填写费款所属期"},
    )
    wage = forms.CharField(
        label="缴费工资（元/月）",
        max_length=20,
        help_text="上年度月平均工资；低于下限按下限、高于上限按上限计算",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "例如 8000"}),
        error_messages={"required": "请填写缴费工资"},
    )
    injury_rate = forms.CharField(
        label="工伤费率（可选）",
        max_length=12,
        required=False,
        help_text="单位的工伤保险费率，小数，例如 0.004；不填按参数表中的基准费率",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "例如 0.004"}),
    )
    unit_kind = forms.ChoiceField(
        label="单位类型",
        required=False,
        choices=[
            (ENTERPRISE, "企业及其他单位（企业职工养老保险）"),
            (INSTITUTION, "机关事业单位（机关事业养老保险、职业年金）"),
            ("", "全部险种（与接口一致）"),
        ],
    )

    def __init__(self, *args, regions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].widget.choices = [("", "请选择"), *regions]


def calculator_regions() -> list[tuple[str, str]]:
    """Regions that have published parameters, for the select."""
    codes = ParameterSet.objects.values("region_id").distinct()
    return [(r.code, f"{r.name}（{r.code}）") for r in Region.objects.filter(code__in=codes)]


def _field_of(message: str) -> str | None:
    """Which field a CalculatorError is about (its messages are fixed Chinese sentences)."""
    if message.startswith("未知的统筹区"):
        return "region"
    if message.startswith("无效的期间") or "没有缴费参数" in message:
        return "period"
    if message.startswith("缴费工资"):
        return "wage"
    if message.startswith("工伤费率"):
        return "injury_rate"
    return None


def _table(result: dict, unit_kind: str) -> dict:
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


def calculator(request):
    regions = calculator_regions()
    submitted = any(name in request.GET for name in ("region", "period", "wage"))
    initial = {"period": str(this_month()), "unit_kind": ENTERPRISE}
    if regions:
        initial["region"] = regions[0][0]
    form = CalculatorForm(request.GET if submitted else None, initial=initial, regions=regions)
    table = None
    result = None
    if submitted and form.is_valid():
        data = form.cleaned_data
        try:
            result = calculate(
                data["region"],
                data["period"],
                data["wage"],
                data["injury_rate"],
                data.get("unit_kind") or ENTERPRISE,
            )
        except CalculatorError as e:
            field = _field_of(str(e))
            form.add_error(field, str(e))
            if field is not None:
                attrs = form.fields[field].widget.attrs
                attrs["class"] = attrs.get("class", "") + " is-invalid"
                attrs["aria-invalid"] = "true"
        else:
            table = _table(result, data.get("unit_kind", ""))
    region_name = dict(regions).get(result["region"], "") if result else ""
    return render(
        request,
        "contributions/public/calculator.html",
        {"form": form, "result": result, "table": table, "region_name": region_name},
        status=400 if submitted and form.errors else 200,
    )
