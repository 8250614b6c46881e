"""Forms of the filing pages: the back office's review queue filter and return reason, the unit
hall's 待办 / 已办 filter."""

from django import forms

from shebao.filings.models import FilingKind, FilingState
from shebao.filings.selectors import WAITING_CHOICES
from shebao.web.forms import StyledForm

UNIT_KINDS = [(k, label) for k, label in FilingKind.choices if k != FilingKind.UNIT_REGISTRATION]


class QueueFilterForm(StyledForm):
    region = forms.ChoiceField(label="统筹区", required=False)
    kind = forms.ChoiceField(
        label="业务类型", required=False, choices=[("", "全部")] + FilingKind.choices
    )
    unit = forms.CharField(label="单位/流水号", required=False, max_length=50)
    waiting_days = forms.ChoiceField(
        label="等待时间", required=False, choices=list(WAITING_CHOICES.items())
    )
    state = forms.ChoiceField(
        label="状态",
        required=False,
        choices=[("submitted", "待审核"), ("", "全部")] + FilingState.choices[2:],
    )

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = [("", "全部")] + [
            (r.code, r.name) for r in actor.regions.all()
        ]


class ReturnForm(StyledForm):
    reason = forms.CharField(
        label="回退原因", max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )


class UnitFilingFilter(StyledForm):
    kind = forms.ChoiceField(label="业务类型", required=False, choices=[("", "全部"), *UNIT_KINDS])
    state = forms.ChoiceField(
        label="状态",
        required=False,
        choices=[
            ("", "全部"),
            (FilingState.SUBMITTED, "审核中"),
            (FilingState.APPROVED, "已办结"),
            (FilingState.CANCELLED, "已退单"),
        ],
    )
