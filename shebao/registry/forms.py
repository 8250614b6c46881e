"""Unit-data forms shared by the public first registration (``registration/forms.py``) and
the staff's counter registration (``accounts/views_units.py``), and the material upload
``accept`` list other registry forms use."""

import json
from decimal import Decimal

from django import forms

from shebao.core.models import Region
from shebao.registry.models import INJURY_CLASS_BENCHMARKS, Affiliation, InsuranceType, UnitType
from shebao.registry.services import FALLBACK_DEFAULTS
from shebao.web.fields import (
    AddressField,
    IdNumberField,
    MobileField,
    PersonNameField,
    UnitNameField,
    UsccField,
)
from shebao.web.forms import StyledForm

ACCEPT = "image/jpeg,image/png,application/pdf,.jpg,.jpeg,.png,.pdf"


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
    industry = forms.CharField(label="所属行业", max_length=100, required=False)
    injury_risk_class = forms.TypedChoiceField(
        label="工伤风险类别",
        coerce=int,
        choices=[
            (k, f"{k} 类（基准费率 {Decimal(v) * 100:.1f}%）")
            for k, v in INJURY_CLASS_BENCHMARKS.items()
        ],
    )

    def __init__(self, *args, regions=None, **kwargs):
        super().__init__(*args, **kwargs)
        regions = list(regions if regions is not None else Region.objects.all())
        self.fields["region"].choices = [("", "请选择")] + [(r.code, r.name) for r in regions]
        places = [
            (r.name, [(p, p) for p in r.insurance_places]) for r in regions if r.insurance_places
        ]
        self.fields["insurance_place"].choices = [("", "请选择")] + places
        self.fields["unit_type"].widget.attrs.update(
            {
                "data-unit-type-defaults": json.dumps(FALLBACK_DEFAULTS),
                "data-editable-types": json.dumps([UnitType.GOVERNMENT, UnitType.INSTITUTION]),
            }
        )


class CounterUnitForm(UnitFieldsForm):
    """Staff register a unit directly at the counter."""

    is_vip = forms.BooleanField(label="VIP单位（申报自动审核通过）", required=False)
