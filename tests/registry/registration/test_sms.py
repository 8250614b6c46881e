"""Unit first registration: the contact mobile is proven by an SMS code before the application
is submitted; without a valid code it stays a draft."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from shebao.core.models import AuditEntry, SmsMessage, VerificationCode
from shebao.core.verification import verification_code_send
from shebao.filings.models import FilingState, FilingStep
from tests.conftest import last_sms_code, registration_data
from tests.registry.flow import MOBILE, age_codes, apply_online, form_errors, uscc

pytestmark = pytest.mark.django_db

OTHER_MOBILE = "13800000009"


@pytest.fixture
def draft(client, region_bj):
    return apply_online(client)


def submit(client, draft, code):
    data = {} if code is None else {"code": code}
    return client.post(f"/register/{draft.serial_no}/submit/", data)


def assert_still_draft(draft):
    draft.refresh_from_db()
    assert draft.state == FilingState.DRAFT
    assert draft.submitted_at is None
    assert not draft.steps.filter(action=FilingStep.Action.SUBMIT).exists()
    assert not AuditEntry.objects.filter(
        action="filing.submit.unit_registration", object_id=str(draft.pk)
    ).exists()


def test_submit_with_the_code_sent_to_the_contact(client, draft):
    response = client.post(f"/register/{draft.serial_no}/code/")
    assert response.status_code == 200
    assert "验证码已发送至 139****5678" in response.content.decode()

    response = submit(client, draft, last_sms_code(MOBILE))

    assert response.status_code == 302
    assert response["Location"] == f"/register/{draft.serial_no}/"
    draft.refresh_from_db()
    assert draft.state == FilingState.SUBMITTED
    assert draft.submitted_at is not None
    step = draft.steps.get(action=FilingStep.Action.SUBMIT)
    assert (step.from_state, step.to_state) == ("draft", "submitted")
    assert AuditEntry.objects.filter(
        action="filing.submit.unit_registration", object_id=str(draft.pk)
    ).exists()


def test_submit_without_code_is_refused(client, draft):
    client.post(f"/register/{draft.serial_no}/code/")
    response = submit(client, draft, "")  # what a browser posts with the box left empty
    assert response.status_code == 200
    assert form_errors(response)["code"] == ["请填写短信验证码"]
    assert_still_draft(draft)
    # A post without the field at all does not submit either.
    assert submit(client, draft, None).status_code == 200
    assert_still_draft(draft)


def test_submit_without_any_code_sent_is_refused(client, draft):
    response = submit(client, draft, "123456")
    assert form_errors(response)["code"] == ["验证码已失效，请重新获取"]
    assert_still_draft(draft)


def test_submit_with_wrong_code_is_refused(client, draft):
    client.post(f"/register/{draft.serial_no}/code/")
    right = last_sms_code(MOBILE)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"

    response = submit(client, draft, wrong)

    assert response.status_code == 200
    assert form_errors(response)["code"] == ["验证码错误，还可尝试 4 次"]
    assert_still_draft(draft)
    # The right code still works afterwards.
    assert submit(client, draft, right).status_code == 302


def test_five_wrong_codes_void_the_code(client, draft):
    client.post(f"/register/{draft.serial_no}/code/")
    right = last_sms_code(MOBILE)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for _ in range(4):
        submit(client, draft, wrong)
    response = submit(client, draft, wrong)
    assert form_errors(response)["code"] == ["验证码错误次数过多，已失效，请重新获取"]

    response = submit(client, draft, right)
    assert form_errors(response)["code"] == ["验证码已失效，请重新获取"]
    assert_still_draft(draft)


def test_submit_with_expired_code_is_refused(client, draft):
    client.post(f"/register/{draft.serial_no}/code/")
    code = last_sms_code(MOBILE)
    VerificationCode.objects.filter(VerificationCode.mobile.q(MOBILE)).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    response = submit(client, draft, code)

    assert form_errors(response)["code"] == ["验证码已失效，请重新获取"]
    assert_still_draft(draft)


def test_code_cannot_be_used_twice(client, region_bj):
    first = apply_online(client)
    client.post(f"/register/{first.serial_no}/code/")
    code = last_sms_code(MOBILE)
    assert submit(client, first, code).status_code == 302

    second = apply_online(client, uscc=uscc(2))
    response = submit(client, second, code)
    assert form_errors(response)["code"] == ["验证码已失效，请重新获取"]
    assert_still_draft(second)


def test_code_of_another_purpose_is_refused(client, draft):
    verification_code_send(mobile=MOBILE, purpose="login")
    response = submit(client, draft, last_sms_code(MOBILE))
    assert form_errors(response)["code"] == ["验证码已失效，请重新获取"]
    assert_still_draft(draft)


def test_non_numeric_code_is_refused(client, draft):
    client.post(f"/register/{draft.serial_no}/code/")
    response = submit(client, draft, "12ab56")
    assert form_errors(response)["code"] == ["请输入6位数字验证码"]
    assert_still_draft(draft)


def test_code_goes_only_to_the_contact_mobile(client, draft):
    client.post(f"/register/{draft.serial_no}/code/", {"mobile": OTHER_MOBILE})
    assert not SmsMessage.objects.filter(SmsMessage.mobile.q(OTHER_MOBILE)).exists()
    assert (
        SmsMessage.objects.filter(SmsMessage.mobile.q(MOBILE), purpose="unit_registration").count()
        == 1
    )


def test_code_is_resent_only_after_a_minute(client, draft):
    client.post(f"/register/{draft.serial_no}/code/")
    response = client.post(f"/register/{draft.serial_no}/code/")
    assert "秒后再重新获取" in response.content.decode()
    assert SmsMessage.objects.filter(SmsMessage.mobile.q(MOBILE)).count() == 1
    age_codes(MOBILE)
    client.post(f"/register/{draft.serial_no}/code/")
    assert SmsMessage.objects.filter(SmsMessage.mobile.q(MOBILE)).count() == 2


def test_another_browser_can_neither_send_a_code_nor_submit(draft):
    stranger = Client()
    assert stranger.post(f"/register/{draft.serial_no}/code/").status_code == 404
    assert not SmsMessage.objects.exists()
    verification_code_send(mobile=MOBILE, purpose="unit_registration")
    assert submit(stranger, draft, last_sms_code(MOBILE)).status_code == 404
    assert_still_draft(draft)


def test_code_follows_the_contact_mobile_after_an_edit(client, draft):
    """The code goes to the mobile written on the application at the time it is sent."""
    response = client.post(
        f"/register/{draft.serial_no}/edit/", registration_data(contact_mobile=OTHER_MOBILE)
    )
    assert response.status_code == 302, form_errors(response)
    client.post(f"/register/{draft.serial_no}/code/")
    assert not SmsMessage.objects.filter(SmsMessage.mobile.q(MOBILE)).exists()
    assert submit(client, draft, last_sms_code(OTHER_MOBILE)).status_code == 302
