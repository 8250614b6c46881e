"""Daily caps per mobile on verification codes (shebao/core/verification.py): codes sent and
wrong codes entered, per natural day in Beijing time, counted in the cache under a keyed hash
of the mobile; notification SMS are not capped; RATELIMIT_ENABLE = False switches the caps off.

Time is a fixed clock (a stand-in for django.utils.timezone.now), moved, never waited."""

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
