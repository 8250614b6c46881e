"""The public calculator page's form (缴费试算): the API's query (region, period, wage,
injury_rate) and the kind of unit, with the calculator's refusals put next to their field."""

from django import forms

from shebao.contributions.calculator.selectors import ENTERPRISE, INSTITUTION
from shebao.web.forms import StyledForm


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

    def add_calculator_error(self, message: str) -> None:
        """A CalculatorError next to the field it is about (or on top of the form)."""
        field = _field_of(message)
        self.add_error(field, message)
        if field is not None:
            attrs = self.fields[field].widget.attrs
            attrs["class"] = attrs.get("class", "") + " is-invalid"
            attrs["aria-invalid"] = "true"

    def show_bounds(self, bounds) -> str:
        """Put the region's floor and cap on the wage input (wage_floor.js notes the base as
        one types); the note for the wage submitted, or ""."""
        if bounds is None:
            return ""
        self.fields["wage"].widget.attrs.update(bounds.attrs())
        wage = self.data.get("wage", "") if self.is_bound else ""
        return bounds.note(wage) if wage else ""
