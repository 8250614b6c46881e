"""``next`` kept through sign-in (seed 004: pick a business first, land on it after signing in):
through the password step and the SMS or TOTP step, only to our own paths in the user's hall."""

import pyotp
import pytest
from django.test import RequestFactory

from shebao.accounts.models import User
from shebao.accounts.nexts import safe_next
from tests.accounts.helpers import signed_in_user_id, verify_sms, wrong_totp
from tests.factories import PASSWORD, TOTP_SECRET, make_staff

pytestmark = pytest.mark.django_db

UNIT_LOGIN = "/accounts/unit/login/"
PERSON_LOGIN = "/accounts/person/login/"
STAFF_LOGIN = "/accounts/staff/login/"


def unit_login_to(client, admin, next_url, *, in_address=False):
    data = {"unit_key": admin.unit.unit_no, "account": "admin", "password": PASSWORD}
    if in_address:  # the form posts back to the address it was shown at
        return client.post(f"{UNIT_LOGIN}?next={next_url}", data)
    return client.post(UNIT_LOGIN, {**data, "next": next_url})


def test_the_login_page_keeps_next_in_a_hidden_field(client, db):
    page = client.get(UNIT_LOGIN, {"next": "/unit/enrolment/"}).content.decode()
    assert '<input type="hidden" name="next" value="/unit/enrolment/">' in page
    assert "登录后将直接进入您选择的业务" in page


def test_the_login_page_drops_a_foreign_next(client, db):
    page = client.get(UNIT_LOGIN, {"next": "https://evil.example/unit/"}).content.decode()
    assert 'name="next"' not in page


@pytest.mark.parametrize("in_address", [False, True])
def test_operator_lands_on_the_chosen_business_after_password_and_sms(client, admin_a, in_address):
    response = unit_login_to(client, admin_a, "/unit/enrolment/", in_address=in_address)
    assert response["Location"] == "/accounts/verify/"

    response = verify_sms(client, admin_a.mobile)

    assert response["Location"] == "/unit/enrolment/"
    assert signed_in_user_id(client) == str(admin_a.pk)
    assert client.get("/unit/enrolment/").status_code == 200


def test_query_string_of_next_is_kept(client, admin_a):
    unit_login_to(client, admin_a, "/unit/roster/?q=张")
    assert verify_sms(client, admin_a.mobile)["Location"] == "/unit/roster/?q=%E5%BC%A0"


def test_person_lands_on_the_chosen_business(client, person_user, person):
    client.post(
        PERSON_LOGIN,
        {"id_number": "11010519491231002X", "password": PASSWORD, "next": "/person/account/"},
    )
    response = verify_sms(client, person_user.sms_mobile)
    assert response["Location"] == "/person/account/"


def test_staff_lands_on_next_after_totp(client, staff_bj):
    client.post(
        STAFF_LOGIN, {"username": "staff_bj", "password": PASSWORD, "next": "/staff/units/"}
    )
    response = client.post("/accounts/verify/", {"code": pyotp.TOTP(TOTP_SECRET).now()})
    assert response["Location"] == "/staff/units/"


def test_staff_binding_totp_at_first_sign_in_keeps_next(client, region_bj):
    newbie = make_staff("staff_new", region_bj)
    User.objects.filter(pk=newbie.pk).update(totp_secret="", totp_confirmed=False)
    response = client.post(
        STAFF_LOGIN, {"username": "staff_new", "password": PASSWORD, "next": "/staff/units/"}
    )
    assert response["Location"] == "/accounts/staff/totp/"
    client.get("/accounts/staff/totp/")
    newbie.refresh_from_db()

    response = client.post("/accounts/staff/totp/", {"code": pyotp.TOTP(newbie.totp_secret).now()})

    assert response["Location"] == "/staff/units/"


def test_too_many_wrong_codes_start_again_with_the_same_next(client, staff_bj):
    client.post(
        STAFF_LOGIN, {"username": "staff_bj", "password": PASSWORD, "next": "/staff/units/"}
    )
    for _ in range(5):
        response = client.post("/accounts/verify/", {"code": wrong_totp()})
    assert response["Location"] == "/accounts/staff/login/?next=%2Fstaff%2Funits%2F"


OPEN_REDIRECTS = [
    "//evil.example/unit/",
    "https://evil.example/unit/",
    "http://testserver.evil.example/unit/",
    "/\\evil.example/unit/",
    "\\\\evil.example",
    "/\t/evil.example",
    "javascript:alert(1)",
    "https:evil.example",
    "unit/enrolment/",
    "/unit/../person/",
    "/unit/no-such-page/",
    "/accounts/logout/",
    "",
]


@pytest.mark.parametrize("next_url", OPEN_REDIRECTS)
def test_open_redirects_are_refused(client, admin_a, next_url):
    unit_login_to(client, admin_a, next_url)
    assert verify_sms(client, admin_a.mobile)["Location"] == "/unit/"
    assert signed_in_user_id(client) == str(admin_a.pk)


@pytest.mark.parametrize("next_url", ["/person/", "/person/account/", "/staff/units/"])
def test_a_next_of_another_hall_is_refused(client, admin_a, next_url):
    unit_login_to(client, admin_a, next_url)
    assert verify_sms(client, admin_a.mobile)["Location"] == "/unit/"


def test_a_person_cannot_be_sent_into_the_unit_hall(client, person_user, person):
    client.post(
        PERSON_LOGIN,
        {"id_number": "11010519491231002X", "password": PASSWORD, "next": "/unit/enrolment/"},
    )
    assert verify_sms(client, person_user.sms_mobile)["Location"] == "/person/"


def test_a_next_changed_in_the_session_is_checked_again(client, admin_a):
    """The session holds what the login page accepted; it is checked once more at the end."""
    unit_login_to(client, admin_a, "/unit/enrolment/")
    session = client.session
    session["pending_login"] = {**session["pending_login"], "next": "https://evil.example/"}
    session.save()
    assert verify_sms(client, admin_a.mobile)["Location"] == "/unit/"


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        ("/unit/enrolment/", "operator", "/unit/enrolment/"),
        ("/unit/enrolment/", "person", ""),
        ("/person/contributions/", "person", "/person/contributions/"),
        ("/staff/units/", "staff", "/staff/units/"),
        ("/unit/", "operator", "/unit/"),
        ("//evil/unit/", "operator", ""),
        ("/\\evil", "operator", ""),
        ("https://testserver/unit/", "operator", ""),
        ("/unit/\r\nSet-Cookie:x", "operator", ""),
        ("/unit/" + "a" * 600, "operator", ""),
        (None, "operator", ""),
        (["/unit/"], "operator", ""),
    ],
)
def test_safe_next(value, kind, expected):
    request = RequestFactory().get("/")
    assert safe_next(request, value, kind) == expected


def test_https_is_required_when_the_request_is_secure():
    request = RequestFactory().get("/", secure=True)
    assert safe_next(request, "/unit/roster/", "operator") == "/unit/roster/"
    assert safe_next(request, "http://testserver/unit/roster/", "operator") == ""


def test_a_page_that_asked_for_sign_in_is_reached_after_it(client, admin_a):
    asked = client.get("/unit/roster/?q=%E5%BC%A0")  # q=张
    assert asked["Location"] == f"{UNIT_LOGIN}?next=%2Funit%2Froster%2F%3Fq%3D%25E5%25BC%25A0"
    page = client.get(asked["Location"]).content.decode()
    assert 'name="next" value="/unit/roster/?q=%E5%BC%A0"' in page
    unit_login_to(client, admin_a, "/unit/roster/?q=%E5%BC%A0")
    assert verify_sms(client, admin_a.mobile)["Location"] == "/unit/roster/?q=%E5%BC%A0"
