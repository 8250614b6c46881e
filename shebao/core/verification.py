"""SMS verification codes: 6 digits, valid 10 minutes, single use, resend not before 60 s,
five wrong tries void the code. The 60 s spacing holds against the newest code not used and not
expired (a used or expired one does not block a new one; one voided by wrong tries does). Daily
caps per mobile (settings SHEBAO_SMS_CODES_PER_MOBILE_DAY, SHEBAO_WRONG_CODES_PER_MOBILE_DAY) on
codes sent and on wrong codes entered, counted in the shared cache under a keyed hash of the
mobile (never the mobile itself); RATELIMIT_ENABLE = False switches them off with the rate
limits. Notification SMS (shebao.core.sms.send_sms) are not capped.

`verification_code_check` commits its own bookkeeping (wrong tries, use), so call it before the
caller's `transaction.atomic()` block: a failed try must count even when the caller rolls back."""

import hashlib
import hmac
import re
import secrets
from datetime import timedelta

import redis.exceptions
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from shebao.core.inputs import normalize_mobile
from shebao.core.models import VerificationCode
from shebao.core.pseudonyms import keyed_hash
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

# A code inside an SMS text: a run of 4–8 digits standing alone (not a serial number's part).
_CODE_RE = re.compile(r"(?<![0-9])[0-9]{4,8}(?![0-9])")
CODE_MASK = "******"


def purpose_label(purpose: str) -> str:
    """The Chinese name of an SMS or code purpose, else the code itself."""
    return PURPOSES.get(purpose, purpose)


def mask_sms_code(text: str) -> str:
    """An SMS text with any verification code in it masked (exports never show a usable code):
    the standalone 4–8 digit runs of a message that carries a 验证码; notifications (a returned
    registration's serial number…) are left as they are."""
    text = text or ""
    return _CODE_RE.sub(CODE_MASK, text) if "验证码" in text else text


SENDS_CAPPED = "该手机号今日获取验证码次数已达上限，请明日再试"
WRONG_CAPPED = "该手机号今日验证码错误次数过多，请明日再试"
SMS_UNAVAILABLE = "短信验证码服务暂时不可用，请稍后再试"
DAY_SECONDS = 24 * 3600
# What the cache (Django's RedisCache) raises when Redis cannot be reached.
CACHE_UNAVAILABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


def _daily_key(counter: str, mobile: str) -> str:
    """Today's (Asia/Shanghai) cache key of a per-mobile counter; the mobile is hashed."""
    day = timezone.localdate(timezone.now()).strftime("%Y%m%d")
    digest = keyed_hash(mobile)
    return f"verification:{counter}:{day}:{digest}"


def _caps_enabled() -> bool:
    return getattr(settings, "RATELIMIT_ENABLE", True)


def _daily_count(counter: str, mobile: str) -> int:
    """Today's count; with the cache down the wrong-code cap is not known, and 0 is answered:
    the five tries per code still hold, and no new code can be sent (``_daily_bump``)."""
    if not _caps_enabled():
        return 0
    try:
        return cache.get(_daily_key(counter, mobile), 0)
    except CACHE_UNAVAILABLE:
        return 0


def _daily_bump(counter: str, mobile: str) -> int:
    """Count one more today (atomic increment); the key outlives the day, then expires. With
    the cache down, codes are not sent (fail closed: SMS cost money and can flood a phone)."""
    if not _caps_enabled():
        return 0
    key = _daily_key(counter, mobile)
    try:
        cache.add(key, 0, DAY_SECONDS + 3600)
        try:
            return cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, DAY_SECONDS + 3600)
            return 1
    except CACHE_UNAVAILABLE:
        raise ValidationError(SMS_UNAVAILABLE, code="unavailable") from None


def _digest(mobile: str, purpose: str, code: str) -> str:
    msg = f"{mobile}:{purpose}:{code}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), msg, hashlib.sha256).hexdigest()


def seconds_until_resend(*, mobile: str, purpose: str) -> int:
    """Seconds before a new code may be sent: the 60 s spacing holds against the newest code not
    yet used and not expired. A used or expired code never blocks a new one (signing out and in
    again at once must not leave the user waiting); a code voided by five wrong tries still
    counts, so guessing cannot be turned into a stream of fresh codes."""
    last = (
        VerificationCode.objects.filter(
            VerificationCode.mobile.q(mobile),
            purpose=purpose,
            used_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
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
    mobile = normalize_mobile(mobile)  # one spelling per number: caps, spacing and keys hold
    wait = seconds_until_resend(mobile=mobile, purpose=purpose)
    if wait:
        raise ValidationError(f"验证码已发送，请 {wait} 秒后再重新获取", code="too_soon")
    # Counted before the send: a send that then fails (gateway, database) still uses up one of
    # the day's codes, which errs on the safe side. Two concurrent requests may both pass the
    # 60 s spacing above; the daily cap still counts both.
    if _daily_bump("sent", mobile) > settings.SHEBAO_SMS_CODES_PER_MOBILE_DAY:
        raise ValidationError(SENDS_CAPPED, code="daily_cap")
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
    mobile = normalize_mobile(mobile)
    if _daily_count("wrong", mobile) >= settings.SHEBAO_WRONG_CODES_PER_MOBILE_DAY:
        raise ValidationError(WRONG_CAPPED, code="daily_wrong_cap")
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
    try:
        _daily_bump("wrong", mobile)
    except ValidationError:
        pass  # the cache is down: the wrong try is counted on the code only
    if left <= 0:
        raise ValidationError("验证码错误次数过多，已失效，请重新获取", code="voided")
    raise ValidationError(f"验证码错误，还可尝试 {left} 次", code="wrong")
