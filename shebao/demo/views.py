"""The development console (SHEBAO_DEV_CONSOLE): what the SMS gateway would have sent and the
current dynamic codes of the demo staff accounts."""

from django.conf import settings
from django.http import Http404
from django.shortcuts import render

from shebao.core.selectors import sms_outbox
from shebao.demo.selectors import demo_staff_codes


def dev_console(request):
    if not settings.SHEBAO_DEV_CONSOLE:
        raise Http404
    context = {"messages_out": sms_outbox(), "staff": demo_staff_codes()}
    return render(request, "demo/dev_console.html", context)
