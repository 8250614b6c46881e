from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shebao.core.money import ROUNDING_MODES, format_money, money_str, round_amount, to_money

D = Decimal
UNITS = {"fen": D("0.01"), "jiao": D("0.1"), "yuan": D("1"), "jiao_up": D("0.1")}

amounts = st.decimals(
    min_value=D("-1000000"), max_value=D("1000000"), places=4, allow_nan=False, allow_infinity=False
)
non_negative = st.decimals(
    min_value=D("0"), max_value=D("1000000"), places=4, allow_nan=False, allow_infinity=False
)
modes = st.sampled_from(sorted(ROUNDING_MODES))
quick = settings(max_examples=100, deadline=None)


# -- to_money --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1234.5", "1234.50"),
        (" 12 ", "12.00"),
        (3, "3.00"),
        (D("0.005"), "0.01"),
        (D("0.0049"), "0.00"),
        ("-0.005", "-0.01"),
        ("-0.001", "0.00"),
        ("1e3", "1000.00"),
    ],
)
def test_to_money(value: object, expected: str) -> None:
    result = to_money(value)  # type: ignore[arg-type]
    assert result == D(expected)
    assert str(result) == expected


def test_to_money_refuses_float() -> None:
    with pytest.raises(TypeError, match="浮点数"):
        to_money(0.1)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [None, True, [1]])
def test_to_money_refuses_other_types(value: object) -> None:
    with pytest.raises(TypeError):
        to_money(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["", "  ", "abc", "1,234.50", "12元", "NaN", "Infinity", "1e40"])
def test_to_money_garbage_is_value_error(value: str) -> None:
    with pytest.raises(ValueError, match="金额"):
        to_money(value)


# -- round_amount ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "mode", "expected"),
    [
        ("668.458", "fen", "668.46"),
        ("668.455", "fen", "668.46"),
        ("668.454", "fen", "668.45"),
        ("668.458", "jiao", "668.50"),
        ("12.35", "jiao", "12.40"),
        ("12.349", "jiao", "12.30"),
        ("12.5", "yuan", "13.00"),
        ("12.49", "yuan", "12.00"),
        ("12.31", "jiao_up", "12.40"),
        ("12.30", "jiao_up", "12.30"),
        ("12.301", "jiao_up", "12.40"),
        ("0.01", "jiao_up", "0.10"),
        ("0", "jiao_up", "0.00"),
        ("-12.31", "jiao_up", "-12.40"),  # mirrors the positive line it reverses
        ("-12.35", "jiao", "-12.40"),
        ("-0.004", "fen", "0.00"),
    ],
)
def test_round_amount_examples(amount: str, mode: str, expected: str) -> None:
    result = round_amount(D(amount), mode)
    assert str(result) == expected


def test_round_amount_unknown_mode() -> None:
    with pytest.raises(ValueError, match="舍入方式"):
        round_amount(D("1"), "up")


def test_round_amount_refuses_float() -> None:
    with pytest.raises(TypeError):
        round_amount(1.25, "fen")  # type: ignore[arg-type]


def test_rounding_mode_labels() -> None:
    assert set(ROUNDING_MODES) == {"fen", "jiao", "yuan", "jiao_up"}
    assert ROUNDING_MODES["jiao_up"] == "见分进角"


@quick
@given(amount=amounts, mode=modes)
def test_result_within_one_unit_and_two_decimals(amount: Decimal, mode: str) -> None:
    result = round_amount(amount, mode)
    assert result.as_tuple().exponent == -2
    unit = UNITS[mode]
    limit = unit if mode == "jiao_up" else unit / 2
    assert abs(result - amount) <= limit
    assert result % unit == 0


@quick
@given(amount=amounts, mode=modes)
def test_rounding_is_idempotent(amount: Decimal, mode: str) -> None:
    once = round_amount(amount, mode)
    assert round_amount(once, mode) == once


@quick
@given(amount=non_negative)
def test_jiao_up_never_rounds_down(amount: Decimal) -> None:
    result = round_amount(amount, "jiao_up")
    assert result >= amount
    assert result - amount < D("0.1")


@quick
@given(a=amounts, b=amounts, mode=modes)
def test_rounding_is_monotone(a: Decimal, b: Decimal, mode: str) -> None:
    low, high = sorted((a, b))
    assert round_amount(low, mode) <= round_amount(high, mode)


@quick
@given(amount=amounts, mode=st.sampled_from(["fen", "jiao", "yuan"]))
def test_half_up_is_symmetric(amount: Decimal, mode: str) -> None:
    assert round_amount(-amount, mode) == -round_amount(amount, mode)


# -- formatting ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "plain", "display"),
    [
        (D("1234.5"), "1234.50", "1,234.50"),
        (D("0"), "0.00", "0.00"),
        (D("-0.001"), "0.00", "0.00"),
        (D("-1234567.891"), "-1234567.89", "-1,234,567.89"),
        (D("0.125"), "0.13", "0.13"),  # half-up, not banker's rounding
        (D("1E+5"), "100000.00", "100,000.00"),
        (7, "7.00", "7.00"),
    ],
)
def test_formatting(value: Decimal, plain: str, display: str) -> None:
    assert money_str(value) == plain
    assert format_money(value) == display


@quick
@given(amount=amounts)
def test_money_str_round_trips(amount: Decimal) -> None:
    assert to_money(money_str(amount)) == to_money(amount)
    assert D(format_money(amount).replace(",", "")) == to_money(amount)
