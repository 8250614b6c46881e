"""Insured persons' self-registration at /accounts/person/signup/ (service person_signup)."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from shebao.accounts.models import User
from shebao.accounts.services import person_signup
from shebao.core.models import AuditEntry, SmsMessage
from shebao.core.verification import verification_code_send
from shebao.registry.models import Person
from tests.accounts.helpers import NEW_PASSWORD, person_login, signed_in_user_id, verify_sms
from tests.conftest import last_sms_code

pytestmark = pytest.mark.django_db

URL = "/accounts/person/signup/"


def finish_form(code, password=NEW_PASSWORD):
    return {"code": code, "new_password": password, "new_password2": password}


def person_accounts() -> int:
    return User.objects.filter(kind=User.Kind.PERSON).count()


@pytest.fixture
def person_without_mobile(region_bj):
    return Person.objects.create(
        person_no="110000000002",
        id_number="110101199003070011",
        name="李四",
        sex="1",
        birth_date=date(1990, 3, 7),
        mobile="",
    )


def test_signup_success_creates_a_person_login(client, person):
    response = client.post(URL, {"id_number": "11010519491231002x", "name": "张晓红"})

    assert response.status_code == 302
    assert response["Location"] == URL
    sms = SmsMessage.objects.get()
    assert sms.mobile == person.mobile
    assert sms.purpose == "person_signup"
    page = client.get(URL)
    assert "138****0001" in page.content.decode()

    response = client.post(URL, finish_form(last_sms_code(person.mobile)))

    assert response.status_code == 302
    assert response["Location"] == "/accounts/person/login/"
    user = User.objects.get(person=person)
    assert user.kind == User.Kind.PERSON
    assert user.display_name == "张晓红"
    assert user.check_password(NEW_PASSWORD)
    entry = AuditEntry.objects.get(action="person.signup")
    assert entry.actor_id == user.pk
    assert "1101**********002X" in entry.object_label
    assert person.id_number not in entry.object_label

    # the new login works end to end
    response = person_login(client, person.id_number, NEW_PASSWORD)
    assert response["Location"] == "/accounts/verify/"
    assert verify_sms(client, person.mobile)["Location"] == "/person/"
    assert signed_in_user_id(client) == str(user.pk)


def test_wrong_name_refused_without_sms(client, person):
    response = client.post(URL, {"id_number": person.id_number, "name": "张晓"})

    assert response.status_code == 200
    assert "未找到该参保人员信息，请核对身份证号码和姓名" in response.content.decode()
    assert not SmsMessage.objects.exists()
    assert "signup_person" not in client.session


def test_unknown_id_number_gets_the_same_answer(client, person):
    response = client.post(URL, {"id_number": "110101199001011237", "name": "张晓红"})

    assert response.status_code == 200
    assert "未找到该参保人员信息，请核对身份证号码和姓名" in response.content.decode()
    assert not SmsMessage.objects.exists()


def test_no_mobile_on_record_sends_to_unit_or_counter(client, person_without_mobile):
    response = client.post(URL, {"id_number": person_without_mobile.id_number, "name": "李四"})

    assert response.status_code == 200
    page = response.content.decode()
    assert "单位" in page
    assert "窗口" in page
    assert "没有登记手机号" in page
    assert not SmsMessage.objects.exists()
    assert person_accounts() == 0


def test_already_registered(client, person_user, person):
    response = client.post(URL, {"id_number": person.id_number, "name": "张晓红"})

    assert response.status_code == 200
    assert "该证件号码已注册" in response.content.decode()
    assert not SmsMessage.objects.exists()
    assert person_accounts() == 1


def test_wrong_code_creates_nothing(client, person):
    client.post(URL, {"id_number": person.id_number, "name": "张晓红"})
    code = last_sms_code(person.mobile)
    wrong = "000000" if code != "000000" else "111111"

    response = client.post(URL, finish_form(wrong))

    assert response.status_code == 200
    assert "验证码错误，还可尝试 4 次" in response.content.decode()
    assert person_accounts() == 0


def test_weak_password_creates_nothing_and_keeps_the_code(client, person):
    client.post(URL, {"id_number": person.id_number, "name": "张晓红"})
    code = last_sms_code(person.mobile)

    response = client.post(URL, finish_form(code, "12345678"))

    assert response.status_code == 200
    assert "密码须包含大写字母、小写字母、数字、符号中的至少三类" in response.content.decode()
    assert person_accounts() == 0
    assert client.post(URL, finish_form(code)).status_code == 302
    assert person_accounts() == 1


def test_password_containing_the_id_number_refused(person):
    verification_code_send(mobile=person.mobile, purpose="person_signup")

    with pytest.raises(ValidationError) as excinfo:
        person_signup(
            person=person,
            code=last_sms_code(person.mobile),
            password="Aa!" + person.id_number.lower(),
        )

    assert "密码不能包含账号名" in excinfo.value.messages
    assert person_accounts() == 0


def test_service_refuses_an_already_registered_person(person_user, person):
    verification_code_send(mobile=person.mobile, purpose="person_signup")

    with pytest.raises(ValidationError) as excinfo:
        person_signup(person=person, code=last_sms_code(person.mobile), password=NEW_PASSWORD)

    assert "id_number" in excinfo.value.message_dict
    assert person_accounts() == 1


def test_code_sent_to_another_mobile_does_not_work(person):
    verification_code_send(mobile="13800009999", purpose="person_signup")

    with pytest.raises(ValidationError) as excinfo:
        person_signup(person=person, code=last_sms_code("13800009999"), password=NEW_PASSWORD)

    assert excinfo.value.message_dict == {"code": ["验证码已失效，请重新获取"]}
    assert person_accounts() == 0


def test_restart_goes_back_to_the_identify_step(client, person):
    client.post(URL, {"id_number": person.id_number, "name": "张晓红"})

    page = client.get(URL + "?restart=1").content.decode()

    assert 'name="name"' in page
    assert 'name="id_number"' in page


def test_resend_without_a_signup_in_progress(client, db):
    response = client.post("/accounts/person/signup/resend/")
    assert response.status_code == 400
    assert not SmsMessage.objects.exists()


def test_weak_password_message_is_next_to_the_field(client, person):
    client.post(URL, {"id_number": person.id_number, "name": "张晓红"})

    response = client.post(URL, finish_form(last_sms_code(person.mobile), "12345678"))

    errors = response.context["form"].errors
    assert "密码须包含大写字母、小写字母、数字、符号中的至少三类" in errors.get("new_password", [])
