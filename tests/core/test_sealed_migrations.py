"""The four migrations that encrypt ID numbers and mobiles go back and forth on a database with
rows (SQLite here; PostgreSQL when DATABASE_URL names one): back, the clear columns (NOT NULL,
the person's UNIQUE) and the clear payloads return; forward again, everything is sealed."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from shebao.core import crypto
from shebao.core.models import SmsMessage, VerificationCode
from shebao.core.verification import verification_code_send
from shebao.filings.models import Filing, FilingKind, FilingRow
from shebao.registry.models import Person, RosterEntry, Unit
from tests.factories import make_roster_entry

ID_NUMBER = "11010519491231002X"
MOBILE = "13800000001"
BEFORE = [
    ("core", "0002_region_current_period"),
    ("accounts", "0002_initial"),
    ("filings", "0003_more_kinds"),
    ("registry", "0004_roster_entry"),
]
SEALED = [
    ("core", "0003_sealed_personal_data"),
    ("accounts", "0003_sealed_personal_data"),
    ("filings", "0004_sealed_personal_data"),
    ("registry", "0005_sealed_personal_data"),
]

pytestmark = pytest.mark.django_db(transaction=True)


def _migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


def _leaves() -> list:
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def _one(sql: str, *params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def _rows(person, unit, admin):
    filing = Filing.objects.create(
        serial_no="20250101000001",
        kind=FilingKind.ENROLMENT,
        region=unit.region,
        unit=unit,
        title="人员参保",
        contact_mobile=MOBILE,
        payload={"after": {"id_number": ID_NUMBER, "mobile": MOBILE, "name": "张晓红"}},
    )
    FilingRow.objects.create(
        filing=filing, person=person, id_number=ID_NUMBER, name="张晓红", payload={"mobile": MOBILE}
    )
    make_roster_entry(unit, person)
    verification_code_send(mobile=MOBILE, purpose="login")
    return filing


def _assert_clear(person, unit, admin, filing):
    """After going back: the old clear columns hold the values, the payloads are clear JSON."""
    assert _one("SELECT id_number, mobile FROM registry_person WHERE id = %s", person.pk) == (
        ID_NUMBER,
        MOBILE,
    )
    assert _one("SELECT id_number FROM registry_rosterentry WHERE person_id = %s", person.pk) == (
        ID_NUMBER,
    )
    legal_rep, contact = _one(
        "SELECT legal_rep_id_number, contact_mobile FROM registry_unit WHERE id = %s", unit.pk
    )
    assert (legal_rep, contact) == (unit.legal_rep_id_number, unit.contact_mobile)
    assert _one("SELECT mobile FROM accounts_user WHERE id = %s", admin.pk) == (admin.mobile,)
    assert _one("SELECT mobile FROM core_smsmessage") == (MOBILE,)
    assert _one("SELECT mobile FROM core_verificationcode") == (MOBILE,)
    contact, payload = _one(
        "SELECT contact_mobile, payload FROM filings_filing WHERE id = %s", filing.pk
    )
    assert contact == MOBILE and ID_NUMBER in str(payload) and MOBILE in str(payload)
    row_id, row_payload = _one("SELECT id_number, payload FROM filings_filingrow")
    assert row_id == ID_NUMBER and MOBILE in str(row_payload)


def _assert_sealed(person, unit, admin, filing):
    fresh = Person.objects.get(pk=person.pk)
    assert (fresh.id_number, fresh.mobile) == (ID_NUMBER, MOBILE)
    assert fresh.id_number_lookup == crypto.lookup(ID_NUMBER, kind=crypto.ID)
    assert RosterEntry.objects.get(person=person).id_number_lookup == fresh.id_number_lookup
    # only(): columns added by later migrations are not there yet at this state
    sealed_unit = Unit.objects.only("legal_rep_id_number_enc").get(pk=unit.pk)
    assert sealed_unit.legal_rep_id_number == unit.legal_rep_id_number
    assert type(admin).objects.get(pk=admin.pk).mobile == admin.mobile
    assert SmsMessage.objects.get().mobile == VerificationCode.objects.get().mobile == MOBILE
    stored = Filing.objects.get(pk=filing.pk)
    assert stored.contact_mobile == MOBILE
    assert stored.payload["after"] == {"id_number": ID_NUMBER, "mobile": MOBILE, "name": "张晓红"}
    row = FilingRow.objects.get()
    assert (row.id_number, row.payload) == (ID_NUMBER, {"mobile": MOBILE})
    raw = _one("SELECT payload FROM filings_filing WHERE id = %s", filing.pk)[0]
    assert ID_NUMBER not in str(raw) and MOBILE not in str(raw)


def test_the_sealing_migrations_go_back_and_forth_with_rows(person, unit_a, admin_a):
    filing = _rows(person, unit_a, admin_a)
    leaves = _leaves()
    try:
        _migrate(BEFORE)
        _assert_clear(person, unit_a, admin_a, filing)
        _migrate(SEALED)
        _assert_sealed(person, unit_a, admin_a, filing)
        _migrate(BEFORE)  # and back once more, from rows sealed by the migration itself
        _assert_clear(person, unit_a, admin_a, filing)
    finally:
        _migrate(leaves)
    _assert_sealed(person, unit_a, admin_a, filing)
