"""The unit administrator's pages under /unit/operators/."""

import pytest

from shebao.accounts.models import User
from shebao.core.models import AuditEntry
from tests.accounts.helpers import NEW_PASSWORD, make_clerk
from tests.conftest import signed_in
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def create_form(**overrides):
    data = {
        "account": "clerk9",
        "display_name": "孙经办",
        "mobile": "13955556666",
        "password": PASSWORD,
        "business_kinds": ["enrolment", "wage"],
    }
    data.update(overrides)
    return data


def test_list_shows_operators_with_masked_mobile(admin_client, clerk_a):
    response = admin_client.get("/unit/operators/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "clerk1" in page
    assert "139****0001" in page
    assert "13911110001" not in page


def test_list_does_not_show_another_units_operators(admin_client, admin_b):
    make_clerk(admin_b, account="clerkb", mobile="13911110002")

    page = admin_client.get("/unit/operators/").content.decode()

    assert "clerkb" not in page


def test_create_through_page(admin_client, admin_a):
    response = admin_client.post("/unit/operators/", create_form())

    assert response.status_code == 302
    assert response["Location"] == "/unit/operators/"
    user = User.objects.get(operator_account="clerk9")
    assert user.registration_id == admin_a.registration_id
    assert user.business_kinds == ["enrolment", "wage"]
    assert AuditEntry.objects.filter(action="operator.create", object_id=str(user.pk)).exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"account": "a-b"}, "操作员账号须为4–30 位字母、数字或下划线"),
        ({"mobile": "12345"}, "请填写11位手机号码"),
        ({"password": "weakpass"}, "密码须包含大写字母、小写字母、数字、符号中的至少三类"),
        ({"account": "admin"}, "该操作员账号已存在"),
    ],
)
def test_create_bad_input_shows_message_and_creates_nothing(
    admin_client, admin_a, overrides, message
):
    before = User.objects.count()

    response = admin_client.post("/unit/operators/", create_form(**overrides))

    assert response.status_code == 200
    assert message in response.content.decode()
    assert User.objects.count() == before


def test_non_admin_operator_gets_403_everywhere(clerk_a, admin_a):
    client = signed_in(clerk_a)
    before = User.objects.count()

    assert client.get("/unit/operators/").status_code == 403
    assert client.post("/unit/operators/", create_form()).status_code == 403
    assert client.get(f"/unit/operators/{admin_a.pk}/").status_code == 403
    assert client.post(f"/unit/operators/{admin_a.pk}/toggle/").status_code == 403

    assert User.objects.count() == before
    admin_a.refresh_from_db()
    assert admin_a.is_active


@pytest.mark.parametrize("who", ["staff_bj", "person_user"])
def test_other_halls_get_403(request, who, admin_a):
    client = signed_in(request.getfixturevalue(who))
    assert client.get("/unit/operators/").status_code == 403


def test_anonymous_is_sent_to_unit_sign_in(client, admin_a):
    response = client.get("/unit/operators/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/unit/login/?next=%2Funit%2Foperators%2F"


def test_another_units_operator_is_404_and_unchanged(admin_client, admin_b):
    clerk_b = make_clerk(admin_b, account="clerkb", mobile="13911110002")
    url = f"/unit/operators/{clerk_b.pk}/"

    assert admin_client.get(url).status_code == 404
    assert (
        admin_client.post(url, {"action": "kinds", "business_kinds": ["wage"]}).status_code == 404
    )
    response = admin_client.post(url, {"action": "password", "new_password": NEW_PASSWORD})
    assert response.status_code == 404
    assert admin_client.post(f"{url}toggle/").status_code == 404

    clerk_b.refresh_from_db()
    assert clerk_b.is_active
    assert clerk_b.business_kinds == ["enrolment"]
    assert clerk_b.check_password(PASSWORD)


def test_missing_operator_is_404(admin_client):
    assert admin_client.get("/unit/operators/999999/").status_code == 404


def test_set_kinds_through_page(admin_client, clerk_a):
    response = admin_client.post(
        f"/unit/operators/{clerk_a.pk}/", {"action": "kinds", "business_kinds": ["wage", "query"]}
    )

    assert response.status_code == 302
    clerk_a.refresh_from_db()
    assert clerk_a.business_kinds == ["wage", "query"]


def test_set_kinds_unknown_kind_refused(admin_client, clerk_a):
    response = admin_client.post(
        f"/unit/operators/{clerk_a.pk}/", {"action": "kinds", "business_kinds": ["nonsense"]}
    )

    assert response.status_code == 200
    clerk_a.refresh_from_db()
    assert clerk_a.business_kinds == ["enrolment"]


def test_reset_password_through_page(admin_client, clerk_a):
    response = admin_client.post(
        f"/unit/operators/{clerk_a.pk}/", {"action": "password", "new_password": NEW_PASSWORD}
    )

    assert response.status_code == 302
    clerk_a.refresh_from_db()
    assert clerk_a.check_password(NEW_PASSWORD)


def test_reset_password_weak_shows_message(admin_client, clerk_a):
    response = admin_client.post(
        f"/unit/operators/{clerk_a.pk}/", {"action": "password", "new_password": "short"}
    )

    assert response.status_code == 200
    assert "密码至少 8 位" in response.content.decode()
    clerk_a.refresh_from_db()
    assert clerk_a.check_password(PASSWORD)


def test_reset_password_weak_message_is_next_to_the_field(admin_client, clerk_a):
    response = admin_client.post(
        f"/unit/operators/{clerk_a.pk}/", {"action": "password", "new_password": "short"}
    )

    form = response.context["password_form"]
    assert "密码至少 8 位" in form.errors.get("new_password", [])


def test_toggle_disables_then_enables(admin_client, clerk_a):
    response = admin_client.post(f"/unit/operators/{clerk_a.pk}/toggle/")
    assert response.status_code == 302
    clerk_a.refresh_from_db()
    assert clerk_a.is_active is False

    admin_client.post(f"/unit/operators/{clerk_a.pk}/toggle/")
    clerk_a.refresh_from_db()
    assert clerk_a.is_active is True


def test_toggle_is_post_only(admin_client, clerk_a):
    assert admin_client.get(f"/unit/operators/{clerk_a.pk}/toggle/").status_code == 405
    clerk_a.refresh_from_db()
    assert clerk_a.is_active is True


def test_admin_cannot_disable_self_through_page(admin_client, admin_a):
    response = admin_client.post(f"/unit/operators/{admin_a.pk}/toggle/", follow=True)

    assert "不能停用自己的账号" in response.content.decode()
    admin_a.refresh_from_db()
    assert admin_a.is_active is True


def test_disabled_operators_open_session_is_cut_off(admin_client, clerk_a):
    clerk_client = signed_in(clerk_a)
    assert clerk_client.get("/unit/").status_code == 200

    admin_client.post(f"/unit/operators/{clerk_a.pk}/toggle/")

    response = clerk_client.get("/unit/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/unit/login/?next=%2Funit%2F"
