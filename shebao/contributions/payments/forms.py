"""Forms of the payment pages: the staff lists' filters, posting one payment (the payer looked up
among the staff member's regions), uploading the arrival file, and the unit's 社保应付 period."""

from django import forms
from django.core.exceptions import ValidationError

from shebao.contributions.models import ItemType
from shebao.contributions.payments import selectors
from shebao.contributions.payments.imports import MAX_FILE_BYTES
from shebao.core.periods import Period
from shebao.web.forms import StyledForm

ITEM_FILTER = [("", "全部险种"), *ItemType.choices]


def _period_or_error(value: str) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return int(Period.parse(value))
    except ValueError:
        raise ValidationError("结算期格式应为 yyyyMM，例如 202508") from None


class FilterForm(StyledForm):
    """The GET filter of the staff lists."""

    unit_no = forms.CharField(label="单位编号或个人编号", required=False, max_length=20)
    settle_period = forms.CharField(
        label="结算期",
        required=False,
        max_length=8,
        widget=forms.TextInput(attrs={"placeholder": "yyyyMM", "inputmode": "numeric"}),
    )
    item = forms.ChoiceField(label="险种", required=False, choices=ITEM_FILTER)

    def clean_unit_no(self):
        return self.cleaned_data["unit_no"].strip()

    def clean_settle_period(self):
        return _period_or_error(self.cleaned_data["settle_period"])

    def filters(self) -> dict:
        """The filled-in filters (none when the form is not valid)."""
        if not self.is_valid():
            return {}
        return {k: v for k, v in self.cleaned_data.items() if v}


class PaymentsFilterForm(FilterForm):
    batch = forms.CharField(label="导入批次", required=False, max_length=40)


class PaymentForm(StyledForm):
    """One payment. Once the fields are valid, the payer is looked up among the staff member's
    regions (``cleaned_data["payer"]``: a unit or a flexible worker)."""

    unit_no = forms.CharField(label="单位编号", required=False, max_length=20)
    person_no = forms.CharField(
        label="个人编号（灵活就业人员）",
        required=False,
        max_length=20,
        help_text="单位缴费填写单位编号；灵活就业人员个人缴费只填个人编号",
    )
    settle_period = forms.CharField(
        label="结算期",
        max_length=8,
        widget=forms.TextInput(attrs={"placeholder": "yyyyMM", "inputmode": "numeric"}),
    )
    item = forms.ChoiceField(label="险种", choices=ItemType.choices)
    # text, parsed by the service (Decimal, at most two decimals, Chinese messages)
    amount = forms.CharField(
        label="到账金额（元）",
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    paid_on = forms.DateField(
        label="到账日期",
        input_formats=["%Y-%m-%d", "%Y%m%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args, actor=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.actor = actor

    def clean(self):
        data = super().clean()
        unit_no = (data.get("unit_no") or "").strip()
        person_no = (data.get("person_no") or "").strip()
        if unit_no and person_no:
            self.add_error("person_no", "单位编号和个人编号只能填写一项")
        elif not unit_no and not person_no:
            self.add_error("unit_no", "请填写单位编号（灵活就业人员填写个人编号）")
        data["unit_no"], data["person_no"] = unit_no, person_no
        if self.actor is not None and not self.errors:
            self._clean_payer(data)
        return data

    def _clean_payer(self, data) -> None:
        unit_no, person_no = data["unit_no"], data["person_no"]
        data["payer"] = selectors.staff_payer(self.actor, unit_no=unit_no, person_no=person_no)
        if data["payer"] is None:
            if unit_no:
                self.add_error("unit_no", "您经办的统筹区没有该单位编号")
            else:
                self.add_error("person_no", "您经办的统筹区没有该个人编号的灵活就业缴费记录")

    def payment_args(self) -> dict:
        """The keyword arguments of ``services.payment_post`` (after ``is_valid``)."""
        data = self.cleaned_data
        payer = data["payer"]
        is_unit = not data["person_no"]
        return {
            "unit": payer if is_unit else None,
            "person": None if is_unit else payer,
            **{k: data[k] for k in ("settle_period", "item", "amount", "paid_on")},
        }


class ImportForm(StyledForm):
    region = forms.ChoiceField(label="统筹区")
    file = forms.FileField(
        label="到账文件",
        help_text=(
            "CSV（UTF-8 或 GBK 编码）或 Excel（.xlsx），第一行为表头：单位编号、结算期、险种、"
            "金额、到账日期；灵活就业人员以“个人编号”列代替单位编号。"
            f"不超过 {MAX_FILE_BYTES // (1024 * 1024)} MB。"
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,.xls,.txt"}),
    )

    def __init__(self, *args, regions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = [(r.pk, r.name) for r in regions]


class PayableForm(StyledForm):
    period = forms.CharField(
        label="结算期",
        required=False,
        max_length=8,
        widget=forms.TextInput(attrs={"placeholder": "yyyyMM", "inputmode": "numeric"}),
    )

    def clean_period(self):
        return _period_or_error(self.cleaned_data["period"])
