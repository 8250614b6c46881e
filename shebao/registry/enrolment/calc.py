"""Pure pieces of the enrolment lifecycle (no ORM): what an ID number can decide, date and
period checks of one person's enrolment or stop, the wage check, and how types, periods and
dates are written in stored rows and on the pages."""

from datetime import date
from decimal import Decimal, InvalidOperation

from shebao.core.ids import RESIDENCE_PERMIT_AREAS
from shebao.core.periods import Period
from shebao.registry.models import Enrolment, InsuranceType, Person

INJURY = InsuranceType.INJURY.value  # work injury: may be held at several units at once
MIGRANT_TWO_TYPES = (InsuranceType.MEDICAL.value, InsuranceType.INJURY.value)
RURAL_HUKOU = (Person.Hukou.LOCAL_RURAL.value, Person.Hukou.NONLOCAL_RURAL.value)
# Stops after which the person is not expected back: the enrolment ends (终止).
ENDING_REASONS = (
    Enrolment.StopReason.DEATH.value,
    Enrolment.StopReason.RETIRED.value,
    Enrolment.StopReason.EMIGRATED.value,
)
WAGE_MAX = Decimal("99999999.99")
MIN_WORKING_AGE = 16

# What typing an ID number decided (seed 001: 参保登记、续保、单位间转移、险种新增; Dalian 转入).
NEW = "new"
RESUME = "resume"
ADD_TYPES = "add_types"
TRANSFER_IN = "transfer_in"
BETWEEN_UNITS = "between_units"  # insured at another unit now: refused
BUSINESS_LABELS = {
    NEW: "新参保",
    RESUME: "续保",
    ADD_TYPES: "险种新增",
    TRANSFER_IN: "转入",
    BETWEEN_UNITS: "单位间转移",
}


def as_date(value) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def iso(value: date | None) -> str:
    return value.isoformat() if value else ""


def types_label(types) -> str:
    return "、".join(f"{t} {InsuranceType(t).label}" for t in types) if types else ""


def type_codes(types) -> str:
    return "、".join(types)


def period_label(value) -> str:
    try:
        return Period.parse(value).label
    except (TypeError, ValueError):
        return ""


def ordered_types(types) -> list[str]:
    chosen = set(types or [])
    return [t for t in InsuranceType.values if t in chosen]


def id_type(id_number: str) -> str:
    if id_number[:6] in RESIDENCE_PERMIT_AREAS:
        return Person.IdType.HMT_PERMIT
    if id_number.startswith("9"):
        return Person.IdType.FOREIGN_PR
    return Person.IdType.RESIDENT


def first_message(errors: dict) -> str:
    for value in errors.values():
        return value if isinstance(value, str) else "；".join(value)
    return ""


def first_work_date_error(first_work: date | None, *, birth: date, today: date) -> str:
    """Why a typed 参加工作日期 cannot be right, or ""."""
    if first_work is None:
        return "请填写参加工作日期"
    if first_work > today:
        return "参加工作日期不能晚于今天"
    if (first_work.year - MIN_WORKING_AGE, first_work.month, first_work.day) < (
        birth.year,
        birth.month,
        birth.day,
    ):
        return f"参加工作日期早于年满{MIN_WORKING_AGE}周岁（出生日期 {iso(birth)}），请核对"
    return ""


def start_period_error(
    start: Period,
    *,
    first_work: date | None,
    current: Period,
    types: list[str],
    last_stops: dict[str, int],
) -> str:
    """Why 参保年月 ``start`` cannot be filed, or "": not before the first work month, not after
    the next settlement period, and after the last stop of every chosen type."""
    if first_work is not None and start < Period.of(first_work):
        return f"参保年月不能早于参加工作日期所在月份（{Period.of(first_work).label}）"
    if start > current + 1:
        return f"参保年月不能晚于下一结算期（{(current + 1).label}）"
    late = [(t, p) for t, p in last_stops.items() if t in types and int(start) <= p]
    if late:
        t, p = max(late, key=lambda x: x[1])
        return (
            f"参保年月须晚于该人员上次停保年月（{t} {InsuranceType(t).label}"
            f"停保于{period_label(p)}）"
        )
    return ""


def parse_wage(value) -> tuple[Decimal | None, str]:
    """The declared wage as a Decimal, and why it cannot be filed ("" when it can)."""
    try:
        wage = Decimal(str(value if value is not None else ""))
    except InvalidOperation:
        return None, "请填写申报工资（元）"
    if not wage.is_finite() or wage <= 0:
        return wage, "申报工资应大于0"
    if wage > WAGE_MAX:
        return wage, "申报工资超出范围，请核对"
    if wage != wage.quantize(Decimal("0.01")):
        return wage, "申报工资最多保留两位小数"
    return wage, ""


def stop_date_error(
    stop_date: date, *, today: date, name: str, last_change: date | None, latest_start: int
) -> str:
    """Why a stop date cannot be filed for the person ``name``, or ""."""
    if stop_date > today:
        return "停保日期不能晚于今天"
    if last_change and stop_date < last_change:
        return f"{name}：停保日期不能早于该人员上次变更日期（{iso(last_change)}）"
    if int(Period.of(stop_date)) < latest_start:
        return f"{name}：停保日期所在月份早于参保年月（{period_label(latest_start)}）"
    return ""
