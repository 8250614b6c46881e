import pytest

from shebao.filings.models import Filing, FilingState
from tests.conftest import last_sms_code, registration_data, registration_files


@pytest.mark.django_db
def test_registration_create_submit_approve(client, staff_client, region_bj):
    response = client.post("/register/", {**registration_data(), **registration_files()})
    assert response.status_code == 302, response.content.decode()[:2000]
    filing = Filing.objects.get()
    assert filing.state == FilingState.DRAFT
    assert filing.materials.count() == 3
    client.post(f"/register/{filing.serial_no}/code/")
    code = last_sms_code("13912345678")
    response = client.post(f"/register/{filing.serial_no}/submit/", {"code": code})
    assert response.status_code == 302
    filing.refresh_from_db()
    assert filing.state == FilingState.SUBMITTED
    response = staff_client.post(f"/staff/filings/{filing.serial_no}/", {"action": "approve"})
    assert response.status_code == 302
    filing.refresh_from_db()
    assert filing.state == FilingState.APPROVED
    assert filing.unit.operators.get().operator_account == "zhaoadmin"
