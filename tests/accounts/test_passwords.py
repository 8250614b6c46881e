"""Password policy, password change and forgot-password by SMS for the three kinds of users."""

import pytest
from django.contrib.auth.password_validation import (
    password_validators_help_texts,
    validate_password,
)
from django.core.exceptions import ValidationError
from django.test import Client

from shebao.accounts.models import User
from shebao.accounts.services import password_change, password_reset_by_sms
from shebao.core.models import AuditEntry, SmsMessage
from shebao.core.passwords import (
    character_classes,
    check_password_policy,
    validate_new_password,
)
from shebao.core.verification import verification_code_send
from tests.accounts.helpers import NEW_PASSWORD, signed_in_user_id, unit_login, verify_sms
from tests.conftest import last_sms_code, signed_in
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

TOO_SHORT = "密码至少 8 位"
TOO_FEW_CLASSES = "密码须包含大写字母、小写字母、数字、符号中的至少三类"
HAS_ACCOUNT = "密码不能包含账号名"
COMMON = "这个密码太常见，容易被猜到，请换一个"  # Django's CommonPasswordValidator, our words


# --- policy ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "account", "expected"),
    [
        ("Ab1!xyz", "", [TOO_SHORT]),
        ("", "", [TOO_SHORT, TOO_FEW_CLASSES]),
        ("abcdefgh", "", [TOO_FEW_CLASSES]),
        ("abcdefg1", "", [TOO_FEW_CLASSES]),
        ("ABCDEFG!", "", [TOO_FEW_CLASSES]),
        ("12345678", "", [TOO_FEW_CLASSES]),
        ("Ab1!", "", [TOO_SHORT]),
        ("Zhangsan-2024", "zhangsan", [HAS_ACCOUNT]),
        ("xZHANGSAN2024!", "zhangsan", [HAS_ACCOUNT]),
        ("ab1", "ab1", [TOO_SHORT, TOO_FEW_CLASSES, HAS_ACCOUNT]),
    ],
)
def test_policy_refuses_with_chinese_messages(password, account, expected):
    with pytest.raises(ValidationError) as excinfo:
        check_password_policy(password, account_name=account)
    assert excinfo.value.messages == expected


@pytest.mark.parametrize(
    "password",
    [PASSWORD, "abcDEF12", "abcdef1!", "ABCDEF1!", "Abcdefg!", "正确密码Aa1!", "Aa1 aaaa"],
)
def test_policy_accepts_good_passwords(password):
    check_password_policy(password, account_name="zhangsan")


def test_account_names_shorter_than_three_are_not_checked():
    check_password_policy("Ab1!abcdefg", account_name="ab")


def test_character_classes():
    assert character_classes("aA1!") == 4
    assert character_classes("aaaa") == 1
    assert character_classes("a b") == 2


def test_policy_knows_the_users_account_names(admin_a, person_user, staff_bj):
    with pytest.raises(ValidationError, match=HAS_ACCOUNT):
        check_password_policy("Admin#2024x", user=admin_a)
    with pytest.raises(ValidationError, match=HAS_ACCOUNT):
        check_password_policy("A!11010519491231002x", user=person_user)
    with pytest.raises(ValidationError, match=HAS_ACCOUNT):
        check_password_policy("Staff_BJ-2024", user=staff_bj)


def test_django_validators_use_the_policy(admin_a):
    with pytest.raises(ValidationError) as excinfo:
        validate_password("short", user=admin_a)
    assert TOO_SHORT in excinfo.value.messages
    validate_password(NEW_PASSWORD, user=admin_a)


@pytest.mark.parametrize("password", ["Password1!", "P@ssw0rd", "1Qaz@wsx"])
def test_common_passwords_are_refused_though_they_have_three_classes(password):
    assert character_classes(password) >= 3
    with pytest.raises(ValidationError) as excinfo:
        validate_new_password(password, account_name="zhangsan")
    assert excinfo.value.messages == [COMMON]
    with pytest.raises(ValidationError):
        validate_password(password)


def test_passwords_too_like_the_users_names_are_refused(admin_a, db):
    admin_a.display_name = "wangfang"
    with pytest.raises(ValidationError) as excinfo:
        validate_new_password("Wangfang#1", user=admin_a)
    assert excinfo.value.messages == ["密码与姓名太相似，容易被猜到，请换一个"]
    with pytest.raises(ValidationError) as excinfo:
        validate_new_password("Zhaoadmin#9", account_name="zhaoadmin1")
    assert "密码与账号太相似，容易被猜到，请换一个" in excinfo.value.messages


def test_a_new_accounts_display_name_counts_for_similarity():
    """A new account has no user yet: the similarity check sees its display name too."""
    with pytest.raises(ValidationError) as excinfo:
        validate_new_password("Wangfang#1", account_name="zhaoadmin1", display_name="Wang Fang")
    assert excinfo.value.messages == ["密码与姓名太相似，容易被猜到，请换一个"]
    validate_new_password("Wangfang#1", account_name="zhaoadmin1")  # no name: nothing alike


def test_creating_an_operator_checks_the_password_against_the_display_name(admin_a):
    from shebao.accounts.services import operator_create

    with pytest.raises(ValidationError) as excinfo:
        operator_create(
            actor=admin_a,
            account="clerk01",
            display_name="John Smith",
            mobile="13911112222",
            password="JohnSmith#7",
            business_kinds=[],
        )
    assert excinfo.value.message_dict == {"password": ["密码与姓名太相似，容易被猜到，请换一个"]}
    assert not User.objects.filter(operator_account="clerk01").exists()


def test_the_registration_form_checks_the_password_against_the_contact_name():
    from shebao.registry.registration.forms import UnitRegistrationForm

    data = {"admin_account": "unitadmin", "contact_name": "John Smith"}
    form = UnitRegistrationForm({**data, "password": "JohnSmith#7", "password2": "JohnSmith#7"})
    form.is_valid()
    assert "密码与姓名太相似，容易被猜到，请换一个" in form.errors["password"]


def test_django_help_texts_are_chinese():
    assert password_validators_help_texts() == [
        "密码至少 8 位，包含大写字母、小写字母、数字、符号中的至少三类，且不能包含账号名。",
        "你的密码不能是一个常见密码。",
        "你的密码不能与你的其他个人信息太相似。",
    ]


def test_the_test_password_and_the_new_one_pass_every_validator(admin_a, person_user, staff_bj):
    for user in (admin_a, person_user, staff_bj, None):
        validate_new_password(PASSWORD, user=user)
        validate_new_password(NEW_PASSWORD, user=user)


def test_change_to_a_common_password_is_refused_next_to_the_field(admin_a):
    with pytest.raises(ValidationError) as excinfo:
        password_change(user=admin_a, old_password=PASSWORD, new_password="Password1!")
    assert excinfo.value.message_dict == {"new_password": [COMMON]}
    admin_a.refresh_from_db()
    assert admin_a.check_password(PASSWORD)


# --- password change ---------------------------------------------------------------------------


def test_change_success(admin_a):
    password_change(user=admin_a, old_password=PASSWORD, new_password=NEW_PASSWORD)

    admin_a.refresh_from_db()
    assert admin_a.check_password(NEW_PASSWORD)
    entry = AuditEntry.objects.get(action="password.change")
    assert entry.outcome == "ok"
    assert entry.actor_id == admin_a.pk


def test_change_with_wrong_old_password(admin_a):
    with pytest.raises(ValidationError) as excinfo:
        password_change(user=admin_a, old_password="Wrong-pass1", new_password=NEW_PASSWORD)

    assert excinfo.value.message_dict == {"old_password": ["原密码不正确"]}
    admin_a.refresh_from_db()
    assert admin_a.check_password(PASSWORD)
    assert AuditEntry.objects.get(action="password.change").outcome == "invalid"


def test_change_to_the_same_password(admin_a):
    with pytest.raises(ValidationError) as excinfo:
        password_change(user=admin_a, old_password=PASSWORD, new_password=PASSWORD)

    assert excinfo.value.message_dict == {"new_password": ["新密码不能与原密码相同"]}
    admin_a.refresh_from_db()
    assert admin_a.check_password(PASSWORD)


def test_change_to_a_weak_password(person_user):
    with pytest.raises(ValidationError) as excinfo:
        password_change(user=person_user, old_password=PASSWORD, new_password="password")

    assert excinfo.value.message_dict["new_password"] == [TOO_FEW_CLASSES, COMMON]
    person_user.refresh_from_db()
    assert person_user.check_password(PASSWORD)


def test_change_through_page_keeps_the_session(admin_client, admin_a):
    response = admin_client.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 302
    assert response["Location"] == "/unit/"
    assert admin_client.get("/unit/").status_code == 200
    admin_a.refresh_from_db()
    assert admin_a.check_password(NEW_PASSWORD)


def test_change_through_page_errors(admin_client, admin_a):
    response = admin_client.post(
        "/accounts/password/",
        {"old_password": "nope", "new_password": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 200
    assert "原密码不正确" in response.content.decode()

    response = admin_client.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password": NEW_PASSWORD, "new_password2": "other"},
    )
    assert "两次输入的密码不一致" in response.content.decode()
    admin_a.refresh_from_db()
    assert admin_a.check_password(PASSWORD)


def test_change_page_needs_sign_in(client, db):
    response = client.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_password_change_invalidates_other_sessions(admin_a):
    other_device = signed_in(admin_a)
    password_change(user=admin_a, old_password=PASSWORD, new_password=NEW_PASSWORD)

    response = other_device.get("/unit/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/unit/login/?next=%2Funit%2F"


# --- forgot password ---------------------------------------------------------------------------

FORGOT = {
    "operator": "/accounts/forgot/unit/",
    "person": "/accounts/forgot/person/",
    "staff": "/accounts/forgot/staff/",
}
LOGIN = {
    "operator": "/accounts/unit/login/",
    "person": "/accounts/person/login/",
    "staff": "/accounts/staff/login/",
}


@pytest.fixture
def account(request, admin_a, person_user, staff_bj):
    """(kind, user, identify form data, mobile the code must go to)."""
    kind = request.param
    if kind == "operator":
        return kind, admin_a, {"unit_key": admin_a.unit.unit_no, "account": "admin"}, "13900000001"
    if kind == "person":
        return kind, person_user, {"id_number": "11010519491231002x"}, "13800000001"
    return kind, staff_bj, {"username": "staff_bj"}, "13700000000"


def reset_form(code, password=NEW_PASSWORD):
    return {"code": code, "new_password": password, "new_password2": password}


@pytest.mark.parametrize("account", ["operator", "person", "staff"], indirect=True)
def test_forgot_password_by_sms(client, account):
    kind, user, data, mobile = account

    response = client.post(FORGOT[kind], data)

    assert response.status_code == 302
    assert response["Location"] == "/accounts/forgot/reset/"
    sms = SmsMessage.objects.get()
    assert sms.mobile == mobile
    assert sms.purpose == "password_reset"

    response = client.post("/accounts/forgot/reset/", reset_form(last_sms_code(mobile)))

    assert response.status_code == 302
    assert response["Location"] == LOGIN[kind]
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert not user.check_password(PASSWORD)
    assert AuditEntry.objects.filter(action="password.reset", outcome="ok").count() == 1


def test_person_code_goes_to_the_mobile_on_record(client, person_user, person):
    User.objects.filter(pk=person_user.pk).update(**User.mobile.columns_for("13811112222"))

    client.post("/accounts/forgot/person/", {"id_number": person.id_number})

    assert [m.mobile for m in SmsMessage.objects.all()] == [person.mobile]


@pytest.mark.parametrize("account", ["operator", "person", "staff"], indirect=True)
def test_forgot_password_wrong_code_keeps_password(client, account):
    kind, user, data, mobile = account
    client.post(FORGOT[kind], data)
    code = last_sms_code(mobile)
    wrong = "000000" if code != "000000" else "111111"

    response = client.post("/accounts/forgot/reset/", reset_form(wrong))

    assert response.status_code == 200
    assert "验证码错误，还可尝试 4 次" in response.content.decode()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert AuditEntry.objects.get(action="password.reset").outcome == "invalid"


@pytest.mark.parametrize("account", ["operator", "person", "staff"], indirect=True)
def test_forgot_password_weak_new_password_keeps_code(client, account):
    kind, user, data, mobile = account
    client.post(FORGOT[kind], data)
    code = last_sms_code(mobile)

    response = client.post("/accounts/forgot/reset/", reset_form(code, "weakpass"))

    assert response.status_code == 200
    assert TOO_FEW_CLASSES in response.content.decode()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    # the code was not spent on the refused attempt
    assert client.post("/accounts/forgot/reset/", reset_form(code)).status_code == 302


@pytest.mark.parametrize(
    ("kind", "data"),
    [
        ("operator", {"unit_key": "999999999999", "account": "admin"}),
        ("operator", {"unit_key": "UNITNO", "account": "nobody"}),
        ("person", {"id_number": "110101199001011237"}),
        ("person", {"id_number": "E12345678"}),  # a passport number nobody has
        ("staff", {"username": "ghost"}),
    ],
)
def test_forgot_password_does_not_reveal_unknown_accounts(client, admin_a, kind, data):
    known = Client().post(
        FORGOT["operator"], {"unit_key": admin_a.unit.unit_no, "account": "admin"}
    )

    response = client.post(FORGOT[kind], data)

    assert response.status_code == known.status_code == 302
    assert response["Location"] == known["Location"]
    page = client.get("/accounts/forgot/reset/")
    assert page.status_code == 200
    assert "如您填写的账户信息正确" in page.content.decode()
    assert SmsMessage.objects.count() == 1  # only the known account's code
    response = client.post("/accounts/forgot/reset/", reset_form("123456"))
    assert "验证码已失效，请重新获取" in response.content.decode()


def test_forgot_password_sends_nothing_to_a_disabled_operator(client, admin_a, clerk_a):
    User.objects.filter(pk=clerk_a.pk).update(is_active=False)

    response = client.post(
        FORGOT["operator"], {"unit_key": clerk_a.unit.unit_no, "account": "clerk1"}
    )

    assert response["Location"] == "/accounts/forgot/reset/"
    assert not SmsMessage.objects.exists()


def test_forgot_password_form_needs_the_kinds_fields(client, db):
    response = client.post(FORGOT["operator"], {"unit_key": "", "account": ""})
    assert response.status_code == 200
    assert not SmsMessage.objects.exists()


def test_reset_page_without_a_request_goes_home(client, db):
    assert client.get("/accounts/forgot/reset/")["Location"] == "/"


def test_reset_clears_an_axes_lockout(client, admin_a):
    unit_no = admin_a.unit.unit_no
    for _ in range(5):
        unit_login(Client(), unit_no, "admin", "Wrong-pass1")
    assert unit_login(Client(), unit_no, "admin", PASSWORD).status_code == 429

    client.post(FORGOT["operator"], {"unit_key": unit_no, "account": "admin"})
    client.post("/accounts/forgot/reset/", reset_form(last_sms_code(admin_a.mobile)))

    response = unit_login(client, unit_no, "admin", NEW_PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/verify/"
    assert verify_sms(client, admin_a.mobile)["Location"] == "/unit/"
    assert signed_in_user_id(client) == str(admin_a.pk)


def test_reset_service_with_code_for_another_mobile_fails(admin_a, admin_b):
    verification_code_send(mobile=admin_b.mobile, purpose="password_reset")
    code = last_sms_code(admin_b.mobile)

    with pytest.raises(ValidationError) as excinfo:
        password_reset_by_sms(user=admin_a, code=code, new_password=NEW_PASSWORD)

    assert excinfo.value.message_dict == {"code": ["验证码已失效，请重新获取"]}
    admin_a.refresh_from_db()
    assert admin_a.check_password(PASSWORD)


def test_reset_service_with_a_login_code_fails(admin_a):
    verification_code_send(mobile=admin_a.mobile, purpose="login")

    with pytest.raises(ValidationError):
        password_reset_by_sms(
            user=admin_a, code=last_sms_code(admin_a.mobile), new_password=NEW_PASSWORD
        )

    admin_a.refresh_from_db()
    assert admin_a.check_password(PASSWORD)
