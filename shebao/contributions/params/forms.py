"""Forms of the back-office parameter pages: the history filter, publishing a set (every value
as text: the service parses and answers in Chinese next to each field) and a unit's
work-injury rate."""

from django import forms
from django.core.exceptions import ValidationError

from shebao.contributions.models import ParameterSet, Rounding
from shebao.contributions.params.calc import FIELDS, clean_parameter_fields, percent
from shebao.registry.models import InsuranceType
from shebao.web.forms import StyledForm

TYPE_CHOICES = [(t, f"{t} {label}") for t, label in InsuranceType.choices]
NUMERIC = {"inputmode": "decimal", "autocomplete": "off"}


def _text(label: str, *, required=True, help_text="", placeholder="", numeric=True):
    attrs = dict(NUMERIC) if numeric else {}
    if placeholder:
        attrs["placeholder"] = placeholder
    return forms.CharField(
        label=label,
        required=required,
        max_length=300 if not numeric else 24,
        help_text=help_text,
        widget=forms.TextInput(attrs=attrs),
        error_messages={"required": f"请填写{label}"},
    )


class FilterForm(StyledForm):
    region = forms.ChoiceField(label="统筹区", required=False)
    insurance_type = forms.ChoiceField(
        label="险种", required=False, choices=[("", "全部险种"), *TYPE_CHOICES]
    )

    def __init__(self, *args, regions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = [("", "全部统筹区"), *((r.pk, r.name) for r in regions)]


class PublishForm(StyledForm):
    """Everything is text: the service parses and answers in Chinese next to each field."""

    region = forms.ChoiceField(label="统筹区", error_messages={"required": "请选择统筹区"})
    insurance_type = forms.ChoiceField(
        label="险种",
        choices=[("", "请选择"), *TYPE_CHOICES],
        error_messages={"required": "请选择险种"},
    )
    valid_from = _text(
        "起始年月",
        placeholder="例如 202507",
        help_text="yyyyMM；同一起始年月再次发布即为新版本（更正），新的起始年月取代此前的参数",
    )
    floor = _text("缴费基数下限（元）")
    cap = _text("缴费基数上限（元）")
    unit_rate = _text("单位费率", placeholder="例如 0.16", help_text="小数：0.16 表示 16%")
    personal_rate = _text("个人费率", placeholder="例如 0.08", help_text="小数：0.08 表示 8%")
    unit_fixed = _text("单位定额（元）", required=False, help_text="没有填 0 或不填")
    personal_fixed = _text(
        "个人定额（元）", required=False, help_text="例如北京医疗个人另缴大额互助 3 元"
    )
    unit_rounding = forms.ChoiceField(label="单位舍入方式", choices=Rounding.choices)
    personal_rounding = forms.ChoiceField(label="个人舍入方式", choices=Rounding.choices)
    annuity_unit_rate = _text(
        "职业年金单位费率", required=False, help_text="仅机关事业单位养老保险（120），如 0.08"
    )
    annuity_personal_rate = _text(
        "职业年金个人费率", required=False, help_text="仅机关事业单位养老保险（120），如 0.04"
    )
    source = forms.CharField(
        label="依据（文号或网址）",
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={
            "required": "请填写依据（文件文号或公布网址）",
            "max_length": "依据不能超过300字",
        },
        help_text="公布该参数的文件文号或官方网址",
    )
    status = forms.ChoiceField(
        label="状态",
        choices=[
            (ParameterSet.Status.UNVERIFIED, "待核实"),
            (ParameterSet.Status.DEMO, "演示数据"),
        ],
        help_text="发布后由经办人员对照原文核实，再标记为“已核实”",
    )

    def __init__(self, *args, regions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = [(r.pk, r.name) for r in regions]

    def service_arguments(self) -> dict:
        """The cleaned data as ``parameter_set_publish`` takes it (region, insurance_type,
        valid_from and the set's other values as ``fields``)."""
        data = dict(self.cleaned_data)
        return {
            "region": data.pop("region"),
            "insurance_type": data.pop("insurance_type"),
            "valid_from": data.pop("valid_from"),
            "fields": data,
        }

    def add_value_errors(self) -> None:
        """When the form itself is refused (a required field is empty), still tell every other
        wrong value at once: the service's checks of the values, without writing anything."""
        fields = {name: self.data.get(name) for name in FIELDS if name in self.data}
        try:
            clean_parameter_fields(self.data.get("insurance_type", ""), fields)
        except ValidationError as e:
            for name, errors in e.message_dict.items():
                if name in self.fields and name not in self.errors:
                    self.add_error(name, errors[0])
                    attrs = self.fields[name].widget.attrs
                    attrs["class"] = attrs.get("class", "") + " is-invalid"


class InjuryRateForm(StyledForm):
    valid_from = _text("起始年月", placeholder="例如 202601", help_text="yyyyMM")
    factor = forms.ChoiceField(label="浮动比例")

    def __init__(self, *args, state: dict, current_period, **kwargs):
        """``state`` is ``injury_rate_state(unit)``: the allowed factors and benchmark, and the
        first month not yet settled (else the region's current period) as the default start."""
        kwargs.setdefault(
            "initial", {"factor": "1.00", "valid_from": str(state["next_open"] or current_period)}
        )
        super().__init__(*args, **kwargs)
        benchmark = state["benchmark"]
        self.fields["factor"].choices = [
            (f"{f:f}", f"{percent(f)}%（费率 {percent(benchmark * f)}%）") for f in state["factors"]
        ]
