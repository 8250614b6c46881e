"""Late-fee rules (DOMAIN §5): due dates per region, day counts across leap years and the
2011-07 rate change, per-line rounding, the optional cap, allocation of a partly paid
item-period across its lines."""

from datetime import date, timedelta
from decimal import ROUND_HALF_UP
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shebao.contributions.backpay.calc import UnpaidLine, allocate, due_date, line_fees

FEN = D("0.01")


@pytest.mark.parametrize(
    ("period", "due_day", "expected"),
    [
        (202402, 0, date(2024, 2, 29)),  # leap February
        (202302, 0, date(2023, 2, 28)),
        (202501, 0, date(2025, 1, 31)),
        (202504, 0, date(2025, 4, 30)),
        (202504, 15, date(2025, 4, 15)),
        (202402, 30, date(2024, 2, 29)),  # a day past the month's end: its last day
        (202302, 31, date(2023, 2, 28)),
    ],
)
def test_due_date(period, due_day, expected):
    assert due_date(period, due_day) == expected


def one(belongs, amount="1000.00", *, line_id=1, settle=None, pending=False):
    return UnpaidLine(
        line_id=line_id,
        person_id=1,
        item="110",
        settle_period=settle or belongs,
        belongs_period=belongs,
        amount=D(amount),
        pending=pending,
    )


def fee_of(line, pay_date, **kwargs):
    (result,) = line_fees([line], {}, pay_date=pay_date, **kwargs)
    return result


def test_days_counted_from_the_day_after_the_due_date_through_the_pay_date():
    # 费款所属期 202401 due 2024-01-31; paid 2024-03-01: Feb (29 days, leap) + 1 = 30 days
    f = fee_of(one(202401), date(2024, 3, 1))
    assert f.due == date(2024, 1, 31) and f.days == 30 and f.fee == D("15.00")
    # the same in 2023 (not leap): 28 + 1 = 29 days
    f = fee_of(one(202301), date(2023, 3, 1))
    assert f.days == 29 and f.fee == D("14.50")


def test_leap_day_due_date_and_a_whole_leap_year():
    f = fee_of(one(202402), date(2024, 3, 31))  # due 2024-02-29
    assert f.days == 31 and f.fee == D("15.50")
    f = fee_of(one(202302, "100.00"), date(2024, 2, 29))  # 2023-03-01 .. 2024-02-29
    assert f.days == 366 and f.fee == D("18.30")
    f = fee_of(one(202402, "100.00"), date(2025, 2, 28))  # 2024-03-01 .. 2025-02-28
    assert f.days == 365 and f.fee == D("18.25")


def test_paid_on_or_before_the_due_date_owes_nothing():
    assert fee_of(one(202501), date(2025, 1, 31)).fee == D("0.00")
    assert fee_of(one(202501), date(2025, 1, 10)).days == 0
    f = fee_of(one(202501), date(2025, 2, 1))
    assert f.days == 1 and f.fee == D("0.50")


def test_region_due_day_moves_the_start():
    f = fee_of(one(202501), date(2025, 1, 31), due_day=15)
    assert f.due == date(2025, 1, 15) and f.days == 16 and f.fee == D("8.00")


def test_arrears_before_2011_07_accrue_two_per_mille_until_june_30():
    # 费款所属期 201105 due 2011-05-31; paid 2011-07-10: 30 days of June at 0.2 %, 10 at 0.05 %
    f = fee_of(one(201105), date(2011, 7, 10))
    assert f.days == 40
    assert f.fee == D("1000.00") * (D("0.002") * 30 + D("0.0005") * 10)  # 65.00
    # due 2011-06-30 exactly: every day of lateness is after the change
    f = fee_of(one(201106), date(2011, 7, 10))
    assert f.days == 10 and f.fee == D("5.00")
    # 2008 was a leap year: due 2008-01-31, paid 2008-03-01 at the old rate (29 + 1 days)
    f = fee_of(one(200801), date(2008, 3, 1))
    assert f.days == 30 and f.fee == D("60.00")
    # across the change: due 2010-12-31, paid 2011-12-31 → 181 days old rate + 184 new
    f = fee_of(one(201012, "100.00"), date(2011, 12, 31))
    assert f.days == 365
    assert f.fee == (D("100.00") * (D("0.002") * 181 + D("0.0005") * 184)).quantize(FEN)


def test_each_line_rounded_half_up_to_the_fen_then_summed():
    lines = [one(202501, "33.33", line_id=1), one(202501, "33.33", line_id=2)]
    # each: 33.33 × 0.0005 × 3 = 0.049995 → 0.05; the total is 0.10, not round(0.09999) = 0.10
    fees = line_fees(lines, {}, pay_date=date(2025, 2, 3))
    assert [f.fee for f in fees] == [D("0.05"), D("0.05")]
    lines = [one(202501, "10.00", line_id=i) for i in range(3)]
    fees = line_fees(lines, {}, pay_date=date(2025, 2, 1))  # 10 × 0.0005 = 0.005 → 0.01 each
    assert sum(f.fee for f in fees) == D("0.03")


def test_cap_at_the_principal_is_a_region_setting():
    old = one(200512, "100.00")
    assert fee_of(old, date(2025, 1, 1)).fee > D("100.00")
    assert fee_of(old, date(2025, 1, 1), cap_at_principal=True).fee == D("100.00")
    young = one(202412, "100.00")
    assert fee_of(young, date(2025, 1, 31), cap_at_principal=True).fee == D("1.55")


def test_partly_paid_item_period_is_allocated_across_its_lines():
    lines = [
        one(202505, a, line_id=i, settle=202509) for i, a in enumerate(["100.00", "200.00", "0.03"])
    ]
    outstanding = {(202509, "110", 202505): D("150.02")}
    fees = line_fees(lines, outstanding, pay_date=date(2025, 6, 30))
    assert sum(f.principal for f in fees) == D("150.02")
    # exact shares 50.0016…, 100.0033…, 0.0149…: the spare fen goes to the largest remainder
    assert [f.principal for f in fees] == [D("50.00"), D("100.00"), D("0.02")]
    for f in fees:
        expected = (f.principal * D("0.0005") * 30).quantize(FEN, rounding=ROUND_HALF_UP)
        assert f.fee == expected and f.days == 30


def test_fully_paid_item_period_owes_nothing_and_pending_lines_owe_in_full():
    settled = one(202505, "100.00", line_id=1, settle=202509)
    pending = one(202505, "100.00", line_id=2, settle=202509, pending=True)
    fees = line_fees(
        [settled, pending], {(202509, "110", 202505): D("0")}, pay_date=date(2025, 6, 30)
    )
    assert [(f.line.line_id, f.principal) for f in fees] == [(2, D("100.00"))]


amounts = st.lists(
    st.decimals(min_value=D("0.01"), max_value=100000, places=2), min_size=1, max_size=30
)


@settings(max_examples=300)
@given(amounts, st.data())
def test_allocation_adds_up_exactly_and_stays_within_each_amount(values, data):
    due = sum(values, D("0"))
    cents = int(due / FEN)
    outstanding = D(data.draw(st.integers(min_value=0, max_value=cents))) * FEN
    shares = allocate(outstanding, values)
    assert sum(shares, D("0")) == outstanding
    assert all(D("0") <= s <= v for s, v in zip(shares, values, strict=True))
    assert all(s == s.quantize(FEN) for s in shares)
    # each share is within a fen of the exact proportion
    assert all(abs(s - outstanding * v / due) < FEN for s, v in zip(shares, values, strict=True))
    assert allocate(due, values) == values


@settings(max_examples=200)
@given(
    st.decimals(min_value=D("0.01"), max_value=100000, places=2),
    st.dates(min_value=date(2005, 1, 1), max_value=date(2030, 12, 31)),
    st.integers(min_value=0, max_value=4000),
    st.booleans(),
)
def test_fee_is_the_daily_rate_times_the_principal_and_never_negative(principal, day, extra, cap):
    from shebao.core.periods import Period

    belongs = int(Period.of(day))
    due = due_date(belongs)
    pay = due + timedelta(days=extra)
    f = fee_of(one(belongs, str(principal)), pay, cap_at_principal=cap)
    assert f.days == extra
    old_days = max(0, (min(pay, date(2011, 6, 30)) - due).days)
    exact = principal * (D("0.002") * old_days + D("0.0005") * (extra - old_days))
    expected = exact.quantize(FEN, rounding=ROUND_HALF_UP)
    assert f.fee == (min(expected, principal) if cap else expected)
    assert f.fee >= 0
