"""Pure helpers of policy parameters and work-injury rates (no ORM): the field lists and their
checks, the floating factors of the work-injury rate, labels for display, and the validity of a
region × type's sets derived from the next valid_from.

A set runs from its valid_from until the month before the next valid_from; the last one is
open-ended (regions announce new bases months after July and keep the old ones meanwhile).
Only the highest version of a valid_from is in force (a correction is a new version)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError

from shebao.contributions.models import ParameterSet, Rounding, UnitInjuryRate
from shebao.core.periods import Period
from shebao.registry.models import InsuranceType

MONEY_MAX = Decimal("999999999999.99")
FEN = Decimal("0.01")
RATE_PLACES = Decimal("0.000001")
ANNUITY_TYPE = InsuranceType.INSTITUTION_PENSION.value
PUBLISH_STATUSES = (ParameterSet.Status.UNVERIFIED.value, ParameterSet.Status.DEMO.value)

MONEY_FIELDS = {
    "floor": "缴费基数下限",
    "cap": "缴费基数上限",
    "unit_fixed": "单位定额",
    "personal_fixed": "个人定额",
}
RATE_FIELDS = {
    "unit_rate": "单位费率",
    "personal_rate": "个人费率",
    "annuity_unit_rate": "职业年金单位费率",
    "annuity_personal_rate": "职业年金个人费率",
}
ROUNDING_FIELDS = {"unit_rounding": "单位舍入方式", "personal_rounding": "个人舍入方式"}
OPTIONAL_ZERO = ("unit_fixed", "personal_fixed", "annuity_unit_rate", "annuity_personal_rate")
FIELDS = (
    *MONEY_FIELDS,
    *RATE_FIELDS,
    *ROUNDING_FIELDS,
    "source",
    "status",
)

# Floating factors of the work-injury rate (DOMAIN §5).
CLASS_1_FACTORS = (Decimal("1.00"), Decimal("1.20"), Decimal("1.50"))
OTHER_FACTORS = (
    Decimal("0.50"),
    Decimal("0.80"),
    Decimal("1.00"),
    Decimal("1.20"),
    Decimal("1.50"),
)


def injury_factors(risk_class: int) -> tuple[Decimal, ...]:
    return CLASS_1_FACTORS if int(risk_class) == 1 else OTHER_FACTORS


def class_label(risk_class: int) -> str:
    return "一二三四五六七八"[int(risk_class) - 1] + "类"


def percent(value: Decimal) -> str:
    """0.098 → "9.8"; 1.20 → "120" (for labels)."""
    text = f"{(Decimal(value) * 100).normalize():f}"
    return text


# --- parsing ------------------------------------------------------------------------------------


def parse_decimal(value) -> Decimal | None:
    """A typed number, None when empty; ValueError when it is not a finite number, TypeError
    for a float (no float near money)."""
    if value is None:
        return None
    if isinstance(value, float):
        raise TypeError("金额和费率不能使用浮点数（float）")
    if isinstance(value, Decimal):
        number = value
    else:
        text = str(value).strip().replace(",", "").replace("，", "")
        if not text:
            return None
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ValueError from None
    if not number.is_finite():
        raise ValueError
    return number


def parse_period(value, label: str = "起始年月") -> Period:
    try:
        p = Period.parse(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        raise ValidationError(f"{label}格式应为yyyyMM，例如202507") from None
    if not 190001 <= int(p) <= 299912:
        raise ValidationError(f"{label}超出范围（1900年01月至2999年12月）")
    return p


def _clean_money(fields: dict, clean: dict, errors: dict) -> None:
    for name, label in MONEY_FIELDS.items():
        try:
            value = parse_decimal(fields.get(name))
        except ValueError:
            errors[name] = f"{label}必须是数字（元）"
            continue
        if value is None:
            if name in OPTIONAL_ZERO:
                clean[name] = Decimal("0.00")
            else:
                errors[name] = f"请填写{label}"
            continue
        if value < 0:
            errors[name] = f"{label}不能为负数"
        elif value > MONEY_MAX:
            errors[name] = f"{label}超出范围"
        elif value != value.quantize(FEN):
            errors[name] = f"{label}最多保留两位小数"
        else:
            clean[name] = value.quantize(FEN)


def _clean_rates(fields: dict, clean: dict, errors: dict) -> None:
    for name, label in RATE_FIELDS.items():
        try:
            value = parse_decimal(fields.get(name))
        except ValueError:
            errors[name] = f"{label}必须是数字，例如 0.16 表示 16%"
            continue
        if value is None:
            if name in OPTIONAL_ZERO:
                clean[name] = Decimal("0")
            else:
                errors[name] = f"请填写{label}"
            continue
        if value < 0 or value > 1:
            errors[name] = f"{label}应在 0 到 1 之间（小数，例如 0.16 表示 16%）"
        elif value != value.quantize(RATE_PLACES):
            errors[name] = f"{label}最多保留六位小数"
        else:
            clean[name] = value


def clean_parameter_fields(insurance_type: str, fields: dict) -> dict:
    """Check the values of a set; return them typed, or raise ValidationError keyed by field
    with Chinese messages."""
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise ValueError(f"unknown parameter fields: {sorted(unknown)}")
    errors: dict[str, str] = {}
    clean: dict = {}
    _clean_money(fields, clean, errors)
    _clean_rates(fields, clean, errors)
    if "floor" in clean and "cap" in clean and clean["floor"] > clean["cap"]:
        errors["cap"] = "缴费基数上限不能低于下限"
    if insurance_type != ANNUITY_TYPE:
        for name in ("annuity_unit_rate", "annuity_personal_rate"):
            if clean.get(name):
                errors[name] = "职业年金费率只适用于机关事业单位养老保险（120）"
    modes = "、".join(label for _, label in Rounding.choices)
    for name, label in ROUNDING_FIELDS.items():
        value = fields.get(name, Rounding.FEN.value)
        if value not in Rounding.values:
            errors[name] = f"{label}只能是：{modes}"
        else:
            clean[name] = value
    source = (fields.get("source") or "").strip()
    if not source:
        errors["source"] = "请填写依据（文件文号或公布网址）"
    elif len(source) > 300:
        errors["source"] = "依据不能超过300字"
    clean["source"] = source
    status = fields.get("status") or ParameterSet.Status.UNVERIFIED.value
    if status not in PUBLISH_STATUSES:
        errors["status"] = "新发布的参数只能是“待核实”或“演示数据”；核实后再标记为已核实"
    clean["status"] = status
    if errors:
        raise ValidationError(errors)
    return clean


def clean_injury_factor(risk_class: int, factor) -> Decimal:
    """The floating factor when it is one the industry class allows; ValidationError keyed by
    ``factor`` otherwise."""
    allowed = injury_factors(risk_class)
    allowed_label = "、".join(f"{percent(f)}%" for f in allowed)
    try:
        f = parse_decimal(factor)
    except (ValueError, TypeError):
        f = None
    if f is None:
        raise ValidationError({"factor": f"请选择浮动比例（{allowed_label}）"})
    if f not in allowed:
        raise ValidationError(
            {"factor": f"{class_label(risk_class)}行业的浮动比例只能是{allowed_label}"}
        )
    return f


# --- display ------------------------------------------------------------------------------------


def set_labels(ps: ParameterSet) -> dict[str, str]:
    """Rates as percentages and the rounding modes in Chinese, for display."""
    annuity = ""
    if ps.annuity_unit_rate or ps.annuity_personal_rate:
        annuity = f"{percent(ps.annuity_unit_rate)}% / {percent(ps.annuity_personal_rate)}%"
    return {
        "unit_rate": f"{percent(ps.unit_rate)}%",
        "personal_rate": f"{percent(ps.personal_rate)}%",
        "annuity": annuity,
        "unit_rounding": Rounding(ps.unit_rounding).label,
        "personal_rounding": Rounding(ps.personal_rounding).label,
    }


def parameter_initial(ps: ParameterSet) -> dict:
    """A publish form pre-filled from an existing set (for a new version or the next period)."""
    return {
        "region": ps.region_id,
        "insurance_type": ps.insurance_type,
        "valid_from": str(ps.valid_from),
        "floor": f"{ps.floor:f}",
        "cap": f"{ps.cap:f}",
        "unit_rate": f"{ps.unit_rate.normalize():f}",
        "personal_rate": f"{ps.personal_rate.normalize():f}",
        "unit_fixed": f"{ps.unit_fixed:f}",
        "personal_fixed": f"{ps.personal_fixed:f}",
        "unit_rounding": ps.unit_rounding,
        "personal_rounding": ps.personal_rounding,
        "annuity_unit_rate": f"{ps.annuity_unit_rate.normalize():f}",
        "annuity_personal_rate": f"{ps.annuity_personal_rate.normalize():f}",
        "source": ps.source,
        "status": ps.status if ps.status in PUBLISH_STATUSES else PUBLISH_STATUSES[0],
    }


@dataclass
class SetRow:
    """One parameter set with its derived validity, for the history table."""

    ps: ParameterSet
    used: bool
    valid_until: Period | None = None  # None: open-ended (or superseded)
    superseded_by: int | None = None  # the version that replaced this one
    in_force_now: bool = False

    @property
    def labels(self) -> dict[str, str]:
        return set_labels(self.ps)

    @property
    def valid_from_label(self) -> str:
        return Period.parse(self.ps.valid_from).label

    @property
    def validity(self) -> str:
        if self.superseded_by is not None:
            return f"已被第{self.superseded_by}版取代"
        start = self.valid_from_label
        if self.valid_until is None:
            return f"{start}起（至新参数发布）"
        return f"{start} 至 {self.valid_until.label}"


def derive_validity(sets: list[ParameterSet], *, now: int, used: set[int]) -> list[SetRow]:
    """Pure: the sets of one region × type, newest first, with validity derived from the next
    valid_from; only the highest version of each valid_from is in force."""
    latest: dict[int, int] = {}
    for ps in sets:
        latest[ps.valid_from] = max(latest.get(ps.valid_from, 0), ps.version)
    starts = sorted(latest)
    rows = []
    for ps in sorted(sets, key=lambda s: (s.valid_from, s.version), reverse=True):
        row = SetRow(ps=ps, used=ps.pk in used)
        if ps.version != latest[ps.valid_from]:
            row.superseded_by = latest[ps.valid_from]
        else:
            i = starts.index(ps.valid_from)
            if i + 1 < len(starts):
                row.valid_until = Period.parse(starts[i + 1]) - 1
            row.in_force_now = ps.valid_from <= now and (
                row.valid_until is None or now <= int(row.valid_until)
            )
        rows.append(row)
    return rows


@dataclass
class RateRow:
    """One of a unit's work-injury rates with the month it runs until, for the history table."""

    rate: UnitInjuryRate
    valid_until: Period | None
    settled: bool

    @property
    def factor_label(self) -> str:
        return f"{percent(self.rate.factor)}%"

    @property
    def rate_label(self) -> str:
        return f"{percent(self.rate.rate)}%"

    @property
    def benchmark_label(self) -> str:
        return f"{percent(self.rate.benchmark)}%"

    @property
    def validity(self) -> str:
        start = Period.parse(self.rate.valid_from).label
        return f"{start} 至 {self.valid_until.label}" if self.valid_until else f"{start}起"


def rate_rows(rates: list[UnitInjuryRate], settled: int | None) -> list[RateRow]:
    """A unit's rates (oldest first in), newest first out, each valid until the month before
    the next one, marked settled when the unit has settled its first month."""
    rows = []
    for i, r in enumerate(rates):
        until = Period.parse(rates[i + 1].valid_from) - 1 if i + 1 < len(rates) else None
        rows.append(RateRow(r, until, settled is not None and r.valid_from <= settled))
    return list(reversed(rows))
