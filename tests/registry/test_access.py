"""The access module: the actor's own object, or a refusal audited as ``<domain>.<action>`` with
outcome denied: PermissionDenied for the wrong kind of user, 404 for another tenant's object
(exactly like a missing one)."""

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.test import Client

from shebao.core.models import AuditEntry
from shebao.filings.business import BusinessKind
from shebao.filings.models import Filing
from shebao.registry import access
from shebao.registry.enrolment.services import enrolment_save
from tests.conftest import signed_in
from tests.factories import make_operator
from tests.registry.enrolment_helpers import enrol_data, ident

pytestmark = pytest.mark.django_db


def denied(action: str) -> int:
    return AuditEntry.objects.filter(action=action, outcome=AuditEntry.Outcome.DENIED).count()


def test_operator_unit_for_an_allowed_operator(admin_a, unit_a):
    unit = access.access_operator_unit(admin_a, business_kind=BusinessKind.WAGE, action="x.y")
    assert unit == unit_a and denied("x.y") == 0


def test_operator_unit_refuses_other_kinds_and_businesses_and_inactive(
    admin_a, unit_a, staff_bj, person_user
):
    clerk = make_operator(unit_a, "clerk", [BusinessKind.ENROLMENT])
    for actor in (clerk, staff_bj, person_user, None):
        with pytest.raises(PermissionDenied):
            access.access_operator_unit(actor, business_kind=BusinessKind.WAGE, action="wage.x")
    admin_a.is_active = False
    with pytest.raises(PermissionDenied):
        access.access_operator_unit(admin_a, business_kind=BusinessKind.WAGE, action="wage.x")
    assert denied("wage.x") == 5


def test_unit_filing_of_another_unit_is_404_and_audited(admin_a, admin_b):
    filing = enrolment_save(actor=admin_a, data=enrol_data(ident(11)))
    own = access.access_unit_filing(admin_a, serial_no=filing.serial_no, kind="enrolment")
    assert own == filing
    for kind in ("enrolment", ("stop", "enrolment")):
        with pytest.raises(Http404):
            access.access_unit_filing(admin_b, serial_no=filing.serial_no, kind=kind)
    with pytest.raises(Http404):  # the right unit, another kind
        access.access_unit_filing(admin_a, serial_no=filing.serial_no, kind="stop")
    assert denied("enrolment.open") == 1 and denied("stop.open") == 2


def test_the_filing_pages_audit_another_units_filing(admin_a, admin_b, staff_sh):
    filing = enrolment_save(actor=admin_a, data=enrol_data(ident(12)))
    assert signed_in(admin_b).get(f"/unit/filings/{filing.serial_no}/").status_code == 404
    assert signed_in(admin_b).get(f"/unit/enrolment/{filing.serial_no}/").status_code == 404
    assert signed_in(staff_sh).get(f"/staff/filings/{filing.serial_no}/").status_code == 404
    assert denied("filing.open") == 2 and denied("enrolment.open") == 1
    assert Filing.objects.get(pk=filing.pk).unit_id == admin_a.unit_id


def test_staff_region_own_other_and_not_staff(staff_bj, region_bj, region_sh, admin_a):
    assert access.access_staff_region(staff_bj, region=region_bj, action="r.x") == region_bj
    assert access.access_staff_region(staff_bj, region="110000", action="r.x") == region_bj
    with pytest.raises(Http404):
        access.access_staff_region(staff_bj, region=region_sh, action="r.x")
    with pytest.raises(PermissionDenied):
        access.access_staff_region(admin_a, region=region_bj, action="r.x")
    with pytest.raises(PermissionDenied):
        access.require_staff(Client().get("/").wsgi_request.user, action="r.x")
    assert denied("r.x") == 3


def test_page_refusals_of_queries_and_changes_are_audited(admin_a, unit_a):
    clerk = make_operator(unit_a, "clerk", [BusinessKind.ENROLMENT])
    client = signed_in(clerk)
    assert client.get("/unit/roster/").status_code == 403
    assert client.get("/unit/changes/unit/key/").status_code == 403
    assert denied("query.view") == 1 and denied("unit_key_change.view") == 1
