"""A draft saved before a field became required (industry from the list, bank name/account):
the submit page names what is missing and links to 修改, and sends or uses no SMS code."""

import pytest

from shebao.core.models import SmsMessage
from shebao.core.verification import verification_code_check
from shebao.filings.models import Filing, FilingState
from tests.conftest import last_sms_code
from tests.registry.flow import MOBILE, age_codes, apply_online

pytestmark = pytest.mark.django_db


def old_draft(client) -> Filing:
    filing = apply_online(client)
    payload = dict(filing.payload)
    payload.update(industry="软件业", bank_name="", bank_account="")
    Filing.objects.filter(pk=filing.pk).update(payload=payload)
    filing.refresh_from_db()
    return filing


def test_the_submit_page_names_the_missing_fields_and_links_to_edit(client, region_bj):
    filing = old_draft(client)
    html = client.get(f"/register/{filing.serial_no}/submit/").content.decode()
    assert "申请信息不完整" in html
    for label in ("所属行业", "开户银行", "银行账号"):
        assert f"<li>{label}：" in html
    assert f'href="/register/{filing.serial_no}/edit/"' in html
    assert 'name="code"' not in html  # no code is asked for


def test_no_code_is_sent_or_used_for_an_incomplete_draft(client, region_bj):
    filing = old_draft(client)
    age_codes(MOBILE)
    before = SmsMessage.objects.count()
    response = client.post(f"/register/{filing.serial_no}/code/")
    assert "申请信息不完整" in response.content.decode()
    assert SmsMessage.objects.count() == before

    # A code sent earlier (before the check existed) is not used up by a submit attempt.
    from shebao.core.verification import verification_code_send

    age_codes(MOBILE)
    verification_code_send(mobile=MOBILE, purpose="unit_registration")
    code = last_sms_code(MOBILE)
    response = client.post(f"/register/{filing.serial_no}/submit/", {"code": code})
    assert response.status_code == 200
    filing.refresh_from_db()
    assert filing.state == FilingState.DRAFT
    verification_code_check(mobile=MOBILE, purpose="unit_registration", code=code)


def test_a_complete_draft_shows_the_code_form(client, region_bj):
    filing = apply_online(client)
    html = client.get(f"/register/{filing.serial_no}/submit/").content.decode()
    assert "申请信息不完整" not in html and 'name="code"' in html
