"""The filing handlers of the information changes and locks (seed 001 §2.2, seed 003 单位信息修改),
named by dotted path in ``shebao/filings/kinds.py``.

- 人员关键信息变更 (name, ID number, birth date, sex): materials required, always reviewed,
  refused while the person is locked.
- 人员一般信息变更 (mobile, address, hukou): approved on submit.
- 人员信息锁定: a unit asks to lock one of its persons (reviewed per region, VIP on submit).
- 单位一般信息变更 (contacts, address): approved on submit.
- 单位关键信息变更 (name, USCC, legal representative, unit type): materials, always reviewed.

Person kinds carry one FilingRow (the "one open filing per person" constraint applies); the
filing payload says who and what ({"person_no", "name", "before", "after"}), the row payload
holds {"before", "after"} for display and apply. Unit kinds carry no rows: their payload is
{"unit_no", "before", "after"}."""

from datetime import date

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from shebao.core import hooks
from shebao.core.audit import audit_record
from shebao.core.crypto import stored_fields
from shebao.core.inputs import (
    RESIDENT_LAYOUT_TYPES,
    normalize_address,
    normalize_id_number,
    normalize_mobile,
    normalize_person_name,
    normalize_resident_layout_id,
    normalize_unit_name,
    normalize_uscc_input,
)
from shebao.filings import services as filing_services
from shebao.filings.business import BusinessKind
from shebao.filings.kinds import FilingHandler, ReviewPolicy
from shebao.filings.models import OPEN_STATES, Filing, FilingKind
from shebao.registry.changes.calc import (
    LEGAL_REP_ID_LABEL,
    LEGAL_REP_ID_SLOT,
    LOCK_REASON_MAX,
    PERSON_GENERAL_LABELS,
    PERSON_KEY_LABELS,
    PERSON_KEY_MATERIALS,
    PERSON_LOCK_LABELS,
    ROSTER_KEYS,
    UNIT_GENERAL_LABELS,
    UNIT_KEY_LABELS,
    UNIT_KEY_MATERIALS,
    changed_keys,
    clean_text,
    ensure_not_locked,
    given_values,
    locked_message,
    logged_changes,
    parse_date,
    person_snapshot,
    shown_value,
    unit_snapshot,
)
from shebao.registry.changes.selectors import is_current_person
from shebao.registry.models import Person, Unit, UnitType
from shebao.registry.roster import roster_refresh


def payload_unit(payload: dict, filing) -> Unit:
    """The unit a payload is about: the filing's once saved (the payload cannot move it)."""
    if filing is not None:
        unit = filing.unit
    else:
        unit = Unit.objects.filter(unit_no=payload.get("unit_no") or "").first()
    if unit is None or payload.get("unit_no") != unit.unit_no:
        raise ValidationError("申报内容与单位不符")
    return unit


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
        if filing is not None and not is_current_person(filing.unit_id, person):
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
                person.save(update_fields=stored_fields(Person, keys))
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
                "changed": logged_changes(before, after, keys),
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
        given = given_values(after, current)
        if "name" in given:
            try:
                result["name"] = normalize_person_name(given["name"])
            except ValidationError as e:
                errors["name"] = e.messages
        if "id_number" in given:
            try:
                result["id_number"] = normalize_id_number(person.id_type, given["id_number"])
            except ValidationError as e:
                errors["id_number"] = e.messages
        if "birth_date" in given:
            birth = parse_date(given["birth_date"])
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
            taken = Person.objects.filter(Person.id_number.q(result["id_number"]))
            taken = taken.filter(id_type=person.id_type).exclude(pk=person.pk)
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
        mobile = clean_text(after.get("mobile"))
        if mobile != result["mobile"]:
            try:
                result["mobile"] = normalize_mobile(mobile)
            except ValidationError as e:
                errors["mobile"] = e.messages
            else:
                if hasattr(person, "account"):
                    # The mobile receives the person's own sign-in codes: only they change it.
                    errors["mobile"] = (
                        "该人员已开通个人网厅账户，手机号码用于本人登录验证，"
                        "请本人在个人网厅修改或到经办机构办理"
                    )
        address = clean_text(after.get("address"))
        if address != result["address"]:  # a stored value is not refused for being old-style
            try:
                result["address"] = normalize_address(address, required=False)
            except ValidationError as e:
                errors["address"] = e.messages
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
        if filing is not None and not is_current_person(filing.unit_id, person):
            raise ValidationError(f"{person.name}已不在本单位参保，不能办理此业务")
        if person.is_locked:
            raise ValidationError(f"{locked_message(person)}，无需重复申请", code="locked")
        reason = clean_text(payload.get("reason"))
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
        unit = payload_unit(payload, filing)
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
                unit.save(update_fields=stored_fields(Unit, keys))
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
                "changed": logged_changes(before, after, keys),
            },
        )


class UnitGeneralChangeHandler(_UnitChangeHandler):
    kind = FilingKind.UNIT_GENERAL_CHANGE
    review_policy = ReviewPolicy.AUTO
    labels = UNIT_GENERAL_LABELS
    duplicate_message = "本单位已有一笔单位一般信息变更正在办理，请先提交办结或退单"

    RULES = {
        "contact_name": normalize_person_name,
        "contact_mobile": normalize_mobile,
        "address": normalize_address,
    }

    def clean_after(self, unit: Unit, after: dict) -> dict:
        """The form shows the current values: a value sent unchanged is kept as stored (never
        refused for being old-style); a new or blank one is checked by its rule."""
        errors = {}
        result = {}
        for key, rule in self.RULES.items():
            value = clean_text(after.get(key))
            if value and value == getattr(unit, key):
                result[key] = value
                continue
            try:
                result[key] = rule(value)
            except ValidationError as e:
                errors[key] = e.messages
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

    def legal_rep_id_number(self, payload: dict) -> str:
        """The new legal representative's ID number when the change replaces them."""
        before, after = payload.get("before", {}), payload.get("after", {})
        number = after.get("legal_rep_id_number") or ""
        return number if number != before.get("legal_rep_id_number") else ""

    def clean_after(self, unit: Unit, after: dict) -> dict:
        """Blank means unchanged; only new values are checked."""
        errors = {}
        current = unit_snapshot(unit, self.labels)
        result = dict(current)
        given = given_values(after, current)
        if "name" in given:
            try:
                result["name"] = normalize_unit_name(given["name"])
            except ValidationError as e:
                errors["name"] = e.messages
        if "uscc" in given:
            try:
                result["uscc"] = normalize_uscc_input(given["uscc"])
            except ValidationError as e:
                errors["uscc"] = e.messages
            else:
                if result["uscc"] != current["uscc"]:
                    message = self._uscc_taken(unit, result["uscc"])
                    if message:
                        errors["uscc"] = message
        if "legal_rep_name" in given:
            try:
                result["legal_rep_name"] = normalize_person_name(given["legal_rep_name"])
            except ValidationError as e:
                errors["legal_rep_name"] = e.messages
        if "legal_rep_id_number" in given:
            try:
                result["legal_rep_id_number"] = normalize_resident_layout_id(
                    given["legal_rep_id_number"]
                )
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
