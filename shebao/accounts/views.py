"""Sign-in (password, then a second factor), sign-out, passwords, persons' self-registration and
units' registration-code binding. Thin: parse, call a service or selector, render."""

import time
from urllib.parse import urlencode

import pyotp
import segno
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout, update_session_auth_hash
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from shebao.accounts import selectors, services
from shebao.accounts.factors import factor_for
from shebao.accounts.forms import (
    FactorForm,
    ForgotIdentifyForm,
    ForgotResetForm,
    PasswordChangeForm,
    PersonLoginForm,
    PersonSignupFinishForm,
    PersonSignupIdentifyForm,
    StaffLoginForm,
    UnitBindForm,
    UnitLoginForm,
)
from shebao.accounts.models import User
from shebao.accounts.nexts import requested_next, safe_next
from shebao.core.ids import mask_mobile
from shebao.core.inputs import normalize_mobile
from shebao.core.pseudonyms import keyed_hash
from shebao.core.verification import (
    verification_code_check,
    verification_code_send,
)
from shebao.web.forms import add_service_errors
from shebao.web.ratelimits import limit, post_fields, session_value
from shebao.web.sms import sms_refused, sms_sent_fragment

PENDING_TTL = 10 * 60
MAX_FACTOR_TRIES = 5
HOME = {"operator": "unit:home", "person": "person:home", "staff": "staff:home"}

LOGIN_KINDS = {
    "operator": (UnitLoginForm, "单位网厅登录", "accounts:unit_login"),
    "person": (PersonLoginForm, "个人网厅登录", "accounts:person_login"),
    "staff": (StaffLoginForm, "经办后台登录", "accounts:staff_login"),
}


def _resolve(kind: str, data: dict) -> User | None:
    if kind == "operator":
        return selectors.operator_for_login(data.get("unit_key"), data.get("account"))
    if kind == "person":
        return selectors.person_user_for_login(data.get("id_number"))
    return selectors.staff_for_login(data.get("username"))


def _unknown_username(kind: str, data: dict) -> str:
    """Failures on unknown accounts count too (django-axes), under a name that holds no
    personal data in clear (a keyed hash: an ID number's is not reversed by enumeration)."""
    raw = "|".join(str(data.get(k, "")).strip().upper() for k in sorted(data) if k != "password")
    return f"unknown.{kind}.{keyed_hash(raw, length=20)}"


def _password_passed(request, authed: User, next_url: str = ""):
    """The password is right: remember the pending sign-in (and where it goes afterwards),
    start the second factor."""
    request.session["pending_login"] = {
        "uid": authed.pk,
        "at": time.time(),
        "tries": 0,
        "next": next_url,
    }
    if authed.is_staff_member and not authed.totp_confirmed:
        return redirect("accounts:totp_setup")
    try:
        hint = factor_for(authed).start(authed)
    except ValidationError as e:
        hint = e.messages[0]
    request.session["pending_hint"] = hint
    return redirect("accounts:verify")


@limit("login_ip")
@limit("login_account", key=post_fields("unit_key", "account", "id_number", "username"))
def login_view(request, kind: str):
    form_class, title, _ = LOGIN_KINDS[kind]
    form = form_class(request.POST or None)
    next_url = requested_next(request, kind)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        user = _resolve(kind, data)
        username = user.username if user else _unknown_username(kind, data)
        authed = authenticate(request, username=username, password=data["password"])
        if getattr(request, "axes_locked_out", False):
            return render(request, "accounts/locked.html", status=429)
        if authed is not None and authed.kind == kind:
            return _password_passed(request, authed, next_url)
        services.login_password_refused(user=user)
        form.add_error(None, "账号或密码错误（连续输错5次将锁定15分钟）")
    context = {"form": form, "title": title, "kind": kind, "next": next_url}
    return render(request, "accounts/login.html", context)


def _pending_user(request) -> User | None:
    pending = request.session.get("pending_login")
    if not pending or time.time() - pending["at"] > PENDING_TTL:
        request.session.pop("pending_login", None)
        return None
    return selectors.pending_login_user(pending["uid"])


def _fail_factor(request, form, error: ValidationError, kind: str) -> str | None:
    """Count a wrong code; after the last try, the sign-in page to start again (with the same
    ``next``), else None (the error is shown next to the field)."""
    pending = request.session["pending_login"]
    pending["tries"] += 1
    request.session["pending_login"] = pending
    if pending["tries"] >= MAX_FACTOR_TRIES:
        request.session.pop("pending_login", None)
        messages.error(request, "验证失败次数过多，请重新登录")
        url, next_url = reverse(LOGIN_KINDS[kind][2]), pending.get("next")
        return f"{url}?{urlencode({'next': next_url})}" if next_url else url
    form.add_error("code", error.messages[0])
    return None


def _finish_login(request, user: User):
    pending = request.session.pop("pending_login", None) or {}
    request.session.pop("pending_hint", None)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    services.login_recorded(user=user)
    return redirect(safe_next(request, pending.get("next"), user.kind) or HOME[user.kind])


@limit("code_check_ip")
@limit("code_check_account", key=session_value("pending_login", "uid"))
def verify_view(request):
    user = _pending_user(request)
    if user is None:
        messages.error(request, "登录已超时，请重新登录")
        return redirect("web:home")
    factor = factor_for(user)
    form = FactorForm(request.POST or None)
    form.fields["code"].label = factor.label
    if request.method == "POST" and form.is_valid():
        try:
            factor.verify(user, form.cleaned_data["code"])
        except ValidationError as e:
            services.login_factor_refused(user=user, factor_key=factor.key)
            if page := _fail_factor(request, form, e, user.kind):
                return redirect(page)
        else:
            return _finish_login(request, user)
    return render(
        request,
        "accounts/verify.html",
        {"form": form, "factor": factor, "hint": request.session.get("pending_hint", "")},
    )


@require_POST
@limit("sms_send_ip")
@limit("sms_send_account", key=session_value("pending_login", "uid"))
def verify_resend(request):
    user = _pending_user(request)
    if user is None or factor_for(user).key != "sms":
        return HttpResponse("登录已超时，请重新登录", status=400)
    return sms_sent_fragment(
        request, mobile=user.sms_mobile, purpose="login", button_id="send-code"
    )


@limit("code_check_ip")
@limit("code_check_account", key=session_value("pending_login", "uid"))
def totp_setup(request):
    """Staff bind an authenticator app at their first sign-in."""
    user = _pending_user(request)
    if user is None or not user.is_staff_member or user.totp_confirmed:
        return redirect("accounts:staff_login")
    secret = services.totp_secret_ensure(actor=user)
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name="社保经办后台")
    form = FactorForm(request.POST or None)
    form.fields["code"].label = "动态口令"
    if request.method == "POST" and form.is_valid():
        try:
            services.totp_bind(actor=user, code=form.cleaned_data["code"])
        except ValidationError as e:
            if page := _fail_factor(request, form, e, user.kind):
                return redirect(page)
        else:
            return _finish_login(request, user)
    qr_svg = segno.make(uri, error="m").svg_inline(scale=4)
    return render(
        request, "accounts/totp_setup.html", {"form": form, "qr_svg": qr_svg, "secret": secret}
    )


@require_POST
def logout_view(request):
    if request.user.is_authenticated:
        services.logout_recorded(user=request.user)
    logout(request)
    messages.info(request, "您已安全退出")
    return redirect("web:home")


def password_change(request):
    if not request.user.is_authenticated:
        return redirect("web:home")
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.password_change(
                user=request.user,
                old_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["new_password"],
            )
        except ValidationError as e:
            add_service_errors(form, e)
        else:
            update_session_auth_hash(request, request.user)
            messages.success(request, "密码已修改")
            return redirect(HOME[request.user.kind])
    return render(request, "accounts/form_page.html", {"form": form, "title": "修改密码"})


FORGOT_FIELDS = {
    "operator": ["unit_key", "account"],
    "person": ["id_number"],
    "staff": ["username"],
}


@limit("password_reset_ip")
@limit("password_reset_account", key=post_fields("unit_key", "account", "id_number", "username"))
@limit("sms_send_ip")
def forgot_password(request, kind: str):
    """Step 1: say which account; a code goes to its registered mobile (the page does not
    reveal whether the account exists)."""
    form = ForgotIdentifyForm(request.POST or None)
    for name in list(form.fields):
        if name not in FORGOT_FIELDS[kind]:
            del form.fields[name]
        else:
            form.fields[name].required = True
    if request.method == "POST" and form.is_valid():
        user = _resolve(kind, form.cleaned_data)
        request.session["reset_uid"] = None
        if user is not None and user.is_active and user.sms_mobile:
            request.session["reset_uid"] = user.pk
            try:
                verification_code_send(mobile=user.sms_mobile, purpose="password_reset")
            except ValidationError:
                pass  # a code sent less than 60 s ago is still valid
        request.session["reset_kind"] = kind
        return redirect("accounts:forgot_reset")
    title = {"operator": "单位操作员", "person": "个人", "staff": "经办人员"}[kind] + "找回密码"
    return render(request, "accounts/form_page.html", {"form": form, "title": title})


RESET_LEAD = "如您填写的账户信息正确，验证码已发送至该账户登记的手机号，10分钟内有效。"


def _reset(request, form) -> bool:
    """Reset the password with the code sent by SMS; False with the errors on the form."""
    user = selectors.password_reset_user(request.session.get("reset_uid"))
    if user is None:
        form.add_error("code", "验证码已失效，请重新获取")
        return False
    try:
        services.password_reset_by_sms(
            user=user,
            code=form.cleaned_data["code"],
            new_password=form.cleaned_data["new_password"],
        )
    except ValidationError as e:
        add_service_errors(form, e)
        return False
    return True


@limit("code_check_ip")
@limit("code_check_account", key=session_value("reset_uid"))
def forgot_reset(request):
    kind = request.session.get("reset_kind")
    if kind is None:
        return redirect("web:home")
    form = ForgotResetForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and _reset(request, form):
        request.session.pop("reset_uid", None)
        messages.success(request, "密码已重置，请使用新密码登录")
        return redirect(LOGIN_KINDS[kind][2])
    return render(
        request,
        "accounts/form_page.html",
        {"form": form, "title": "设置新密码", "lead": RESET_LEAD},
    )


SIGNUP_TITLE = "个人用户注册"
NO_MOBILE = "您没有登记手机号，无法在网上注册。请联系所在单位或到社保经办窗口登记手机号后再注册。"


def _signup_refusal(found, name: str) -> str:
    """Why the person found by ID number cannot register ("" when they can)."""
    if found is None or found.name != name.strip():
        return "未找到该参保人员信息，请核对身份证号码和姓名"
    if hasattr(found, "account"):
        return "该证件号码已注册，请直接登录；忘记密码可通过短信找回"
    if not found.mobile:
        return NO_MOBILE
    return ""


@limit("signup_ip")
@limit("signup_account", key=post_fields("id_number"))
@limit("sms_send_ip")
def _signup_identify(request):
    """Step 1: ID number and name; a code goes to the mobile on record."""
    form = PersonSignupIdentifyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        found = selectors.person_by_id_number(form.cleaned_data["id_number"])
        refusal = _signup_refusal(found, form.cleaned_data["name"])
        if refusal:
            form.add_error(None, refusal)
        else:
            request.session["signup_person"] = found.pk
            try:
                verification_code_send(mobile=found.mobile, purpose="person_signup")
            except ValidationError:
                pass
            return redirect("accounts:person_signup")
    return render(request, "accounts/form_page.html", {"form": form, "title": SIGNUP_TITLE})


@limit("code_check_ip")
@limit("code_check_account", key=session_value("signup_person"))
def _signup_finish(request, person):
    """Step 2: the code and a password; the account is created."""
    form = PersonSignupFinishForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.person_signup(
                person=person,
                code=form.cleaned_data["code"],
                password=form.cleaned_data["new_password"],
            )
        except ValidationError as e:
            add_service_errors(form, e)
        else:
            request.session.pop("signup_person", None)
            messages.success(request, "注册成功，请登录")
            return redirect("accounts:person_login")
    lead = f"验证码已发送至您登记的手机 {mask_mobile(person.mobile)}。"
    resend_url = reverse("accounts:person_signup_resend")
    context = {"form": form, "title": SIGNUP_TITLE, "lead": lead, "resend_url": resend_url}
    return render(request, "accounts/form_page.html", context)


def person_signup(request):
    """Insured persons register with ID number + name, proven by SMS to the mobile on record."""
    person = None
    if request.GET.get("restart") is None:
        person = selectors.signup_person(request.session.get("signup_person"))
    if person is None:
        return _signup_identify(request)
    return _signup_finish(request, person)


@require_POST
@limit("sms_send_ip")
@limit("sms_send_account", key=session_value("signup_person"))
def person_signup_resend(request):
    person = selectors.signup_person(request.session.get("signup_person"))
    if person is None or not person.mobile:
        return HttpResponse("请重新开始注册", status=400)
    return sms_sent_fragment(
        request, mobile=person.mobile, purpose="person_signup", button_id="send-code"
    )


@limit("code_check_ip")
@limit("code_check_account", key=post_fields("unit_no"))
def unit_bind(request):
    """Register the unit's online account with the counter-issued registration code."""
    form = UnitBindForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            verification_code_check(
                mobile=data["mobile"], purpose="unit_code_binding", code=data["sms_code"]
            )
        except ValidationError as e:
            form.add_error("sms_code", e.messages[0])
        else:
            try:
                user = services.unit_bind_with_code(
                    unit_key=data["unit_no"],
                    code=data["code"],
                    account=data["account"],
                    display_name=data["display_name"],
                    mobile=data["mobile"],
                    password=data["password"],
                )
            except ValidationError as e:
                add_service_errors(form, e)
            else:
                messages.success(
                    request,
                    f"注册成功。请使用单位编号 {user.unit.unit_no}、管理员账号 {user.operator_account} 登录。",
                )
                return redirect("accounts:unit_login")
    return render(request, "accounts/unit_bind.html", {"form": form})


@require_POST
@limit("sms_send_ip")
@limit("sms_send_account", key=post_fields("mobile"))
def unit_bind_send_code(request):
    try:  # one spelling per number before anything is counted or looked up
        mobile = normalize_mobile(request.POST.get("mobile", ""))
    except ValidationError as e:
        return sms_refused(request, message=e.messages[0], button_id="send-code")
    return sms_sent_fragment(
        request, mobile=mobile, purpose="unit_code_binding", button_id="send-code"
    )
