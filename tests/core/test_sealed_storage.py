"""ID numbers and mobiles at rest: unreadable in the raw database, found by lookup, unique in
the database, and kept readable and findable through key rotation."""

import base64
import io
from datetime import date

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.test import override_settings

from shebao.accounts.selectors import person_by_id_number
from shebao.core import crypto
from shebao.core.models import SmsMessage, VerificationCode
from shebao.core.verification import verification_code_send
from shebao.filings.models import Filing, FilingKind, FilingRow
from shebao.registry.models import Person
from tests.factories import make_roster_entry

ID_NUMBER = "11010519491231002X"
MOBILE = "13800000001"
NEW_FIELD_KEY = base64.b64encode(b"f" * 32).decode()
NEW_LOOKUP_KEY = base64.b64encode(b"l" * 32).decode()


def _dump_all_tables() -> str:
    """Every text value of every table, as the database holds it."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            chunks.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(chunks)


def _filing(unit, n=1, *, state="draft"):
    return Filing.objects.create(
        serial_no=f"2025010100000{n}",
        kind=FilingKind.ENROLMENT,
        region=unit.region,
        unit=unit,
        title="人员参保",
        state=state,
        contact_mobile=MOBILE,
        payload={"after": {"id_number": ID_NUMBER, "mobile": MOBILE, "name": "张晓红"}},
    )


def test_no_clear_id_number_or_mobile_anywhere_in_the_database(person, admin_a, unit_a):
    filing = _filing(unit_a)
    FilingRow.objects.create(
        filing=filing, person=person, id_number=ID_NUMBER, name="张晓红", payload={"mobile": MOBILE}
    )
    verification_code_send(mobile=MOBILE, purpose="login")
    dump = _dump_all_tables()
    for clear in (ID_NUMBER, MOBILE, unit_a.legal_rep_id_number, admin_a.mobile):
        assert clear not in dump
    assert "1101**********002X" in dump  # the masked display value is kept
    filing.refresh_from_db()
    assert filing.payload["after"] == {"id_number": ID_NUMBER, "mobile": MOBILE, "name": "张晓红"}
    assert Person.objects.get(pk=person.pk).mobile == MOBILE
    assert SmsMessage.objects.get().mobile == MOBILE
    assert VerificationCode.objects.get().mobile == MOBILE


def test_search_by_id_number_through_the_lookup(person):
    assert person_by_id_number(ID_NUMBER.lower()) == person
    assert Person.objects.filter(Person.id_number.q(" 11010519491231002x ")).get() == person
    assert person_by_id_number("110105194912310011") is None


def test_a_person_is_unique_by_type_and_number_in_the_database(person):
    same = dict(name="某", sex="2", birth_date=date(1949, 12, 31), id_number=ID_NUMBER)
    with pytest.raises(IntegrityError), transaction.atomic():
        Person.objects.create(person_no="110000000002", **same)
    Person.objects.create(person_no="110000000003", id_type=Person.IdType.PASSPORT, **same)


def test_one_open_filing_per_person_is_kept_by_the_database(unit_a):
    FilingRow.objects.create(filing=_filing(unit_a, 1), id_number=ID_NUMBER, name="张晓红")
    with pytest.raises(IntegrityError), transaction.atomic():
        FilingRow.objects.create(filing=_filing(unit_a, 2), id_number=ID_NUMBER, name="张晓红")


def test_a_ciphertext_moved_to_another_column_does_not_decrypt(person, unit_a):
    unit_a.legal_rep_id_number_enc = person.id_number_enc  # same kind of value, other column
    with pytest.raises(crypto.DecryptionError):
        _ = unit_a.legal_rep_id_number


def test_ciphertexts_swapped_between_two_rows_are_refused(person):
    other = Person.objects.create(
        person_no="110000000002",
        id_number="110105198001010014",
        name="李四",
        sex="1",
        birth_date=date(1980, 1, 1),
    )
    # Someone with write access to the database swaps the two persons' ciphertexts.
    Person.objects.filter(pk=person.pk).update(id_number_enc=other.id_number_enc)
    Person.objects.filter(pk=other.pk).update(id_number_enc=person.id_number_enc)
    for pk in (person.pk, other.pk):
        with pytest.raises(crypto.DecryptionError, match="does not belong to this row"):
            _ = Person.objects.get(pk=pk).id_number
    # The same check on the path that decrypts without a model instance (the full export).
    row = Person.objects.values_list("id_number_enc", "id_number_lookup").get(pk=person.pk)
    with pytest.raises(crypto.DecryptionError):
        Person.id_number.open(*row)
    assert Person.id_number.open(other.id_number_enc, other.id_number_lookup)


def _rotate() -> str:
    out = io.StringIO()
    call_command("rotate_field_keys", batch=2, stdout=out)
    return out.getvalue()


def test_rotating_the_field_key_keeps_every_row_readable(person, unit_a, admin_a):
    filing = _filing(unit_a)
    old = {**{"demo1": crypto.field_keys()[0]["demo1"]}}
    ring = {"demo1": base64.b64encode(old["demo1"]).decode(), "k2": NEW_FIELD_KEY}
    with override_settings(SHEBAO_FIELD_KEYS=ring, SHEBAO_FIELD_KEY_CURRENT="k2"):
        report = _rotate()
        assert "registry.Person: 2 re-encrypted, 0 lookups recomputed" in report  # ID, mobile
        assert "0 re-encrypted" in _rotate()  # resumable: nothing left the second time
        lookup_before = Person.objects.get(pk=person.pk).id_number_lookup
    # Only the new key now: everything still decrypts, the lookups did not change.
    with override_settings(SHEBAO_FIELD_KEYS={"k2": NEW_FIELD_KEY}, SHEBAO_FIELD_KEY_CURRENT="k2"):
        fresh = Person.objects.get(pk=person.pk)
        assert fresh.id_number == ID_NUMBER and fresh.mobile == "13800000001"
        assert fresh.id_number_lookup == lookup_before
        assert Filing.objects.get(pk=filing.pk).payload["after"]["id_number"] == ID_NUMBER
        assert Filing.objects.get(pk=filing.pk).contact_mobile == MOBILE
        assert type(admin_a).objects.get(pk=admin_a.pk).mobile == admin_a.mobile
        assert unit_a.__class__.objects.get(pk=unit_a.pk).legal_rep_id_number


def test_rotating_the_lookup_key_rehashes_and_search_still_works(person, unit_a):
    from shebao.registry.models import RosterEntry

    make_roster_entry(unit_a, person)
    ring = {"1": base64.b64encode(crypto.lookup_keys()[0]["1"]).decode(), "2": NEW_LOOKUP_KEY}
    with override_settings(SHEBAO_LOOKUP_KEYS=ring, SHEBAO_LOOKUP_KEY_CURRENT="2"):
        assert person_by_id_number(ID_NUMBER) == person  # found under the old version
        report = _rotate()
        assert "registry.Person: 0 re-encrypted, 1 lookups recomputed" in report
        assert "registry.RosterEntry: 1 lookups copied again" in report
    with override_settings(SHEBAO_LOOKUP_KEYS={"2": NEW_LOOKUP_KEY}, SHEBAO_LOOKUP_KEY_CURRENT="2"):
        assert Person.objects.get(pk=person.pk).id_number_lookup.startswith("2:")
        assert person_by_id_number(ID_NUMBER) == person
        entry = RosterEntry.objects.get(person=person)
        assert entry.id_number_lookup == Person.objects.get(pk=person.pk).id_number_lookup
