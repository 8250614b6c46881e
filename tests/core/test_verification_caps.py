"""Daily caps per mobile on verification codes (shebao/core/verification.py): codes sent and
wrong codes entered, per natural day in Beijing time, counted in the cache under a keyed hash
of the mobile; notification SMS are not capped; RATELIMIT_ENABLE = False switches the caps off.

Time is a fixed clock (a stand-in for django.utils.timezone.now), moved, never waited."""

import socket
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.test import Client, override_settings
from django.utils import timezone

from shebao.core.models import SmsMessage
from shebao.core.sms import send_sms
from shebao.core.verification import (
    SENDS_CAPPED,
    SMS_UNAVAILABLE,
    WRONG_CAPPED,
    verification_code_check,
    verification_code_send,
)
from tests.accounts.helpers import Clock
from tests.conftest import last_sms_code

pytestmark = pytest.mark.django_db

MOBILE = "13812345678"
OTHER = "13812345679"
SENDS = 3
WRONGS = 4


@pytest.fixture
def clock(monkeypatch, settings):
    """23:00 in Beijing: an hour and a minute later it is the next day there (not yet in UTC)."""
    settings.SHEBAO_SMS_CODES_PER_MOBILE_DAY = SENDS
    settings.SHEBAO_WRONG_CODES_PER_MOBILE_DAY = WRONGS
    c = Clock(datetime(2026, 3, 10, 23, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    monkeypatch.setattr(timezone, "now", c)
    return c


def send(mobile=MOBILE, purpose="login") -> None:
    verification_code_send(mobile=mobile, purpose=purpose)


def send_error(mobile=MOBILE, purpose="login") -> ValidationError:
    with pytest.raises(ValidationError) as excinfo:
        send(mobile, purpose)
    return excinfo.value


def send_spaced(n: int, mobile=MOBILE, purpose="login") -> None:
    for _ in range(n):
        send(mobile, purpose)
        timezone.now.advance(seconds=61)  # the fixed clock: past the 60 s resend wait


def wrong(mobile=MOBILE, purpose="login") -> ValidationError:
    code = last_sms_code(mobile)
    with pytest.raises(ValidationError) as excinfo:
        verification_code_check(
            mobile=mobile, purpose=purpose, code=f"{(int(code) + 1) % 1_000_000:06d}"
        )
    return excinfo.value


def test_sends_are_capped_per_mobile_per_day(clock):
    send_spaced(SENDS)
    assert send_error().messages == [SENDS_CAPPED]
    assert SmsMessage.objects.filter(SmsMessage.mobile.q(MOBILE)).count() == SENDS
    send(OTHER)  # another mobile has its own count


def test_the_cap_counts_every_purpose(clock):
    send_spaced(2, purpose="login")
    send(purpose="password_reset")
    clock.advance(seconds=61)
    assert send_error(purpose="person_signup").messages == [SENDS_CAPPED]


def test_the_cap_ends_with_the_day_in_beijing(clock):
    send_spaced(SENDS)
    clock.advance(minutes=30)  # 23:33: still the same day
    assert send_error().messages == [SENDS_CAPPED]
    clock.advance(minutes=30)  # 00:03 in Beijing (16:03 UTC the day before)
    send()


def test_notification_sms_are_not_capped(clock):
    send_spaced(SENDS)
    for _ in range(SENDS + 2):
        send_sms(mobile=MOBILE, text="【社保网厅】您的申请已受理。", purpose="notice")
    assert (
        SmsMessage.objects.filter(SmsMessage.mobile.q(MOBILE), purpose="notice").count()
        == SENDS + 2
    )


def test_wrong_codes_are_capped_per_mobile_per_day(clock):
    send()
    for _ in range(WRONGS):
        assert wrong().code in {"wrong", "voided"}
    clock.advance(seconds=61)
    send()  # a fresh code does not help: the mobile's wrong codes for today are used up
    code = last_sms_code(MOBILE)
    with pytest.raises(ValidationError) as excinfo:
        verification_code_check(mobile=MOBILE, purpose="login", code=code)
    assert excinfo.value.messages == [WRONG_CAPPED]
    clock.advance(hours=1)  # the next day in Beijing: counting starts again
    send()
    verification_code_check(mobile=MOBILE, purpose="login", code=last_sms_code(MOBILE))


def test_wrong_codes_count_across_purposes_and_not_across_mobiles(clock):
    send(purpose="login")
    send(purpose="password_reset")
    send(OTHER)
    for _ in range(WRONGS // 2):
        wrong(purpose="login")
        wrong(purpose="password_reset")
    assert wrong(purpose="login").messages == [WRONG_CAPPED]
    assert wrong(OTHER).code == "wrong"


def test_switched_off_with_the_rate_limits(clock):
    with override_settings(RATELIMIT_ENABLE=False):
        send_spaced(SENDS + 2)
        for _ in range(WRONGS + 2):
            clock.advance(seconds=61)
            send()
            assert wrong().code == "wrong"


def test_counters_hold_no_mobile_in_clear(clock):
    send()
    wrong()
    client = cache._cache.get_client(write=True)
    keys = [k.decode() for k in client.scan_iter(match=cache.make_key("*"))]
    assert len([k for k in keys if "verification:" in k]) == 2
    assert not any(MOBILE in k for k in keys)


def test_the_cap_is_shown_next_to_the_button(clock, settings):
    settings.SHEBAO_RATE_LIMITS = {name: "1000/h" for name in settings.SHEBAO_RATE_LIMITS}
    client = Client()
    for _ in range(SENDS):
        response = client.post("/accounts/unit/bind/code/", {"mobile": MOBILE})
        assert "验证码已发送" in response.content.decode()
        clock.advance(seconds=61)
    response = client.post("/accounts/unit/bind/code/", {"mobile": MOBILE})
    assert response.status_code == 200
    assert SENDS_CAPPED in response.content.decode()


# --- one mobile, however it is spelled (review S1) ------------------------------------------

# ASCII, full-width and mixed digits, spaces, +86: all 13812345678. Each spelling had its own
# daily count, resend spacing and rate-limit key before the mobile was made canonical.
SPELLINGS = [
    MOBILE,
    "１３８１２３４５６７８",
    "１3８1２3４5６7８",
    "138 1234 5678",
    "+86 138-1234-5678",
    "13８12345678",
]


def test_spellings_of_one_mobile_share_the_daily_cap(clock):
    for spelling in SPELLINGS[:SENDS]:
        send(spelling)
        clock.advance(seconds=61)
    for spelling in SPELLINGS[SENDS:]:
        assert send_error(spelling).messages == [SENDS_CAPPED]
    assert SmsMessage.objects.filter(SmsMessage.mobile.q(MOBILE)).count() == SENDS
    assert {m.mobile for m in SmsMessage.objects.all()} == {MOBILE}


def test_spellings_of_one_mobile_share_the_resend_spacing(clock):
    send(SPELLINGS[0])
    for spelling in SPELLINGS[1:]:
        assert send_error(spelling).code == "too_soon"


def test_a_code_is_checked_whatever_the_spelling(clock):
    send("１３８１２３４５６７８")
    verification_code_check(mobile="138 1234 5678", purpose="login", code=last_sms_code(MOBILE))


def test_wrong_codes_of_all_spellings_share_their_cap(clock):
    send()
    bad = f"{(int(last_sms_code(MOBILE)) + 1) % 1_000_000:06d}"
    errors = []
    for spelling in SPELLINGS[: WRONGS + 1]:
        with pytest.raises(ValidationError) as excinfo:
            verification_code_check(mobile=spelling, purpose="login", code=bad)
        errors.append(excinfo.value.code)
    assert errors == ["wrong", "wrong", "wrong", "wrong", "daily_wrong_cap"]


def fullwidth_variants(n: int) -> list[str]:
    """n spellings of MOBILE, ASCII and full-width digits mixed (the reviewer's bypass)."""
    out = []
    for i in range(n):
        out.append("".join(chr(ord(d) + 0xFEE0) if i >> k & 1 else d for k, d in enumerate(MOBILE)))
    return out


def test_the_unit_bind_button_sends_at_most_the_cap_to_one_mobile(clock, settings):
    """The reviewer's proof through the anonymous view: 14 spellings, 10 codes a day at most."""
    settings.SHEBAO_SMS_CODES_PER_MOBILE_DAY = 10
    settings.SHEBAO_RATE_LIMITS = {name: "1000/h" for name in settings.SHEBAO_RATE_LIMITS}
    client = Client()
    answers = []
    for spelling in fullwidth_variants(14):
        answers.append(client.post("/accounts/unit/bind/code/", {"mobile": spelling}))
        clock.advance(seconds=61)
    assert ["验证码已发送" in a.content.decode() for a in answers] == [True] * 10 + [False] * 4
    assert all(SENDS_CAPPED in a.content.decode() for a in answers[10:])
    assert SmsMessage.objects.count() == 10
    assert {m.mobile for m in SmsMessage.objects.all()} == {MOBILE}


def test_the_unit_bind_button_spaces_the_spellings_of_one_mobile(clock, settings):
    settings.SHEBAO_RATE_LIMITS = {name: "1000/h" for name in settings.SHEBAO_RATE_LIMITS}
    client = Client()
    assert (
        "验证码已发送"
        in client.post("/accounts/unit/bind/code/", {"mobile": MOBILE}).content.decode()
    )
    for spelling in SPELLINGS[1:]:
        body = client.post("/accounts/unit/bind/code/", {"mobile": spelling}).content.decode()
        assert "秒后再重新获取" in body
    assert SmsMessage.objects.count() == 1


def test_the_per_mobile_rate_limit_counts_the_spellings_as_one(clock, settings):
    settings.SHEBAO_RATE_LIMITS = {name: "1000/h" for name in settings.SHEBAO_RATE_LIMITS} | {
        "sms_send_account": "2/h"
    }
    statuses = []
    for i, spelling in enumerate(SPELLINGS[:4]):
        client = Client(REMOTE_ADDR=f"10.0.0.{i + 1}")  # the IP limit plays no part
        statuses.append(client.post("/accounts/unit/bind/code/", {"mobile": spelling}).status_code)
        clock.advance(seconds=61)
    assert statuses == [200, 200, 429, 429]


# --- Redis down (review S6) -----------------------------------------------------------------


def down_caches() -> dict:
    """CACHES pointing at a loopback port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    location = f"redis://127.0.0.1:{port}/0"
    return {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": location}
    }


@pytest.fixture
def redis_down(settings):
    settings.CACHES = down_caches()


def test_with_redis_down_no_code_is_sent_and_the_reason_is_chinese(redis_down):
    error = send_error()
    assert error.messages == [SMS_UNAVAILABLE]
    assert not SmsMessage.objects.exists()


def test_with_redis_down_a_code_already_sent_can_still_be_entered(clock):
    send()
    code = last_sms_code(MOBILE)
    with override_settings(CACHES=down_caches()):
        with pytest.raises(ValidationError) as excinfo:
            verification_code_check(
                mobile=MOBILE, purpose="login", code=f"{(int(code) + 1) % 1_000_000:06d}"
            )
        assert excinfo.value.code == "wrong"
        verification_code_check(mobile=MOBILE, purpose="login", code=code)


def test_with_redis_down_the_button_answers_in_chinese_not_500(redis_down, settings):
    settings.RATELIMIT_FAIL_OPEN = True
    response = Client().post("/accounts/unit/bind/code/", {"mobile": MOBILE})
    assert response.status_code == 200
    assert SMS_UNAVAILABLE in response.content.decode()


def test_with_redis_down_and_fail_open_off_the_limits_refuse_with_429(redis_down, settings):
    settings.RATELIMIT_FAIL_OPEN = False
    response = Client().post("/accounts/unit/bind/code/", {"mobile": MOBILE})
    assert response.status_code == 429
    assert "操作过于频繁" in response.content.decode()
