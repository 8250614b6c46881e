"""The form of the person hall's 灵活就业人员参保登记."""

from django import forms

from shebao.contributions.flexible.selectors import OTHER
from shebao.web.forms import StyledForm


class RegistrationForm(StyledForm):
    region = forms.ChoiceField(label="参保统筹区")
    start_period = forms.CharField(
        label="参保年月", max_length=8, help_text="格式 yyyyMM，不早于该统筹区当前结算期"
    )
    base_level = forms.CharField(label="缴费档次", required=False, max_length=10)
    other_level = forms.CharField(label="其他档次（基数下限的倍数）", required=False, max_length=10)

    def __init__(self, *args, regions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = [("", "请选择")] + [
            (r.code, f"{r.name}（当前结算期 {r.current_period}）") for r in regions
        ]
        self.fields["other_level"].widget.attrs.update(
            {"inputmode": "decimal", "placeholder": "例如 1.80"}
        )

    def service_data(self) -> dict:
        data = self.cleaned_data
        level = data.get("base_level") or ""
        if level == OTHER:
            level = data.get("other_level") or ""
        return {
            "region": data.get("region"),
            "start_period": data.get("start_period"),
            "base_level": level,
        }

    def level_source(self) -> dict:
        """Region, start month and level as submitted (or as first offered): what the level
        table beside the form is computed for."""
        source = self.data if self.is_bound else self.initial
        return {
            "region": str(source.get("region") or ""),
            "start": str(source.get("start_period") or ""),
            "chosen_level": str(source.get("base_level") or ""),
        }
