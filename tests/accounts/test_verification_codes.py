"""SMS verification codes (shebao/core/verification.py): 6 digits, valid 10 minutes, single use,
resend not before 60 s, five wrong tries void the code, only the newest code works.

Time is moved with the `clock` fixture (a stand-in for django.utils.timezone.now), never waited."""

import re
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from shebao.core.inputs import MOBILE_MESSAGE
from shebao.core.models import SmsMessage, VerificationCode
from shebao.core.verification import (
    seconds_until_resend,
    verification_code_check,
    verification_code_send,
)
from tests.conftest import last_sms_code

pytestmark = pytest.mark.django_db

MOBILE = "13812345678"
PURPOSE = "login"


def send() -> str:
    verification_code_send(mobile=MOBILE, purpose=PURPOSE)
    return last_sms_code(MOBILE)


def check(code: str, mobile: str = MOBILE, purpose: str = PURPOSE) -> None:
    verification_code_check(mobile=mobile, purpose=purpose, code=code)


def other_than(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def error_of(code: str, **kw) -> ValidationError:
    with pytest.raises(ValidationError) as excinfo:
        check(code, **kw)
    return excinfo.value


def test_code_is_six_digits_texted_and_stored_hashed(clock):
    record = verification_code_send(mobile=MOBILE, purpose=PURPOSE)

    sms = SmsMessage.objects.get()
    assert sms.mobile == MOBILE
    assert sms.purpose == PURPOSE
    code = re.search(r"验证码 (\d+)", sms.text).group(1)
    assert re.fullmatch(r"\d{6}", code)
    assert "10分钟内有效" in sms.text
    assert code not in record.code_hash
    assert record.expires_at - record.created_at == timedelta(minutes=10)


def test_correct_code_is_accepted_once(clock):
    code = send()

    check(code)

    record = VerificationCode.objects.get()
    assert record.used_at == clock.now
    assert error_of(code).messages == ["验证码已失效，请重新获取"]


def test_code_with_surrounding_spaces_is_accepted(clock):
    check(f" {send()} ")
    assert VerificationCode.objects.get().used_at is not None


def test_valid_until_ten_minutes(clock):
    code = send()
    clock.advance(minutes=9, seconds=59)
    check(code)


def test_expired_after_ten_minutes(clock):
    code = send()
    clock.advance(minutes=10)

    assert error_of(code).messages == ["验证码已失效，请重新获取"]
    assert VerificationCode.objects.get().used_at is None


def test_expired_by_moving_expires_at_in_the_db(clock):
    code = send()
    VerificationCode.objects.update(expires_at=clock.now - timedelta(seconds=1))

    assert error_of(code).messages == ["验证码已失效，请重新获取"]


def test_resend_not_before_sixty_seconds(clock):
    send()

    clock.advance(seconds=1)
    with pytest.raises(ValidationError) as excinfo:
        verification_code_send(mobile=MOBILE, purpose=PURPOSE)
    assert excinfo.value.messages == ["验证码已发送，请 59 秒后再重新获取"]

    clock.advance(seconds=58)
    assert seconds_until_resend(mobile=MOBILE, purpose=PURPOSE) == 1
    with pytest.raises(ValidationError, match="请 1 秒后"):
        verification_code_send(mobile=MOBILE, purpose=PURPOSE)
    assert SmsMessage.objects.count() == 1

    clock.advance(seconds=1)
    assert seconds_until_resend(mobile=MOBILE, purpose=PURPOSE) == 0
    verification_code_send(mobile=MOBILE, purpose=PURPOSE)
    assert SmsMessage.objects.count() == 2


def test_resend_wait_is_per_mobile_and_purpose(clock):
    send()

    verification_code_send(mobile=MOBILE, purpose="password_reset")
    verification_code_send(mobile="13812345679", purpose=PURPOSE)

    assert SmsMessage.objects.count() == 3


def test_only_the_newest_code_works(clock, monkeypatch):
    draws = iter([123456, 654321])
    monkeypatch.setattr("shebao.core.verification.secrets.randbelow", lambda n: next(draws))
    first = send()
    clock.advance(seconds=60)
    second = send()
    assert (first, second) == ("123456", "654321")

    assert error_of(first).messages == ["验证码错误，还可尝试 4 次"]
    check(second)
    assert VerificationCode.objects.filter(voided=True).count() == 1


def test_previous_code_is_void_even_after_the_new_one_is_used(clock):
    first = send()
    clock.advance(seconds=60)
    check(send())

    assert error_of(first).messages == ["验证码已失效，请重新获取"]


def test_wrong_tries_count_down(clock):
    code = send()
    wrong = other_than(code)

    messages = [error_of(wrong).messages[0] for _ in range(4)]

    assert messages == [f"验证码错误，还可尝试 {n} 次" for n in (4, 3, 2, 1)]
    check(code)


def test_five_wrong_tries_void_the_code_even_if_the_right_one_follows(clock):
    code = send()
    wrong = other_than(code)
    for _ in range(4):
        error_of(wrong)

    assert error_of(wrong).messages == ["验证码错误次数过多，已失效，请重新获取"]
    record = VerificationCode.objects.get()
    assert record.voided is True
    assert record.failed_attempts == 5
    assert error_of(code).messages == ["验证码已失效，请重新获取"]
    assert VerificationCode.objects.get().used_at is None


def test_a_new_code_works_after_voiding(clock):
    code = send()
    for _ in range(5):
        error_of(other_than(code))
    clock.advance(seconds=60)

    check(send())


@pytest.mark.parametrize("bad", ["", "12345", "1234567", "abcdef", "12 456", None])
def test_malformed_codes_are_refused_without_counting(clock, bad):
    send()

    assert error_of(bad).messages == ["请输入6位数字验证码"]
    assert VerificationCode.objects.get().failed_attempts == 0


def test_code_is_bound_to_mobile_and_purpose(clock):
    code = send()

    assert error_of(code, mobile="13812345679").messages == ["验证码已失效，请重新获取"]
    assert error_of(code, purpose="password_reset").messages == ["验证码已失效，请重新获取"]
    check(code)


def test_no_code_sent(db):
    assert error_of("123456").messages == ["验证码已失效，请重新获取"]


@pytest.mark.parametrize(
    ("mobile", "message"),
    [
        ("1381234567", MOBILE_MESSAGE),
        ("138123456789", MOBILE_MESSAGE),
        ("1381234567a", MOBILE_MESSAGE),
        ("١٣٨١٢٣٤٥٦٧٨", MOBILE_MESSAGE),  # Arabic-Indic digits: str.isdigit() but not a mobile
        ("", "请填写手机号码"),
    ],
)
def test_send_refuses_malformed_mobiles_with_the_mobile_rule(db, mobile, message):
    with pytest.raises(ValidationError) as excinfo:
        verification_code_send(mobile=mobile, purpose=PURPOSE)

    assert excinfo.value.messages == [message]
    assert not SmsMessage.objects.exists()
    assert not VerificationCode.objects.exists()


def test_send_refuses_unknown_purposes(db):
    with pytest.raises(ValueError, match="unknown verification purpose"):
        verification_code_send(mobile=MOBILE, purpose="lottery")
    assert not SmsMessage.objects.exists()


def test_resend_through_the_sign_in_page_waits_sixty_seconds(client, admin_a, clock):
    client.post(
        "/accounts/unit/login/",
        {"unit_key": admin_a.unit.unit_no, "account": "admin", "password": "Passw0rd!x"},
    )
    clock.advance(seconds=30)

    response = client.post("/accounts/verify/resend/")

    assert response.status_code == 200
    assert "请 30 秒后再重新获取" in response.content.decode()
    assert SmsMessage.objects.filter(SmsMessage.mobile.q(admin_a.mobile)).count() == 1

    clock.advance(seconds=30)
    response = client.post("/accounts/verify/resend/")

    assert "验证码已发送至 139****0001" in response.content.decode()
    assert SmsMessage.objects.filter(SmsMessage.mobile.q(admin_a.mobile)).count() == 2
    assert client.post("/accounts/verify/", {"code": last_sms_code(admin_a.mobile)})[
        "Location"
    ] == ("/unit/")


# --- the 60 s spacing holds against the newest code not used and not expired ---------------------


def test_a_used_code_does_not_block_a_new_one(clock):
    check(send())
    clock.advance(seconds=5)

    assert seconds_until_resend(mobile=MOBILE, purpose=PURPOSE) == 0
    verification_code_send(mobile=MOBILE, purpose=PURPOSE)
    assert SmsMessage.objects.count() == 2


def test_an_expired_code_does_not_block_a_new_one(clock):
    send()
    VerificationCode.objects.update(expires_at=clock.now - timedelta(seconds=1))
    clock.advance(seconds=5)

    assert seconds_until_resend(mobile=MOBILE, purpose=PURPOSE) == 0
    verification_code_send(mobile=MOBILE, purpose=PURPOSE)
    assert SmsMessage.objects.count() == 2


def test_a_code_voided_by_wrong_tries_still_blocks_for_sixty_seconds(clock):
    code = send()
    for _ in range(5):
        error_of(other_than(code))
    assert VerificationCode.objects.get().voided is True
    clock.advance(seconds=10)

    assert seconds_until_resend(mobile=MOBILE, purpose=PURPOSE) == 50
    with pytest.raises(ValidationError) as excinfo:
        verification_code_send(mobile=MOBILE, purpose=PURPOSE)
    assert excinfo.value.code == "too_soon"
    assert SmsMessage.objects.count() == 1

    clock.advance(seconds=50)
    assert seconds_until_resend(mobile=MOBILE, purpose=PURPOSE) == 0
    verification_code_send(mobile=MOBILE, purpose=PURPOSE)
    assert SmsMessage.objects.count() == 2


def test_a_still_valid_unused_code_blocks_for_sixty_seconds(clock):
    send()
    clock.advance(seconds=30)

    assert seconds_until_resend(mobile=MOBILE, purpose=PURPOSE) == 30
    with pytest.raises(ValidationError) as excinfo:
        verification_code_send(mobile=MOBILE, purpose=PURPOSE)
    assert excinfo.value.code == "too_soon"
    assert SmsMessage.objects.count() == 1
