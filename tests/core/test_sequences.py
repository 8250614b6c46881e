"""Named sequences (shebao/core/sequences.py): serial numbers and registry numbers."""

import re

import pytest
from django.db import transaction
from django.utils import timezone

from shebao.core.models import Counter
from shebao.core.sequences import next_person_no, next_serial_no, next_unit_no, next_value
from tests.races import run_together

pytestmark = pytest.mark.django_db


def test_next_value_starts_at_one_and_increments_per_key():
    assert [next_value("test:a") for _ in range(3)] == [1, 2, 3]
    assert next_value("test:b") == 1
    assert next_value("test:a") == 4
    assert Counter.objects.get(key="test:a").last == 4


def test_next_value_continues_from_the_stored_counter():
    Counter.objects.create(key="test:c", last=41)
    assert next_value("test:c") == 42


def test_serial_no_is_today_plus_six_digits():
    today = timezone.localdate().strftime("%Y%m%d")
    first, second = next_serial_no(), next_serial_no()
    assert re.fullmatch(r"\d{14}", first)
    assert first.startswith(today) and second.startswith(today)
    assert first[8:] == "000001"
    assert int(second) == int(first) + 1


def test_serial_no_sequence_restarts_each_day():
    today = timezone.localdate().strftime("%Y%m%d")
    Counter.objects.create(key="serial:20000101", last=99)
    assert next_serial_no() == f"{today}000001"


def test_unit_no_is_region_code_plus_six_digits():
    assert next_unit_no("110000") == "110000000001"
    assert next_unit_no("110000") == "110000000002"
    assert next_unit_no("310000") == "310000000001"
    # Each region code has its own sequence, even with the same first four digits.
    assert next_unit_no("110100") == "110100000001"


def test_person_no_is_region_prefix_plus_eight_digits():
    number = next_person_no("310000")
    assert re.fullmatch(r"3100\d{8}", number)
    assert number == "310000000001"


def test_next_value_inside_a_rolled_back_transaction_is_not_kept():
    """Sequences are gap-tolerant: a value taken in a transaction that rolls back is given
    again (no unique number is ever handed out twice for committed data)."""
    next_value("test:r")
    with pytest.raises(RuntimeError), transaction.atomic():
        assert next_value("test:r") == 2
        raise RuntimeError
    assert next_value("test:r") == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_callers_get_distinct_values():
    outcomes = run_together(*[lambda: [next_serial_no() for _ in range(5)]] * 6)
    assert [o.error for o in outcomes] == [None] * 6
    values = [v for o in outcomes for v in o.result]
    assert len(values) == 30
    assert len(set(values)) == 30
    assert sorted(int(v[8:]) for v in values) == list(range(1, 31))
