"""Unit-data forms shared by the public first registration (``registration/forms.py``) and
the staff's counter registration (``accounts/views_units.py``), and the material upload
``accept`` list other registry forms use."""

import json
from decimal import Decimal

from django import forms

from shebao.core import inputs
from shebao.core.models import Region
from shebao.registry.industries import (
    industry_choices,
    industry_code,
    industry_label,
    risk_class_for,
    risk_classes,
)
from shebao.registry.models import INJURY_CLASS_BENCHMARKS, Affiliation, InsuranceType, UnitType
from shebao.registry.services import FALLBACK_DEFAULTS
from shebao.web.fields import (
    AddressField,
    IdNumberField,
    MobileField,
    PersonNameField,
    RuleField,
    UnitNameField,
    UsccField,
)
from shebao.web.forms import StyledForm

ACCEPT = "image/jpeg,image/png,application/pdf,.jpg,.jpeg,.png,.pdf"


class BankNameField(RuleField):
    widget_maxlength = inputs.BANK_NAME_MAX + 20

    def rule(self, value):
        return inputs.normalize_bank_name(value, required=self.required)


class BankAccountField(RuleField):
    widget_maxlength = inputs.BANK_ACCOUNT_MAX + 20

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.widget.attrs.update({"inputmode": "numeric", "autocomplete": "off"})

    def rule(self, value):
        return inputs.normalize_bank_account(value, required=self.required)


class UnitFieldsForm(StyledForm):
    """The unit's data, shared by the public first registration and counter registration."""

    name = UnitNameField(label="单位名称")
    uscc = UsccField(label="统一社会信用代码")
    unit_type = forms.ChoiceField(label="单位类型", choices=[("", "请选择")] + UnitType.choices)
    affiliation = forms.ChoiceField(
        label="隶属关系", choices=[("", "请选择")] + Affiliation.choices
    )
    region = forms.ChoiceField(label="统筹区")
    insurance_place = forms.ChoiceField(label="单位参保地", required=False)
    insurance_types = forms.MultipleChoiceField(
        label="参保险种",
        choices=InsuranceType.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="按单位类型自动选择；只有机关、事业单位可以调整",
    )
    address = AddressField(label="单位地址")
    legal_rep_name = PersonNameField(label="法定代表人姓名")
    legal_rep_id_number = IdNumberField(label="法定代表人身份证号")
    contact_name = PersonNameField(label="联系人")
    contact_mobile = MobileField(label="联系人手机", help_text="接收验证码和审核结果短信")
    industry = forms.ChoiceField(
        label="所属行业",
        choices=[("", "请选择")] + industry_choices(),
        required=False,
        help_text="按《国民经济行业分类》（GB/T 4754-2017）大类选择",
    )
    injury_risk_class = forms.TypedChoiceField(
        label="工伤风险类别",
        coerce=int,
        empty_value=None,
        required=False,
        choices=[("", "按所属行业带出")]
        + [
            (k, f"{k} 类（基准费率 {Decimal(v) * 100:.1f}%）")
            for k, v in INJURY_CLASS_BENCHMARKS.items()
        ],
        help_text="选择所属行业后按工伤保险行业风险分类表自动带出，可以修改",
    )
    bank_name = BankNameField(
        label="开户银行", required=False, help_text="填写到支行，如：中国工商银行北京海淀支行"
    )
    bank_account = BankAccountField(label="银行账号", required=False, help_text="8–30 位数字")

    def __init__(self, *args, regions=None, **kwargs):
        super().__init__(*args, **kwargs)
        regions = list(regions if regions is not None else Region.objects.all())
        self.fields["region"].choices = [("", "请选择")] + [(r.code, r.name) for r in regions]
        places = [
            (r.name, [(p, p) for p in r.insurance_places]) for r in regions if r.insurance_places
        ]
        self.fields["insurance_place"].choices = [("", "请选择")] + places
        # Required whenever the 统筹区 has places (clean() asks for it): marked like the others.
        self.fields["insurance_place"].marked_required = True
        self.regions = {r.code: r for r in regions}
        self._preselect_only_place()
        # The page's script narrows 单位参保地 to the chosen 统筹区 (clean() checks it again).
        self.fields["region"].widget.attrs.update(
            {
                "data-places": json.dumps(
                    {r.code: list(r.insurance_places) for r in regions}, ensure_ascii=False
                ),
                "data-places-target": "id_insurance_place",
            }
        )
        self.fields["industry"].widget.attrs.update(
            {
                "data-risk-classes": json.dumps(risk_classes()),
                "data-risk-target": "id_injury_risk_class",
            }
        )
        if code := industry_code(self.initial.get("industry")):  # a stored "65 软件…"
            self.initial["industry"] = code
        self.fields["unit_type"].widget.attrs.update(
            {
                "data-unit-type-defaults": json.dumps(FALLBACK_DEFAULTS),
                "data-editable-types": json.dumps([UnitType.GOVERNMENT, UnitType.INSTITUTION]),
            }
        )

    def _preselect_only_place(self) -> None:
        """A 统筹区 with exactly one 单位参保地: that place is chosen (the page's script does
        the same when the 统筹区 changes)."""
        source = self.data if self.is_bound else self.initial
        region = self.regions.get(source.get("region") or "")
        if region is None or len(region.insurance_places) != 1 or source.get("insurance_place"):
            return
        if self.is_bound:
            self.data = self.data.copy()
            self.data["insurance_place"] = region.insurance_places[0]
        else:
            self.initial["insurance_place"] = region.insurance_places[0]

    def clean_industry(self):
        code = self.cleaned_data.get("industry")
        return industry_label(code) if code else ""

    def clean(self):
        data = super().clean()
        region = self.regions.get(data.get("region") or "")
        place = data.get("insurance_place") or ""
        if region is not None and region.insurance_places and place not in region.insurance_places:
            self.add_error(
                "insurance_place",
                f"单位参保地“{place}”不属于{region.name}，请选择{region.name}的单位参保地"
                if place
                else f"请选择{region.name}的单位参保地",
            )
        if data.get("injury_risk_class") is None and "injury_risk_class" not in self.errors:
            suggested = risk_class_for(data.get("industry"))
            if suggested is None:
                self.add_error("injury_risk_class", "请选择工伤风险类别，或先选择所属行业自动带出")
            else:
                data["injury_risk_class"] = suggested
        return data


class CounterUnitForm(UnitFieldsForm):
    """Staff register a unit directly at the counter."""

    is_vip = forms.BooleanField(label="VIP单位（申报自动审核通过）", required=False)
