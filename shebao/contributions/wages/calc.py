"""Pure rules of the wage declarations (no ORM): money input parsed and checked, the declared
values of one row (an annual wage, or 机关事业 itemized wages and their sum), the row error key,
the filing title and the row errors split from the header's."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError

from shebao.core.money import money_text
from shebao.registry.models import UnitType

FEN = Decimal("0.01")
WAGE_MAX = Decimal("99999999.99")
DEFAULT_MONTH = 7  # the region's new period starts in July (DOMAIN §5)

# 分项工资 of 机关事业 units: a fixed list (code stored in WageBase.items, label).
WAGE_ITEMS = (
    ("basic", "基本工资"),
    ("allowance", "津贴补贴"),
    ("performance", "绩效工资"),
    ("other", "其他"),
)
INSTITUTION_UNIT_TYPES = (UnitType.GOVERNMENT.value, UnitType.INSTITUTION.value)
NOT_ON_ROSTER = "该人员不在本单位正常参保，不能申报"


def row_key(person_id: int) -> str:
    """The error key of one person's row (the pages put the message next to that row)."""
    return f"p{person_id}"


def is_row_key(key: str) -> bool:
    return key.startswith("p") and key[1:].isdigit()


def is_institution(unit) -> bool:
    return unit.unit_type in INSTITUTION_UNIT_TYPES


def parse_amount(raw, label: str) -> tuple[Decimal | None, str]:
    """(amount, error): blank is (None, ""); money in yuan, ≥ 0, at most two decimals."""
    if raw is None:
        return None, ""
    if isinstance(raw, Decimal):
        value = raw
    else:
        text = str(raw).strip().replace(",", "").replace("，", "")
        if not text:
            return None, ""
        try:
            value = Decimal(text)
        except InvalidOperation:
            return None, f"{label}必须是数字（元），“{str(raw).strip()[:20]}”不是数字"
    if not value.is_finite():
        return None, f"{label}必须是数字（元）"
    if value < 0:
        return None, f"{label}不能为负数"
    if value > WAGE_MAX:
        return None, f"{label}超出范围，请核对"
    if value != value.quantize(FEN):
        return None, f"{label}最多保留两位小数"
    return value.quantize(FEN), ""


def annual_after(raw) -> tuple[dict | None, str]:
    """(after, error) of one row of the annual declaration; (None, "") when blank (the person
    is not declared)."""
    wage, error = parse_amount(raw, "月平均工资")
    if error:
        return None, error
    if wage is None:
        return None, ""
    if wage == 0:
        return None, "月平均工资应大于0"
    return {"wage": money_text(wage)}, ""


def monthly_after(raw: dict) -> tuple[dict | None, str]:
    """Itemized wages: blank items count as 0; all blank means not declared."""
    raw = raw or {}
    items: dict[str, str] = {}
    total = Decimal("0.00")
    blank = True
    for code, label in WAGE_ITEMS:
        value, error = parse_amount(raw.get(code), label)
        if error:
            return None, error
        if value is not None:
            blank = False
        value = value or Decimal("0.00")
        items[code] = money_text(value)
        total += value
    if blank:
        return None, ""
    if total <= 0:
        return None, "各项工资合计应大于0"
    if total > WAGE_MAX:
        return None, "各项工资合计超出范围，请核对"
    return {"items": items, "wage": money_text(total)}, ""


def filing_payload(previous: dict | None, unit_id: int, header: dict, count: int, names) -> dict:
    """A declaration's payload: the header, the row count, the first names (for its title) and
    a revision one above the ``previous`` payload's."""
    rev = (previous.get("rev", 0) if previous is not None else 0) + 1
    return {"rev": rev, "unit": unit_id, **header, "count": count, "names": list(names)[:5]}


def filing_title(payload: dict, what: str) -> str:
    names = payload.get("names", [])
    count = payload.get("count", len(names))
    shown = "、".join(names[:3])
    more = "等" if count > 3 else ""
    return f"{what} {shown}{more}{count}人"[:200]


def split_row_errors(error: ValidationError) -> tuple[dict[str, str], ValidationError | None]:
    """Row errors (keyed p<person id>) apart from the header's and the form's."""
    if not hasattr(error, "error_dict"):
        return {}, error
    rows, rest = {}, {}
    for key, errors in error.message_dict.items():
        if is_row_key(key):
            rows[key] = errors[0]
        else:
            rest[key] = errors
    return rows, (ValidationError(rest) if rest else None)
