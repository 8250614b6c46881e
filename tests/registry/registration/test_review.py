"""Unit first registration, staff review: approve (the unit, its number, its first operator who
can sign in, the SMS), return with a reason, and who may do either."""

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.test import Client

from shebao.accounts.models import UnitOnlineRegistration, User
from shebao.core.models import AuditEntry, SmsMessage
from shebao.filings.models import Filing, FilingState, FilingStep
from shebao.filings.services import filing_approve, filing_return
from shebao.registry.models import Unit
from shebao.registry.services import unit_create
from tests.conftest import VALID_USCC, last_sms_code, registration_data, signed_in
from tests.factories import PASSWORD
from tests.registry.flow import MOBILE, make_draft, make_submitted, page_messages, uscc

pytestmark = pytest.mark.django_db

REASON = "营业执照照片不清晰，请重新拍照上传"


@pytest.fixture
def submitted(region_bj):
    return make_submitted()


def review_url(filing: Filing) -> str:
    return f"/staff/filings/{filing.serial_no}/"


def snapshot(filing: Filing) -> tuple:
    filing.refresh_from_db()
    return (
        filing.state,
        filing.unit_id,
        filing.return_reason,
        filing.was_returned,
        filing.decided_by_id,
    )


def assert_untouched(filing: Filing) -> None:
    assert snapshot(filing) == (FilingState.SUBMITTED, None, "", False, None)
    assert not Unit.objects.exists()
    assert not User.objects.filter(kind=User.Kind.OPERATOR).exists()
    assert not filing.steps.filter(action__in=["approve", "return"]).exists()


# --- approve -----------------------------------------------------------------------------------


def test_review_page_shows_the_application_with_masked_id(staff_client, submitted):
    response = staff_client.get(review_url(submitted))
    assert response.status_code == 200
    html = response.content.decode()
    assert submitted.serial_no in html
    assert "1101**********002X" in html
    assert "11010519491231002X" not in html
    assert "admin_password_hash" not in html and "md5$" not in html


def test_approve_creates_unit_operator_and_tells_the_contact(staff_client, staff_bj, submitted):
    response = staff_client.post(review_url(submitted), {"action": "approve", "note": "材料齐全"})

    assert response.status_code == 302
    assert response["Location"] == "/staff/filings/"
    submitted.refresh_from_db()
    assert submitted.state == FilingState.APPROVED
    assert submitted.decided_by == staff_bj and submitted.decided_at is not None

    unit = Unit.objects.get()
    assert submitted.unit == unit
    assert unit.uscc == VALID_USCC
    assert unit.region_id == "110000"
    assert unit.unit_no.startswith("110000") and len(unit.unit_no) == 12
    assert unit.name == "新注册科技有限公司"
    assert unit.contact_mobile == MOBILE
    assert unit.legal_rep_id_number == "11010519491231002X"

    registration = UnitOnlineRegistration.objects.get(unit=unit)
    assert registration.via == UnitOnlineRegistration.Via.FIRST_REGISTRATION
    assert registration.revoked_at is None
    admin = User.objects.get(kind=User.Kind.OPERATOR)
    assert (admin.unit, admin.registration) == (unit, registration)
    assert admin.operator_account == "zhaoadmin"
    assert admin.is_unit_admin and admin.is_active
    assert admin.mobile == MOBILE
    assert admin.check_password(PASSWORD)

    sms = SmsMessage.objects.filter(SmsMessage.mobile.q(MOBILE)).order_by("-id").first()
    assert "审核通过" in sms.text
    assert unit.unit_no in sms.text and "zhaoadmin" in sms.text and "登录" in sms.text

    steps = list(submitted.steps.values_list("action", "from_state", "to_state"))
    assert steps == [
        ("create", "", "draft"),
        ("submit", "draft", "submitted"),
        ("approve", "submitted", "approved"),
    ]
    assert submitted.steps.get(action="approve").note == "材料齐全"
    assert submitted.steps.get(action="approve").actor == staff_bj

    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {
        "filing.create.unit_registration",
        "filing.submit.unit_registration",
        "unit.create",
        "filing.approve.unit_registration",
    } <= actions
    approve = AuditEntry.objects.get(action="filing.approve.unit_registration")
    assert approve.actor == staff_bj and approve.region_id == "110000" and approve.outcome == "ok"
    assert AuditEntry.objects.get(action="unit.create").object_id == str(unit.pk)


def test_approved_administrator_signs_in_with_password_and_sms(staff_client, submitted):
    staff_client.post(review_url(submitted), {"action": "approve"})
    unit = Unit.objects.get()
    browser = Client()

    response = browser.post(
        "/accounts/unit/login/",
        {"unit_key": unit.unit_no, "account": "zhaoadmin", "password": PASSWORD},
    )
    assert response.status_code == 302 and response["Location"] == "/accounts/verify/"
    response = browser.post("/accounts/verify/", {"code": last_sms_code(MOBILE)})
    assert response.status_code == 302 and response["Location"] == "/unit/"

    home = browser.get("/unit/")
    assert home.status_code == 200
    assert unit.name in home.content.decode()


def test_administrator_signs_in_with_uscc_too_but_not_with_a_wrong_password(
    staff_client, submitted
):
    staff_client.post(review_url(submitted), {"action": "approve"})
    wrong = Client().post(
        "/accounts/unit/login/",
        {"unit_key": VALID_USCC, "account": "zhaoadmin", "password": "Wr0ng!pass"},
    )
    assert wrong.status_code == 200
    assert "账号或密码错误" in wrong.content.decode()
    right = Client().post(
        "/accounts/unit/login/",
        {"unit_key": VALID_USCC, "account": "zhaoadmin", "password": PASSWORD},
    )
    assert right.status_code == 302


def test_approving_an_approved_filing_is_refused_without_a_second_unit(staff_client, submitted):
    staff_client.post(review_url(submitted), {"action": "approve"})
    sms_before = SmsMessage.objects.count()

    response = staff_client.post(review_url(submitted), {"action": "approve"})

    assert response.status_code == 200
    assert any("已办结" in m and "已由他人处理" in m for m in page_messages(response))
    assert Unit.objects.count() == 1
    assert UnitOnlineRegistration.objects.count() == 1
    assert User.objects.filter(kind=User.Kind.OPERATOR).count() == 1
    assert submitted.steps.filter(action="approve").count() == 1
    assert SmsMessage.objects.count() == sms_before


def test_approving_when_the_uscc_was_registered_meanwhile_changes_nothing(
    staff_client, staff_bj, region_bj, submitted
):
    unit_create(
        actor=staff_bj,
        region=region_bj,
        fields={**registration_data(name="窗口先登记的单位"), "injury_risk_class": 1},
    )
    sms_before = SmsMessage.objects.count()

    response = staff_client.post(review_url(submitted), {"action": "approve"})

    assert response.status_code == 200
    assert any("已登记参保" in m for m in page_messages(response))
    submitted.refresh_from_db()
    assert submitted.state == FilingState.SUBMITTED and submitted.unit is None
    assert Unit.objects.count() == 1
    assert not UnitOnlineRegistration.objects.exists()
    assert not User.objects.filter(kind=User.Kind.OPERATOR).exists()
    assert SmsMessage.objects.count() == sms_before
    assert not AuditEntry.objects.filter(action="filing.approve.unit_registration").exists()


# --- return ------------------------------------------------------------------------------------


def test_return_with_reason(staff_client, staff_bj, submitted):
    response = staff_client.post(review_url(submitted), {"action": "return", "reason": REASON})

    assert response.status_code == 302
    submitted.refresh_from_db()
    assert submitted.state == FilingState.RETURNED
    assert submitted.was_returned
    assert submitted.return_reason == REASON
    assert submitted.decided_by == staff_bj
    assert not Unit.objects.exists()
    step = submitted.steps.get(action=FilingStep.Action.RETURN)
    assert (step.from_state, step.to_state, step.note) == ("submitted", "returned", REASON)
    sms = SmsMessage.objects.filter(SmsMessage.mobile.q(MOBILE)).order_by("-id").first()
    assert submitted.serial_no in sms.text
    assert "退回" in sms.text and REASON in sms.text
    entry = AuditEntry.objects.get(action="filing.return.unit_registration")
    assert entry.detail == {"reason": REASON}


@pytest.mark.parametrize("reason", ["", "   "])
def test_return_without_reason_is_refused(staff_client, submitted, reason):
    sms_before = SmsMessage.objects.count()
    response = staff_client.post(review_url(submitted), {"action": "return", "reason": reason})
    assert response.status_code == 200
    assert response.context["return_form"].errors["reason"] == ["请填写回退原因"]
    assert_untouched(submitted)
    assert SmsMessage.objects.count() == sms_before


def test_return_reason_over_500_characters_is_refused(staff_client, submitted):
    response = staff_client.post(review_url(submitted), {"action": "return", "reason": "长" * 501})
    assert "reason" in response.context["return_form"].errors
    assert_untouched(submitted)


def test_return_service_refuses_empty_and_long_reasons(staff_bj, submitted):
    with pytest.raises(ValidationError) as empty:
        filing_return(actor=staff_bj, filing_id=submitted.pk, reason="  ")
    assert empty.value.message_dict == {"reason": ["请填写回退原因"]}
    with pytest.raises(ValidationError) as long:
        filing_return(actor=staff_bj, filing_id=submitted.pk, reason="长" * 501)
    assert "不能超过 500 字" in long.value.message_dict["reason"][0]
    assert_untouched(submitted)


def test_returned_filing_cannot_be_approved(staff_client, submitted):
    staff_client.post(review_url(submitted), {"action": "return", "reason": REASON})
    response = staff_client.post(review_url(submitted), {"action": "approve"})
    assert any("已回退" in m for m in page_messages(response))
    assert not Unit.objects.exists()
    submitted.refresh_from_db()
    assert submitted.state == FilingState.RETURNED


# --- who may review ----------------------------------------------------------------------------


def test_staff_of_another_region_get_404_and_change_nothing(staff_sh, submitted):
    other = signed_in(staff_sh)
    assert other.get(review_url(submitted)).status_code == 404
    assert other.post(review_url(submitted), {"action": "approve"}).status_code == 404
    assert (
        other.post(review_url(submitted), {"action": "return", "reason": REASON}).status_code == 404
    )
    assert (
        other.post("/staff/filings/approve/", {"serial_no": submitted.serial_no}).status_code == 404
    )
    assert_untouched(submitted)
    assert submitted.serial_no not in other.get("/staff/filings/").content.decode()


def test_service_refuses_staff_of_another_region(staff_sh, submitted):
    with pytest.raises(Http404):
        filing_approve(actor=staff_sh, filing_id=submitted.pk)
    with pytest.raises(Http404):
        filing_return(actor=staff_sh, filing_id=submitted.pk, reason=REASON)
    assert_untouched(submitted)


def test_refused_review_by_another_region_is_audited(staff_sh, submitted):
    with pytest.raises(Http404):
        filing_approve(actor=staff_sh, filing_id=submitted.pk)
    with pytest.raises(Http404):
        filing_return(actor=staff_sh, filing_id=submitted.pk, reason=REASON)
    denied = AuditEntry.objects.filter(
        outcome=AuditEntry.Outcome.DENIED, object_id=str(submitted.pk)
    )
    assert set(denied.values_list("action", flat=True)) == {"filing.approve", "filing.return"}
    assert all(e.actor == staff_sh for e in denied)


def test_operator_is_forbidden(admin_client, admin_a, submitted):
    assert admin_client.get(review_url(submitted)).status_code == 403
    assert admin_client.post(review_url(submitted), {"action": "approve"}).status_code == 403
    assert (
        admin_client.post("/staff/filings/approve/", {"serial_no": submitted.serial_no}).status_code
        == 403
    )
    assert admin_client.get("/staff/filings/").status_code == 403
    with pytest.raises(PermissionDenied):
        filing_approve(actor=admin_a, filing_id=submitted.pk)
    with pytest.raises(PermissionDenied):
        filing_return(actor=admin_a, filing_id=submitted.pk, reason=REASON)
    # admin_a's unit exists (fixture); the application made no other.
    submitted.refresh_from_db()
    assert submitted.state == FilingState.SUBMITTED and submitted.unit is None
    assert not submitted.steps.filter(action__in=["approve", "return"]).exists()


def test_anonymous_is_sent_to_staff_sign_in(client, submitted):
    for response in (
        client.get(review_url(submitted)),
        client.post(review_url(submitted), {"action": "approve"}),
        client.post("/staff/filings/approve/", {"serial_no": submitted.serial_no}),
    ):
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/staff/login/")
        # a page opened comes back after signing in; a POST does not
        assert ("?next=" in response["Location"]) == (response.request["REQUEST_METHOD"] == "GET")
    assert_untouched(submitted)


def test_materials_visible_to_region_staff_only(staff_client, staff_sh, admin_client, submitted):
    material = submitted.materials.first()
    url = f"/materials/{material.pk}/"
    assert staff_client.get(url).status_code == 200
    assert signed_in(staff_sh).get(url).status_code == 404
    assert admin_client.get(url).status_code == 404
    assert Client().get(url).status_code == 404


# --- queue and approve-many --------------------------------------------------------------------


def test_queue_lists_submitted_filings_of_the_region(staff_client, region_bj):
    waiting = make_submitted()
    draft = make_draft(uscc=uscc(1))
    html = staff_client.get("/staff/filings/").content.decode()
    assert waiting.serial_no in html
    assert draft.serial_no not in html


def test_approve_many(staff_client, region_bj):
    first = make_submitted(uscc=uscc(1), name="甲公司", admin_account="jiaadmin")
    second = make_submitted(uscc=uscc(2), name="乙公司", admin_account="yiadmin")

    response = staff_client.post(
        "/staff/filings/approve/", {"serial_no": [first.serial_no, second.serial_no]}
    )

    assert response.status_code == 302
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert "已审核通过 2 笔业务" in messages
    for filing in (first, second):
        filing.refresh_from_db()
        assert filing.state == FilingState.APPROVED
        assert filing.unit is not None
    assert Unit.objects.count() == 2
    assert len(set(Unit.objects.values_list("unit_no", flat=True))) == 2


def test_approve_many_reports_the_ones_already_decided(staff_client, staff_bj, region_bj):
    done = make_submitted(uscc=uscc(1), admin_account="jiaadmin")
    filing_approve(actor=staff_bj, filing_id=done.pk)
    waiting = make_submitted(uscc=uscc(2), admin_account="yiadmin")

    response = staff_client.post(
        "/staff/filings/approve/", {"serial_no": [done.serial_no, waiting.serial_no]}
    )

    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert "已审核通过 1 笔业务" in messages
    assert any(m.startswith(f"{done.serial_no}：") and "已办结" in m for m in messages)
    assert Unit.objects.count() == 2
    waiting.refresh_from_db()
    assert waiting.state == FilingState.APPROVED


def test_approve_many_needs_post(staff_client, submitted):
    assert staff_client.get("/staff/filings/approve/").status_code == 405
    assert_untouched(submitted)


def test_approve_many_with_a_foreign_serial_changes_nothing(staff_client, staff_sh, region_sh):
    own = make_submitted()
    foreign = make_submitted(
        uscc=uscc(3), region="310000", insurance_place="上海市市本级", admin_account="shadmin"
    )

    response = staff_client.post(
        "/staff/filings/approve/", {"serial_no": [own.serial_no, foreign.serial_no]}
    )

    assert response.status_code == 404
    own.refresh_from_db()
    foreign.refresh_from_db()
    assert own.state == FilingState.SUBMITTED
    assert foreign.state == FilingState.SUBMITTED
    assert not Unit.objects.exists()
