"""Unit first registration, the applicant's side after submitting: the application is private to
the browser that made it; another browser reopens it with serial number + contact mobile + SMS
code, fixes a returned application and resubmits it, or cancels it (退单)."""

import pytest
from django.test import Client

from shebao.core.models import SmsMessage
from shebao.core.verification import verification_code_send
from shebao.filings.models import Filing, FilingMaterial, FilingState, FilingStep
from shebao.filings.services import filing_approve, filing_return
from shebao.registry.models import Unit
from tests.conftest import VALID_USCC, jpeg_bytes, last_sms_code, registration_data
from tests.factories import PASSWORD
from tests.registry.flow import (
    MOBILE,
    age_codes,
    apply_online,
    form_errors,
    make_draft,
    make_submitted,
    material_files,
    media_files,
    page_messages,
    small_files,
    submit_online,
    upload,
    uscc,
)

pytestmark = pytest.mark.django_db

REASON = "法定代表人身份证号码与营业执照不一致"
WRONG_MOBILE = "13800000009"


@pytest.fixture
def returned(staff_bj, region_bj):
    filing = make_submitted()
    filing_return(actor=staff_bj, filing_id=filing.pk, reason=REASON)
    filing.refresh_from_db()
    return filing


def reopen(browser: Client, filing: Filing, mobile: str = MOBILE):
    """Reopen in `browser`: ask for the code, then post serial + mobile + code."""
    age_codes(mobile)
    browser.post("/register/reopen/code/", {"serial_no": filing.serial_no, "mobile": mobile})
    return browser.post(
        "/register/reopen/",
        {"serial_no": filing.serial_no, "mobile": mobile, "code": last_sms_code(mobile)},
    )


# --- private to its browser ---------------------------------------------------------------------


def test_another_browser_cannot_see_or_touch_the_application(region_bj):
    filing = apply_online(Client())
    stranger = Client()
    for url in ("", "edit/", "submit/"):
        assert stranger.get(f"/register/{filing.serial_no}/{url}").status_code == 404
    assert stranger.post(f"/register/{filing.serial_no}/cancel/").status_code == 404
    assert (
        stranger.post(
            f"/register/{filing.serial_no}/edit/", registration_data(name="篡改")
        ).status_code
        == 404
    )
    filing.refresh_from_db()
    assert filing.state == FilingState.DRAFT
    assert filing.payload["name"] == "新注册科技有限公司"


def test_unknown_serial_is_404(client, region_bj):
    apply_online(client)
    assert client.get("/register/20000101000001/").status_code == 404


# --- reopen --------------------------------------------------------------------------------------


def test_reopen_with_wrong_mobile_sends_nothing_and_fails(returned):
    browser = Client()
    sms_before = SmsMessage.objects.count()

    response = browser.post(
        "/register/reopen/code/", {"serial_no": returned.serial_no, "mobile": WRONG_MOBILE}
    )

    assert response.status_code == 200
    assert "未找到该流水号的申请" in response.content.decode()
    assert SmsMessage.objects.count() == sms_before

    response = browser.post(
        "/register/reopen/",
        {"serial_no": returned.serial_no, "mobile": WRONG_MOBILE, "code": "123456"},
    )
    assert response.status_code == 200
    assert form_errors(response)
    assert browser.get(f"/register/{returned.serial_no}/").status_code == 404


def test_reopen_accepts_the_mobile_as_people_type_it(returned):
    """Spaces between the digit groups (or full-width digits): the send button finds the
    application by the canonical mobile, like the form does."""
    browser = Client()
    spaced = f"{MOBILE[:3]} {MOBILE[3:7]} {MOBILE[7:]}"
    response = browser.post(
        "/register/reopen/code/", {"serial_no": returned.serial_no, "mobile": spaced}
    )
    assert "验证码已发送" in response.content.decode()
    response = browser.post(
        "/register/reopen/",
        {"serial_no": returned.serial_no, "mobile": spaced, "code": last_sms_code(MOBILE)},
    )
    assert response.status_code == 302
    assert browser.get(f"/register/{returned.serial_no}/").status_code == 200


def test_reopen_with_wrong_serial_sends_nothing(returned):
    sms_before = SmsMessage.objects.count()
    Client().post("/register/reopen/code/", {"serial_no": "20000101000001", "mobile": MOBILE})
    assert SmsMessage.objects.count() == sms_before


def test_reopen_with_wrong_code_fails(returned):
    browser = Client()
    browser.post("/register/reopen/code/", {"serial_no": returned.serial_no, "mobile": MOBILE})
    right = last_sms_code(MOBILE)
    response = browser.post(
        "/register/reopen/",
        {
            "serial_no": returned.serial_no,
            "mobile": MOBILE,
            "code": f"{(int(right) + 1) % 1_000_000:06d}",
        },
    )
    assert form_errors(response)["code"] == ["验证码错误，还可尝试 4 次"]
    assert browser.get(f"/register/{returned.serial_no}/").status_code == 404


def test_reopen_with_right_mobile_and_code_gives_access(returned):
    browser = Client()
    response = reopen(browser, returned)
    assert response.status_code == 302
    assert response["Location"] == f"/register/{returned.serial_no}/"
    page = browser.get(f"/register/{returned.serial_no}/").content.decode()
    assert REASON in page
    assert "已回退" in page


def test_reopen_code_of_another_purpose_is_refused(returned):
    """The code that submits an application does not reopen one."""
    browser = Client()
    age_codes(MOBILE)
    verification_code_send(mobile=MOBILE, purpose="unit_registration")
    response = browser.post(
        "/register/reopen/",
        {"serial_no": returned.serial_no, "mobile": MOBILE, "code": last_sms_code(MOBILE)},
    )
    assert "code" in form_errors(response)
    assert browser.get(f"/register/{returned.serial_no}/").status_code == 404


# --- fix, resubmit, approve ---------------------------------------------------------------------


def test_fix_returned_application_resubmit_and_approve(returned, staff_bj):
    old_files = media_files()
    browser = Client()
    reopen(browser, returned)

    edit = browser.get(f"/register/{returned.serial_no}/edit/")
    assert edit.status_code == 200
    assert REASON in edit.content.decode()
    # Fix a field; no new files, no new password: both are kept.
    response = browser.post(
        f"/register/{returned.serial_no}/edit/",
        registration_data(address="北京市海淀区更正路9号", password="", password2=""),
    )
    assert response.status_code == 302, form_errors(response)
    assert response["Location"] == f"/register/{returned.serial_no}/submit/"
    returned.refresh_from_db()
    assert returned.state == FilingState.RETURNED
    assert returned.payload["address"] == "北京市海淀区更正路9号"
    assert returned.materials.count() == 3
    assert media_files() == old_files

    submit_online(browser, returned)

    returned.refresh_from_db()
    assert returned.state == FilingState.SUBMITTED
    assert returned.was_returned
    actions = list(returned.steps.values_list("action", flat=True))
    assert actions == ["create", "submit", "return", "edit", "submit"]

    filing_approve(actor=staff_bj, filing_id=returned.pk)
    unit = Unit.objects.get(uscc=VALID_USCC)
    assert unit.address == "北京市海淀区更正路9号"
    # The password chosen at the first application still signs in.
    response = Client().post(
        "/accounts/unit/login/",
        {"unit_key": unit.unit_no, "account": "zhaoadmin", "password": PASSWORD},
    )
    assert response.status_code == 302
    page = browser.get(f"/register/{returned.serial_no}/").content.decode()
    assert unit.unit_no in page


def test_edit_replaces_one_material_and_keeps_the_others(returned):
    browser = Client()
    reopen(browser, returned)
    before = {m.slot: m.sha256 for m in returned.materials.all()}
    new_licence = upload("新执照.jpg", jpeg_bytes((500, 400), color=(10, 120, 200)))
    response = browser.post(
        f"/register/{returned.serial_no}/edit/",
        {**registration_data(password="", password2=""), "licence": new_licence},
    )
    assert response.status_code == 302, form_errors(response)
    after = {m.slot: m for m in returned.materials.all()}
    assert after["licence"].original_name == "新执照.jpg"
    assert after["licence"].sha256 != before["licence"]
    assert after["legal_rep_id_front"].sha256 == before["legal_rep_id_front"]
    assert FilingMaterial.objects.count() == 3


def test_replaced_material_file_is_removed_from_storage(
    returned, django_capture_on_commit_callbacks
):
    browser = Client()
    reopen(browser, returned)
    old_licence = returned.materials.get(slot="licence").file.name
    with django_capture_on_commit_callbacks(execute=True):
        browser.post(
            f"/register/{returned.serial_no}/edit/",
            {
                **registration_data(password="", password2=""),
                "licence": upload("新执照.jpg", jpeg_bytes((500, 400), color=(10, 120, 200))),
            },
        )
    assert returned.materials.get(slot="licence").file.name != old_licence
    assert len(media_files()) == 3
    assert old_licence not in {str(p).split("media/", 1)[-1] for p in media_files()}


def test_bad_edit_changes_nothing(returned):
    browser = Client()
    reopen(browser, returned)
    files_before = material_files()
    response = browser.post(
        f"/register/{returned.serial_no}/edit/",
        {
            **registration_data(address="新地址", contact_mobile="123"),
            **small_files(licence=upload("x.jpg", b"GIF89a not really")),
        },
    )
    assert response.status_code == 200
    assert "contact_mobile" in form_errors(response)
    returned.refresh_from_db()
    assert returned.payload["address"] == "北京市海淀区测试路8号"
    assert material_files() == files_before  # the good uploads are only kept for the form
    assert not returned.steps.filter(action=FilingStep.Action.EDIT).exists()


def test_bad_material_in_edit_changes_nothing(returned):
    browser = Client()
    reopen(browser, returned)
    files_before = media_files()
    response = browser.post(
        f"/register/{returned.serial_no}/edit/",
        {
            **registration_data(address="新地址", password="", password2=""),
            "licence": upload("x.jpg", b"GIF89a not really"),
        },
    )
    assert response.status_code == 200
    assert "文件类型" in form_errors(response)["licence"][0]
    returned.refresh_from_db()
    assert returned.payload["address"] == "北京市海淀区测试路8号"
    assert media_files() == files_before


def test_edit_cannot_move_the_application_to_another_region(returned, region_sh):
    browser = Client()
    reopen(browser, returned)
    response = browser.post(
        f"/register/{returned.serial_no}/edit/",
        registration_data(
            region="310000", insurance_place="上海市市本级", password="", password2=""
        ),
    )
    assert form_errors(response)["region"] == ["统筹区提交后不能修改，如需更改请退单后重新申请"]
    returned.refresh_from_db()
    assert returned.region_id == "110000"


def test_edit_to_the_uscc_of_another_open_application_is_refused(returned):
    make_draft(uscc=uscc(5), admin_account="otheradmin")
    browser = Client()
    reopen(browser, returned)
    response = browser.post(
        f"/register/{returned.serial_no}/edit/",
        registration_data(uscc=uscc(5), password="", password2=""),
    )
    assert form_errors(response)["uscc"] == [
        "该统一社会信用代码已有参保登记申请正在办理，不能重复申请"
    ]
    returned.refresh_from_db()
    assert returned.subject_key == VALID_USCC


def test_submitted_application_cannot_be_edited(client, region_bj):
    filing = apply_online(client)
    submit_online(client, filing)
    response = client.post(
        f"/register/{filing.serial_no}/edit/", registration_data(name="提交后再改")
    )
    assert response.status_code == 302
    assert response["Location"] == f"/register/{filing.serial_no}/"
    filing.refresh_from_db()
    assert filing.payload["name"] == "新注册科技有限公司"
    assert filing.state == FilingState.SUBMITTED


# --- cancel (退单) -------------------------------------------------------------------------------


def test_cancel_returned_application_then_apply_again(returned):
    browser = Client()
    reopen(browser, returned)

    response = browser.post(f"/register/{returned.serial_no}/cancel/")

    assert response.status_code == 302
    returned.refresh_from_db()
    assert returned.state == FilingState.CANCELLED
    assert Filing.objects.filter(serial_no=returned.serial_no).exists()
    step = returned.steps.get(action=FilingStep.Action.CANCEL)
    assert (step.from_state, step.to_state) == ("returned", "cancelled")
    page = browser.get(f"/register/{returned.serial_no}/").content.decode()
    assert "已退单" in page
    # A cancelled application cannot be edited or submitted any more.
    edit = browser.post(f"/register/{returned.serial_no}/edit/", registration_data(name="改"))
    assert edit.status_code == 302
    returned.refresh_from_db()
    assert returned.payload["name"] == "新注册科技有限公司"

    again = apply_online(browser)
    assert again.pk != returned.pk
    assert again.serial_no > returned.serial_no
    assert again.subject_key == returned.subject_key == VALID_USCC
    assert again.state == FilingState.DRAFT


def test_cancelled_application_cannot_be_reopened(returned):
    browser = Client()
    reopen(browser, returned)
    browser.post(f"/register/{returned.serial_no}/cancel/")
    sms_before = SmsMessage.objects.count()
    age_codes(MOBILE)
    response = Client().post(
        "/register/reopen/code/", {"serial_no": returned.serial_no, "mobile": MOBILE}
    )
    assert "未找到该流水号的申请" in response.content.decode()
    assert SmsMessage.objects.count() == sms_before


def test_cancel_a_draft(client, region_bj):
    filing = apply_online(client)
    client.post(f"/register/{filing.serial_no}/cancel/")
    filing.refresh_from_db()
    assert filing.state == FilingState.CANCELLED


def test_submitted_application_cannot_be_cancelled(client, region_bj):
    filing = apply_online(client)
    submit_online(client, filing)
    response = client.post(f"/register/{filing.serial_no}/cancel/", follow=True)
    assert "只有待提交或已回退的业务可以退单" in page_messages(response)
    filing.refresh_from_db()
    assert filing.state == FilingState.SUBMITTED


def test_cancel_needs_post(client, region_bj):
    filing = apply_online(client)
    assert client.get(f"/register/{filing.serial_no}/cancel/").status_code == 405
    filing.refresh_from_db()
    assert filing.state == FilingState.DRAFT


def test_a_form_wide_error_of_reopen_shows_once(client, region_bj, monkeypatch):
    from django.core.exceptions import ValidationError

    from shebao.registry.registration import services

    def not_found(**kwargs):
        raise ValidationError(services.NOT_FOUND)

    monkeypatch.setattr(services, "registration_reopen", not_found)
    response = client.post(
        "/register/reopen/", {"serial_no": "20250101000001", "mobile": MOBILE, "code": "123456"}
    )
    assert response.content.decode().count(services.NOT_FOUND) == 1
