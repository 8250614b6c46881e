"""Helpers for the accounts tests: operators made through the service, sign-in through the real
views (no force_login) and a controllable clock for code lifetimes."""

from datetime import datetime, timedelta

import pyotp
from django.test import Client
from django.utils import timezone

from shebao.accounts.models import User
from shebao.accounts.services import operator_create
from tests.conftest import last_sms_code
from tests.factories import PASSWORD, TOTP_SECRET

CLERK_MOBILE = "13911110001"
NEW_PASSWORD = "N3w-Secret!9"


def make_clerk(admin: User, account="clerk1", mobile=CLERK_MOBILE, kinds=("enrolment",)) -> User:
    return operator_create(
        actor=admin,
        account=account,
        display_name="赵经办",
        mobile=mobile,
        password=PASSWORD,
        business_kinds=list(kinds),
    )


def unit_login(client: Client, unit_key: str, account: str, password: str = PASSWORD):
    return client.post(
        "/accounts/unit/login/",
        {"unit_key": unit_key, "account": account, "password": password},
    )


def person_login(client: Client, id_number: str, password: str = PASSWORD):
    return client.post("/accounts/person/login/", {"id_number": id_number, "password": password})


def staff_login(client: Client, username: str, password: str = PASSWORD):
    return client.post("/accounts/staff/login/", {"username": username, "password": password})


def verify_sms(client: Client, mobile: str):
    return client.post("/accounts/verify/", {"code": last_sms_code(mobile)})


def signed_in_user_id(client: Client) -> str | None:
    return client.session.get("_auth_user_id")


def session_key(client: Client) -> str | None:
    cookie = client.cookies.get("sessionid")
    return cookie.value if cookie else None


def wrong_totp(secret: str = TOTP_SECRET) -> str:
    """A 6-digit value that is surely not accepted now (outside the ±1 step window, with margin)."""
    totp = pyotp.TOTP(secret)
    now = timezone.now()
    taken = {totp.at(now, counter_offset=offset) for offset in range(-3, 4)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in taken)


class Clock:
    """Stands in for django.utils.timezone.now (used by the services and by auto_now fields)."""

    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)
