"""Pure contribution arithmetic (DOMAIN §5). No ORM, no I/O: plain data in, plain data out.
This is the oracle every bulk path is compared with.

    base   = clamp(declared_wage, floor, cap)
    amount = round(base × rate, rounding of that side) + fixed amount of that side

Each person × insurance type line is rounded by its own rule; totals are sums of lines."""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from shebao.core.money import FEN, round_amount

ZERO = Decimal("0.00")
# Occupational annuity (职业年金) travels with institution pension (120); it has no national
# insurance type code, so contribution lines carry it as item "121".
ANNUITY_ITEM = "121"


@dataclass(frozen=True)
class Params:
    """One parameter set of one insurance type, as the calculator needs it."""

    insurance_type: str
    floor: Decimal
    cap: Decimal
    unit_rate: Decimal
    personal_rate: Decimal
    unit_fixed: Decimal = ZERO
    personal_fixed: Decimal = ZERO
    unit_rounding: str = "fen"
    personal_rounding: str = "fen"
    annuity_unit_rate: Decimal = Decimal("0")
    annuity_personal_rate: Decimal = Decimal("0")


@dataclass(frozen=True)
class Line:
    insurance_type: str
    base: Decimal
    unit: Decimal
    personal: Decimal
    below_floor: bool = False
    above_cap: bool = False

    @property
    def total(self) -> Decimal:
        return self.unit + self.personal


@dataclass(frozen=True)
class Result:
    lines: tuple[Line, ...]
    unit_total: Decimal = field(init=False)
    personal_total: Decimal = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "unit_total", sum((x.unit for x in self.lines), ZERO))
        object.__setattr__(self, "personal_total", sum((x.personal for x in self.lines), ZERO))

    @property
    def total(self) -> Decimal:
        return self.unit_total + self.personal_total


def _yuan(d: Decimal) -> str:
    return f"{d.quantize(FEN):,f}"


def base_note(wage, floor: Decimal, cap: Decimal) -> str:
    """Why the base used differs from the declared wage (empty when it does not, or the wage is
    not an amount): shown next to the wage fields and in the saved rows."""
    try:
        amount = Decimal(str(wage).strip().replace(",", ""))
        base, low, high = clamp_base(amount, floor, cap)
    except (ArithmeticError, ValueError):
        return ""
    if low:
        return f"低于缴费基数下限 {_yuan(floor)} 元，将按下限 {_yuan(base)} 元计算"
    if high:
        return f"高于缴费基数上限 {_yuan(cap)} 元，将按上限 {_yuan(base)} 元计算"
    return ""


def clamp_base(wage: Decimal, floor: Decimal, cap: Decimal) -> tuple[Decimal, bool, bool]:
    """(base, raised to the floor, lowered to the cap). Wages are in yuan with two decimals."""
    if wage < 0:
        raise ValueError("缴费工资不能为负数")
    if floor > cap:
        raise ValueError("缴费基数下限不能高于上限")
    wage = wage.quantize(FEN, rounding=ROUND_HALF_UP)
    if wage < floor:
        return floor.quantize(FEN), True, False
    if wage > cap:
        return cap.quantize(FEN), False, True
    return wage, False, False


def side_amount(base: Decimal, rate: Decimal, rounding: str, fixed: Decimal) -> Decimal:
    return round_amount(base * rate, rounding) + fixed.quantize(FEN)


def compute_line(params: Params, wage: Decimal, *, unit_rate: Decimal | None = None) -> Line:
    """One person × type × month. `unit_rate` overrides the set's unit rate (work injury:
    each unit carries its own rate)."""
    base, low, high = clamp_base(wage, params.floor, params.cap)
    rate = params.unit_rate if unit_rate is None else unit_rate
    return Line(
        insurance_type=params.insurance_type,
        base=base,
        unit=side_amount(base, rate, params.unit_rounding, params.unit_fixed),
        personal=side_amount(
            base, params.personal_rate, params.personal_rounding, params.personal_fixed
        ),
        below_floor=low,
        above_cap=high,
    )


def compute_annuity(params: Params, wage: Decimal) -> Line | None:
    if not (params.annuity_unit_rate or params.annuity_personal_rate):
        return None
    base, low, high = clamp_base(wage, params.floor, params.cap)
    return Line(
        insurance_type=ANNUITY_ITEM,
        base=base,
        unit=round_amount(base * params.annuity_unit_rate, params.unit_rounding),
        personal=round_amount(base * params.annuity_personal_rate, params.personal_rounding),
        below_floor=low,
        above_cap=high,
    )


def compute(params: list[Params], wage: Decimal, *, injury_rate: Decimal | None = None) -> Result:
    """All lines of one person and month, in insurance-type order."""
    lines: list[Line] = []
    for p in sorted(params, key=lambda x: x.insurance_type):
        override = injury_rate if p.insurance_type == "410" and injury_rate is not None else None
        lines.append(compute_line(p, wage, unit_rate=override))
        annuity = compute_annuity(p, wage)
        if annuity is not None:
            lines.append(annuity)
    return Result(lines=tuple(lines))


def difference_line(new: Line, old: Line) -> Line:
    """调整基数补缴: what raising an already assessed month's base adds (never negative)."""
    return Line(
        insurance_type=new.insurance_type,
        base=max(new.base - old.base, ZERO),
        unit=max(new.unit - old.unit, ZERO),
        personal=max(new.personal - old.personal, ZERO),
        below_floor=new.below_floor,
        above_cap=new.above_cap,
    )


# --- late fees (滞纳金) ------------------------------------------------------------------------

OLD_RATE = Decimal("0.002")  # arrears before 2011-07: 0.2 % a day up to 2011-06-30
NEW_RATE = Decimal("0.0005")  # Social Insurance Law art. 86: 0.05 % a day
LAW_DATE = date(2011, 7, 1)


def late_fee(
    principal: Decimal, due: date, paid: date, *, cap_at_principal: bool = False
) -> tuple[Decimal, int]:
    """(fee, days) for one unpaid line: calendar days from the day after `due` through `paid`,
    not compounded, rounded half-up to the fen; days before 2011-07-01 at 0.2 %."""
    if paid <= due or principal <= 0:
        return ZERO, 0
    first = due + timedelta(days=1)
    days = (paid - first).days + 1
    old_days = max(0, (min(paid, LAW_DATE - timedelta(days=1)) - first).days + 1)
    new_days = days - old_days
    fee = (principal * (OLD_RATE * old_days + NEW_RATE * new_days)).quantize(
        FEN, rounding=ROUND_HALF_UP
    )
    if cap_at_principal:
        fee = min(fee, principal)
    return fee, days


# --- personal pension account interest (个人账户记账利息) ----------------------------------------


def year_interest(
    opening: Decimal, monthly_credits: dict[int, Decimal], rate: Decimal, *, method: str = "monthly"
) -> Decimal:
    """Year-end interest: opening balance × rate plus the year's credits by the month-product
    method (credit of month n × rate × (13 − n) / 12) or the older approximation
    (the year's credits × rate × 1.083 × ½). Rounded half-up to the fen."""
    credits_interest = Decimal(0)
    if method == "monthly":
        for month, credit in monthly_credits.items():
            credits_interest += credit * rate * Decimal(13 - month) / Decimal(12)
    elif method == "approx":
        credits_interest = sum(monthly_credits.values(), Decimal(0)) * rate * Decimal("1.083") / 2
    else:
        raise ValueError(f"unknown interest method {method!r}")
    return (opening * rate + credits_interest).quantize(FEN, rounding=ROUND_HALF_UP)
