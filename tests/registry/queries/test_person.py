"""One person from the roster: data with the ID masked, the whole enrolment history (other
units only as 其他单位), this unit's filings about them; other units' persons are 404."""

import pytest
from django.utils import timezone

from shebao.filings.models import Filing, FilingKind, FilingRow, FilingState
from shebao.registry.models import Enrolment
from tests.registry.queries_helpers import enrol, make_person


def url(person):
    return f"/unit/roster/{person.person_no}/"


def make_filing(
    unit, serial_no, *, person=None, row_for=None, linked=True, state=FilingState.APPROVED
):
    filing = Filing.objects.create(
        serial_no=serial_no,
        kind=FilingKind.ENROLMENT,
        state=state,
        region_id=unit.region_id,
        unit=unit,
        person=person,
        title="人员参保",
        submitted_at=timezone.now() if state != FilingState.DRAFT else None,
    )
    if row_for is not None:
        FilingRow.objects.create(
            filing=filing,
            person=row_for if linked else None,
            id_number=row_for.id_number,
            name=row_for.name,
            is_open=state in (FilingState.DRAFT, FilingState.SUBMITTED),
        )
    return filing


@pytest.fixture
def worker(unit_a, unit_b):
    p = make_person(7, name="李四")
    enrol(
        p,
        unit_b,
        ("110", "310"),
        start=201801,
        stop=201912,
        wage="12345.00",
        stop_reason=Enrolment.StopReason.LEFT,
    )
    enrol(p, unit_a, ("110", "310", "410"), start=202001, wage="7000.00")
    return p


def test_person_detail_shows_data_history_and_filings(admin_client, unit_a, unit_b, worker):
    mine = make_filing(unit_a, "SB202401000001", person=worker)
    batch = make_filing(unit_a, "SB202401000002", row_for=worker)
    # an open draft row typed in by ID number, not yet linked to the person
    draft = make_filing(
        unit_a, "SB202401000004", row_for=worker, linked=False, state=FilingState.DRAFT
    )
    theirs = make_filing(unit_b, "SB202401000003", person=worker)
    r = admin_client.get(url(worker))
    assert r.status_code == 200
    html = r.content.decode()
    assert worker.id_number not in html
    assert worker.masked_id_number in html
    assert "李四" in html and worker.person_no in html
    # history: 3 here, 2 elsewhere, newest first; the other unit is never named
    assert html.count("<td>本单位</td>") == 3
    assert html.count("<td>其他单位</td>") == 2
    assert unit_b.name not in html and unit_b.unit_no not in html
    assert "12345" not in html  # another employer's wage is not shown
    assert "离职" not in html
    assert html.index("202001") < html.index("201801")
    assert "7000.00" in html
    # filings at this unit, linked to their progress page; not the other unit's
    assert f'href="/unit/filings/{mine.serial_no}/"' in html
    assert f'href="/unit/filings/{batch.serial_no}/"' in html
    assert f'href="/unit/filings/{draft.serial_no}/"' in html
    assert theirs.serial_no not in html


def test_person_who_left_the_unit_is_still_visible(admin_client, unit_a):
    p = make_person(8)
    enrol(p, unit_a, ("110",), start=201501, stop=201812)
    assert admin_client.get(url(p)).status_code == 200


def test_another_units_person_is_404(admin_client, unit_b):
    p = make_person(9)
    enrol(p, unit_b)
    assert admin_client.get(url(p)).status_code == 404


def test_person_with_only_a_filing_at_the_unit_is_404(admin_client, unit_a):
    p = make_person(10)
    make_filing(unit_a, "SB202401000009", person=p, state=FilingState.DRAFT)
    assert admin_client.get(url(p)).status_code == 404


def test_unknown_person_is_404(admin_client, unit_a):
    assert admin_client.get("/unit/roster/999999999999/").status_code == 404


def test_back_link_returns_to_the_last_roster_view(admin_client, worker):
    admin_client.get("/unit/roster/", {"insurance_type": "410", "sort": "-wage"})
    html = admin_client.get(url(worker)).content.decode()
    assert 'href="/unit/roster/?insurance_type=410&amp;sort=-wage"' in html
