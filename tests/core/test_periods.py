import itertools
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shebao.core.periods import Period

periods = st.builds(
    Period, st.integers(min_value=1900, max_value=2200), st.integers(min_value=1, max_value=12)
)
steps = st.integers(min_value=-1200, max_value=1200)
quick = settings(max_examples=100, deadline=None)


@pytest.mark.parametrize(
    "value", [202408, "202408", " 202408 ", "2024-08", "2024年08月", "2024年8月"]
)
def test_parse(value: object) -> None:
    assert Period.parse(value) == Period(2024, 8)  # type: ignore[arg-type]


def test_parse_returns_periods_unchanged() -> None:
    p = Period(2024, 8)
    assert Period.parse(p) is p


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (202413, "月份"),
        (202400, "月份"),
        ("202413", "月份"),
        ("2024-1", "格式"),
        ("2024-13", "月份"),
        ("20248", "格式"),
        ("", "格式"),
        ("abc", "格式"),
        ("2024/08", "格式"),
        ("099912", "年份"),
        (None, "yyyyMM"),
        (True, "yyyyMM"),
        (202408.0, "yyyyMM"),
    ],
)
def test_parse_rejects(value: object, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        Period.parse(value)  # type: ignore[arg-type]


def test_constructor_validates() -> None:
    with pytest.raises(ValueError, match="月份"):
        Period(2024, 0)
    with pytest.raises(ValueError, match="年份"):
        Period(99, 1)


def test_conversions() -> None:
    p = Period(2024, 8)
    assert int(p) == 202408
    assert str(p) == "202408"
    assert p.label == "2024年08月"
    assert p.first_day == date(2024, 8, 1)
    assert p.last_day == date(2024, 8, 31)
    assert Period(2024, 2).last_day == date(2024, 2, 29)
    assert Period(2023, 2).last_day == date(2023, 2, 28)
    assert Period.of(date(2024, 12, 31)) == Period(2024, 12)


def test_arithmetic() -> None:
    p = Period(2024, 12)
    assert p.next() == Period(2025, 1)
    assert Period(2025, 1).prev() == p
    assert p + 7 == Period(2025, 7)
    assert 7 + p == Period(2025, 7)
    assert p + -12 == Period(2023, 12)
    assert p - 12 == Period(2023, 12)
    assert p - Period(2024, 7) == 5
    assert Period(2024, 7) - p == -5


def test_range() -> None:
    assert Period.range(202411, "202502") == [
        Period(2024, 11),
        Period(2024, 12),
        Period(2025, 1),
        Period(2025, 2),
    ]
    assert Period.range(202408, 202408) == [Period(2024, 8)]
    assert Period.range(202409, 202408) == []


def test_ordering_and_hashing() -> None:
    a, b = Period(2024, 12), Period(2025, 1)
    assert a < b and b > a and a <= a
    assert sorted([b, a]) == [a, b]
    assert {Period(2024, 8), Period.parse("202408")} == {Period(2024, 8)}
    assert Period(2024, 8) != 202408


def test_immutable() -> None:
    p = Period(2024, 8)
    with pytest.raises(AttributeError):
        p.month = 9  # type: ignore[misc]


@quick
@given(p=periods)
def test_round_trips(p: Period) -> None:
    assert Period.parse(int(p)) == p
    assert Period.parse(str(p)) == p
    assert Period.parse(p.label) == p
    assert p.next().prev() == p
    assert Period.of(p.first_day) == p
    assert Period.of(p.last_day) == p
    assert p.last_day + timedelta(days=1) == p.next().first_day


@quick
@given(p=periods, n=steps)
def test_add_and_subtract(p: Period, n: int) -> None:
    q = p + n
    assert q - p == n
    assert q - n == p
    assert (q > p) == (n > 0)
    assert (int(q) > int(p)) == (n > 0)  # yyyyMM ints order like periods


@quick
@given(p=periods, n=st.integers(min_value=0, max_value=60))
def test_range_length(p: Period, n: int) -> None:
    months = Period.range(p, p + n)
    assert len(months) == n + 1
    assert months[0] == p and months[-1] == p + n
    assert all(b - a == 1 for a, b in itertools.pairwise(months))
