"""The development console (SHEBAO_DEV_CONSOLE): what the SMS gateway would have sent and the
current dynamic codes of the demo staff accounts."""

import pyotp
from django.conf import settings
from django.http import Http404
from django.shortcuts import render

from shebao.accounts.models import User
from shebao.core import selectors


def dev_console(request):
    if not settings.SHEBAO_DEV_CONSOLE:
        raise Http404
    staff = [
        (u.username, pyotp.TOTP(u.totp_secret).now())
        for u in User.objects.filter(
            kind="staff", totp_confirmed=True, username__startswith="demo_"
        )
    ]
    return render(
        request, "demo/dev_console.html", {"messages_out": selectors.sms_outbox(), "staff": staff}
    )
