"""The statutory retirement month with the raise from 2025 (DOMAIN §7)."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shebao.core.periods import Period
from shebao.core.retirement import (
    MEN,
    WOMEN_CADRES,
    WOMEN_WORKERS,
    age_label,
    retirement_period,
    track_for,
)


@pytest.mark.parametrize(
    ("birth", "track", "age", "month"),
    [
        (date(1964, 12, 31), MEN, "60 周岁", Period(2024, 12)),
        (date(1965, 1, 15), MEN, "60 周岁 1 个月", Period(2025, 2)),  # DOMAIN's example
        (date(1965, 4, 30), MEN, "60 周岁 1 个月", Period(2025, 5)),
        (date(1965, 5, 1), MEN, "60 周岁 2 个月", Period(2025, 7)),
        (date(1976, 12, 1), MEN, "63 周岁", Period(2039, 12)),
        (date(1990, 3, 7), MEN, "63 周岁", Period(2053, 3)),
        (date(1969, 12, 1), WOMEN_CADRES, "55 周岁", Period(2024, 12)),
        (date(1970, 1, 1), WOMEN_CADRES, "55 周岁 1 个月", Period(2025, 2)),
        (date(1975, 3, 9), WOMEN_WORKERS, "50 周岁 2 个月", Period(2025, 5)),  # DOMAIN's example
        (date(1984, 12, 1), WOMEN_WORKERS, "55 周岁", Period(2039, 12)),
    ],
)
def test_retirement_month(birth, track, age, month):
    assert age_label(track.age_months(birth)) == age
    assert retirement_period(birth, track) == month


def test_tracks_by_sex():
    assert track_for("1") is MEN
    assert track_for("2") is WOMEN_CADRES
    assert track_for("2", cadre=False) is WOMEN_WORKERS


@given(
    st.sampled_from([MEN, WOMEN_CADRES, WOMEN_WORKERS]),
    st.dates(date(1940, 1, 1), date(2005, 12, 31)),
    st.dates(date(1940, 1, 1), date(2005, 12, 31)),
)
def test_never_earlier_for_a_later_birth_and_within_the_bounds(track, a, b):
    early, late = sorted((a, b))
    assert track.age_months(early) <= track.age_months(late)
    assert retirement_period(early, track) <= retirement_period(late, track)
    low = track.base_years * 12
    assert low <= track.age_months(late) <= low + track.max_raise_months
