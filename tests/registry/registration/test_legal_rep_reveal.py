"""显示完整 on the review page of a unit registration or of a unit key change replacing the
legal representative: the legal representative's full ID for staff of the filing's region,
audited every time; refused to others with nothing shown."""

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.test import Client

from shebao.core.ids import make_resident_id, mask_id_number
from shebao.core.models import AuditEntry
from shebao.filings import services as filing_services
from shebao.filings.models import Filing, FilingKind
from shebao.registry.changes import services as changes
from shebao.registry.registration.services import REVEAL_ACTION, legal_rep_id_reveal
from tests.conftest import signed_in
from tests.registry.changes_helpers import licence
from tests.registry.flow import make_submitted

pytestmark = pytest.mark.django_db

ID = "11010519491231002X"
MASKED = "1101**********002X"


@pytest.fixture
def submitted(region_bj):
    return make_submitted()


def reveal_url(filing) -> str:
    return f"/staff/filings/{filing.serial_no}/legal-rep-id/"


def reveals():
    return AuditEntry.objects.filter(action=REVEAL_ACTION, outcome="ok")


def test_review_page_shows_the_masked_id_and_the_button(staff_client, submitted):
    html = staff_client.get(f"/staff/filings/{submitted.serial_no}/").content.decode()
    assert MASKED in html and ID not in html
    assert f'hx-post="{reveal_url(submitted)}"' in html
    assert "显示完整" in html and "记入审计日志" in html
    assert not reveals().exists()


def test_htmx_reveal_shows_the_full_number_and_is_audited(staff_client, staff_bj, submitted):
    response = staff_client.post(reveal_url(submitted), HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    html = response.content.decode()
    assert ID in html and 'id="legal-rep-id"' in html
    assert "<html" not in html
    assert response["Cache-Control"] == "no-store"
    entry = reveals().get()
    assert entry.actor == staff_bj
    assert entry.region_id == "110000"
    assert entry.detail["reason"] == "核对证件影像"
    assert entry.detail["serial_no"] == submitted.serial_no
    assert entry.detail["uscc"] == submitted.payload["uscc"]
    assert ID not in str(entry.detail) and ID not in entry.object_label


def test_plain_post_without_htmx_renders_a_page(staff_client, submitted):
    response = staff_client.post(reveal_url(submitted))
    assert response.status_code == 200
    assert ID in response.content.decode() and "返回审核页" in response.content.decode()
    assert reveals().count() == 1


def test_get_is_not_allowed(staff_client, submitted):
    assert staff_client.get(reveal_url(submitted)).status_code == 405
    assert not reveals().exists()


def test_staff_of_another_region_get_404_and_nothing_is_shown(staff_sh, submitted):
    response = signed_in(staff_sh).post(reveal_url(submitted), HTTP_HX_REQUEST="true")

    assert response.status_code == 404
    assert ID not in response.content.decode()
    assert not reveals().exists()
    assert AuditEntry.objects.filter(actor=staff_sh, outcome="denied").exists()
    with pytest.raises(Http404):
        legal_rep_id_reveal(actor=staff_sh, serial_no=submitted.serial_no)


def test_operators_persons_and_anonymous_are_refused(admin_client, person_user, submitted):
    assert admin_client.post(reveal_url(submitted)).status_code == 403
    assert signed_in(person_user).post(reveal_url(submitted)).status_code == 403
    assert Client().post(reveal_url(submitted)).status_code == 302
    with pytest.raises(PermissionDenied):
        legal_rep_id_reveal(actor=person_user, serial_no=submitted.serial_no)
    assert not reveals().exists()


def test_unknown_serial_and_other_kinds_answer_404(staff_client, staff_bj, submitted):
    assert staff_client.post("/staff/filings/20990101000001/legal-rep-id/").status_code == 404
    with pytest.raises(Http404):
        legal_rep_id_reveal(actor=staff_bj, serial_no="nope")
    assert not reveals().exists()


# --- a unit key change replacing the legal representative -----------------------------------

NEW_REP_ID = make_resident_id("110101", date(1970, 1, 2), 33)


def key_change(admin, **after) -> Filing:
    filing = changes.unit_change_save(
        actor=admin,
        kind=FilingKind.UNIT_KEY_CHANGE,
        after=after,
        materials=licence(legal_rep="legal_rep_id_number" in after),
    )
    return filing_services.filing_submit(actor=admin, filing=filing)


@pytest.fixture
def rep_change(admin_a):
    return key_change(admin_a, legal_rep_name="赵新法人", legal_rep_id_number=NEW_REP_ID)


def test_key_change_review_page_masks_the_new_legal_rep_id_and_offers_the_reveal(
    staff_client, rep_change
):
    html = staff_client.get(f"/staff/filings/{rep_change.serial_no}/").content.decode()
    assert mask_id_number(NEW_REP_ID) in html and NEW_REP_ID not in html
    assert f'hx-post="{reveal_url(rep_change)}"' in html


def test_key_change_reveal_shows_the_new_legal_rep_id_and_is_audited(
    staff_client, staff_bj, admin_a, rep_change
):
    response = staff_client.post(reveal_url(rep_change), HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert NEW_REP_ID in response.content.decode()
    assert legal_rep_id_reveal(actor=staff_bj, serial_no=rep_change.serial_no) == NEW_REP_ID
    entry = reveals().first()
    assert reveals().count() == 2
    assert entry.actor == staff_bj and entry.region_id == "110000"
    assert entry.detail["kind"] == FilingKind.UNIT_KEY_CHANGE
    assert entry.detail["unit"] == admin_a.unit.unit_no
    assert entry.detail["uscc"] == admin_a.unit.uscc
    assert NEW_REP_ID not in str(entry.detail) and NEW_REP_ID not in entry.object_label


def test_key_change_reveal_is_404_to_another_regions_staff(staff_sh, rep_change):
    response = signed_in(staff_sh).post(reveal_url(rep_change), HTTP_HX_REQUEST="true")
    assert response.status_code == 404
    assert NEW_REP_ID not in response.content.decode()
    with pytest.raises(Http404):
        legal_rep_id_reveal(actor=staff_sh, serial_no=rep_change.serial_no)
    assert not reveals().exists()


def test_key_change_reveal_is_refused_to_operators_persons_and_anonymous(
    admin_client, person_user, rep_change
):
    assert admin_client.post(reveal_url(rep_change)).status_code == 403
    assert signed_in(person_user).post(reveal_url(rep_change)).status_code == 403
    assert Client().post(reveal_url(rep_change)).status_code == 302
    with pytest.raises(PermissionDenied):
        legal_rep_id_reveal(actor=person_user, serial_no=rep_change.serial_no)
    assert not reveals().exists()


def test_key_change_keeping_the_legal_rep_has_no_reveal(staff_client, staff_bj, admin_a):
    filing = key_change(admin_a, name="新名称有限公司")
    html = staff_client.get(f"/staff/filings/{filing.serial_no}/").content.decode()
    assert reveal_url(filing) not in html
    assert staff_client.post(reveal_url(filing)).status_code == 404
    assert not reveals().exists()
