"""Pure helpers of the information changes (no ORM): the change kinds, the labels of each kind's
fields and materials, cleaning typed values, before/after snapshots and how a stored value is
shown (codes as labels, numbers masked)."""

from datetime import date

from django.core.exceptions import ValidationError

from shebao.core.ids import mask_id_number, mask_mobile
from shebao.filings.models import FilingKind
from shebao.registry.models import Person, Unit, UnitType

PERSON_KINDS = (
    FilingKind.PERSON_KEY_CHANGE,
    FilingKind.PERSON_GENERAL_CHANGE,
    FilingKind.PERSON_LOCK,
)
UNIT_KINDS = (FilingKind.UNIT_GENERAL_CHANGE, FilingKind.UNIT_KEY_CHANGE)
CHANGE_KINDS = (*PERSON_KINDS, *UNIT_KINDS)
# Kinds whose printable change form (人员变更表) exists.
CHANGE_FORM_KINDS = (FilingKind.PERSON_KEY_CHANGE, FilingKind.PERSON_GENERAL_CHANGE)

PERSON_KEY_LABELS = {
    "name": "姓名",
    "id_number": "证件号码",
    "birth_date": "出生日期",
    "sex": "性别",
}
ROSTER_KEYS = {"name", "id_number", "sex"}  # the person's data the roster shows
PERSON_GENERAL_LABELS = {"mobile": "手机号码", "address": "联系地址", "hukou": "户口性质"}
PERSON_LOCK_LABELS = {"is_locked": "锁定状态", "lock_reason": "锁定原因"}
UNIT_GENERAL_LABELS = {
    "contact_name": "联系人",
    "contact_mobile": "联系人手机",
    "address": "单位地址",
}
UNIT_KEY_LABELS = {
    "name": "单位名称",
    "uscc": "统一社会信用代码",
    "legal_rep_name": "法定代表人",
    "legal_rep_id_number": "法定代表人身份证号",
    "unit_type": "单位类型",
}

PERSON_KEY_MATERIALS = {"proof": "变更依据：居民户口簿本人页或身份证件（正反面）"}
UNIT_KEY_MATERIALS = {"licence": "变更后的营业执照、登记证书或上级批准变更文件"}
# Not always required: asked for when the legal representative changes.
LEGAL_REP_ID_SLOT = "legal_rep_id"
LEGAL_REP_ID_LABEL = "新法定代表人身份证（人像面）"

LOCK_REASON_MAX = 200


def locked_message(person: Person) -> str:
    return f"该人员信息已锁定：{person.lock_reason or '未注明原因'}"


def ensure_not_locked(person: Person) -> None:
    """For every filing that would change a person's key data (also usable by other kinds)."""
    if person.is_locked:
        raise ValidationError(locked_message(person), code="locked")


def clean_text(value) -> str:
    return " ".join(str(value or "").split())


def person_snapshot(person: Person, labels: dict[str, str]) -> dict[str, str]:
    values = {
        "name": person.name,
        "id_number": person.id_number,
        "birth_date": person.birth_date.isoformat() if person.birth_date else "",
        "sex": person.sex,
        "mobile": person.mobile,
        "address": person.address,
        "hukou": person.hukou,
    }
    return {key: values[key] for key in labels}


def unit_snapshot(unit: Unit, labels: dict[str, str]) -> dict[str, str]:
    return {key: getattr(unit, key) or "" for key in labels}


def changed_keys(before: dict, after: dict) -> list[str]:
    return [key for key in after if after.get(key) != before.get(key)]


_ID_KEYS = ("id_number", "legal_rep_id_number")
_MOBILE_KEYS = ("mobile", "contact_mobile")


def _logged_value(key: str, value):
    if value and key in _ID_KEYS:
        return mask_id_number(str(value))
    if value and key in _MOBILE_KEYS:
        return mask_mobile(str(value))
    return value


def logged_changes(before: dict, after: dict, keys: list[str]) -> dict[str, list]:
    """The changed values for the audit row: ID numbers and mobiles masked at the source
    (whatever their type: passports too), the audit sink masks again what it recognises."""
    return {
        key: [_logged_value(key, before.get(key)), _logged_value(key, after.get(key))]
        for key in keys
    }


def shown_value(key: str, value) -> str:
    """A stored value as people read it (codes as labels, numbers masked)."""
    if value in (None, ""):
        return ""
    if key == "sex":
        return Person.Sex(value).label if value in Person.Sex.values else str(value)
    if key == "hukou":
        return Person.Hukou(value).label if value in Person.Hukou.values else str(value)
    if key == "unit_type":
        return UnitType(value).label if value in UnitType.values else str(value)
    if key in ("id_number", "legal_rep_id_number"):
        return mask_id_number(value)
    if key in ("mobile", "contact_mobile"):
        return mask_mobile(value)
    return str(value)


def given_values(after: dict, current: dict) -> dict[str, str]:
    """The values of `after` that are filled in and differ from the current ones (as text)."""
    given = {}
    for key, old in current.items():
        value = after.get(key)
        value = value.isoformat() if isinstance(value, date) else clean_text(value)
        if value and value != old:
            given[key] = value
    return given


def parse_date(value) -> date | None:
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        return None
