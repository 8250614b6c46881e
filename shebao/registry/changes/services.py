"""Information changes and locks (seed 001 §2.2, seed 003 单位信息修改) as filing kinds.

- 人员关键信息变更 (name, ID number, birth date, sex): materials required, always reviewed,
  refused while the person is locked.
- 人员一般信息变更 (mobile, address, hukou): approved on submit.
- 人员信息锁定: a unit asks to lock one of its persons (reviewed per region, VIP on submit);
  staff lock and unlock directly in the back office, for persons of their regions.
- 单位一般信息变更 (contacts, address): approved on submit.
- 单位关键信息变更 (name, USCC, legal representative, unit type): materials, always reviewed.

Person kinds carry one FilingRow (the "one open filing per person" constraint applies); the
filing payload says who and what ({"person_no", "name", "before", "after"}), the row payload
holds {"before", "after"} for display and apply. Unit kinds carry no rows: their payload is
{"unit_no", "before", "after"}. A unit only reaches persons it currently enrols (others: 404).
"""

import re
from datetime import date

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from shebao.core import hooks
from shebao.core.audit import audit_record
from shebao.core.excel import build_xlsx
from shebao.core.ids import mask_id_number, mask_mobile, normalize_resident_id, normalize_uscc
from shebao.core.models import AuditEntry
from shebao.filings import services as filing_services
from shebao.filings.business import BusinessKind
from shebao.filings.kinds import FilingHandler, ReviewPolicy, handler_for
from shebao.filings.materials import CheckedMaterial
from shebao.filings.models import OPEN_STATES, Filing, FilingKind
from shebao.registry.models import Enrolment, Person, Unit, UnitType
from shebao.registry.roster import roster_refresh

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

# Person.IdType values that use the 18-character resident ID layout and checksum.
RESIDENT_LAYOUT_TYPES = (
    Person.IdType.RESIDENT,
    Person.IdType.HMT_PERMIT,
    Person.IdType.FOREIGN_PR,
)
MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
PASSPORT_RE = re.compile(r"^[A-Z0-9]{5,20}$")
LOCK_REASON_MAX = 200
NAME_MAX = 50


def locked_message(person: Person) -> str:
    return f"该人员信息已锁定：{person.lock_reason or '未注明原因'}"


def ensure_not_locked(person: Person) -> None:
    """For every filing that would change a person's key data (also usable by other kinds)."""
    if person.is_locked:
        raise ValidationError(locked_message(person), code="locked")


# --- reads -------------------------------------------------------------------------------------


def unit_current_persons(unit) -> QuerySet[Person]:
    """The persons a unit currently enrols (an open enrolment of any insurance type)."""
    return Person.objects.filter(
        pk__in=Enrolment.objects.filter(unit=unit, stop_period__isnull=True).values("person_id")
    )


def _is_current_person(unit, person: Person) -> bool:
    return Enrolment.objects.filter(unit=unit, person=person, stop_period__isnull=True).exists()


def unit_person_get(actor, person_no: str) -> Person:
    """One of the actor's unit's current persons; any other person answers 404."""
    if getattr(actor, "kind", None) != "operator" or not actor.unit_id:
        raise Http404
    try:
        return unit_current_persons(actor.unit_id).get(person_no=person_no)
    except Person.DoesNotExist:
        raise Http404 from None


def _search(qs: QuerySet[Person], q: str) -> QuerySet[Person]:
    q = (q or "").strip()
    if not q:
        return qs.none()
    condition = Q(person_no=q) | Q(name__icontains=q)
    try:
        condition |= Q(id_number=normalize_resident_id(q))
    except ValidationError:
        condition |= Q(id_number=q.upper())
    return qs.filter(condition)


def unit_person_search(actor, q: str, *, limit: int = 50) -> list[Person]:
    """By person number, name or ID number (the view receives it by POST)."""
    return list(_search(unit_current_persons(actor.unit_id), q).order_by("person_no")[:limit])


def unit_change_filings(actor, *, limit: int = 20) -> QuerySet[Filing]:
    return Filing.objects.filter(unit_id=actor.unit_id, kind__in=CHANGE_KINDS).order_by(
        "-created_at", "-id"
    )[:limit]


def unit_change_filing_get(actor, serial_no: str, kinds=CHANGE_KINDS) -> Filing:
    try:
        return Filing.objects.select_related("unit", "person", "region").get(
            unit_id=actor.unit_id, kind__in=kinds, serial_no=serial_no
        )
    except Filing.DoesNotExist:
        raise Http404 from None


def staff_persons(actor) -> QuerySet[Person]:
    """Persons with an enrolment (open or not) in one of the staff member's regions. Person has
    no region of its own: the regions of its enrolments decide who administers it."""
    if getattr(actor, "kind", None) != "staff":
        return Person.objects.none()
    return Person.objects.filter(
        pk__in=Enrolment.objects.filter(region__in=actor.regions.all()).values("person_id")
    )


def staff_person_get(actor, person_no: str) -> Person:
    try:
        return staff_persons(actor).get(person_no=person_no)
    except Person.DoesNotExist:
        raise Http404 from None


def staff_person_search(actor, q: str, *, limit: int = 50) -> list[Person]:
    return list(_search(staff_persons(actor), q).order_by("person_no")[:limit])


def staff_locked_persons(actor) -> QuerySet[Person]:
    return staff_persons(actor).filter(is_locked=True).order_by("person_no")


def person_units(person: Person) -> list[Unit]:
    """Units currently enrolling the person (for staff's person page)."""
    return list(
        Unit.objects.filter(
            pk__in=Enrolment.objects.filter(person=person, stop_period__isnull=True).values(
                "unit_id"
            )
        ).order_by("unit_no")
    )


# --- value helpers -----------------------------------------------------------------------------


def _text(value) -> str:
    return " ".join(str(value or "").split())


def _clean_name(value, label: str = "姓名", max_length: int = NAME_MAX) -> str:
    name = _text(value)
    if not name:
        raise ValidationError(f"请填写{label}")
    if len(name) > max_length:
        raise ValidationError(f"{label}不能超过 {max_length} 个字")
    if any(ch.isdigit() for ch in name):
        raise ValidationError(f"{label}不能包含数字")
    return name


def _clean_mobile(value) -> str:
    mobile = _text(value).replace(" ", "")
    if not MOBILE_RE.match(mobile):
        raise ValidationError("请填写11位手机号码（以1开头）")
    return mobile


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


def _payload_unit(payload: dict, filing) -> Unit:
    """The unit a payload is about: the filing's once saved (the payload cannot move it)."""
    if filing is not None:
        unit = filing.unit
    else:
        unit = Unit.objects.filter(unit_no=payload.get("unit_no") or "").first()
    if unit is None or payload.get("unit_no") != unit.unit_no:
        raise ValidationError("申报内容与单位不符")
    return unit


# --- handlers ----------------------------------------------------------------------------------


class _PersonChangeHandler(FilingHandler):
    """One person per filing (a FilingRow), the before/after of some of their fields."""

    uses_rows = True
    edit_url_name = "unit:change_edit"
    business_kind = BusinessKind.PERSON_CHANGE
    # whether a locked person is refused (key data)
    refuses_locked = True

    def title(self, payload: dict) -> str:
        return f"{payload['name']}（{payload['person_no']}）{FilingKind(self.kind).label}"

    def _person(self, payload: dict) -> Person:
        try:
            return Person.objects.get(person_no=payload.get("person_no"))
        except Person.DoesNotExist:
            raise ValidationError("人员不存在") from None

    def clean_after(self, person: Person, after: dict) -> dict:
        """Validate and normalise the new values (raise a field-keyed ValidationError)."""
        raise NotImplementedError

    def clean_payload(self, payload: dict, *, filing) -> dict:
        person = self._person(payload)
        if filing is not None and not _is_current_person(filing.unit_id, person):
            raise ValidationError(f"{person.name}已不在本单位参保，不能办理此业务")
        if self.refuses_locked:
            ensure_not_locked(person)
        before = person_snapshot(person, self.labels)
        after = self.clean_after(person, dict(payload.get("after") or {}))
        if not changed_keys(before, after):
            raise ValidationError("变更后的信息与变更前相同，没有需要变更的内容")
        return {
            "person_no": person.person_no,
            "name": person.name,
            "before": before,
            "after": after,
        }

    def row_display(self, row) -> list[tuple[str, str, str]]:
        before = row.payload.get("before", {})
        after = row.payload.get("after", {})
        return [
            (label, shown_value(key, before.get(key)), shown_value(key, after.get(key)))
            for key, label in self.labels.items()
        ]

    def apply_row(self, *, filing, row, actor) -> None:
        person = Person.objects.select_for_update().get(pk=row.person_id)
        if self.refuses_locked:
            ensure_not_locked(person)
        before, after = row.payload["before"], row.payload["after"]
        keys = changed_keys(before, after)
        values = {key: after[key] for key in keys}
        if "birth_date" in values:
            values["birth_date"] = date.fromisoformat(values["birth_date"])
        for key, value in values.items():
            setattr(person, key, value)
        try:
            with transaction.atomic():
                person.save(update_fields=keys)
        except IntegrityError:
            raise ValidationError(
                {"id_number": "新的证件号码已被其他人员使用，请回退给单位核实"}
            ) from None
        if ROSTER_KEYS.intersection(values):
            roster_refresh(unit_ids=None, person_ids=[person.pk])  # every unit's roster
        if "name" in values:
            # The person's own login shows their name.
            hooks.call("accounts.person_account_renamed", person=person)
        audit_record(
            actor=actor or filing.created_by,
            action=f"person.{self.kind}",
            obj=person,
            region=filing.region,
            detail={
                "serial_no": filing.serial_no,
                "changed": {key: [before.get(key), after.get(key)] for key in keys},
            },
        )


class PersonKeyChangeHandler(_PersonChangeHandler):
    kind = FilingKind.PERSON_KEY_CHANGE
    review_policy = ReviewPolicy.ALWAYS
    required_materials = PERSON_KEY_MATERIALS
    labels = PERSON_KEY_LABELS
    duplicate_message = "该人员已有正在办理的关键信息变更"

    def clean_after(self, person: Person, after: dict) -> dict:
        """Blank means unchanged. For resident-layout IDs, birth date and sex follow the ID.
        Only new values are checked (a stored value is never refused for being old-style)."""
        errors = {}
        current = person_snapshot(person, self.labels)
        result = dict(current)
        given = _given(after, current)
        if "name" in given:
            try:
                result["name"] = _clean_name(given["name"])
            except ValidationError as e:
                errors["name"] = e.messages
        if "id_number" in given:
            try:
                if person.id_type in RESIDENT_LAYOUT_TYPES:
                    result["id_number"] = normalize_resident_id(given["id_number"])
                else:
                    number = given["id_number"].replace(" ", "").upper()
                    if not PASSPORT_RE.match(number):
                        raise ValidationError("证件号码应为5–20位字母或数字")
                    result["id_number"] = number
            except ValidationError as e:
                errors["id_number"] = e.messages
        if "birth_date" in given:
            birth = _parse_date(given["birth_date"])
            if birth is None:
                errors["birth_date"] = "请按“年-月-日”填写出生日期"
            elif birth > timezone.localdate() or birth.year < 1900:
                errors["birth_date"] = "出生日期不合理（不能晚于今天，也不能早于1900年）"
            else:
                result["birth_date"] = birth.isoformat()
        if "sex" in given:
            if given["sex"] in Person.Sex.values:
                result["sex"] = given["sex"]
            else:
                errors["sex"] = "请选择性别"
        if not errors and person.id_type in RESIDENT_LAYOUT_TYPES:
            errors.update(self._follow_id(current, result, given))
        if not errors and result["id_number"] != current["id_number"]:
            taken = Person.objects.filter(id_number=result["id_number"]).exclude(pk=person.pk)
            if taken.exists():
                errors["id_number"] = "该证件号码已被其他人员使用，如为同一人请到经办机构办理合并"
            else:
                blocker = filing_services.open_filing_blocker(result["id_number"], unit=None)
                if blocker:
                    errors["id_number"] = "该证件号码有其他正在办理的业务，暂不能变更为此号码"
        if errors:
            raise ValidationError(errors)
        return result

    @staticmethod
    def _follow_id(current: dict, result: dict, given: dict) -> dict:
        """Birth date and sex are written in a resident ID: when the ID changes and they were
        left blank they follow it; a value that contradicts the ID is refused."""
        number = result["id_number"]
        derived = {
            "birth_date": f"{number[6:10]}-{number[10:12]}-{number[12:14]}",
            "sex": "1" if int(number[16]) % 2 else "2",
        }
        errors = {}
        id_changed = number != current["id_number"]
        for key, label in (("birth_date", "出生日期"), ("sex", "性别")):
            if id_changed and key not in given:
                result[key] = derived[key]
                continue
            if (id_changed or result[key] != current[key]) and result[key] != derived[key]:
                errors[key] = (
                    f"{label}应与证件号码一致（号码中的{label}为{shown_value(key, derived[key])}）；"
                    "如证件号码有误，请同时变更证件号码"
                )
        return errors


def _given(after: dict, current: dict) -> dict[str, str]:
    """The values of `after` that are filled in and differ from the current ones (as text)."""
    given = {}
    for key, old in current.items():
        value = after.get(key)
        value = value.isoformat() if isinstance(value, date) else _text(value)
        if value and value != old:
            given[key] = value
    return given


def _parse_date(value) -> date | None:
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        return None


class PersonGeneralChangeHandler(_PersonChangeHandler):
    kind = FilingKind.PERSON_GENERAL_CHANGE
    review_policy = ReviewPolicy.AUTO
    labels = PERSON_GENERAL_LABELS
    refuses_locked = False  # general data stays editable during a lock
    duplicate_message = "该人员已有正在办理的一般信息变更"

    def clean_after(self, person: Person, after: dict) -> dict:
        """The form shows the current values: what is sent is the new state."""
        errors = {}
        result = person_snapshot(person, self.labels)
        mobile = _text(after.get("mobile"))
        if mobile != result["mobile"]:
            try:
                result["mobile"] = _clean_mobile(mobile)
            except ValidationError as e:
                errors["mobile"] = e.messages
            else:
                if hasattr(person, "account"):
                    # The mobile receives the person's own sign-in codes: only they change it.
                    errors["mobile"] = (
                        "该人员已开通个人网厅账户，手机号码用于本人登录验证，"
                        "请本人在个人网厅修改或到经办机构办理"
                    )
        address = _text(after.get("address"))
        if len(address) > 200:
            errors["address"] = "联系地址不能超过 200 个字"
        result["address"] = address
        hukou = after.get("hukou") or ""
        if hukou and hukou not in Person.Hukou.values:
            errors["hukou"] = "请选择户口性质"
        result["hukou"] = hukou
        if errors:
            raise ValidationError(errors)
        return result


class PersonLockHandler(_PersonChangeHandler):
    """A unit asks to lock a person's key data (e.g. while retirement is processed). Only
    staff unlock."""

    kind = FilingKind.PERSON_LOCK
    business_kind = BusinessKind.PERSON_LOCK
    review_policy = ReviewPolicy.REGION
    labels = PERSON_LOCK_LABELS
    duplicate_message = "该人员已有正在办理的锁定申请"

    def clean_payload(self, payload: dict, *, filing) -> dict:
        person = self._person(payload)
        if filing is not None and not _is_current_person(filing.unit_id, person):
            raise ValidationError(f"{person.name}已不在本单位参保，不能办理此业务")
        if person.is_locked:
            raise ValidationError(f"{locked_message(person)}，无需重复申请", code="locked")
        reason = _text(payload.get("reason"))
        if not reason:
            raise ValidationError({"reason": "请填写锁定原因"})
        if len(reason) > LOCK_REASON_MAX:
            raise ValidationError({"reason": f"锁定原因不能超过 {LOCK_REASON_MAX} 字"})
        return {
            "person_no": person.person_no,
            "name": person.name,
            "reason": reason,
            "before": {"is_locked": "未锁定", "lock_reason": ""},
            "after": {"is_locked": "锁定", "lock_reason": reason},
        }

    def row_display(self, row) -> list[tuple[str, str, str]]:
        before = row.payload.get("before", {})
        after = row.payload.get("after", {})
        return [(label, before.get(k, ""), after.get(k, "")) for k, label in self.labels.items()]

    def apply_row(self, *, filing, row, actor) -> None:
        person = Person.objects.select_for_update().get(pk=row.person_id)
        if person.is_locked:  # staff locked it meanwhile: the lock stands as it is
            return
        person.is_locked = True
        person.lock_reason = row.payload["after"]["lock_reason"]
        person.save(update_fields=["is_locked", "lock_reason"])
        audit_record(
            actor=actor or filing.created_by,
            action="person.lock",
            obj=person,
            region=filing.region,
            detail={"serial_no": filing.serial_no, "reason": person.lock_reason},
        )


class _UnitChangeHandler(FilingHandler):
    uses_rows = False
    edit_url_name = "unit:change_edit"
    business_kind = BusinessKind.UNIT_CHANGE

    def title(self, payload: dict) -> str:
        fields = "、".join(
            self.labels[k] for k in changed_keys(payload["before"], payload["after"])
        )
        return f"{FilingKind(self.kind).label}：{fields}"[:200]

    def subject_key(self, payload: dict) -> str:
        return payload["unit_no"]  # one open filing of the kind per unit

    def clean_after(self, unit: Unit, after: dict) -> dict:
        raise NotImplementedError

    def clean_payload(self, payload: dict, *, filing) -> dict:
        unit = _payload_unit(payload, filing)
        before = unit_snapshot(unit, self.labels)
        after = self.clean_after(unit, dict(payload.get("after") or {}))
        if not changed_keys(before, after):
            raise ValidationError("变更后的信息与变更前相同，没有需要变更的内容")
        return {"unit_no": unit.unit_no, "before": before, "after": after}

    def display_rows(self, payload: dict) -> list[tuple[str, str]]:
        before, after = payload.get("before", {}), payload.get("after", {})
        return [
            (
                self.labels[key],
                f"{shown_value(key, before.get(key)) or '（空）'} → {shown_value(key, after[key])}",
            )
            for key in changed_keys(before, after)
            if key in self.labels
        ]

    def apply(self, *, filing, actor) -> None:
        unit = Unit.objects.select_for_update().get(pk=filing.unit_id)
        before, after = filing.payload["before"], filing.payload["after"]
        keys = changed_keys(before, after)
        for key in keys:
            setattr(unit, key, after[key])
        try:
            with transaction.atomic():
                unit.save(update_fields=keys)
        except IntegrityError:
            raise ValidationError(
                {"uscc": "新的统一社会信用代码已被其他单位使用，请回退给单位核实"}
            ) from None
        audit_record(
            actor=actor or filing.created_by,
            action=f"unit.{self.kind}",
            obj=unit,
            detail={
                "serial_no": filing.serial_no,
                "changed": {key: [before.get(key), after.get(key)] for key in keys},
            },
        )


class UnitGeneralChangeHandler(_UnitChangeHandler):
    kind = FilingKind.UNIT_GENERAL_CHANGE
    review_policy = ReviewPolicy.AUTO
    labels = UNIT_GENERAL_LABELS
    duplicate_message = "本单位已有一笔单位一般信息变更正在办理，请先提交办结或退单"

    def clean_after(self, unit: Unit, after: dict) -> dict:
        errors = {}
        result = {}
        try:
            result["contact_name"] = _clean_name(after.get("contact_name"), "联系人")
        except ValidationError as e:
            errors["contact_name"] = e.messages
        try:
            result["contact_mobile"] = _clean_mobile(after.get("contact_mobile"))
        except ValidationError as e:
            errors["contact_mobile"] = e.messages
        address = _text(after.get("address"))
        if not address:
            errors["address"] = "请填写单位地址"
        elif len(address) > 200:
            errors["address"] = "单位地址不能超过 200 个字"
        result["address"] = address
        if errors:
            raise ValidationError(errors)
        return result


class UnitKeyChangeHandler(_UnitChangeHandler):
    kind = FilingKind.UNIT_KEY_CHANGE
    review_policy = ReviewPolicy.ALWAYS
    required_materials = UNIT_KEY_MATERIALS
    # asked for only when the legal representative changes (checked by unit_change_save)
    optional_materials = {LEGAL_REP_ID_SLOT: LEGAL_REP_ID_LABEL}
    labels = UNIT_KEY_LABELS
    duplicate_message = "本单位已有一笔单位关键信息变更正在办理，请先办结或退单"

    def clean_after(self, unit: Unit, after: dict) -> dict:
        """Blank means unchanged; only new values are checked."""
        errors = {}
        current = unit_snapshot(unit, self.labels)
        result = dict(current)
        given = _given(after, current)
        if "name" in given:
            if len(given["name"]) > 100:
                errors["name"] = "单位名称不能超过 100 个字"
            result["name"] = given["name"]
        if "uscc" in given:
            try:
                result["uscc"] = normalize_uscc(given["uscc"])
            except ValidationError as e:
                errors["uscc"] = e.messages
            else:
                if result["uscc"] != current["uscc"]:
                    message = self._uscc_taken(unit, result["uscc"])
                    if message:
                        errors["uscc"] = message
        if "legal_rep_name" in given:
            try:
                result["legal_rep_name"] = _clean_name(given["legal_rep_name"], "法定代表人姓名")
            except ValidationError as e:
                errors["legal_rep_name"] = e.messages
        if "legal_rep_id_number" in given:
            try:
                result["legal_rep_id_number"] = normalize_resident_id(given["legal_rep_id_number"])
            except ValidationError as e:
                errors["legal_rep_id_number"] = e.messages
        if (
            "legal_rep_name" not in errors
            and "legal_rep_id_number" not in errors
            and result["legal_rep_name"] != current["legal_rep_name"]
            and result["legal_rep_id_number"] == current["legal_rep_id_number"]
        ):
            errors["legal_rep_id_number"] = "更换法定代表人时，请填写新法定代表人的身份证号"
        if "unit_type" in given:
            if given["unit_type"] in UnitType.values:
                result["unit_type"] = given["unit_type"]
            else:
                errors["unit_type"] = "请选择单位类型"
        if errors:
            raise ValidationError(errors)
        return result

    @staticmethod
    def _uscc_taken(unit: Unit, uscc: str) -> str:
        if Unit.objects.filter(uscc=uscc).exclude(pk=unit.pk).exists():
            return "该统一社会信用代码已被其他参保单位使用，请核对"
        pending = Filing.objects.filter(state__in=OPEN_STATES).filter(
            Q(kind=FilingKind.UNIT_REGISTRATION, subject_key=uscc)
            | Q(kind=FilingKind.UNIT_KEY_CHANGE, payload__after__uscc=uscc)
        )
        if pending.exclude(unit=unit).exists():
            return "该统一社会信用代码在其他正在办理的业务中，暂不能使用"
        return ""


# --- services ----------------------------------------------------------------------------------


def _operator_unit(actor, kind: str) -> Unit:
    """The actor's unit, after the kind's permission check (PermissionDenied otherwise)."""
    unit = actor.unit if getattr(actor, "kind", None) == "operator" else None
    try:
        handler_for(kind).check_permission(actor=actor, unit=unit)
    except PermissionDenied:
        audit_record(
            actor=actor,
            action=f"filing.create.{kind}",
            object_type="filing",
            outcome=AuditEntry.Outcome.DENIED,
        )
        raise
    return unit


def _check_editable(filing: Filing | None, kind: str, unit: Unit, person=None) -> None:
    if filing is None:
        return
    if filing.kind != kind or filing.unit_id != unit.pk:
        raise Http404
    if person is not None and filing.person_id != person.pk:
        raise Http404
    if not filing.is_editable:
        raise ValidationError("该业务已提交或已办结，不能修改")


def _missing_materials(
    filing: Filing | None, materials: dict, slots: dict[str, str]
) -> dict[str, str]:
    stored = set(filing.materials.values_list("slot", flat=True)) if filing is not None else set()
    return {
        slot: f"请上传{label}"
        for slot, label in slots.items()
        if slot not in materials and slot not in stored
    }


def _clean_with_materials(handler, payload: dict, filing, materials: dict) -> dict:
    """The handler's clean payload; missing required materials are reported with the other
    errors at once."""
    missing = _missing_materials(filing, materials, handler.required_materials)
    try:
        payload = handler.clean_payload(payload, filing=filing)
    except ValidationError as e:
        if not missing:
            raise
        errors = e.message_dict if hasattr(e, "error_dict") else {NON_FIELD_ERRORS: e.messages}
        raise ValidationError({**errors, **missing}) from None
    if missing:
        raise ValidationError(missing)
    return payload


def person_change_save(
    *,
    actor,
    kind: str,
    person: Person,
    after: dict | None = None,
    reason: str = "",
    materials: dict[str, CheckedMaterial] | None = None,
    filing: Filing | None = None,
) -> Filing:
    """Save (create or edit) a person key / general change or a lock request of the actor's
    unit. A person the unit does not currently enrol answers 404, nothing written."""
    if kind not in PERSON_KINDS:
        raise ValueError(kind)
    unit = _operator_unit(actor, kind)
    if not _is_current_person(unit, person):
        audit_record(
            actor=actor,
            action=f"filing.create.{kind}",
            object_type="person",
            object_id=str(person.pk),
            outcome=AuditEntry.Outcome.DENIED,
        )
        raise Http404
    _check_editable(filing, kind, unit, person)
    handler = handler_for(kind)
    materials = materials or {}
    payload = {"person_no": person.person_no, "name": person.name}
    if kind == FilingKind.PERSON_LOCK:
        payload["reason"] = reason
    else:
        payload["after"] = after or {}
    payload = _clean_with_materials(handler, payload, filing, materials)
    rows = [
        {
            "person": person,
            "id_number": person.id_number,
            "name": person.name,
            "payload": {"before": payload["before"], "after": payload["after"]},
        }
    ]
    if filing is None:
        return filing_services.filing_create(
            actor=actor,
            kind=kind,
            region=unit.region,
            unit=unit,
            person=person,
            payload=payload,
            materials=materials,
            rows=rows,
        )
    return filing_services.filing_update(
        actor=actor, filing=filing, payload=payload, materials=materials, rows=rows
    )


def unit_change_save(
    *,
    actor,
    kind: str,
    after: dict,
    materials: dict[str, CheckedMaterial] | None = None,
    filing: Filing | None = None,
) -> Filing:
    """Save (create or edit) a unit general / key information change of the actor's unit."""
    if kind not in UNIT_KINDS:
        raise ValueError(kind)
    unit = _operator_unit(actor, kind)
    _check_editable(filing, kind, unit)
    handler = handler_for(kind)
    materials = materials or {}
    payload = _clean_with_materials(
        handler, {"unit_no": unit.unit_no, "after": after}, filing, materials
    )
    if kind == FilingKind.UNIT_KEY_CHANGE and (
        payload["after"]["legal_rep_id_number"] != payload["before"]["legal_rep_id_number"]
    ):
        missing = _missing_materials(filing, materials, {LEGAL_REP_ID_SLOT: LEGAL_REP_ID_LABEL})
        if missing:
            raise ValidationError(missing)
    if filing is None:
        return filing_services.filing_create(
            actor=actor,
            kind=kind,
            region=unit.region,
            unit=unit,
            payload=payload,
            materials=materials,
        )
    return filing_services.filing_update(
        actor=actor, filing=filing, payload=payload, materials=materials
    )


def _staff_person_check(actor, person: Person, action: str) -> None:
    """Staff of one of the person's regions may go on; others: PermissionDenied / 404 (the
    refusal is audited outside the transaction that would roll it back)."""
    if getattr(actor, "kind", None) != "staff" or not actor.is_active:
        raise PermissionDenied("只有经办人员可以锁定或解锁人员信息")
    if not staff_persons(actor).filter(pk=person.pk).exists():
        audit_record(
            actor=actor,
            action=action,
            object_type="person",
            object_id=str(person.pk),
            outcome=AuditEntry.Outcome.DENIED,
        )
        raise Http404


def person_lock(*, actor, person: Person, reason: str) -> Person:
    """Staff lock a person's key data with a reason (persons of their regions only)."""
    _staff_person_check(actor, person, "person.lock")
    reason = _text(reason)
    if not reason:
        raise ValidationError({"reason": "请填写锁定原因"})
    if len(reason) > LOCK_REASON_MAX:
        raise ValidationError({"reason": f"锁定原因不能超过 {LOCK_REASON_MAX} 字"})
    with transaction.atomic():
        locked = Person.objects.select_for_update().get(pk=person.pk)
        if locked.is_locked:
            raise ValidationError(f"{locked_message(locked)}，无需重复锁定")
        locked.is_locked = True
        locked.lock_reason = reason
        locked.save(update_fields=["is_locked", "lock_reason"])
        audit_record(actor=actor, action="person.lock", obj=locked, detail={"reason": reason})
    return locked


def person_unlock(*, actor, person: Person, note: str = "") -> Person:
    """Staff lift a lock (persons of their regions only)."""
    note = _text(note)[:200]
    _staff_person_check(actor, person, "person.unlock")
    with transaction.atomic():
        locked = Person.objects.select_for_update().get(pk=person.pk)
        if not locked.is_locked:
            raise ValidationError("该人员信息未锁定")
        previous = locked.lock_reason
        locked.is_locked = False
        locked.lock_reason = ""
        locked.save(update_fields=["is_locked", "lock_reason"])
        audit_record(
            actor=actor,
            action="person.unlock",
            obj=locked,
            detail={"previous_reason": previous, "note": note},
        )
    return locked


# --- the printable change form (人员变更表) ------------------------------------------------------


def person_change_form_xlsx(*, actor, filing: Filing) -> bytes:
    """The change form of a person key / general change: the person, the unit, each field
    before and after. ID numbers are masked unless the ID number itself is what changes
    (then both are needed in full, and the export is audited as such)."""
    if filing.kind not in CHANGE_FORM_KINDS:
        raise Http404
    handler = handler_for(filing.kind)
    row = filing.rows.select_related("person").first()
    if row is None:
        raise Http404
    before, after = row.payload.get("before", {}), row.payload.get("after", {})
    changed = changed_keys(before, after)
    full_id = "id_number" in changed

    def shown(key: str, value) -> str:
        if key == "id_number" and full_id:
            return value or ""
        if key == "mobile":
            return value or ""  # the form is the person's own change: their number in full
        return shown_value(key, value)

    unit = filing.unit
    lines = [
        ("流水号", filing.serial_no, ""),
        ("业务类型", filing.get_kind_display(), ""),
        ("单位编号", unit.unit_no if unit else "", ""),
        ("单位名称", unit.name if unit else "", ""),
        ("个人编号", row.person.person_no, ""),
        ("姓名", row.name, ""),
        ("证件号码", row.id_number if full_id else mask_id_number(row.id_number), ""),
        ("", "", ""),
        ("变更项目", "变更前", "变更后"),
    ]
    for key, label in handler.labels.items():
        mark = "（变更）" if key in changed else ""
        lines.append((f"{label}{mark}", shown(key, before.get(key)), shown(key, after.get(key))))
    lines += [
        ("", "", ""),
        ("状态", filing.get_state_display(), ""),
        ("保存时间", timezone.localtime(filing.created_at).strftime("%Y-%m-%d %H:%M"), ""),
        (
            "提交时间",
            timezone.localtime(filing.submitted_at).strftime("%Y-%m-%d %H:%M")
            if filing.submitted_at
            else "",
            "",
        ),
        (
            "办结时间",
            timezone.localtime(filing.decided_at).strftime("%Y-%m-%d %H:%M")
            if filing.decided_at and filing.state == "approved"
            else "",
            "",
        ),
        ("", "", ""),
        ("单位经办人（签字）", "", "参保人（签字）"),
        ("单位（盖章）", "", "日期"),
    ]
    content = build_xlsx([("人员变更表", ["人员变更表", "", ""], lines)])
    audit_record(
        actor=actor,
        action="person.change_form.export",
        obj=filing,
        detail={"full_id": full_id},
    )
    return content
