"""django-axes keeps sign-in bookkeeping under a keyed hash of the account: no clear ID number,
mobile or account name in its tables, while lockout per account still works."""

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.db import connection
from django.test import Client

from shebao.core.pseudonyms import axes_username, keyed_hash
from tests.accounts.helpers import person_login, staff_login, verify_sms
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

ID = "11010519491231002X"
UNKNOWN_ID = "110101199003070011"  # valid checksum: the form passes it to sign-in


def axes_tables_text() -> str:
    """Every value of every row of the three axes tables, as the database holds them."""
    text = []
    with connection.cursor() as cursor:
        for model in (AccessAttempt, AccessFailureLog, AccessLog):
            cursor.execute(f"SELECT * FROM {model._meta.db_table}")  # noqa: S608
            text.extend(str(v) for row in cursor.fetchall() for v in row)
    return "\n".join(text)


def assert_no_clear_identifiers(*values: str) -> None:
    stored = axes_tables_text().upper()
    for value in values:
        assert value.upper() not in stored, value


def test_five_wrong_passwords_lock_a_person_and_axes_holds_no_clear_id(person_user, person):
    for _ in range(4):
        assert person_login(Client(), ID, "Wrong-pass1").status_code == 200
    person_login(Client(), ID, "Wrong-pass1")

    response = person_login(Client(), ID, PASSWORD)

    assert response.status_code == 429
    assert AccessAttempt.objects.get().username == axes_username(person_user.username)
    assert_no_clear_identifiers(ID, ID.lower(), person.mobile, person.person_no, "pperson")


def test_the_lower_case_x_counts_for_the_same_account(person_user):
    for id_number in [ID, ID.lower(), ID, ID.lower(), ID]:
        person_login(Client(), id_number, "Wrong-pass1")

    assert person_login(Client(), ID.lower(), PASSWORD).status_code == 429
    assert AccessAttempt.objects.count() == 1


def test_an_unknown_id_number_is_locked_and_not_stored(db):
    for _ in range(5):
        person_login(Client(), UNKNOWN_ID, "Wrong-pass1")

    response = person_login(Client(), UNKNOWN_ID, "Wrong-pass1")

    assert response.status_code == 429
    assert_no_clear_identifiers(UNKNOWN_ID)


def test_a_successful_sign_in_is_logged_under_the_hash_and_clears_failures(person_user, person):
    client = Client()
    person_login(client, ID, "Wrong-pass1")
    person_login(client, ID)
    verify_sms(client, person.mobile)

    # Our audit log records the sign-in (masked); axes keeps no access log of its own.
    assert not AccessLog.objects.exists()
    assert not AccessAttempt.objects.exists()
    assert_no_clear_identifiers(ID, person.mobile, "pperson")


def test_staff_usernames_are_hashed_too(staff_bj):
    for _ in range(5):
        staff_login(Client(), staff_bj.username, "Wrong-pass1")

    assert staff_login(Client(), staff_bj.username).status_code == 429
    assert_no_clear_identifiers(staff_bj.username)


def test_the_hash_is_keyed(settings):
    settings.SHEBAO_LOG_HASH_KEY = "one key"
    first = keyed_hash(ID)
    assert keyed_hash(ID) == first
    settings.SHEBAO_LOG_HASH_KEY = "another key"
    assert keyed_hash(ID) != first
    assert axes_username(None) is None
