"""The htmx answer of every 获取验证码 button."""

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import render

from shebao.core.ids import mask_mobile
from shebao.core.inputs import normalize_mobile
from shebao.core.verification import seconds_until_resend, verification_code_send


def sms_refused(request, *, message: str, button_id: str) -> HttpResponse:
    """The button's answer when no code is sent (a bad mobile, no such application)."""
    context = {"message": message, "ok": False, "wait": 0, "button_id": button_id}
    return render(request, "web/sms_sent.html", context)


def sms_sent_fragment(request, *, mobile: str, purpose: str, button_id: str) -> HttpResponse:
    """htmx answer of every '获取验证码' button. ``mobile`` as typed or stored; it is made
    canonical (shebao.core.inputs.normalize_mobile) before anything is counted."""
    try:
        mobile = normalize_mobile(mobile)
    except ValidationError as e:
        return sms_refused(request, message=e.messages[0], button_id=button_id)
    try:
        verification_code_send(mobile=mobile, purpose=purpose)
        message, ok = f"验证码已发送至 {mask_mobile(mobile)}，10分钟内有效", True
    except ValidationError as e:
        message, ok = e.messages[0], False
    wait = seconds_until_resend(mobile=mobile, purpose=purpose)
    return render(
        request,
        "web/sms_sent.html",
        {"message": message, "ok": ok, "wait": wait, "button_id": button_id},
    )
