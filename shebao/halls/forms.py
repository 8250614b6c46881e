"""Forms of the halls' pages."""

from django import forms

from shebao.core.models import AuditEntry
from shebao.web.forms import StyledForm


class AuditFilterForm(StyledForm):
    q = forms.CharField(label="操作人/对象", required=False, max_length=100)
    action = forms.CharField(label="操作", required=False, max_length=60)
    outcome = forms.ChoiceField(
        label="结果", required=False, choices=[("", "全部")] + AuditEntry.Outcome.choices
    )
    date_from = forms.DateField(
        label="起始日期", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label="截止日期", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class PiplSearchForm(StyledForm):
    """个人信息导出: the person, by ID number or person number (sent by POST, never in a URL)."""

    q = forms.CharField(label="证件号码或个人编号", max_length=32)
