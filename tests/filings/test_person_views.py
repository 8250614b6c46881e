"""Showing a person's data to staff or a unit writes a ``person.view`` audit row with the
person as the target (the PIPL export's 访问记录); refusals show and record nothing."""

import pytest

from shebao.core.audit import audit_person_views
from shebao.core.models import AuditEntry
from tests.conftest import signed_in
from tests.registry.enrolment_helpers import enrol_new, ident

pytestmark = pytest.mark.django_db


@pytest.fixture
def worker(admin_a, staff_bj):
    return enrol_new(admin_a, staff_bj, ident(1))


def views_of(person, **filters):
    return AuditEntry.objects.filter(
        action="person.view", object_type="person", object_id=str(person.pk), **filters
    )


def test_review_page_records_each_person_shown(staff_client, staff_bj, worker):
    filing = worker.enrolments.first().start_filing
    assert staff_client.get(f"/staff/filings/{filing.serial_no}/").status_code == 200
    entry = views_of(worker, actor=staff_bj).get()
    assert entry.detail == {"via": "经办后台·业务审核", "serial_no": filing.serial_no}
    assert entry.region_id == "110000"
    assert worker.id_number not in entry.object_label


def test_unit_filing_page_and_roster_person_page_record_the_operator(admin_client, admin_a, worker):
    filing = worker.enrolments.first().start_filing
    assert admin_client.get(f"/unit/filings/{filing.serial_no}/").status_code == 200
    assert admin_client.get(f"/unit/roster/{worker.person_no}/").status_code == 200
    vias = sorted(e.detail["via"] for e in views_of(worker, actor=admin_a))
    assert vias == ["单位网厅·业务详情", "单位网厅·参保职工详情"]


def test_staff_person_page_records_the_view(staff_client, staff_bj, worker):
    assert staff_client.get(f"/staff/person-lock/{worker.person_no}/").status_code == 200
    assert views_of(worker, actor=staff_bj).count() == 1


def test_refusals_record_no_view(admin_b, staff_sh, worker):
    filing = worker.enrolments.first().start_filing
    assert signed_in(staff_sh).get(f"/staff/filings/{filing.serial_no}/").status_code == 404
    assert signed_in(admin_b).get(f"/unit/roster/{worker.person_no}/").status_code == 404
    assert signed_in(admin_b).get(f"/unit/filings/{filing.serial_no}/").status_code == 404
    assert signed_in(staff_sh).get(f"/staff/person-lock/{worker.person_no}/").status_code == 404
    assert not views_of(worker, actor__in=[admin_b, staff_sh]).exists()


def test_audit_person_views_masks_and_writes_one_row_per_person(person, staff_bj):
    assert audit_person_views(actor=staff_bj, persons=[person], via=f"测试 {person.id_number}") == 1
    entry = views_of(person).get()
    assert entry.detail["via"] == "测试 1101**********002X"
    assert audit_person_views(actor=staff_bj, persons=[], via="无") == 0
