"""Every list page runs the same number of queries whatever the number of rows on it: rendered
with few rows and with many (a full page and more), the counts must be equal."""

from itertools import count

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from shebao.core.audit import audit_record
from shebao.filings.models import Filing, FilingKind, FilingRow, FilingState
from shebao.registry.models import Enrolment
from tests.factories import make_unit
from tests.registry.queries_helpers import enrol, make_person, staff_people

FEW, MANY = 2, 60  # 60 > every page size (20 for filings and units, 50 for the roster)

_serials = count(1)
_ids = count(1000)


def queries_for(client, url, data=None) -> list[str]:
    client.get(url, data)  # first request: session, caches
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, data)
    assert response.status_code == 200, url
    return [q["sql"] for q in ctx.captured_queries]


def assert_constant(client, url, add_rows, data=None):
    """Count with FEW rows, add rows up to MANY, count again."""
    add_rows(FEW)
    few = queries_for(client, url, data)
    add_rows(MANY - FEW)
    many = queries_for(client, url, data)
    assert len(few) == len(many), (
        f"{url} {data or ''}: {len(few)} queries with {FEW} rows, {len(many)} with {MANY}"
    )
    return many


def make_filing(unit, admin, state, *, rows=2):
    filing = Filing.objects.create(
        serial_no=f"QC{next(_serials):010d}",
        kind=FilingKind.STOP,
        state=state,
        region_id=unit.region_id,
        unit=unit,
        created_by=admin,
        decided_by=admin if state == FilingState.APPROVED else None,
        title="人员停保",
        submitted_at=timezone.now() if state != FilingState.DRAFT else None,
        was_returned=state == FilingState.RETURNED,
        return_reason="材料不清晰" if state == FilingState.RETURNED else "",
    )
    for _ in range(rows):
        n = next(_ids)
        FilingRow.objects.create(
            filing=filing,
            id_number=f"X{n}",
            name=f"职工{n}",
            is_open=state in (FilingState.DRAFT, FilingState.SUBMITTED, FilingState.RETURNED),
            result="refused" if state == FilingState.APPROVED and n % 2 else "pending",
            refuse_reason="不符合条件" if state == FilingState.APPROVED and n % 2 else "",
        )
    return filing


# --- the roster and person detail (this module's pages) ----------------------------------------


def add_roster_rows(unit):
    numbers = count(1)

    def add(n):
        for _ in range(n):
            p = make_person(next(numbers))
            enrol(p, unit, start=202001 + p.pk % 12, wage=str(5000 + p.pk % 7 * 100))

    return add


def roster_own(sql: list[str]) -> list[str]:
    """The roster's own queries: of its read model (or of the enrolments it is made from)."""
    return [q for q in sql if "registry_rosterentry" in q or "registry_enrolment" in q]


@pytest.mark.parametrize(
    "data",
    [
        None,
        {"sort": "-wage"},
        {"insurance_type": "310", "status": Enrolment.Status.ACTIVE, "sort": "name"},
    ],
)
def test_roster(admin_client, unit_a, data):
    sql = assert_constant(admin_client, "/unit/roster/", add_roster_rows(unit_a), data)
    # the page's own: ONE query, the rows with the total beside them (COUNT(*) OVER ());
    # the rest is the session, the signed-in user and the base template's unit name
    assert len(roster_own(sql)) == 1


def test_roster_later_page(admin_client, unit_a):
    add = add_roster_rows(unit_a)
    add(55)
    few = queries_for(admin_client, "/unit/roster/", {"page": "2"})  # 5 rows on page 2
    add(100)
    many = queries_for(admin_client, "/unit/roster/", {"page": "2"})  # 50 rows on page 2
    assert len(few) == len(many)
    assert len(roster_own(many)) == 1


def test_roster_page_past_the_end_costs_a_count_and_the_last_page(admin_client, unit_a):
    add_roster_rows(unit_a)(60)
    sql = queries_for(admin_client, "/unit/roster/", {"page": "9"})
    assert len(roster_own(sql)) == 3


def test_roster_stopped_with_search(admin_client, unit_a):
    first = count(1)

    def add(n):
        for _ in range(n):
            p = make_person(next(first))
            enrol(p, unit_a, ("110", "310"), start=201501, stop=201912)
            enrol(p, unit_a, ("110",), start=202001, stop=202112)

    admin_client.post("/unit/roster/", {"q": "职工"})
    assert_constant(admin_client, "/unit/roster/", add, {"status": "stopped"})


def test_roster_id_search(admin_client, unit_a):
    people = staff_people(unit_a, MANY)
    admin_client.post("/unit/roster/", {"q": people[0].id_number})
    one = queries_for(admin_client, "/unit/roster/")
    admin_client.post("/unit/roster/", {"q": "职工"})
    many = queries_for(admin_client, "/unit/roster/")
    assert len(one) == len(many)


def test_person_detail(admin_client, admin_a, unit_a, unit_b):
    person = make_person(1)
    enrol(person, unit_a, ("110",), start=201001, stop=201012)
    starts = count(201101)

    def add(n):
        for i in range(n):
            start = next(starts)
            unit = unit_a if i % 2 else unit_b
            enrol(person, unit, ("410",), start=start, stop=start)
            f = make_filing(unit_a, admin_a, FilingState.APPROVED, rows=0)
            f.person = person
            f.save()

    sql = assert_constant(admin_client, f"/unit/roster/{person.person_no}/", add)
    # the person (scoped), the history, the filings
    own = [q for q in sql if 'FROM "registry_person"' in q or 'FROM "registry_enrolment"' in q]
    own += [q for q in sql if 'FROM "filings_filing"' in q]
    assert len(own) == 3


# --- the existing list pages -------------------------------------------------------------------


def test_unit_todo(admin_client, admin_a, unit_a):
    def add(n):
        for i in range(n):
            make_filing(unit_a, admin_a, FilingState.RETURNED if i % 2 else FilingState.DRAFT)

    assert_constant(admin_client, "/unit/filings/todo/", add)


def test_unit_done(admin_client, admin_a, unit_a):
    states = [FilingState.SUBMITTED, FilingState.APPROVED, FilingState.CANCELLED]

    def add(n):
        for i in range(n):
            make_filing(unit_a, admin_a, states[i % 3])

    assert_constant(admin_client, "/unit/filings/done/", add)


@pytest.mark.parametrize("data", [None, {"state": ""}])
def test_staff_queue(staff_client, admin_a, unit_a, unit_b, data):
    states = [FilingState.SUBMITTED, FilingState.APPROVED, FilingState.RETURNED]

    def add(n):
        for i in range(n):
            make_filing(unit_a if i % 2 else unit_b, admin_a, states[i % 3])

    assert_constant(staff_client, "/staff/filings/", add, data)


def test_staff_units(staff_client, staff_bj, region_bj):
    numbers = count(10)

    def add(n):
        for _ in range(n):
            make_unit(staff_bj, region_bj, next(numbers))

    assert_constant(staff_client, "/staff/units/", add)


def test_staff_audit(staff_client, staff_bj, admin_a, unit_a):
    def add(n):
        for i in range(n):
            audit_record(
                actor=staff_bj if i % 2 else admin_a,
                action="test.action",
                obj=unit_a if i % 3 else None,
                object_label="对象",
            )

    assert_constant(staff_client, "/staff/audit/", add)
