"""Every write on accounts: sign-in records and the TOTP binding, operators, persons'
self-registration, passwords, registration codes."""

import hashlib
import hmac
import secrets
from datetime import timedelta

import pyotp
from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone

from shebao.accounts.factors import FACTORS
from shebao.accounts.models import (
    RegistrationCode,
    UnitOnlineRegistration,
    User,
)
from shebao.accounts.selectors import active_online_registration
from shebao.core.audit import audit_record
from shebao.core.ids import mask_mobile
from shebao.core.inputs import normalize_mobile, normalize_person_name
from shebao.core.passwords import validate_new_password
from shebao.core.pseudonyms import axes_username
from shebao.core.sms import send_sms
from shebao.core.verification import verification_code_check
from shebao.filings.business import BusinessKind
from shebao.registry import access
from shebao.registry.models import Person, Unit

REGISTRATION_CODE_TTL = timedelta(days=30)
ACCOUNT_NAME_HELP = "4–30 位字母、数字或下划线"


def _check_account_name(account: str) -> str:
    account = (account or "").strip()
    if not (
        4 <= len(account) <= 30 and all(c.isascii() and (c.isalnum() or c == "_") for c in account)
    ):
        raise ValidationError({"account": f"操作员账号须为{ACCOUNT_NAME_HELP}"})
    return account


def _check_mobile(mobile: str, field: str = "mobile") -> str:
    try:
        return normalize_mobile(mobile)
    except ValidationError as e:
        raise ValidationError({field: e.messages[0]}) from None


def _check_display_name(display_name: str) -> str:
    try:
        return normalize_person_name(display_name)
    except ValidationError as e:
        raise ValidationError({"display_name": e.messages[0]}) from None


def _check_kinds(kinds) -> list[str]:
    valid = set(BusinessKind.values)
    kinds = list(dict.fromkeys(kinds or []))
    bad = [k for k in kinds if k not in valid]
    if bad:
        raise ValidationError({"business_kinds": "业务类型不正确"})
    return kinds


def _password_errors(
    password: str, *, account_name: str = "", display_name: str = "", user=None, field="password"
):
    try:
        validate_new_password(
            password, account_name=account_name, display_name=display_name, user=user
        )
    except ValidationError as e:
        raise ValidationError({field: e.messages}) from None


def operator_internal_username(registration: UnitOnlineRegistration, account: str) -> str:
    return f"o{registration.pk}.{account.lower()}"


def _new_operator(
    *, registration, account, display_name, mobile, password=None, password_hash=None, admin, kinds
):
    user = User(
        username=operator_internal_username(registration, account),
        kind=User.Kind.OPERATOR,
        unit_id=registration.unit_id,
        registration=registration,
        operator_account=account,
        display_name=display_name,
        mobile=mobile,
        is_unit_admin=admin,
        business_kinds=kinds,
    )
    user.password = password_hash or make_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise ValidationError({"account": "该操作员账号已存在"}) from None
    return user


# --- sign-in ----------------------------------------------------------------------------------


def login_password_refused(*, user: User | None) -> None:
    """A wrong password or an unknown account (``user`` None) at the first step of sign-in."""
    audit_record(
        actor=None,
        action="login.password",
        object_type="user",
        object_id=str(user.pk) if user else "",
        outcome="invalid",
    )


def login_factor_refused(*, user: User, factor_key: str) -> None:
    """A wrong second factor (``factor_key``: sms, totp)."""
    audit_record(actor=None, action=f"login.{factor_key}", obj=user, outcome="invalid")


def login_recorded(*, user: User) -> None:
    """Both factors passed: the sign-in itself."""
    audit_record(actor=user, action="login", obj=user, region=None)


def logout_recorded(*, user: User) -> None:
    audit_record(actor=user, action="logout", obj=user)


def totp_secret_ensure(*, actor: User) -> str:
    """The secret of the staff member's authenticator app, made on first use (not yet bound)."""
    if not actor.totp_secret:
        actor.totp_secret = pyotp.random_base32()
        actor.save(update_fields=["totp_secret"])
    return actor.totp_secret


def totp_bind(*, actor: User, code: str) -> User:
    """Staff bind their authenticator app at first sign-in by typing one of its codes
    (a wrong code: ValidationError from the factor)."""
    if not actor.is_staff_member or actor.totp_confirmed:
        access.deny(actor, action="totp.bind", object_type="user", object_id=str(actor.pk))
        raise PermissionDenied(access.STAFF_ONLY)
    FACTORS["totp"].verify(actor, code)
    with transaction.atomic():
        actor.totp_confirmed = True
        actor.save(update_fields=["totp_confirmed"])
        audit_record(actor=actor, action="totp.bind", obj=actor)
    return actor


# --- unit operators (seed 001 操作员信息, seed 004 权限) ---------------------------------------


def operator_create(
    *,
    actor: User,
    account: str,
    display_name: str,
    mobile: str,
    password: str,
    business_kinds: list[str],
) -> User:
    if not (actor.is_operator and actor.is_unit_admin):
        access.deny(actor, action="operator.create")
        raise PermissionDenied(access.NOT_ALLOWED)
    account = _check_account_name(account)
    mobile = _check_mobile(mobile)
    kinds = _check_kinds(business_kinds)
    display_name = _check_display_name(display_name)
    _password_errors(password, account_name=account, display_name=display_name)
    with transaction.atomic():
        user = _new_operator(
            registration=actor.registration,
            account=account,
            display_name=display_name,
            mobile=mobile,
            password=password,
            admin=False,
            kinds=kinds,
        )
        audit_record(
            actor=actor,
            action="operator.create",
            obj=user,
            region=actor.unit.region_id,
            detail={"account": account, "mobile": mask_mobile(mobile), "kinds": kinds},
        )
    return user


def _require_admin(actor: User, operator_id: int, action: str) -> None:
    """Checked before the transaction, so the 'denied' audit row survives the refusal."""
    if not (actor.is_operator and actor.is_unit_admin):
        access.deny(actor, action=action, object_type="user", object_id=str(operator_id))
        raise PermissionDenied(access.NOT_ALLOWED)


def _own_operator(actor: User, operator_id: int, action: str) -> User:
    try:
        return User.objects.select_for_update().get(
            pk=operator_id, kind=User.Kind.OPERATOR, registration_id=actor.registration_id
        )
    except User.DoesNotExist:
        raise Http404 from None


def operator_set_active(*, actor: User, operator_id: int, active: bool) -> User:
    _require_admin(actor, operator_id, "operator.set_active")
    with transaction.atomic():
        user = _own_operator(actor, operator_id, "operator.set_active")
        if user.pk == actor.pk:
            raise ValidationError("不能停用自己的账号")
        user.is_active = active
        user.save(update_fields=["is_active"])
        audit_record(
            actor=actor,
            action="operator.enable" if active else "operator.disable",
            obj=user,
            region=actor.unit.region_id,
        )
    return user


def operator_set_kinds(*, actor: User, operator_id: int, business_kinds: list[str]) -> User:
    _require_admin(actor, operator_id, "operator.set_kinds")
    kinds = _check_kinds(business_kinds)
    with transaction.atomic():
        user = _own_operator(actor, operator_id, "operator.set_kinds")
        before = user.business_kinds
        user.business_kinds = kinds
        user.save(update_fields=["business_kinds"])
        audit_record(
            actor=actor,
            action="operator.set_kinds",
            obj=user,
            region=actor.unit.region_id,
            detail={"before": before, "after": kinds},
        )
    return user


def operator_reset_password(*, actor: User, operator_id: int, new_password: str) -> User:
    _require_admin(actor, operator_id, "operator.reset_password")
    with transaction.atomic():
        user = _own_operator(actor, operator_id, "operator.reset_password")
        _password_errors(new_password, user=user, field="new_password")
        user.set_password(new_password)
        user.save(update_fields=["password"])
        AxesProxyHandler.reset_attempts(username=axes_username(user.username))
        audit_record(
            actor=actor, action="operator.reset_password", obj=user, region=actor.unit.region_id
        )
    return user


# --- passwords ---------------------------------------------------------------------------------


def password_change(*, user: User, old_password: str, new_password: str) -> None:
    if not user.check_password(old_password):
        audit_record(actor=user, action="password.change", obj=user, outcome="invalid")
        raise ValidationError({"old_password": "原密码不正确"})
    if old_password == new_password:
        raise ValidationError({"new_password": "新密码不能与原密码相同"})
    _password_errors(new_password, user=user, field="new_password")
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        audit_record(actor=user, action="password.change", obj=user)


def password_reset_by_sms(*, user: User, code: str, new_password: str) -> None:
    """Forgot password: the code went to the account's registered mobile."""
    _password_errors(new_password, user=user, field="new_password")
    try:
        verification_code_check(mobile=user.sms_mobile, purpose="password_reset", code=code)
    except ValidationError as e:
        audit_record(actor=None, action="password.reset", obj=user, outcome="invalid")
        raise ValidationError({"code": e.messages}) from None
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        AxesProxyHandler.reset_attempts(username=axes_username(user.username))
        audit_record(actor=None, action="password.reset", obj=user)


# --- insured persons' self-registration -------------------------------------------------------


def person_signup(*, person: Person, code: str, password: str) -> User:
    """The person proved the mobile on record by SMS; create their login."""
    if hasattr(person, "account"):
        raise ValidationError({"id_number": "该证件号码已注册，请直接登录或找回密码"})
    _password_errors(
        password, account_name=person.id_number, display_name=person.name, field="new_password"
    )
    try:
        verification_code_check(mobile=person.mobile, purpose="person_signup", code=code)
    except ValidationError as e:
        raise ValidationError({"code": e.messages}) from None
    with transaction.atomic():
        user = User(
            username=f"p{person.person_no}",
            kind=User.Kind.PERSON,
            person=person,
            display_name=person.name,
        )
        user.set_password(password)
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError:
            raise ValidationError({"id_number": "该证件号码已注册，请直接登录或找回密码"}) from None
        audit_record(actor=user, action="person.signup", obj=user)
    return user


# --- registration codes and the one online registration per unit (seeds 001, 003) -------------


def _code_digest(unit: Unit, code: str) -> str:
    msg = f"regcode:{unit.pk}:{code.strip().upper()}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), msg, hashlib.sha256).hexdigest()


def _staff_region_check(actor: User, unit: Unit, action: str) -> None:
    if not actor.is_staff_member or not actor.regions.filter(pk=unit.region_id).exists():
        access.deny(
            actor, action=action, object_type="unit", object_id=str(unit.pk), region=unit.region_id
        )
        raise PermissionDenied(access.NOT_ALLOWED)


def registration_code_issue(*, actor: User, unit: Unit) -> str:
    """Issue a one-time 网报注册码; returns it in clear once (to print for the unit)."""
    _staff_region_check(actor, unit, "registration_code.issue")
    if active_online_registration(unit):
        raise ValidationError("该单位已有网上注册账号，如需重新注册请先注销原注册")
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    code = "".join(secrets.choice(alphabet) for _ in range(12))
    with transaction.atomic():
        RegistrationCode.objects.filter(unit=unit, used_at__isnull=True, revoked=False).update(
            revoked=True
        )
        RegistrationCode.objects.create(
            unit=unit,
            code_hash=_code_digest(unit, code),
            issued_by=actor,
            expires_at=timezone.now() + REGISTRATION_CODE_TTL,
        )
        audit_record(actor=actor, action="registration_code.issue", obj=unit)
    return code


def unit_bind_with_code(
    *,
    unit_key: str,
    code: str,
    account: str,
    display_name: str,
    mobile: str,
    password: str,
) -> User:
    """The unit registers its online account with unit number + registration code."""
    account = _check_account_name(account)
    mobile = _check_mobile(mobile)
    display_name = _check_display_name(display_name)
    _password_errors(password, account_name=account, display_name=display_name)
    unit = Unit.objects.filter(unit_no=(unit_key or "").strip()).first()
    wrong = ValidationError({"code": "单位编号或网报注册码不正确，或注册码已失效"})
    if unit is None:
        audit_record(actor=None, action="unit.bind", outcome="invalid", object_type="unit")
        raise wrong
    with transaction.atomic():
        reg_code = (
            RegistrationCode.objects.select_for_update()
            .filter(unit=unit, used_at__isnull=True, revoked=False, expires_at__gt=timezone.now())
            .order_by("-issued_at")
            .first()
        )
        if reg_code is None or not hmac.compare_digest(
            reg_code.code_hash, _code_digest(unit, code or "")
        ):
            wrong_attempt = True
        else:
            wrong_attempt = False
            if active_online_registration(unit):
                raise ValidationError({"code": "该单位已完成网上注册，一个单位只能注册一个账号"})
            reg_code.used_at = timezone.now()
            reg_code.save(update_fields=["used_at"])
            try:
                with transaction.atomic():
                    registration = UnitOnlineRegistration.objects.create(
                        unit=unit, via=UnitOnlineRegistration.Via.REGISTRATION_CODE
                    )
            except IntegrityError:
                raise ValidationError(
                    {"code": "该单位已完成网上注册，一个单位只能注册一个账号"}
                ) from None
            user = _new_operator(
                registration=registration,
                account=account,
                display_name=display_name,
                mobile=mobile,
                password=password,
                admin=True,
                kinds=[],
            )
            audit_record(actor=user, action="unit.bind", obj=unit, detail={"account": account})
    if wrong_attempt:
        audit_record(actor=None, action="unit.bind", obj=unit, outcome="invalid")
        raise wrong
    return user


def unit_first_operator_create(
    *, unit: Unit, account: str, display_name: str, mobile: str, password_hash: str
) -> User:
    """Called when a first registration is approved: the unit's online registration and its
    administrator (password chosen by the applicant, stored as a hash in the filing)."""
    registration = UnitOnlineRegistration.objects.create(
        unit=unit, via=UnitOnlineRegistration.Via.FIRST_REGISTRATION
    )
    user = _new_operator(
        registration=registration,
        account=account,
        display_name=display_name,
        mobile=mobile,
        password_hash=password_hash,
        admin=True,
        kinds=[],
    )
    send_sms(
        mobile=mobile,
        purpose="unit_registration",
        text=(
            f"【社保网厅】{unit.name}参保登记已审核通过，单位编号 {unit.unit_no}。"
            f"请使用单位编号、操作员账号 {account} 和登记时设置的密码登录单位网厅。"
        ),
    )
    return user


def online_registration_revoke(*, actor: User, unit: Unit) -> None:
    """Staff revoke a unit's online registration: its operators can no longer sign in and a
    new registration code can be issued."""
    _staff_region_check(actor, unit, "online_registration.revoke")
    with transaction.atomic():
        reg = (
            UnitOnlineRegistration.objects.select_for_update()
            .filter(unit=unit, revoked_at__isnull=True)
            .first()
        )
        if reg is None:
            raise ValidationError("该单位没有有效的网上注册")
        reg.revoked_at = timezone.now()
        reg.revoked_by = actor
        reg.save(update_fields=["revoked_at", "revoked_by"])
        disabled = User.objects.filter(registration=reg, is_active=True).update(is_active=False)
        audit_record(
            actor=actor,
            action="online_registration.revoke",
            obj=unit,
            detail={"operators_disabled": disabled},
        )


def person_account_renamed(*, person: Person) -> None:
    """A person's name changed (an approved key change): their own account shows the new name.
    Called through ``core.hooks`` by the registry, inside the change's transaction."""
    User.objects.filter(person=person).update(display_name=person.name)
