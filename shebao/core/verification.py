"""SMS verification codes: 6 digits, valid 10 minutes, single use, resend not before 60 s,
five wrong tries void the code.

`verification_code_check` commits its own bookkeeping (wrong tries, use), so call it before the
caller's `transaction.atomic()` block: a failed try must count even when the caller rolls back."""

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from shebao.core.models import VerificationCode
from shebao.core.sms import send_sms

CODE_TTL = timedelta(minutes=10)
RESEND_AFTER = timedelta(seconds=60)
MAX_FAILED_ATTEMPTS = 5

PURPOSES = {
    "unit_registration": "单位参保登记",
    "registration_reopen": "登记申请修改",
    "unit_code_binding": "网报注册码绑定",
    "login": "登录",
    "person_signup": "个人注册",
    "password_reset": "找回密码",
}


def _digest(mobile: str, purpose: str, code: str) -> str:
    msg = f"{mobile}:{purpose}:{code}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), msg, hashlib.sha256).hexdigest()


def seconds_until_resend(*, mobile: str, purpose: str) -> int:
    last = (
        VerificationCode.objects.filter(VerificationCode.mobile.q(mobile), purpose=purpose)
        .order_by("-created_at")
        .only("created_at")
        .first()
    )
    if last is None:
        return 0
    wait = RESEND_AFTER - (timezone.now() - last.created_at)
    return max(0, int(wait.total_seconds() + 0.999))


def verification_code_send(*, mobile: str, purpose: str) -> VerificationCode:
    """Send a new code; earlier unused codes for the same mobile and purpose stop working."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown verification purpose {purpose!r}")
    if not (len(mobile) == 11 and mobile.isdigit()):
        raise ValidationError("手机号码格式不正确", code="mobile")
    wait = seconds_until_resend(mobile=mobile, purpose=purpose)
    if wait:
        raise ValidationError(f"验证码已发送，请 {wait} 秒后再重新获取", code="too_soon")
    code = f"{secrets.randbelow(1_000_000):06d}"
    with transaction.atomic():
        VerificationCode.objects.filter(
            VerificationCode.mobile.q(mobile), purpose=purpose, used_at__isnull=True, voided=False
        ).update(voided=True)
        record = VerificationCode.objects.create(
            mobile=mobile,
            purpose=purpose,
            code_hash=_digest(mobile, purpose, code),
            expires_at=timezone.now() + CODE_TTL,
        )
        send_sms(
            mobile=mobile,
            purpose=purpose,
            text=(
                f"【社保网厅】您正在办理{PURPOSES[purpose]}，验证码 {code}，10分钟内有效。"
                "请勿将验证码告诉他人。"
            ),
        )
    return record


def verification_code_check(*, mobile: str, purpose: str, code: str) -> None:
    """Consume the code or raise ValidationError with the reason in Chinese."""
    code = (code or "").strip()
    if not (len(code) == 6 and code.isdigit()):
        raise ValidationError("请输入6位数字验证码", code="format")
    with transaction.atomic():
        record = (
            VerificationCode.objects.select_for_update()
            .filter(
                VerificationCode.mobile.q(mobile),
                purpose=purpose,
                used_at__isnull=True,
                voided=False,
            )
            .order_by("-created_at")
            .first()
        )
        if record is None or record.expires_at <= timezone.now():
            raise ValidationError("验证码已失效，请重新获取", code="expired")
        if hmac.compare_digest(record.code_hash, _digest(mobile, purpose, code)):
            record.used_at = timezone.now()
            record.save(update_fields=["used_at"])
            return
        record.failed_attempts += 1
        left = MAX_FAILED_ATTEMPTS - record.failed_attempts
        if left <= 0:
            record.voided = True
        record.save(update_fields=["failed_attempts", "voided"])
    if left <= 0:
        raise ValidationError("验证码错误次数过多，已失效，请重新获取", code="voided")
    raise ValidationError(f"验证码错误，还可尝试 {left} 次", code="wrong")
