"""The development console: the SMS outbox and the demo staff's current dynamic codes, only where
SHEBAO_DEV_CONSOLE is on."""

import pyotp
import pytest
from django.test import Client
from django.urls import reverse

from shebao.core.sms import send_sms
from tests.factories import TOTP_SECRET, make_staff

pytestmark = pytest.mark.django_db


def test_shows_the_outbox_and_the_demo_staff_codes(region_bj):
    make_staff("demo_bj", region_bj)
    make_staff("staff_bj", region_bj)  # not a demo account: its code is never shown
    send_sms(mobile="13900000001", text="您的验证码是123456", purpose="login")

    before = pyotp.TOTP(TOTP_SECRET).now()
    response = Client().get(reverse("web:dev_console"))
    after = pyotp.TOTP(TOTP_SECRET).now()

    assert response.status_code == 200
    [(name, code)] = response.context["staff"]
    assert name == "demo_bj" and code in {before, after}
    assert "您的验证码是123456" in response.content.decode()


def test_answers_404_when_the_console_is_off(settings):
    settings.SHEBAO_DEV_CONSOLE = False
    assert Client().get(reverse("web:dev_console")).status_code == 404
