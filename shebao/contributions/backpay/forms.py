"""The forms of the 补缴 pages: one person's back pay (BackPayForm, the fields following the kind)
and the pay date of 滞纳金试算 (LateFeeForm; StaffLateFeeForm adds the unit number)."""

from datetime import date, timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from shebao.filings.models import FilingKind
from shebao.registry.enrolment.calc import ordered_types
from shebao.registry.models import InsuranceType, Unit
from shebao.web.fields import IdNumberField
from shebao.web.forms import StyledForm

PERIOD_WIDGET = {"inputmode": "numeric", "placeholder": "yyyyMM", "autocomplete": "off"}
EARLIEST_PAY_DATE = date(1990, 1, 1)
WAGE_LABELS = {
    FilingKind.BACK_PAY.value: "缴费工资（元/月）",
    FilingKind.ADJUST_PAY.value: "新缴费工资（元/月）",
    FilingKind.SUPPLEMENT_PAY.value: "缴费工资（元/月）",
}


class BackPayForm(StyledForm):
    id_number = IdNumberField(
        label="证件号码",
        error_messages={"required": "请填写职工的证件号码"},
        help_text="末尾为X的大小写均可",
    )
    month_from = forms.CharField(
        label="补缴起始年月",
        max_length=8,
        error_messages={"required": "请填写补缴起始年月"},
        widget=forms.TextInput(attrs=PERIOD_WIDGET),
    )
    month_to = forms.CharField(
        label="补缴终止年月",
        max_length=8,
        required=False,
        help_text="只补一个月时与起始年月相同或不填",
        widget=forms.TextInput(attrs=PERIOD_WIDGET),
    )
    wage = forms.CharField(
        label="缴费工资（元/月）",
        max_length=20,
        error_messages={"required": "请填写缴费工资"},
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )

    def __init__(self, *args, kind: str, unit: Unit, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["wage"].label = WAGE_LABELS[kind]
        choices = [
            (t, f"{t} {InsuranceType(t).label}")
            for t in ordered_types(unit.insurance_types)
            if t in InsuranceType.values
        ]
        if kind == FilingKind.SUPPLEMENT_PAY:
            field = forms.ChoiceField(
                label="补收险种",
                choices=choices,
                widget=forms.RadioSelect,
                error_messages={"required": "请选择补收险种", "invalid_choice": "请选择补收险种"},
            )
        else:
            field = forms.MultipleChoiceField(
                label="险种",
                choices=choices,
                required=False,
                widget=forms.CheckboxSelectMultiple,
                help_text="不选为该职工在本单位参加的全部险种",
                error_messages={"invalid_choice": "险种选择有误，请重新选择"},
            )
        self.fields["insurance_types"] = field
        # the class names were set before the field was added
        css = "form-check-input"
        field.widget.attrs["class"] = (field.widget.attrs.get("class", "") + " " + css).strip()

    def service_data(self, person_id: int) -> dict:
        data = self.cleaned_data
        types = data.get("insurance_types") or []
        return {
            "person": person_id,
            "month_from": data["month_from"],
            "month_to": data.get("month_to", ""),
            "wage": data["wage"],
            "insurance_types": [types] if isinstance(types, str) else list(types),
        }


def _pay_date_field() -> forms.DateField:
    return forms.DateField(
        label="缴费日期",
        required=False,
        help_text="不填为今天；按该日缴纳计算滞纳金",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": "缴费日期格式应为yyyy-mm-dd"},
    )


class LateFeeForm(StyledForm):
    pay_date = _pay_date_field()

    def clean_pay_date(self):
        value = self.cleaned_data.get("pay_date") or timezone.localdate()
        latest = timezone.localdate() + timedelta(days=366)
        if value < EARLIEST_PAY_DATE:
            raise ValidationError("缴费日期不能早于1990年1月1日")
        if value > latest:
            raise ValidationError(f"缴费日期不能晚于{latest.isoformat()}")
        return value


class StaffLateFeeForm(LateFeeForm):
    unit_no = forms.CharField(
        label="单位编号",
        max_length=20,
        error_messages={"required": "请填写单位编号"},
    )
    pay_date = _pay_date_field()

    field_order = ["unit_no", "pay_date"]
