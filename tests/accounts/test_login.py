"""Sign-in through the real views (password, then SMS code or TOTP), lockout, hall access,
sign-out and the security settings behind them."""

import re

import pyotp
import pytest
from django.conf import settings
from django.contrib.auth.hashers import check_password, identify_hasher, make_password
from django.test import Client

from shebao.accounts.models import User
from shebao.accounts.services import operator_set_active
from shebao.core.models import AuditEntry, SmsMessage
from tests.accounts.helpers import (
    CLERK_MOBILE,
    person_login,
    session_key,
    signed_in_user_id,
    staff_login,
    unit_login,
    verify_sms,
    wrong_totp,
)
from tests.conftest import last_sms_code, signed_in
from tests.factories import PASSWORD, TOTP_SECRET, make_staff

pytestmark = pytest.mark.django_db

WRONG_PASSWORD_MESSAGE = "账号或密码错误"


# --- unit operators ----------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["unit_no", "uscc", "uscc_lower"])
def test_operator_signs_in_with_unit_key_account_password_and_sms(client, admin_a, key):
    unit = admin_a.unit
    unit_key = {"unit_no": unit.unit_no, "uscc": unit.uscc, "uscc_lower": unit.uscc.lower()}[key]

    response = unit_login(client, unit_key, "admin")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/verify/"
    assert signed_in_user_id(client) is None
    sms = SmsMessage.objects.get(SmsMessage.mobile.q(admin_a.mobile))
    assert sms.purpose == "login"
    key_before = session_key(client)

    page = client.get("/accounts/verify/")
    assert page.status_code == 200
    assert "139****0001" in page.content.decode()

    response = verify_sms(client, admin_a.mobile)

    assert response.status_code == 302
    assert response["Location"] == "/unit/"
    assert signed_in_user_id(client) == str(admin_a.pk)
    assert session_key(client) != key_before
    assert client.get("/unit/").status_code == 200
    assert AuditEntry.objects.filter(action="login", actor=admin_a, outcome="ok").exists()


def test_operator_account_name_is_case_insensitive(client, admin_a):
    response = unit_login(client, admin_a.unit.unit_no, "ADMIN")
    assert response["Location"] == "/accounts/verify/"


def test_clerk_code_goes_to_the_clerks_own_mobile(client, clerk_a, admin_a):
    unit_login(client, clerk_a.unit.unit_no, "clerk1")

    assert (
        SmsMessage.objects.filter(SmsMessage.mobile.q(CLERK_MOBILE), purpose="login").count() == 1
    )
    assert not SmsMessage.objects.filter(SmsMessage.mobile.q(admin_a.mobile)).exists()
    response = verify_sms(client, CLERK_MOBILE)
    assert response["Location"] == "/unit/"
    assert signed_in_user_id(client) == str(clerk_a.pk)


def test_wrong_password_stays_on_page_without_session(client, admin_a):
    response = unit_login(client, admin_a.unit.unit_no, "admin", "Wrong-pass1")

    assert response.status_code == 200
    assert WRONG_PASSWORD_MESSAGE in response.content.decode()
    assert signed_in_user_id(client) is None
    assert "pending_login" not in client.session
    assert not SmsMessage.objects.exists()
    assert client.get("/accounts/verify/")["Location"] == "/"
    entry = AuditEntry.objects.get(action="login.password")
    assert entry.outcome == "invalid"
    assert entry.object_id == str(admin_a.pk)


def test_wrong_sms_code_does_not_sign_in(client, admin_a):
    unit_login(client, admin_a.unit.unit_no, "admin")
    code = last_sms_code(admin_a.mobile)
    wrong = "000000" if code != "000000" else "111111"

    response = client.post("/accounts/verify/", {"code": wrong})

    assert response.status_code == 200
    assert "验证码错误，还可尝试 4 次" in response.content.decode()
    # shown: the field is outlined (Bootstrap hides the feedback of a field that is not)
    code_input = re.search(r'<input[^>]*name="code"[^>]*>', response.content.decode()).group()
    assert "is-invalid" in code_input
    assert signed_in_user_id(client) is None
    assert client.get("/unit/")["Location"] == "/accounts/unit/login/?next=%2Funit%2F"


def test_five_wrong_passwords_lock_the_account(client, admin_a):
    unit_no = admin_a.unit.unit_no
    for _ in range(4):
        response = unit_login(client, unit_no, "admin", "Wrong-pass1")
        assert response.status_code == 200
        assert WRONG_PASSWORD_MESSAGE in response.content.decode()
    unit_login(client, unit_no, "admin", "Wrong-pass1")

    response = unit_login(Client(), unit_no, "admin", PASSWORD)

    assert response.status_code == 429
    assert "锁定" in response.content.decode()
    assert not SmsMessage.objects.exists()


def test_lockout_is_per_account(client, admin_a, clerk_a):
    for _ in range(5):
        unit_login(client, admin_a.unit.unit_no, "admin", "Wrong-pass1")

    response = unit_login(Client(), clerk_a.unit.unit_no, "clerk1", PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == "/accounts/verify/"


@pytest.mark.parametrize(
    ("unit_key", "account"),
    # unit_key None: unit A itself, with an account it does not have (or none at all)
    [("999999999999", "admin"), ("UNIT", "admin"), (None, "nobody"), (None, "")],
)
def test_unknown_accounts_do_not_crash_nor_reveal_existence(client, admin_a, unit_key, account):
    unit_key = unit_key or admin_a.unit.unit_no
    known_wrong = unit_login(Client(), admin_a.unit.unit_no, "admin", "Wrong-pass1")

    response = unit_login(client, unit_key, account, "Wrong-pass1")

    assert response.status_code == 200
    if account:
        assert WRONG_PASSWORD_MESSAGE in response.content.decode()
        assert response.context["form"].non_field_errors() == (
            known_wrong.context["form"].non_field_errors()
        )
    assert signed_in_user_id(client) is None
    assert not SmsMessage.objects.exists()


def test_unknown_account_is_locked_like_a_known_one(client, admin_a):
    for _ in range(5):
        unit_login(client, admin_a.unit.unit_no, "ghost", "Wrong-pass1")

    response = unit_login(client, admin_a.unit.unit_no, "ghost", "Wrong-pass1")

    assert response.status_code == 429
    assert "锁定" in response.content.decode()


def test_disabled_operator_cannot_sign_in(client, admin_a, clerk_a):
    operator_set_active(actor=admin_a, operator_id=clerk_a.pk, active=False)

    response = unit_login(client, clerk_a.unit.unit_no, "clerk1")

    assert response.status_code == 200
    assert WRONG_PASSWORD_MESSAGE in response.content.decode()
    assert not SmsMessage.objects.filter(
        SmsMessage.mobile.q(CLERK_MOBILE), purpose="login"
    ).exists()


def test_operator_disabled_between_password_and_code_is_not_signed_in(client, admin_a, clerk_a):
    unit_login(client, clerk_a.unit.unit_no, "clerk1")
    operator_set_active(actor=admin_a, operator_id=clerk_a.pk, active=False)

    response = verify_sms(client, CLERK_MOBILE)

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert signed_in_user_id(client) is None


def test_operator_cannot_use_the_staff_sign_in(client, admin_a):
    response = staff_login(client, admin_a.username)
    assert response.status_code == 200
    assert WRONG_PASSWORD_MESSAGE in response.content.decode()
    assert not SmsMessage.objects.exists()


def test_pending_login_expires_after_ten_minutes(client, admin_a):
    unit_login(client, admin_a.unit.unit_no, "admin")
    session = client.session
    pending = session["pending_login"]
    pending["at"] -= 10 * 60 + 1
    session["pending_login"] = pending
    session.save()

    response = verify_sms(client, admin_a.mobile)

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert signed_in_user_id(client) is None
    assert "pending_login" not in client.session


def test_signing_in_again_within_a_minute_keeps_the_first_code(client, admin_a):
    unit_login(client, admin_a.unit.unit_no, "admin")
    first = last_sms_code(admin_a.mobile)

    unit_login(client, admin_a.unit.unit_no, "admin")
    page = client.get("/accounts/verify/").content.decode()

    assert "秒后再重新获取" in page
    assert SmsMessage.objects.filter(SmsMessage.mobile.q(admin_a.mobile)).count() == 1
    assert client.post("/accounts/verify/", {"code": first})["Location"] == "/unit/"


def test_signing_out_and_in_again_at_once_sends_a_new_code(client, admin_a):
    """The first code is used: it must not hold the second sign-in for a minute."""
    unit_login(client, admin_a.unit.unit_no, "admin")
    assert verify_sms(client, admin_a.mobile)["Location"] == "/unit/"
    client.post("/accounts/logout/")

    unit_login(client, admin_a.unit.unit_no, "admin")
    page = client.get("/accounts/verify/").content.decode()

    assert "秒后再重新获取" not in page
    assert SmsMessage.objects.filter(SmsMessage.mobile.q(admin_a.mobile)).count() == 2
    assert verify_sms(client, admin_a.mobile)["Location"] == "/unit/"


def test_signed_in_pages_are_not_cached(client, admin_a):
    unit_login(client, admin_a.unit.unit_no, "admin")
    verify_sms(client, admin_a.mobile)

    assert client.get("/unit/")["Cache-Control"] == "no-store"


# --- insured persons ---------------------------------------------------------------------------


@pytest.mark.parametrize("id_number", ["11010519491231002X", "11010519491231002x"])
def test_person_signs_in_with_id_number_and_sms(client, person_user, person, id_number):
    response = person_login(client, id_number)

    assert response.status_code == 302
    assert response["Location"] == "/accounts/verify/"
    key_before = session_key(client)

    response = verify_sms(client, person.mobile)

    assert response["Location"] == "/person/"
    assert signed_in_user_id(client) == str(person_user.pk)
    assert session_key(client) != key_before
    assert client.get("/person/").status_code == 200


def test_person_wrong_password(client, person_user):
    response = person_login(client, "11010519491231002X", "Wrong-pass1")

    assert response.status_code == 200
    assert WRONG_PASSWORD_MESSAGE in response.content.decode()
    assert signed_in_user_id(client) is None


def test_person_unknown_id_gets_the_wrong_password_answer(client, person_user):
    response = person_login(client, "110101199001011237", PASSWORD)

    assert response.status_code == 200
    assert WRONG_PASSWORD_MESSAGE in response.content.decode()
    assert not SmsMessage.objects.exists()


@pytest.mark.parametrize(
    ("id_number", "message"),
    [
        ("not-an-id", "身份证号码只能由数字和末位的X组成，不能有空格或其他符号"),
        ("110101199001011234", "身份证号码校验位错误，请逐位核对号码"),
        ("1101051949123100 2X", "身份证号码只能由数字和末位的X组成，不能有空格或其他符号"),
    ],
)
def test_person_malformed_id_gets_the_id_rule_message(client, person_user, id_number, message):
    response = person_login(client, id_number, PASSWORD)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert signed_in_user_id(client) is None
    assert not SmsMessage.objects.exists()


def test_person_without_account_gets_the_same_answer(client, person):
    response = person_login(client, person.id_number, "Wrong-pass1")

    assert response.status_code == 200
    assert WRONG_PASSWORD_MESSAGE in response.content.decode()


# --- staff -------------------------------------------------------------------------------------


def test_staff_signs_in_with_totp(client, staff_bj):
    response = staff_login(client, "staff_bj")

    assert response["Location"] == "/accounts/verify/"
    assert not SmsMessage.objects.exists()
    key_before = session_key(client)

    response = client.post("/accounts/verify/", {"code": pyotp.TOTP(TOTP_SECRET).now()})

    assert response["Location"] == "/staff/"
    assert signed_in_user_id(client) == str(staff_bj.pk)
    assert session_key(client) != key_before


def test_wrong_totp_five_times_drops_pending_login(client, staff_bj):
    staff_login(client, "staff_bj")
    bad = wrong_totp()
    for attempt in range(4):
        response = client.post("/accounts/verify/", {"code": bad})
        assert response.status_code == 200, attempt
        assert "动态口令不正确" in response.content.decode()

    response = client.post("/accounts/verify/", {"code": bad})

    assert response.status_code == 302
    assert response["Location"] == "/accounts/staff/login/"
    assert "pending_login" not in client.session
    response = client.post("/accounts/verify/", {"code": pyotp.TOTP(TOTP_SECRET).now()})
    assert response["Location"] == "/"
    assert signed_in_user_id(client) is None


def test_staff_without_totp_binds_it_at_first_sign_in(client, region_bj):
    newbie = make_staff("staff_new", region_bj)
    User.objects.filter(pk=newbie.pk).update(totp_secret="", totp_confirmed=False)

    response = staff_login(client, "staff_new")

    assert response["Location"] == "/accounts/staff/totp/"
    page = client.get("/accounts/staff/totp/")
    assert page.status_code == 200
    newbie.refresh_from_db()
    assert newbie.totp_secret
    assert newbie.totp_secret in page.content.decode()
    assert signed_in_user_id(client) is None

    response = client.post(
        "/accounts/staff/totp/", {"code": wrong_totp(newbie.totp_secret)}, follow=False
    )
    assert response.status_code == 200
    assert "动态口令不正确" in response.content.decode()

    response = client.post("/accounts/staff/totp/", {"code": pyotp.TOTP(newbie.totp_secret).now()})

    assert response["Location"] == "/staff/"
    assert signed_in_user_id(client) == str(newbie.pk)
    newbie.refresh_from_db()
    assert newbie.totp_confirmed is True
    assert AuditEntry.objects.filter(action="totp.bind", actor=newbie).exists()


def test_totp_setup_needs_a_pending_staff_login(client, staff_bj):
    assert client.get("/accounts/staff/totp/")["Location"] == "/accounts/staff/login/"
    staff_login(client, "staff_bj")  # already bound: nothing to set up
    assert client.get("/accounts/staff/totp/")["Location"] == "/accounts/staff/login/"


# --- halls -------------------------------------------------------------------------------------


def test_staff_of_another_region_gets_404_on_a_unit(staff_sh, staff_bj, unit_a):
    assert signed_in(staff_sh).get(f"/staff/units/{unit_a.unit_no}/").status_code == 404
    assert signed_in(staff_bj).get(f"/staff/units/{unit_a.unit_no}/").status_code == 200


def test_person_hall_refuses_operators_and_staff(admin_client, staff_client, person_user):
    assert admin_client.get("/person/").status_code == 403
    assert staff_client.get("/person/").status_code == 403
    assert signed_in(person_user).get("/person/").status_code == 200


@pytest.mark.parametrize(
    ("url", "login_url"),
    [
        ("/person/", "/accounts/person/login/"),
        ("/unit/", "/accounts/unit/login/"),
        ("/staff/", "/accounts/staff/login/"),
    ],
)
def test_anonymous_is_sent_to_the_halls_sign_in_page(client, db, url, login_url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == login_url + "?next=" + url.replace("/", "%2F")


def test_unit_and_staff_halls_refuse_persons(person_user):
    client = signed_in(person_user)
    assert client.get("/unit/").status_code == 403
    assert client.get("/staff/").status_code == 403


# --- sign-out ----------------------------------------------------------------------------------


def test_logout_is_post_only_and_audited(admin_client, admin_a):
    response = admin_client.get("/accounts/logout/")
    assert response.status_code == 405
    assert admin_client.get("/unit/").status_code == 200

    response = admin_client.post("/accounts/logout/")

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert signed_in_user_id(admin_client) is None
    assert admin_client.get("/unit/")["Location"] == "/accounts/unit/login/?next=%2Funit%2F"
    entry = AuditEntry.objects.get(action="logout")
    assert entry.actor_id == admin_a.pk


# --- settings ----------------------------------------------------------------------------------


def test_session_settings():
    assert settings.SESSION_COOKIE_AGE == 1800
    assert settings.SESSION_SAVE_EVERY_REQUEST is True
    assert settings.AXES_FAILURE_LIMIT == 5


def test_argon2_is_the_production_hasher():
    from config.settings import base

    assert base.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"


def test_argon2_hash_verifies():
    encoded = make_password(PASSWORD, hasher="argon2")

    assert encoded.startswith("argon2$")
    assert identify_hasher(encoded).algorithm == "argon2"
    assert check_password(PASSWORD, encoded)
    assert not check_password("Passw0rd!y", encoded)
