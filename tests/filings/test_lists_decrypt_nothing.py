"""Decryption only where a value is shown: the filing lists (the unit's 待办/已办, the staff
review queue) leave the payload, with its encrypted ID numbers and mobiles, unread."""

from unittest import mock

import pytest

from shebao.core import crypto
from shebao.filings.models import Filing, FilingKind, FilingState

PAYLOAD = {"after": {"id_number": "11010519491231002X", "mobile": "13800000001"}}


@pytest.fixture
def filings(unit_a):
    for n, state in enumerate((FilingState.DRAFT, FilingState.SUBMITTED), start=1):
        Filing.objects.create(
            serial_no=f"2025010100000{n}",
            kind=FilingKind.ENROLMENT,
            region=unit_a.region,
            unit=unit_a,
            title="人员参保",
            state=state,
            payload=PAYLOAD,
        )


@pytest.mark.parametrize(
    ("client_fixture", "url"),
    [
        ("admin_client", "/unit/filings/todo/"),
        ("admin_client", "/unit/filings/done/"),
        ("staff_client", "/staff/filings/"),
    ],
)
def test_a_filing_list_decrypts_no_payload(request, filings, client_fixture, url):
    client = request.getfixturevalue(client_fixture)
    with mock.patch.object(crypto, "open_tree", wraps=crypto.open_tree) as opened:
        r = client.get(url)
    assert r.status_code == 200 and "人员参保" in r.content.decode()
    assert opened.call_count == 0
