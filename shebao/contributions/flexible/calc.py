"""Pure calculation of a flexible worker's month (no ORM): the base from the chosen level
(缴费档次), the pension and medical lines, the levels offered and the parsing of a typed level.

Decisions (the lead asked for them to be written down):

- **Base level (缴费档次)** is a multiple of the floor of the period's parameter set
  (``FlexibleEnrolment.base_level``, two decimals): base = floor × level, rounded half-up to the
  fen, never below the floor nor above the cap. A multiple of the floor follows each July's new
  parameters by itself, so the worker does not declare again every year; where a new cap is
  lower than floor × level the calculator lowers the base to the cap and flags the line. We store
  no average wage (DOMAIN §5: parameters are data, never derived from the average wage at run
  time), so the steps offered are multiples of the floor: 1.0 (the floor, usually 60 % of the
  average wage), 1.5, 2.0, 2.5, 3.0, 4.0 and 5.0 (about 300 %), each only where floor × level does
  not exceed the cap; any other level with two decimals in that range may be typed.
- **Pension (110)**: flexible workers pay 20 % of the base (国发〔2005〕38号, kept by
  国办发〔2019〕13号), of which the 110 set's personal rate (8 %) goes to the personal account. The
  line keeps the two parts apart: ``personal_amount`` = base × the set's personal rate (credited
  to the personal account, ``contributions/account``), ``unit_amount`` = base × (20 % − personal
  rate), the pooled part (统筹部分, 12 %). Each part is rounded by the set's rounding of that side;
  the set's fixed amounts (none shipped) go with their side. ``flexible_lines(…, pension_rate=…)``
  takes another total where a region publishes one (e.g. 16 % + 8 % = 24 %): a per-region setting
  needs a ``RegionPolicy`` field.
- **Medical (310)** at the local rates of the region's 310 set, both sides (unit rate + fixed in
  ``unit_amount``, personal rate + fixed in ``personal_amount``): exactly ``compute_line``.

Only the choice labels of the item types come from the models (constants, no queries)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation

from shebao.contributions.calculator.calc import Params, Result, compute_line
from shebao.contributions.models import ItemType
from shebao.core.money import FEN
from shebao.core.periods import Period
from shebao.core.retirement import age_label, retirement_period, track_for
from shebao.registry.models import InsuranceType

PENSION = InsuranceType.ENTERPRISE_PENSION.value  # 110
MEDICAL = InsuranceType.MEDICAL.value  # 310
FLEXIBLE_TYPES = (PENSION, MEDICAL)
FLEXIBLE_PENSION_RATE = Decimal("0.20")
LEVEL_STEPS = tuple(Decimal(x) for x in ("1.00", "1.50", "2.00", "2.50", "3.00", "4.00", "5.00"))
LEVEL_MAX = Decimal("999.99")  # FlexibleEnrolment.base_level: 5 digits, 2 decimals
ITEM_LABELS = dict(ItemType.choices)


def level_base(params: Params, level: Decimal) -> Decimal:
    """floor × level, half-up to the fen (the calculator then clamps it to floor–cap)."""
    return (params.floor * level).quantize(FEN, rounding=ROUND_HALF_UP)


def pension_params(params: Params, total_rate: Decimal = FLEXIBLE_PENSION_RATE) -> Params:
    """The 110 set as a flexible worker pays it: the pooled part (total − the set's personal
    rate) on the unit side, the personal-account part (the set's personal rate) on the
    personal side."""
    if total_rate < params.personal_rate:
        raise ValueError("灵活就业养老保险费率不能低于个人账户记账比例")
    return replace(
        params,
        unit_rate=total_rate - params.personal_rate,
        annuity_unit_rate=Decimal(0),
        annuity_personal_rate=Decimal(0),
    )


def flexible_lines(
    params: Mapping[str, Params],
    level: Decimal,
    *,
    pension_rate: Decimal = FLEXIBLE_PENSION_RATE,
) -> Result:
    """One month of a flexible worker: a 110 line and a 310 line at floor × level of each
    type's set. `params` maps insurance type to its set in force."""
    lines = []
    for insurance_type in FLEXIBLE_TYPES:
        p = params[insurance_type]
        calc_params = pension_params(p, pension_rate) if insurance_type == PENSION else p
        lines.append(compute_line(calc_params, level_base(p, level)))
    return Result(lines=tuple(lines))


def level_errors(params: Mapping[str, Params], level: Decimal) -> list[str]:
    """Why a level is outside floor–cap of the sets (empty when it is fine)."""
    if level < 1:
        return ["缴费档次不能低于缴费基数下限（1.00 倍）"]
    if level > LEVEL_MAX:
        return ["缴费档次过高"]
    errors = []
    for insurance_type in FLEXIBLE_TYPES:
        p = params[insurance_type]
        base = level_base(p, level)
        if base > p.cap:
            errors.append(
                f"{ITEM_LABELS[insurance_type]}缴费基数 {base} 元超过上限 {p.cap} 元，"
                f"档次最高 {(p.cap / p.floor).quantize(FEN, rounding=ROUND_DOWN)} 倍"
            )
    return errors


@dataclass(frozen=True)
class LevelChoice:
    """One level offered on the registration page, with what it costs a month."""

    level: Decimal
    bases: dict[str, Decimal]
    result: Result

    @property
    def pension(self):
        return self.result.lines[0]

    @property
    def medical(self):
        return self.result.lines[1]


def level_choice(params: Mapping[str, Params], level: Decimal) -> LevelChoice:
    return LevelChoice(
        level=level,
        bases={t: level_base(params[t], level) for t in FLEXIBLE_TYPES},
        result=flexible_lines(params, level),
    )


def level_choices(params: Mapping[str, Params]) -> list[LevelChoice]:
    return [level_choice(params, level) for level in LEVEL_STEPS if not level_errors(params, level)]


def parse_level(value) -> Decimal:
    """A level typed or chosen: a positive number with at most two decimals (ValueError)."""
    text = str(value if value is not None else "").strip().removesuffix("倍")
    if not text:
        raise ValueError("请选择缴费档次")
    try:
        level = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"缴费档次“{text}”不是有效的数字") from None
    if not level.is_finite() or level <= 0:
        raise ValueError("缴费档次必须大于 0")
    if level != level.quantize(FEN):
        raise ValueError("缴费档次最多保留两位小数")
    return level.quantize(FEN)


# Who may register by age: from 16 (劳动法 §15) until the statutory retirement month
# (core/retirement.py, with the raise from 2025; women flexible workers follow the 55-year track).
MIN_AGE = 16


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def age_blocker(birth: date | None, sex: str, today: date) -> str:
    """Why a person of this age cannot become a flexible worker, or ""."""
    if birth is None:
        return ""
    age = age_on(birth, today)
    if age < MIN_AGE:
        return f"未满 {MIN_AGE} 周岁，不能登记为灵活就业人员"
    if sex not in ("1", "2"):
        return ""
    track = track_for(sex)
    retires = retirement_period(birth, track)
    if Period.of(today) >= retires:
        return (
            f"已达到法定退休年龄（{track.label} {age_label(track.age_months(birth))}，"
            f"{retires.label} 起），不能新登记为灵活就业人员；"
            "如需延长缴费或办理退休，请到参保地经办机构咨询"
        )
    return ""
