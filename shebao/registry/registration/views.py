"""Public pages of the unit first registration (no sign-in). The applicant's access to their
application lives in the session: granted when they create it, or when they reopen it with
serial number + mobile + SMS code."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from shebao.core.verification import verification_code_check
from shebao.filings.materials import MaterialRejected, check_material
from shebao.filings.models import Filing, FilingKind
from shebao.filings.selectors import filing_progress
from shebao.filings.services import filing_cancel
from shebao.registry.forms import UnitRegistrationForm
from shebao.registry.registration.kinds import (
    MATERIALS,
    UnitRegistrationHandler,
    registration_for_reopen,
    registration_save,
    registration_submit,
)
from shebao.web.forms import StyledForm, add_service_errors
from shebao.web.sms import sms_sent_fragment

SESSION_KEY = "registration_serials"


def _grant(request, filing: Filing) -> None:
    serials = request.session.get(SESSION_KEY, [])
    if filing.serial_no not in serials:
        request.session[SESSION_KEY] = [*serials, filing.serial_no][-10:]


def _applicant_filing(request, serial_no: str) -> Filing:
    """The application, only for the session that created or reopened it (else 404)."""
    if serial_no not in request.session.get(SESSION_KEY, []):
        raise Http404
    try:
        return Filing.objects.select_related("region").get(
            serial_no=serial_no, kind=FilingKind.UNIT_REGISTRATION
        )
    except Filing.DoesNotExist:
        raise Http404 from None


def _checked_materials(request, form) -> dict:
    checked = {}
    for slot in MATERIALS:
        upload = request.FILES.get(slot)
        if upload is None:
            continue
        try:
            checked[slot] = check_material(upload)
        except MaterialRejected as e:
            form.add_error(slot, str(e))
    return checked


def registration_new(request):
    form = UnitRegistrationForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        materials = _checked_materials(request, form)
        if not form.errors:
            try:
                filing = registration_save(
                    data=form.cleaned_data,
                    materials=materials,
                    password=form.cleaned_data["password"],
                )
            except ValidationError as e:
                add_service_errors(form, e)
            else:
                _grant(request, filing)
                return redirect("registration:submit", serial_no=filing.serial_no)
    return render(request, "registry/registration_form.html", {"form": form, "editing": False})


def registration_edit(request, serial_no: str):
    filing = _applicant_filing(request, serial_no)
    if not filing.is_editable:
        messages.error(request, "该申请已提交或已办结，不能修改")
        return redirect("registration:status", serial_no=serial_no)
    initial = dict(filing.payload)
    form = UnitRegistrationForm(
        request.POST or None, request.FILES or None, initial=initial, editing=True
    )
    if request.method == "POST" and form.is_valid():
        materials = _checked_materials(request, form)
        if not form.errors:
            try:
                registration_save(
                    data=form.cleaned_data,
                    materials=materials,
                    password=form.cleaned_data.get("password"),
                    filing=filing,
                )
            except ValidationError as e:
                add_service_errors(form, e)
            else:
                messages.success(request, "修改已保存，请获取验证码后提交")
                return redirect("registration:submit", serial_no=serial_no)
    return render(
        request,
        "registry/registration_form.html",
        {"form": form, "editing": True, "filing": filing},
    )


class SubmitForm(StyledForm):
    code = forms.CharField(label="短信验证码", max_length=6, min_length=6)


def registration_submit_view(request, serial_no: str):
    filing = _applicant_filing(request, serial_no)
    if not filing.is_editable:
        return redirect("registration:status", serial_no=serial_no)
    form = SubmitForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            verification_code_check(
                mobile=filing.contact_mobile,
                purpose="unit_registration",
                code=form.cleaned_data["code"],
            )
        except ValidationError as e:
            form.add_error("code", e.messages[0])
        else:
            try:
                registration_submit(filing=filing)
            except ValidationError as e:
                add_service_errors(form, e)
            else:
                messages.success(
                    request,
                    f"申请已提交，流水号 {filing.serial_no}。审核结果将以短信通知联系人手机，请耐心等待。",
                )
                return redirect("registration:status", serial_no=serial_no)
    handler = UnitRegistrationHandler()
    return render(
        request,
        "registry/registration_submit.html",
        {
            "filing": filing,
            "form": form,
            "rows": handler.display_rows(filing.payload),
            "materials": filing.materials.all(),
        },
    )


@require_POST
def registration_send_code(request, serial_no: str):
    filing = _applicant_filing(request, serial_no)
    return sms_sent_fragment(
        request, mobile=filing.contact_mobile, purpose="unit_registration", button_id="send-code"
    )


def registration_status(request, serial_no: str):
    filing = _applicant_filing(request, serial_no)
    handler = UnitRegistrationHandler()
    return render(
        request,
        "registry/registration_status.html",
        {
            "filing": filing,
            "rows": handler.display_rows(filing.payload),
            "steps": filing_progress(filing),
            "materials": filing.materials.all(),
        },
    )


@require_POST
def registration_cancel(request, serial_no: str):
    filing = _applicant_filing(request, serial_no)
    try:
        filing_cancel(actor=None, filing=filing)
    except ValidationError as e:
        messages.error(request, e.messages[0])
    else:
        messages.success(request, f"申请 {serial_no} 已退单")
    return redirect("registration:status", serial_no=serial_no)


class ReopenForm(StyledForm):
    serial_no = forms.CharField(label="流水号", max_length=20)
    mobile = forms.CharField(label="联系人手机", max_length=11)
    code = forms.CharField(label="短信验证码", max_length=6)


def registration_reopen(request):
    """Find one's application again: serial number + contact mobile + SMS code."""
    form = ReopenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        filing = registration_for_reopen(data["serial_no"], data["mobile"])
        try:
            verification_code_check(
                mobile=data["mobile"].strip(), purpose="registration_reopen", code=data["code"]
            )
        except ValidationError as e:
            form.add_error("code", e.messages[0])
        else:
            if filing is None:
                form.add_error(None, "未找到该流水号的申请，或手机号与申请时填写的不一致")
            else:
                _grant(request, filing)
                return redirect("registration:status", serial_no=filing.serial_no)
    return render(request, "registry/registration_reopen.html", {"form": form})


@require_POST
def registration_reopen_send_code(request):
    serial_no = request.POST.get("serial_no", "")
    mobile = request.POST.get("mobile", "").strip()
    if registration_for_reopen(serial_no, mobile) is None:
        # Do not text numbers that have no application with this serial number.
        return render(
            request,
            "web/sms_sent.html",
            {
                "message": "未找到该流水号的申请，或手机号与申请时填写的不一致",
                "ok": False,
                "wait": 0,
                "button_id": "send-code",
            },
        )
    return sms_sent_fragment(
        request, mobile=mobile, purpose="registration_reopen", button_id="send-code"
    )
