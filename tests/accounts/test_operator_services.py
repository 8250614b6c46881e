"""Services of the unit administrator on the unit's operators: operator_create,
operator_set_active, operator_set_kinds, operator_reset_password (and User.may_file)."""

import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.test import Client

from shebao.accounts.models import User
from shebao.accounts.services import (
    operator_create,
    operator_reset_password,
    operator_set_active,
    operator_set_kinds,
)
from shebao.core.models import AuditEntry
from shebao.filings.business import BusinessKind
from tests.accounts.helpers import NEW_PASSWORD, make_clerk, unit_login
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def create_kwargs(**overrides):
    data = {
        "account": "clerk9",
        "display_name": "孙经办",
        "mobile": "13955556666",
        "password": PASSWORD,
        "business_kinds": ["enrolment", "wage"],
    }
    data.update(overrides)
    return data


def operator_count() -> int:
    return User.objects.filter(kind=User.Kind.OPERATOR).count()


# --- operator_create ---------------------------------------------------------------------------


def test_create_success_writes_operator_and_masked_audit(admin_a):
    user = operator_create(actor=admin_a, **create_kwargs())

    user.refresh_from_db()
    assert user.kind == User.Kind.OPERATOR
    assert user.unit_id == admin_a.unit_id
    assert user.registration_id == admin_a.registration_id
    assert user.operator_account == "clerk9"
    assert user.is_unit_admin is False
    assert user.is_active is True
    assert user.business_kinds == ["enrolment", "wage"]
    assert user.mobile == "13955556666"
    assert user.check_password(PASSWORD)

    entry = AuditEntry.objects.get(action="operator.create")
    assert entry.actor_id == admin_a.pk
    assert entry.outcome == AuditEntry.Outcome.OK
    assert entry.object_type == "user"
    assert entry.object_id == str(user.pk)
    assert entry.region_id == "110000"
    assert entry.detail["account"] == "clerk9"
    assert entry.detail["mobile"] == "139****6666"
    assert "13955556666" not in json.dumps(entry.detail)
    assert "13955556666" not in entry.object_label
    assert "clerk9" in entry.object_label


def test_create_deduplicates_business_kinds(admin_a):
    user = operator_create(actor=admin_a, **create_kwargs(business_kinds=["wage", "wage", "query"]))
    assert user.business_kinds == ["wage", "query"]


@pytest.mark.parametrize("actor_name", ["clerk_a", "staff_bj", "person_user"])
def test_create_refused_to_non_admins_and_audited(request, actor_name):
    actor = request.getfixturevalue(actor_name)
    before = operator_count()

    with pytest.raises(PermissionDenied):
        operator_create(actor=actor, **create_kwargs())

    assert operator_count() == before
    assert not User.objects.filter(operator_account="clerk9").exists()
    denied = AuditEntry.objects.get(action="operator.create", outcome=AuditEntry.Outcome.DENIED)
    assert denied.actor_id == actor.pk


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"account": "abc"}, "account", "操作员账号须为4–30 位字母、数字或下划线"),
        ({"account": "a" * 31}, "account", "操作员账号须为4–30 位字母、数字或下划线"),
        ({"account": "bad-name"}, "account", "操作员账号须为4–30 位字母、数字或下划线"),
        ({"account": "张三abcd"}, "account", "操作员账号须为4–30 位字母、数字或下划线"),
        ({"account": ""}, "account", "操作员账号须为4–30 位字母、数字或下划线"),
        ({"mobile": "1395555666"}, "mobile", "请填写11位手机号码（以1开头，第二位为3–9）"),
        ({"mobile": "23955556666"}, "mobile", "请填写11位手机号码（以1开头，第二位为3–9）"),
        ({"mobile": "1395555666a"}, "mobile", "请填写11位手机号码（以1开头，第二位为3–9）"),
        ({"display_name": "  "}, "display_name", "请填写姓名"),
        ({"business_kinds": ["enrolment", "fly"]}, "business_kinds", "业务类型不正确"),
        ({"password": "Ab1!xyz"}, "password", "密码至少 8 位"),
        (
            {"password": "abcdefgh12"},
            "password",
            "密码须包含大写字母、小写字母、数字、符号中的至少三类",
        ),
        ({"password": "Clerk9-Secret"}, "password", "密码不能包含账号名"),
    ],
)
def test_create_bad_input_is_field_keyed_and_writes_nothing(admin_a, overrides, field, message):
    before = operator_count()

    with pytest.raises(ValidationError) as excinfo:
        operator_create(actor=admin_a, **create_kwargs(**overrides))

    assert message in excinfo.value.message_dict[field]
    assert operator_count() == before
    assert not AuditEntry.objects.filter(action="operator.create").exists()


@pytest.mark.parametrize("account", ["admin", "ADMIN", "clerk1", "Clerk1"])
def test_create_duplicate_account_refused(admin_a, clerk_a, account):
    before = operator_count()
    audits_before = AuditEntry.objects.filter(action="operator.create").count()

    with pytest.raises(ValidationError) as excinfo:
        operator_create(actor=admin_a, **create_kwargs(account=account))

    assert excinfo.value.message_dict["account"] == ["该操作员账号已存在"]
    assert operator_count() == before
    assert AuditEntry.objects.filter(action="operator.create").count() == audits_before


def test_same_account_name_allowed_in_another_unit(admin_a, admin_b, clerk_a):
    other = make_clerk(admin_b, account="clerk1", mobile="13911110002")
    assert other.unit_id == admin_b.unit_id
    assert other.username != clerk_a.username


# --- operator_set_active -----------------------------------------------------------------------


def test_disable_and_enable_operator(admin_a, clerk_a):
    operator_set_active(actor=admin_a, operator_id=clerk_a.pk, active=False)
    clerk_a.refresh_from_db()
    assert clerk_a.is_active is False
    entry = AuditEntry.objects.get(action="operator.disable")
    assert entry.actor_id == admin_a.pk
    assert entry.object_id == str(clerk_a.pk)

    operator_set_active(actor=admin_a, operator_id=clerk_a.pk, active=True)
    clerk_a.refresh_from_db()
    assert clerk_a.is_active is True
    assert AuditEntry.objects.filter(action="operator.enable", object_id=str(clerk_a.pk)).exists()


def test_admin_cannot_disable_self(admin_a):
    with pytest.raises(ValidationError) as excinfo:
        operator_set_active(actor=admin_a, operator_id=admin_a.pk, active=False)

    assert excinfo.value.messages == ["不能停用自己的账号"]
    admin_a.refresh_from_db()
    assert admin_a.is_active is True
    assert not AuditEntry.objects.filter(action="operator.disable").exists()


def test_set_active_refused_to_non_admin(admin_a, clerk_a):
    with pytest.raises(PermissionDenied):
        operator_set_active(actor=clerk_a, operator_id=admin_a.pk, active=False)

    admin_a.refresh_from_db()
    assert admin_a.is_active is True


def test_set_active_on_another_units_operator_is_404(admin_a, admin_b):
    clerk_b = make_clerk(admin_b, account="clerkb", mobile="13911110002")

    for target in (admin_b, clerk_b):
        with pytest.raises(Http404):
            operator_set_active(actor=admin_a, operator_id=target.pk, active=False)
        target.refresh_from_db()
        assert target.is_active is True
    assert not AuditEntry.objects.filter(action="operator.disable").exists()


def test_set_active_on_missing_or_non_operator_id_is_404(admin_a, staff_bj, person_user):
    for target_id in (staff_bj.pk, person_user.pk, 999_999):
        with pytest.raises(Http404):
            operator_set_active(actor=admin_a, operator_id=target_id, active=False)
    staff_bj.refresh_from_db()
    person_user.refresh_from_db()
    assert staff_bj.is_active and person_user.is_active


# --- operator_set_kinds ------------------------------------------------------------------------


def test_set_kinds_success_audits_before_and_after(admin_a, clerk_a):
    operator_set_kinds(actor=admin_a, operator_id=clerk_a.pk, business_kinds=["wage", "query"])

    clerk_a.refresh_from_db()
    assert clerk_a.business_kinds == ["wage", "query"]
    entry = AuditEntry.objects.get(action="operator.set_kinds")
    assert entry.detail == {"before": ["enrolment"], "after": ["wage", "query"]}
    assert entry.actor_id == admin_a.pk


def test_set_kinds_refused_to_non_admin(admin_a, clerk_a):
    with pytest.raises(PermissionDenied):
        operator_set_kinds(actor=clerk_a, operator_id=clerk_a.pk, business_kinds=["wage"])

    clerk_a.refresh_from_db()
    assert clerk_a.business_kinds == ["enrolment"]


def test_set_kinds_on_another_units_operator_is_404(admin_a, admin_b):
    clerk_b = make_clerk(admin_b, account="clerkb", mobile="13911110002")

    with pytest.raises(Http404):
        operator_set_kinds(actor=admin_a, operator_id=clerk_b.pk, business_kinds=["wage"])

    clerk_b.refresh_from_db()
    assert clerk_b.business_kinds == ["enrolment"]
    assert not AuditEntry.objects.filter(action="operator.set_kinds").exists()


def test_set_kinds_bad_kind_refused_unchanged(admin_a, clerk_a):
    with pytest.raises(ValidationError) as excinfo:
        operator_set_kinds(actor=admin_a, operator_id=clerk_a.pk, business_kinds=["wage", "x"])

    assert excinfo.value.message_dict == {"business_kinds": ["业务类型不正确"]}
    clerk_a.refresh_from_db()
    assert clerk_a.business_kinds == ["enrolment"]


# --- operator_reset_password -------------------------------------------------------------------


def test_reset_password_success(admin_a, clerk_a):
    operator_reset_password(actor=admin_a, operator_id=clerk_a.pk, new_password=NEW_PASSWORD)

    clerk_a.refresh_from_db()
    assert clerk_a.check_password(NEW_PASSWORD)
    assert not clerk_a.check_password(PASSWORD)
    entry = AuditEntry.objects.get(action="operator.reset_password")
    assert entry.actor_id == admin_a.pk
    assert entry.object_id == str(clerk_a.pk)


def test_reset_password_refused_to_non_admin(admin_a, clerk_a):
    with pytest.raises(PermissionDenied):
        operator_reset_password(actor=clerk_a, operator_id=admin_a.pk, new_password=NEW_PASSWORD)

    admin_a.refresh_from_db()
    assert admin_a.check_password(PASSWORD)


@pytest.mark.parametrize(
    ("service", "action", "kwargs"),
    [
        (operator_set_active, "operator.set_active", {"active": False}),
        (operator_set_kinds, "operator.set_kinds", {"business_kinds": ["wage"]}),
        (operator_reset_password, "operator.reset_password", {"new_password": NEW_PASSWORD}),
    ],
    ids=["set_active", "set_kinds", "reset_password"],
)
def test_refusal_to_non_admin_is_audited(admin_a, clerk_a, service, action, kwargs):
    with pytest.raises(PermissionDenied):
        service(actor=clerk_a, operator_id=admin_a.pk, **kwargs)

    denied = AuditEntry.objects.get(action=action)
    assert denied.outcome == AuditEntry.Outcome.DENIED
    assert denied.actor_id == clerk_a.pk
    assert denied.object_id == str(admin_a.pk)


def test_reset_password_of_another_units_operator_is_404(admin_a, admin_b):
    with pytest.raises(Http404):
        operator_reset_password(actor=admin_a, operator_id=admin_b.pk, new_password=NEW_PASSWORD)

    admin_b.refresh_from_db()
    assert admin_b.check_password(PASSWORD)
    assert not AuditEntry.objects.filter(action="operator.reset_password").exists()


def test_reset_password_clears_the_operators_lockout(admin_a, clerk_a):
    unit_no = clerk_a.unit.unit_no
    for _ in range(5):
        unit_login(Client(), unit_no, "clerk1", "Wrong-pass1")
    assert unit_login(Client(), unit_no, "clerk1", PASSWORD).status_code == 429

    operator_reset_password(actor=admin_a, operator_id=clerk_a.pk, new_password=NEW_PASSWORD)

    response = unit_login(Client(), unit_no, "clerk1", NEW_PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/verify/"


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("Ab1!", "密码至少 8 位"),
        ("alllowercase", "密码须包含大写字母、小写字母、数字、符号中的至少三类"),
        ("Clerk1-Secret", "密码不能包含账号名"),
    ],
)
def test_reset_password_weak_refused_unchanged(admin_a, clerk_a, password, message):
    with pytest.raises(ValidationError) as excinfo:
        operator_reset_password(actor=admin_a, operator_id=clerk_a.pk, new_password=password)

    assert message in excinfo.value.messages
    clerk_a.refresh_from_db()
    assert clerk_a.check_password(PASSWORD)
    assert not AuditEntry.objects.filter(action="operator.reset_password").exists()


# --- may_file ----------------------------------------------------------------------------------


def test_may_file_follows_business_kinds(admin_a, clerk_a, staff_bj, person_user):
    assert clerk_a.may_file(BusinessKind.ENROLMENT)
    assert not clerk_a.may_file(BusinessKind.WAGE)
    assert all(admin_a.may_file(kind) for kind in BusinessKind.values)
    assert not staff_bj.may_file(BusinessKind.ENROLMENT)
    assert not person_user.may_file(BusinessKind.ENROLMENT)

    operator_set_kinds(actor=admin_a, operator_id=clerk_a.pk, business_kinds=["wage"])
    clerk_a.refresh_from_db()
    assert clerk_a.may_file(BusinessKind.WAGE)
    assert not clerk_a.may_file(BusinessKind.ENROLMENT)


def test_disabled_operator_may_not_file(admin_a, clerk_a):
    operator_set_active(actor=admin_a, operator_id=clerk_a.pk, active=False)
    clerk_a.refresh_from_db()
    assert not clerk_a.may_file(BusinessKind.ENROLMENT)
