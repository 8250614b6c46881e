"""Money as ``Decimal``: parsing, the regional rounding modes, formatting.

Never float. Amounts are yuan with two decimals (分). Rounding modes (DOMAIN §5):

- ``fen``: half-up to 0.01
- ``jiao``: half-up to 0.1
- ``yuan``: half-up to 1
- ``jiao_up`` (见分进角): any 分 rounds up to the next 角

All results carry exactly two decimals. Half-up and ``jiao_up`` are symmetric around zero (a
negative correction line rounds to the exact opposite of the positive line it reverses).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, ROUND_UP, Decimal, InvalidOperation

__all__ = [
    "FEN",
    "ROUNDING_MODES",
    "format_money",
    "money_str",
    "round_amount",
    "to_money",
]

FEN = Decimal("0.01")
_JIAO = Decimal("0.1")
_YUAN = Decimal("1")

ROUNDING_MODES: dict[str, str] = {
    "fen": "四舍五入到分",
    "jiao": "四舍五入到角",
    "yuan": "四舍五入到元",
    "jiao_up": "见分进角",
}

# mode -> (unit, rounding)
_MODE_RULES: dict[str, tuple[Decimal, str]] = {
    "fen": (FEN, ROUND_HALF_UP),
    "jiao": (_JIAO, ROUND_HALF_UP),
    "yuan": (_YUAN, ROUND_HALF_UP),
    "jiao_up": (_JIAO, ROUND_UP),
}


def _quantize(value: Decimal, unit: Decimal, rounding: str) -> Decimal:
    try:
        result = value.quantize(unit, rounding=rounding).quantize(FEN)
    except InvalidOperation:
        raise ValueError(f"金额超出可处理范围：{value}") from None
    return result.copy_abs() if result.is_zero() else result  # no "-0.00"


def _to_decimal(value: object) -> Decimal:
    if isinstance(value, float):
        raise TypeError("金额不能使用浮点数（float），请传入字符串、整数或Decimal")
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise TypeError(f"金额类型不受支持：{type(value).__name__}")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    else:
        text = value.strip()
        if not text:
            raise ValueError("金额不能为空")
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"金额格式无效：{value!r}") from None
    if not number.is_finite():
        raise ValueError(f"金额必须是有限数字：{value!r}")
    return number


def to_money(value: str | int | Decimal) -> Decimal:
    """Parse a money amount, quantized half-up to 0.01. Refuses float (``TypeError``)."""
    return _quantize(_to_decimal(value), FEN, ROUND_HALF_UP)


def round_amount(amount: Decimal, mode: str) -> Decimal:
    """Round ``amount`` by a regional rounding mode; the result has two decimals."""
    try:
        unit, rounding = _MODE_RULES[mode]
    except KeyError:
        raise ValueError(f"未知的舍入方式：{mode!r}（可选：{'、'.join(ROUNDING_MODES)}）") from None
    return _quantize(_to_decimal(amount), unit, rounding)


def money_str(d: Decimal | int | str) -> str:
    """Plain two-decimal string, e.g. ``"1234.50"`` (for exports and APIs)."""
    return f"{to_money(d):f}"


def format_money(d: Decimal | int | str) -> str:
    """Display string with thousands separators, e.g. ``"1,234.50"``."""
    return f"{to_money(d):,f}"


def money_text(value: Decimal | None) -> str:
    """An amount as typed and shown in forms, e.g. ``"12345.67"``; ``""`` for none."""
    return f"{value:.2f}" if value is not None else ""
