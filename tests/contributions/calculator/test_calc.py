"""Properties of the pure contribution arithmetic (DOMAIN §5)."""

from datetime import date
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shebao.contributions.calculator.calc import (
    Params,
    clamp_base,
    compute,
    compute_line,
    difference_line,
    late_fee,
    year_interest,
)
from shebao.core.money import round_amount

MODES = ["fen", "jiao", "yuan", "jiao_up"]
UNIT = {"fen": D("0.01"), "jiao": D("0.1"), "yuan": D("1"), "jiao_up": D("0.1")}

wages = st.decimals(min_value=0, max_value=200000, places=2, allow_nan=False)
rates = st.decimals(min_value=0, max_value=D("0.3"), places=4, allow_nan=False)


@st.composite
def params(draw):
    floor = draw(st.decimals(min_value=1000, max_value=10000, places=0))
    cap = floor + draw(st.decimals(min_value=0, max_value=40000, places=0))
    return Params(
        insurance_type=draw(st.sampled_from(["110", "210", "310", "410", "510"])),
        floor=floor,
        cap=cap,
        unit_rate=draw(rates),
        personal_rate=draw(rates),
        unit_fixed=draw(st.sampled_from([D("0"), D("3")])),
        personal_fixed=draw(st.sampled_from([D("0"), D("3")])),
        unit_rounding=draw(st.sampled_from(MODES)),
        personal_rounding=draw(st.sampled_from(MODES)),
    )


@settings(max_examples=300)
@given(params(), wages)
def test_base_clamped_and_flags(p, wage):
    line = compute_line(p, wage)
    assert p.floor <= line.base <= p.cap
    assert line.below_floor == (wage < p.floor)
    assert line.above_cap == (wage > p.cap)


@settings(max_examples=300)
@given(params(), wages)
def test_amounts_never_negative_and_rounded_by_their_rule(p, wage):
    line = compute_line(p, wage)
    assert line.unit >= 0 and line.personal >= 0
    exact_unit = line.base * p.unit_rate
    assert abs((line.unit - p.unit_fixed) - exact_unit) <= UNIT[p.unit_rounding]
    assert line.unit - p.unit_fixed == round_amount(exact_unit, p.unit_rounding)
    if p.unit_rounding == "jiao_up":
        assert line.unit - p.unit_fixed >= exact_unit
    assert line.unit.as_tuple().exponent == -2


@settings(max_examples=300)
@given(params(), wages, wages)
def test_monotone_in_wage(p, a, b):
    low, high = sorted([a, b])
    assert compute_line(p, low).unit <= compute_line(p, high).unit
    assert compute_line(p, low).personal <= compute_line(p, high).personal


@settings(max_examples=200)
@given(st.lists(params(), min_size=1, max_size=5, unique_by=lambda p: p.insurance_type), wages)
def test_totals_are_sums_of_lines(ps, wage):
    result = compute(ps, wage, injury_rate=D("0.004"))
    assert result.unit_total == sum(x.unit for x in result.lines)
    assert result.personal_total == sum(x.personal for x in result.lines)
    assert result.total == result.unit_total + result.personal_total


def test_beijing_example_from_the_issue():
    p = Params("110", D("6821"), D("35283"), D("0.16"), D("0.08"))
    line = compute_line(p, D("5000"))
    assert (line.base, line.unit, line.personal) == (D("6821.00"), D("1091.36"), D("545.68"))
    assert line.below_floor


@pytest.mark.parametrize(
    "mode,amount,expected",
    [
        ("fen", "12.345", "12.35"),
        ("jiao", "12.35", "12.40"),
        ("jiao", "12.34", "12.30"),
        ("yuan", "12.50", "13.00"),
        ("jiao_up", "12.31", "12.40"),
        ("jiao_up", "12.30", "12.30"),
    ],
)
def test_rounding_modes(mode, amount, expected):
    p = Params("110", D("0"), D("100000"), D("1"), D("0"), unit_rounding=mode)
    assert compute_line(p, D(amount)).unit == D(expected)


def test_institution_pension_carries_annuity():
    p = Params(
        "120",
        D("5000"),
        D("30000"),
        D("0.16"),
        D("0.08"),
        annuity_unit_rate=D("0.08"),
        annuity_personal_rate=D("0.04"),
    )
    result = compute([p], D("10000"))
    assert [x.insurance_type for x in result.lines] == ["120", "121"]
    assert result.lines[1].unit == D("800.00") and result.lines[1].personal == D("400.00")


def test_injury_rate_overrides_unit_rate_of_410_only():
    ps = [
        Params("110", D("1"), D("99999"), D("0.16"), D("0.08")),
        Params("410", D("1"), D("99999"), D("0.002"), D("0")),
    ]
    result = compute(ps, D("10000"), injury_rate=D("0.004"))
    assert result.lines[1].unit == D("40.00")
    assert result.lines[0].unit == D("1600.00")


def test_clamp_refuses_negative_wage():
    with pytest.raises(ValueError):
        clamp_base(D("-1"), D("1"), D("2"))


@given(params(), wages, wages)
def test_difference_line_never_negative(p, a, b):
    d = difference_line(compute_line(p, a), compute_line(p, b))
    assert d.unit >= 0 and d.personal >= 0


# --- late fees ---


def test_late_fee_day_count_across_leap_year():
    # Due 2024-02-29 (leap day); paid 2024-03-31: 31 days from 03-01 through 03-31.
    fee, days = late_fee(D("1000.00"), date(2024, 2, 29), date(2024, 3, 31))
    assert days == 31 and fee == D("15.50")
    # Due 2023-02-28, paid 2024-02-29: 366 days (2023-03-01 .. 2024-02-29).
    fee, days = late_fee(D("100.00"), date(2023, 2, 28), date(2024, 2, 29))
    assert days == 366 and fee == D("18.30")


def test_late_fee_before_2011_07_at_old_rate():
    # Due 2011-06-29: 06-30 at 0.2 %, 07-01..07-10 at 0.05 %.
    fee, days = late_fee(D("1000.00"), date(2011, 6, 29), date(2011, 7, 10))
    assert days == 11
    assert fee == D("1000.00") * (D("0.002") + D("0.0005") * 10)


def test_late_fee_nothing_when_paid_in_time_and_cap():
    assert late_fee(D("100"), date(2024, 1, 31), date(2024, 1, 31)) == (D("0.00"), 0)
    fee, _ = late_fee(D("100.00"), date(2000, 1, 31), date(2024, 1, 31), cap_at_principal=True)
    assert fee == D("100.00")


@given(
    st.decimals(min_value=D("0.01"), max_value=100000, places=2),
    st.integers(min_value=0, max_value=3000),
)
def test_late_fee_monotone_in_days(principal, extra):
    due = date(2020, 1, 31)
    from datetime import timedelta

    a, _ = late_fee(principal, due, due + timedelta(days=extra))
    b, _ = late_fee(principal, due, due + timedelta(days=extra + 1))
    assert D(0) <= a <= b


# --- account interest ---


def test_year_interest_month_product_method():
    credits = {m: D("800.00") for m in range(1, 13)}
    # opening 10000 × 2.62 % + Σ 800 × 2.62 % × (13 − n)/12 = 262 + 800×0.0262×78/12
    assert year_interest(D("10000"), credits, D("0.0262")) == D("398.24")


def test_year_interest_approximation():
    credits = {m: D("800.00") for m in range(1, 13)}
    assert year_interest(D("0"), credits, D("0.0262"), method="approx") == D("136.20")
