"""Sign-in factors after the password. A new factor (e.g. CA certificate) is one more class here
and one more entry in FACTORS; the sign-in views only talk to this interface."""

import pyotp
from django.core.exceptions import ValidationError

from shebao.core.ids import mask_mobile
from shebao.core.verification import verification_code_check, verification_code_send


class SecondFactor:
    key = ""
    label = ""

    def start(self, user) -> str:
        """Begin the challenge (e.g. send a code); return a hint for the page."""
        raise NotImplementedError

    def verify(self, user, value: str) -> None:
        """Raise ValidationError with a Chinese message when `value` is wrong."""
        raise NotImplementedError


class SmsFactor(SecondFactor):
    key = "sms"
    label = "短信验证码"

    def start(self, user) -> str:
        mobile = user.sms_mobile
        if not mobile:
            raise ValidationError("账户未登记手机号，请联系经办机构", code="no_mobile")
        verification_code_send(mobile=mobile, purpose="login")
        return f"验证码已发送至 {mask_mobile(mobile)}"

    def verify(self, user, value: str) -> None:
        verification_code_check(mobile=user.sms_mobile, purpose="login", code=value)


class TotpFactor(SecondFactor):
    key = "totp"
    label = "动态口令"

    def start(self, user) -> str:
        return "请输入身份验证器应用中的6位动态口令"

    def verify(self, user, value: str) -> None:
        value = (value or "").strip()
        if not (user.totp_secret and len(value) == 6 and value.isdigit()):
            raise ValidationError("动态口令应为6位数字", code="format")
        if not pyotp.TOTP(user.totp_secret).verify(value, valid_window=1):
            raise ValidationError("动态口令不正确", code="wrong")


FACTORS: dict[str, SecondFactor] = {f.key: f for f in (SmsFactor(), TotpFactor())}


def factor_for(user) -> SecondFactor:
    return FACTORS["totp"] if user.is_staff_member else FACTORS["sms"]
