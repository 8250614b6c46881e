"""Staff's audit log search and the development console (SMS outbox, demo TOTP codes)."""

import pyotp
from django import forms
from django.conf import settings
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render

from shebao.core import selectors
from shebao.core.models import AuditEntry
from shebao.web.decorators import hall_required
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


@hall_required("staff")
def audit_log(request):
    form = AuditFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    qs = selectors.audit_entries(request.user, **filters).select_related("region")
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request, "core/audit_log.html", {"form": form, "page": page, "query": query.urlencode()}
    )


def dev_console(request):
    """Development only (SHEBAO_DEV_CONSOLE): what the SMS gateway would have sent and the
    current dynamic codes of the demo staff accounts."""
    if not settings.SHEBAO_DEV_CONSOLE:
        raise Http404
    from shebao.accounts.models import User

    staff = [
        (u.username, pyotp.TOTP(u.totp_secret).now())
        for u in User.objects.filter(
            kind="staff", totp_confirmed=True, username__startswith="demo_"
        )
    ]
    return render(
        request, "core/dev_console.html", {"messages_out": selectors.sms_outbox(), "staff": staff}
    )
