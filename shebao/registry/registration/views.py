"""Public pages of the unit first registration (no sign-in). The applicant's access to their
application lives in the session: granted when they create it, or when they reopen it with
serial number + mobile + SMS code."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from shebao.filings import kept
from shebao.filings.materials import MaterialRejected, check_material
from shebao.filings.models import Filing
from shebao.filings.services import filing_cancel
from shebao.registry.registration import selectors, services
from shebao.registry.registration.forms import (
    ReopenCodeForm,
    ReopenForm,
    SubmitForm,
    UnitRegistrationForm,
)
from shebao.registry.registration.kinds import MATERIALS
from shebao.web.decorators import hall_required
from shebao.web.forms import add_service_errors
from shebao.web.ratelimits import limit, post_fields, url_value
from shebao.web.sms import sms_refused, sms_sent_fragment

SESSION_KEY = "registration_serials"


def _grant(request, filing: Filing) -> None:
    serials = request.session.get(SESSION_KEY, [])
    if filing.serial_no not in serials:
        request.session[SESSION_KEY] = [*serials, filing.serial_no][-10:]


def _applicant_filing(request, serial_no: str) -> Filing:
    """The application, only for the session that created or reopened it (else 404)."""
    return selectors.applicant_filing(serial_no, granted=request.session.get(SESSION_KEY, []))


def _scope(filing: Filing | None) -> str:
    return f"registration:{filing.serial_no if filing else 'new'}"


def _keep_uploads(request, scope: str) -> dict[str, str]:
    """Check each uploaded material by content and keep the good ones for this session (so a
    mistake elsewhere on the form costs no upload); the refused ones' messages by slot."""
    refused = {}
    for slot in MATERIALS:
        upload = request.FILES.get(slot)
        if upload is None:
            continue
        try:
            checked = check_material(upload)
            owner = kept.kept_owner(request.session)
            kept.kept_store(owner=owner, scope=scope, slot=slot, checked=checked)
        except MaterialRejected as e:  # by its content, or over the session's quota
            refused[slot] = str(e)
    return refused


def _form(request, filing: Filing | None = None) -> UnitRegistrationForm:
    """The form, bound on POST, with the files kept for it; refused uploads on their fields."""
    scope = _scope(filing)
    refused = _keep_uploads(request, scope) if request.method == "POST" else {}
    owner = request.session.get(kept.SESSION_KEY)
    form = UnitRegistrationForm(
        request.POST or None,
        request.FILES or None,
        initial=dict(filing.payload) if filing else None,
        editing=filing is not None,
        kept=selectors.kept_display(owner, scope, filing),
    )
    if request.method == "POST":
        form.is_valid()
        for slot, message in refused.items():
            form.add_error(slot, message)
    return form


def _save(request, form, filing: Filing | None = None) -> Filing | None:
    """Save the application with the kept materials; None with the errors on the form."""
    if not form.is_valid():  # unbound, or errors (the refused uploads' too)
        return None
    scope, owner = _scope(filing), request.session.get(kept.SESSION_KEY)
    try:
        saved = services.registration_save(
            data=form.cleaned_data,
            materials=kept.kept_checked(owner, scope),
            password=form.cleaned_data.get("password"),
            filing=filing,
        )
    except ValidationError as e:
        add_service_errors(form, e)
        return None
    kept.kept_discard(owner=owner, scope=scope)  # the filing has the files now
    return saved


@limit("registration_ip")
def registration_new(request):
    form = _form(request)
    if filing := _save(request, form):
        _grant(request, filing)
        return redirect("registration:submit", serial_no=filing.serial_no)
    return render(request, "registry/registration_form.html", {"form": form, "editing": False})


@limit("registration_ip")
def registration_edit(request, serial_no: str):
    filing = _applicant_filing(request, serial_no)
    if not filing.is_editable:
        messages.error(request, "该申请已提交或已办结，不能修改")
        return redirect("registration:status", serial_no=serial_no)
    form = _form(request, filing)
    if _save(request, form, filing):
        messages.success(request, "修改已保存，请获取验证码后提交")
        return redirect("registration:submit", serial_no=serial_no)
    context = {"form": form, "editing": True, "filing": filing}
    return render(request, "registry/registration_form.html", context)


@limit("code_check_ip")
@limit("code_check_account", key=url_value("serial_no"))
def registration_submit_view(request, serial_no: str):
    filing = _applicant_filing(request, serial_no)
    if not filing.is_editable:
        return redirect("registration:status", serial_no=serial_no)
    form = SubmitForm(request.POST or None)
    missing = selectors.registration_missing(filing)  # no code is asked for or used then
    if request.method == "POST" and not missing and form.is_valid():
        try:
            services.registration_submit_with_code(filing=filing, code=form.cleaned_data["code"])
        except ValidationError as e:
            add_service_errors(form, e)
        else:
            messages.success(
                request,
                f"申请已提交，流水号 {filing.serial_no}。审核结果将以短信通知联系人手机，请耐心等待。",
            )
            return redirect("registration:status", serial_no=serial_no)
    context = {"filing": filing, "form": form, "missing": missing}
    context.update(selectors.registration_display(filing))
    return render(request, "registry/registration_submit.html", context)


@require_POST
@limit("sms_send_ip")
@limit("sms_send_account", key=url_value("serial_no"))
def registration_send_code(request, serial_no: str):
    filing = _applicant_filing(request, serial_no)
    if selectors.registration_missing(filing):
        message = "申请信息不完整，请先点“修改”补全后再获取验证码"
        return sms_refused(request, message=message, button_id="send-code")
    return sms_sent_fragment(
        request, mobile=filing.contact_mobile, purpose="unit_registration", button_id="send-code"
    )


def registration_status(request, serial_no: str):
    filing = _applicant_filing(request, serial_no)
    context = {"filing": filing, **selectors.registration_display(filing, steps=True)}
    return render(request, "registry/registration_status.html", context)


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


@limit("code_check_ip")
@limit("code_check_account", key=post_fields("serial_no"))
def registration_reopen(request):
    """Find one's application again: serial number + contact mobile + SMS code."""
    form = ReopenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            filing = services.registration_reopen(**form.cleaned_data)
        except ValidationError as e:
            add_service_errors(form, e)
        else:
            _grant(request, filing)
            return redirect("registration:status", serial_no=filing.serial_no)
    return render(request, "registry/registration_reopen.html", {"form": form})


@require_GET
def registration_kept(request, kept_id: int):
    """The thumbnail of a material kept for this session's form (another session's: 404)."""
    row = kept.kept_get(request.session.get(kept.SESSION_KEY), kept_id)
    response = HttpResponse(kept.kept_thumbnail(row), content_type="image/jpeg")
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_POST
@limit("sms_send_ip")
@limit("sms_send_account", key=post_fields("serial_no"))
def registration_reopen_send_code(request):
    form = ReopenCodeForm(request.POST)
    if not form.is_valid():  # empty or malformed: say which field, look nothing up
        context = {"form": form, "button_id": "send-code"}
        return render(request, "registry/_reopen_code_refused.html", context)
    serial_no, mobile = form.cleaned_data["serial_no"], form.cleaned_data["mobile"]
    if selectors.registration_for_reopen(serial_no, mobile) is None:
        # Do not text numbers that have no application with this serial number.
        response = sms_refused(request, message=services.NOT_FOUND, button_id="send-code")
    else:
        response = sms_sent_fragment(
            request, mobile=mobile, purpose="registration_reopen", button_id="send-code"
        )
    return _clear_code_checks(response, form)


def _clear_code_checks(response, form):
    """Empty the per-field messages an earlier 获取验证码 left (htmx out-of-band swaps)."""
    for field in form:
        response.content += (
            f'<div id="{field.auto_id}-code-check" hx-swap-oob="true"></div>'.encode()
        )
    return response


@require_POST
@hall_required("staff")
def legal_rep_id_reveal(request, serial_no: str):
    """显示完整: the review page's htmx request (or a plain POST) for the full number."""
    number = services.legal_rep_id_reveal(actor=request.user, serial_no=serial_no)
    htmx = bool(request.headers.get("HX-Request"))
    template = "_registration_legal_rep_id" if htmx else "registration_legal_rep_id"
    context = {"number": number, "serial_no": serial_no}
    return render(request, f"registry/{template}.html", context)
