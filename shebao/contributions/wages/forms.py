"""Forms of the wage declaration pages: the annual header (year, month the new base starts),
the monthly header (the wage month) and the roster search."""

from django import forms

from shebao.contributions.wages.selectors import annual_years
from shebao.web.forms import StyledForm

PERIOD_WIDGET = forms.TextInput(attrs={"inputmode": "numeric", "placeholder": "yyyyMM"})


class AnnualHeaderForm(StyledForm):
    year = forms.ChoiceField(label="申报年度", error_messages={"required": "请选择申报年度"})
    valid_from = forms.CharField(
        label="新基数起始年月",
        max_length=8,
        required=False,
        widget=PERIOD_WIDGET,
        help_text="yyyyMM；不填为申报年度的7月",
    )

    def __init__(self, *args, unit, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["year"].choices = [(y, f"{y}年度") for y in annual_years(unit)]


class MonthlyHeaderForm(StyledForm):
    period = forms.CharField(
        label="工资所属年月",
        max_length=8,
        widget=PERIOD_WIDGET,
        error_messages={"required": "请填写工资所属年月"},
        help_text="yyyyMM；分项工资合计即为该月起的缴费基数",
    )


class SearchForm(StyledForm):
    q = forms.CharField(
        label="姓名或个人编号",
        max_length=50,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "按姓名或个人编号查询", "type": "search"}),
    )
