"""A unit registers its online account with unit number + 网报注册码 (unit_bind_with_code and the
page /accounts/unit/bind/ with its SMS code)."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from shebao.accounts.models import RegistrationCode, UnitOnlineRegistration, User
from shebao.accounts.services import registration_code_issue, unit_bind_with_code
from shebao.core.models import AuditEntry, SmsMessage
from tests.accounts.helpers import signed_in_user_id, unit_login, verify_sms
from tests.conftest import last_sms_code
from tests.factories import PASSWORD, make_admin

pytestmark = pytest.mark.django_db

MOBILE = "13966667777"
WRONG_CODE = "单位编号或网报注册码不正确，或注册码已失效"
URL = "/accounts/unit/bind/"


@pytest.fixture
def reg_code(staff_bj, unit_a):
    return registration_code_issue(actor=staff_bj, unit=unit_a)


def bind_kwargs(unit, code, **overrides):
    data = {
        "unit_key": unit.unit_no,
        "code": code,
        "account": "zhouadmin",
        "display_name": "周管理",
        "mobile": MOBILE,
        "password": PASSWORD,
    }
    data.update(overrides)
    return data


def bind_form(unit, code, sms_code, **overrides):
    data = {
        "unit_no": unit.unit_no,
        "code": code,
        "account": "zhouadmin",
        "display_name": "周管理",
        "mobile": MOBILE,
        "sms_code": sms_code,
        "password": PASSWORD,
        "password2": PASSWORD,
    }
    data.update(overrides)
    return data


def operators_of(unit) -> int:
    return User.objects.filter(kind=User.Kind.OPERATOR, unit=unit).count()


# --- through the page --------------------------------------------------------------------------


def test_bind_through_page_then_sign_in(client, unit_a, reg_code):
    response = client.post("/accounts/unit/bind/code/", {"mobile": MOBILE})
    assert response.status_code == 200
    assert "验证码已发送至 139****7777" in response.content.decode()
    assert SmsMessage.objects.get(SmsMessage.mobile.q(MOBILE)).purpose == "unit_code_binding"

    response = client.post(URL, bind_form(unit_a, reg_code, last_sms_code(MOBILE)))

    assert response.status_code == 302
    assert response["Location"] == "/accounts/unit/login/"
    admin = User.objects.get(unit=unit_a, kind=User.Kind.OPERATOR)
    assert admin.is_unit_admin
    assert admin.operator_account == "zhouadmin"
    assert admin.mobile == MOBILE
    assert admin.registration.via == UnitOnlineRegistration.Via.REGISTRATION_CODE
    assert RegistrationCode.objects.get(unit=unit_a).used_at is not None
    entry = AuditEntry.objects.get(action="unit.bind", outcome="ok")
    assert entry.actor_id == admin.pk
    assert entry.object_id == str(unit_a.pk)

    signer = Client()
    assert unit_login(signer, unit_a.unit_no, "zhouadmin")["Location"] == "/accounts/verify/"
    assert verify_sms(signer, MOBILE)["Location"] == "/unit/"
    assert signed_in_user_id(signer) == str(admin.pk)
    assert signer.get("/unit/operators/").status_code == 200


def test_the_code_button_accepts_the_mobile_as_people_type_it(client, unit_a, reg_code):
    response = client.post("/accounts/unit/bind/code/", {"mobile": "139 6666 7777"})
    assert "验证码已发送至 139****7777" in response.content.decode()
    response = client.post(
        URL, bind_form(unit_a, reg_code, last_sms_code(MOBILE), mobile="139-6666-7777")
    )
    assert response.status_code == 302
    assert User.objects.get(unit=unit_a, kind=User.Kind.OPERATOR).mobile == MOBILE


def test_page_with_wrong_sms_code_creates_nothing_and_keeps_the_registration_code(
    client, unit_a, reg_code
):
    client.post("/accounts/unit/bind/code/", {"mobile": MOBILE})
    sms = last_sms_code(MOBILE)
    wrong = "000000" if sms != "000000" else "111111"

    response = client.post(URL, bind_form(unit_a, reg_code, wrong))

    assert response.status_code == 200
    assert "验证码错误" in response.content.decode()
    assert operators_of(unit_a) == 0
    assert RegistrationCode.objects.get(unit=unit_a).used_at is None


def test_page_with_wrong_registration_code(client, unit_a, reg_code):
    client.post("/accounts/unit/bind/code/", {"mobile": MOBILE})

    response = client.post(URL, bind_form(unit_a, "ABCDEFGHJKLM", last_sms_code(MOBILE)))

    assert response.status_code == 200
    assert response.context["form"].errors["code"] == [WRONG_CODE]
    assert operators_of(unit_a) == 0


def test_page_with_mismatched_passwords(client, unit_a, reg_code):
    client.post("/accounts/unit/bind/code/", {"mobile": MOBILE})

    response = client.post(
        URL, bind_form(unit_a, reg_code, last_sms_code(MOBILE), password2="Other-pass1")
    )

    assert response.status_code == 200
    assert "两次输入的密码不一致" in response.content.decode()
    assert operators_of(unit_a) == 0


def test_send_code_refuses_a_bad_mobile(client, db):
    response = client.post("/accounts/unit/bind/code/", {"mobile": "12345"})

    assert response.status_code == 200
    assert (
        "请填写11位手机号码（以1开头，第二位为3–9）" in response.content.decode()
    )  # the field's rule
    assert not SmsMessage.objects.exists()


# --- the service -------------------------------------------------------------------------------


def test_bind_service_success(unit_a, reg_code):
    user = unit_bind_with_code(**bind_kwargs(unit_a, reg_code.lower()))

    assert user.is_unit_admin and user.is_active
    assert user.unit_id == unit_a.pk
    assert user.business_kinds == []
    assert user.check_password(PASSWORD)


@pytest.mark.parametrize("how", ["wrong", "expired", "used", "revoked", "other_unit", "no_unit"])
def test_bad_codes_get_the_same_message(staff_bj, unit_a, unit_b, reg_code, how):
    unit, code = unit_a, reg_code
    if how == "wrong":
        code = "ABCDEFGHJKLM"
    elif how == "expired":
        RegistrationCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    elif how == "used":
        unit_bind_with_code(**bind_kwargs(unit_a, reg_code))
        UnitOnlineRegistration.objects.update(revoked_at=timezone.now())
        User.objects.filter(unit=unit_a).update(is_active=False)
    elif how == "revoked":
        RegistrationCode.objects.update(revoked=True)
    elif how == "other_unit":
        registration_code_issue(actor=staff_bj, unit=unit_b)
        unit = unit_b  # unit_a's code does not open unit_b
    before = User.objects.count()
    kwargs = bind_kwargs(unit, code, account="second")
    if how == "no_unit":
        kwargs["unit_key"] = "999999999999"

    with pytest.raises(ValidationError) as excinfo:
        unit_bind_with_code(**kwargs)

    assert excinfo.value.message_dict == {"code": [WRONG_CODE]}
    assert User.objects.count() == before
    assert AuditEntry.objects.filter(action="unit.bind", outcome="invalid").count() == 1


def test_second_binding_refused(unit_a, reg_code):
    make_admin(unit_a)  # the unit registered online meanwhile (e.g. at the counter)
    before = User.objects.count()

    with pytest.raises(ValidationError) as excinfo:
        unit_bind_with_code(**bind_kwargs(unit_a, reg_code))

    assert "一个单位只能" in excinfo.value.message_dict["code"][0]
    assert User.objects.count() == before
    assert UnitOnlineRegistration.objects.filter(unit=unit_a).count() == 1
    assert RegistrationCode.objects.get(unit=unit_a).used_at is None


def test_code_is_single_use(unit_a, reg_code):
    unit_bind_with_code(**bind_kwargs(unit_a, reg_code))

    with pytest.raises(ValidationError) as excinfo:
        unit_bind_with_code(**bind_kwargs(unit_a, reg_code, account="another"))

    assert excinfo.value.message_dict == {"code": [WRONG_CODE]}
    assert operators_of(unit_a) == 1


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"account": "ab"}, "account", "操作员账号须为4–30 位字母、数字或下划线"),
        ({"account": "名字名字"}, "account", "操作员账号须为4–30 位字母、数字或下划线"),
        ({"mobile": "139666677"}, "mobile", "请填写11位手机号码（以1开头，第二位为3–9）"),
        ({"display_name": ""}, "display_name", "请填写姓名"),
        ({"password": "zhouadmin1A"}, "password", "密码不能包含账号名"),
        ({"password": "short1A"}, "password", "密码至少 8 位"),
    ],
)
def test_bad_input_refused_and_code_still_usable(unit_a, reg_code, overrides, field, message):
    with pytest.raises(ValidationError) as excinfo:
        unit_bind_with_code(**bind_kwargs(unit_a, reg_code, **overrides))

    assert message in excinfo.value.message_dict[field]
    assert operators_of(unit_a) == 0
    assert not UnitOnlineRegistration.objects.filter(unit=unit_a).exists()
    assert unit_bind_with_code(**bind_kwargs(unit_a, reg_code)).is_unit_admin
