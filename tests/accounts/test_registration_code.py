"""Staff issue 网报注册码 (registration_code_issue) and revoke a unit's online registration
(online_registration_revoke), through the services and the back-office pages."""

import re
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from shebao.accounts.models import RegistrationCode, UnitOnlineRegistration, User
from shebao.accounts.services import (
    online_registration_revoke,
    registration_code_issue,
    unit_bind_with_code,
)
from shebao.core.models import AuditEntry
from tests.accounts.helpers import signed_in_user_id, unit_login, verify_sms
from tests.conftest import signed_in
from tests.factories import PASSWORD, make_unit

pytestmark = pytest.mark.django_db

CODE_RE = re.compile(r"^[ABCDEFGHJKLMNPQRSTUVWXYZ23456789]{12}$")


def bind(unit, code, account="newadmin", mobile="13966667777"):
    return unit_bind_with_code(
        unit_key=unit.unit_no,
        code=code,
        account=account,
        display_name="周管理",
        mobile=mobile,
        password=PASSWORD,
    )


# --- registration_code_issue -------------------------------------------------------------------


def test_issue_returns_a_one_time_code_and_stores_only_its_hash(staff_bj, unit_a):
    code = registration_code_issue(actor=staff_bj, unit=unit_a)

    assert CODE_RE.match(code)
    row = RegistrationCode.objects.get(unit=unit_a)
    assert code not in row.code_hash
    assert row.issued_by == staff_bj
    assert row.used_at is None and row.revoked is False
    assert timedelta(days=29) < row.expires_at - row.issued_at <= timedelta(days=30)
    entry = AuditEntry.objects.get(action="registration_code.issue")
    assert entry.outcome == "ok"
    assert entry.actor_id == staff_bj.pk
    assert entry.object_id == str(unit_a.pk)
    assert entry.region_id == "110000"
    assert code not in str(entry.detail) + entry.object_label


def test_issuing_again_revokes_the_previous_code(staff_bj, unit_a):
    first = registration_code_issue(actor=staff_bj, unit=unit_a)
    second = registration_code_issue(actor=staff_bj, unit=unit_a)

    assert first != second
    assert RegistrationCode.objects.filter(unit=unit_a, revoked=False).count() == 1
    with pytest.raises(ValidationError):
        bind(unit_a, first)
    assert bind(unit_a, second).is_unit_admin


def test_staff_of_another_region_is_refused_and_audited(staff_sh, unit_a):
    with pytest.raises(PermissionDenied):
        registration_code_issue(actor=staff_sh, unit=unit_a)

    assert not RegistrationCode.objects.exists()
    entry = AuditEntry.objects.get(action="registration_code.issue")
    assert entry.outcome == "denied"
    assert entry.actor_id == staff_sh.pk
    assert entry.object_id == str(unit_a.pk)


@pytest.mark.parametrize("who", ["admin_b", "person_user"])
def test_non_staff_are_refused(request, unit_a, who):
    actor = request.getfixturevalue(who)

    with pytest.raises(PermissionDenied):
        registration_code_issue(actor=actor, unit=unit_a)

    assert not RegistrationCode.objects.exists()
    assert AuditEntry.objects.get(action="registration_code.issue").outcome == "denied"


def test_issue_refused_while_the_unit_has_an_online_registration(staff_bj, admin_a):
    with pytest.raises(ValidationError) as excinfo:
        registration_code_issue(actor=staff_bj, unit=admin_a.unit)

    assert "已有网上注册账号" in excinfo.value.messages[0]
    assert not RegistrationCode.objects.exists()


def test_issue_page_shows_the_code_once(staff_client, unit_a):
    response = staff_client.post(f"/staff/units/{unit_a.unit_no}/code/")

    assert response.status_code == 302
    assert response["Location"] == f"/staff/units/{unit_a.unit_no}/"
    page = staff_client.get(f"/staff/units/{unit_a.unit_no}/").content.decode()
    code = re.search(r'id="registration-code">([A-Z0-9]{12})<', page).group(1)
    assert bind(unit_a, code).unit_id == unit_a.pk
    again = staff_client.get(f"/staff/units/{unit_a.unit_no}/").content.decode()
    assert code not in again


def test_issue_page_for_another_regions_unit_is_404(staff_sh, unit_a):
    response = signed_in(staff_sh).post(f"/staff/units/{unit_a.unit_no}/code/")

    assert response.status_code == 404
    assert not RegistrationCode.objects.exists()


def test_issue_page_refuses_operators(admin_client, unit_b):
    assert admin_client.post(f"/staff/units/{unit_b.unit_no}/code/").status_code == 403
    assert not RegistrationCode.objects.exists()


# --- online_registration_revoke ----------------------------------------------------------------


def test_revoke_disables_operators_and_allows_a_new_binding(staff_bj, admin_a, clerk_a):
    unit = admin_a.unit
    registration = admin_a.registration

    online_registration_revoke(actor=staff_bj, unit=unit)

    registration.refresh_from_db()
    assert registration.revoked_at is not None
    assert registration.revoked_by == staff_bj
    admin_a.refresh_from_db()
    clerk_a.refresh_from_db()
    assert not admin_a.is_active and not clerk_a.is_active
    entry = AuditEntry.objects.get(action="online_registration.revoke")
    assert entry.detail == {"operators_disabled": 2}
    assert entry.actor_id == staff_bj.pk

    # the old operators cannot sign in any more
    response = unit_login(Client(), unit.unit_no, "admin")
    assert response.status_code == 200
    assert "账号或密码错误" in response.content.decode()

    # a new code can be issued and bound, with the same account name
    code = registration_code_issue(actor=staff_bj, unit=unit)
    new_admin = bind(unit, code, account="admin", mobile="13966667777")
    assert new_admin.pk != admin_a.pk
    assert new_admin.registration_id != registration.pk
    assert UnitOnlineRegistration.objects.filter(unit=unit, revoked_at__isnull=True).count() == 1

    client = Client()
    response = unit_login(client, unit.unit_no, "admin")
    assert response["Location"] == "/accounts/verify/"
    assert verify_sms(client, "13966667777")["Location"] == "/unit/"
    assert signed_in_user_id(client) == str(new_admin.pk)
    admin_a.refresh_from_db()
    assert not admin_a.is_active


def test_revoke_cuts_off_open_sessions(staff_bj, admin_a):
    client = signed_in(admin_a)
    assert client.get("/unit/").status_code == 200

    online_registration_revoke(actor=staff_bj, unit=admin_a.unit)

    assert client.get("/unit/")["Location"] == "/accounts/unit/login/?next=%2Funit%2F"


def test_revoke_by_staff_of_another_region_is_refused(staff_sh, admin_a):
    with pytest.raises(PermissionDenied):
        online_registration_revoke(actor=staff_sh, unit=admin_a.unit)

    admin_a.refresh_from_db()
    assert admin_a.is_active
    assert admin_a.registration.revoked_at is None
    assert AuditEntry.objects.get(action="online_registration.revoke").outcome == "denied"


def test_revoke_by_an_operator_is_refused(admin_a, admin_b):
    with pytest.raises(PermissionDenied):
        online_registration_revoke(actor=admin_b, unit=admin_a.unit)
    admin_a.refresh_from_db()
    assert admin_a.is_active


def test_revoke_without_registration(staff_bj, unit_a):
    with pytest.raises(ValidationError) as excinfo:
        online_registration_revoke(actor=staff_bj, unit=unit_a)

    assert excinfo.value.messages == ["该单位没有有效的网上注册"]
    assert not AuditEntry.objects.filter(action="online_registration.revoke").exists()


def test_revoke_leaves_other_units_alone(staff_bj, admin_a, admin_b):
    online_registration_revoke(actor=staff_bj, unit=admin_a.unit)

    admin_b.refresh_from_db()
    assert admin_b.is_active
    assert admin_b.registration.revoked_at is None


def test_revoke_page(staff_client, admin_a):
    response = staff_client.post(f"/staff/units/{admin_a.unit.unit_no}/revoke/")

    assert response.status_code == 302
    admin_a.refresh_from_db()
    assert not admin_a.is_active


def test_revoke_page_for_another_regions_unit_is_404(staff_sh, region_sh, admin_a):
    make_unit(staff_sh, region_sh, 3)  # staff_sh has units of its own

    response = signed_in(staff_sh).post(f"/staff/units/{admin_a.unit.unit_no}/revoke/")

    assert response.status_code == 404
    admin_a.refresh_from_db()
    assert admin_a.is_active
    assert User.objects.filter(registration__revoked_at__isnull=False).count() == 0
