"""The enrolment lifecycle as filing kinds (DOMAIN §2–3, issue 4): 人员参保 (新参保, 续保,
险种新增), 人员停保, 人员转出 and 人员转入. Every kind carries one FilingRow per person.

Typing an ID number decides the business (seed 001 Handan, ``enrolment_lookup``): never
insured → 新参保 (the person is created at approval); insured before and stopped now → 续保;
insured here for some types → 险种新增; insured at another unit now → 单位间转移, refused: the old
unit stops the person (or transfers them out) first. 转入 takes up a person whose last enrolment
ended with 转出 at another unit of the same region, keeping their data.

A row keeps what was filed in ``payload["after"]`` and what the person had before in
``payload["before"]`` (both plain JSON). The same checks run when a person is saved, when the
filing is submitted and when it is approved, because the registry may change in between.
Approval applies each approved row: persons and enrolments are created, stops are recorded.

Reads used by the pages (roster to pick from, drafts to add to) live at the end, scoped by the
operator's unit like every selector."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from shebao.core import hooks
from shebao.core.audit import audit_record
from shebao.core.ids import (
    RESIDENCE_PERMIT_AREAS,
    mask_mobile,
    normalize_resident_id,
    resident_id_birth_date,
    resident_id_sex,
)
from shebao.core.models import AuditEntry
from shebao.core.periods import Period
from shebao.core.sequences import next_person_no
from shebao.filings import services as filing_services
from shebao.filings.business import BusinessKind
from shebao.filings.kinds import FilingHandler, ReviewPolicy, handler_for
from shebao.filings.materials import CheckedMaterial
from shebao.filings.models import Filing, FilingKind, FilingMaterial, FilingRow, FilingState
from shebao.filings.services import (
    lock_own_filing as _lock_own_filing,
)
from shebao.filings.services import (
    row_spec as _row_dict,
)
from shebao.filings.services import (
    rows_payload as _filing_payload,
)
from shebao.registry.models import Enrolment, InsuranceType, Person, Unit
from shebao.registry.roster import roster_refresh

INJURY = InsuranceType.INJURY.value  # work injury: may be held at several units at once
MIGRANT_TWO_TYPES = (InsuranceType.MEDICAL.value, InsuranceType.INJURY.value)
RURAL_HUKOU = (Person.Hukou.LOCAL_RURAL.value, Person.Hukou.NONLOCAL_RURAL.value)
# Stops after which the person is not expected back: the enrolment ends (终止).
ENDING_REASONS = (
    Enrolment.StopReason.DEATH.value,
    Enrolment.StopReason.RETIRED.value,
    Enrolment.StopReason.EMIGRATED.value,
)
PHOTO_SLOT_PREFIX = "photo_"
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

ENROLMENT_KINDS = (FilingKind.ENROLMENT.value, FilingKind.TRANSFER_IN.value)
STOP_KINDS = (FilingKind.STOP.value, FilingKind.TRANSFER_OUT.value)


# --- small helpers -------------------------------------------------------------------------------


def _today() -> date:
    return timezone.localdate()


def _as_date(value) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def _iso(value: date | None) -> str:
    return value.isoformat() if value else ""


def types_label(types) -> str:
    return "、".join(f"{t} {InsuranceType(t).label}" for t in types) if types else ""


def _codes(types) -> str:
    return "、".join(types)


def period_label(value) -> str:
    try:
        return Period.parse(value).label
    except (TypeError, ValueError):
        return ""


def _ordered_types(types) -> list[str]:
    chosen = set(types or [])
    return [t for t in InsuranceType.values if t in chosen]


def _id_type(id_number: str) -> str:
    if id_number[:6] in RESIDENCE_PERMIT_AREAS:
        return Person.IdType.HMT_PERMIT
    if id_number.startswith("9"):
        return Person.IdType.FOREIGN_PR
    return Person.IdType.RESIDENT


def _operator_unit(actor, business_kind: str) -> Unit:
    """The actor's unit when they are an active operator allowed to file this business."""
    if getattr(actor, "kind", None) != "operator" or not actor.may_file(business_kind):
        audit_record(
            actor=actor,
            action=f"registry.{business_kind}.denied",
            outcome=AuditEntry.Outcome.DENIED,
        )
        raise PermissionDenied("您没有办理此项业务的权限")
    return Unit.objects.select_related("region").get(pk=actor.unit_id)


def _save_rows(
    *, actor, kind: str, unit: Unit, filing: Filing | None, rows: list[dict], materials=None
) -> Filing:
    payload = _filing_payload(filing, rows)
    if filing is None:
        return filing_services.filing_create(
            actor=actor,
            kind=kind,
            region=unit.region,
            unit=unit,
            payload=payload,
            rows=rows,
            materials=materials or {},
        )
    saved = filing_services.filing_update(
        actor=actor, filing=filing, payload=payload, rows=rows, materials=materials or {}
    )
    _drop_orphan_photos(saved, rows)
    return saved


def _drop_orphan_photos(filing: Filing, rows: list[dict]) -> None:
    """Photos of persons no longer in the filing go with them."""
    kept = {r["payload"].get("after", {}).get("photo_slot") for r in rows} - {"", None}
    orphans = FilingMaterial.objects.filter(
        filing=filing, slot__startswith=PHOTO_SLOT_PREFIX
    ).exclude(slot__in=kept)
    for material in orphans:
        # the file leaves storage once the removal is committed
        transaction.on_commit(lambda f=material.file: f.delete(save=False))
        material.delete()


def unpaid_periods(person: Person, unit: Unit) -> list[int]:
    """The 费款所属期 (yyyyMM) for which ``person`` has unpaid contribution lines at ``unit``
    (欠缴). A person with unpaid lines cannot be stopped online (seed 001 Tianjin; DOMAIN §4.6):
    the stop checks call this hook when a stop is saved, submitted and approved.

    Lines count as paid when their item and 费款所属期 are fully paid (contributions.settlement)."""
    return hooks.call("contributions.unpaid_periods", person, unit)


# --- what an ID number means for this unit --------------------------------------------------------


@dataclass
class Lookup:
    """What typing an ID number decided for a unit (seed 001: the system analyses whether the
    person needs 参保登记, 续保, 单位间转移 or 险种新增)."""

    id_number: str
    business: str = NEW
    person: Person | None = None
    refusal: str = ""  # why it cannot be filed; shown next to the ID number
    notes: list[str] = field(default_factory=list)
    open_here: list[str] = field(default_factory=list)  # types open at this unit
    available: list[str] = field(default_factory=list)  # types that may be chosen
    # type -> the latest stop month the new start month must come after
    last_stops: dict[str, int] = field(default_factory=dict)
    stopped_on: date | None = None  # the last stop (transfer-in shows it)

    @property
    def ok(self) -> bool:
        return not self.refusal

    @property
    def business_label(self) -> str:
        return BUSINESS_LABELS[self.business]

    @property
    def birth_date(self) -> date:
        return self.person.birth_date if self.person else resident_id_birth_date(self.id_number)

    @property
    def sex_label(self) -> str:
        sex = self.person.sex if self.person else resident_id_sex(self.id_number)
        return Person.Sex(sex).label


def _classify(
    unit: Unit, id_number: str, kind: str, *, filing: Filing | None = None, keep_row=None
) -> Lookup:
    lookup = Lookup(id_number=id_number)
    person = Person.objects.filter(id_number=id_number).first()
    lookup.person = person
    if unit.status != Unit.Status.ACTIVE:
        lookup.refusal = f"本单位状态为“{unit.get_status_display()}”，不能办理人员参保"
        return lookup
    if filing is not None and any(
        r.id_number == id_number and r.pk != keep_row for r in filing.rows.all()
    ):
        lookup.refusal = "该人员已在本业务中，请在人员列表中修改"
        return lookup
    blocker = filing_services.open_filing_blocker(id_number, unit=unit, exclude_filing=filing)
    if blocker:
        lookup.refusal = blocker
        return lookup
    if person is None:
        if kind == FilingKind.TRANSFER_IN:
            lookup.refusal = "该人员从未参保，不能转入；请通过“人员参保”办理新参保"
        lookup.available = list(unit.insurance_types)
        return lookup

    if person.is_locked:
        reason = f"（{person.lock_reason}）" if person.lock_reason else ""
        lookup.notes.append(f"该人员信息已锁定{reason}：可以参保、停保，但不能修改关键信息")
    enrolments = list(person.enrolments.all())
    open_all = [e for e in enrolments if e.stop_period is None]
    stopped = [e for e in enrolments if e.stop_period is not None]
    lookup.open_here = _ordered_types(e.insurance_type for e in open_all if e.unit_id == unit.pk)
    elsewhere = [e for e in open_all if e.unit_id != unit.pk and e.insurance_type != INJURY]
    for e in stopped:
        if e.insurance_type != INJURY or e.unit_id == unit.pk:
            lookup.last_stops[e.insurance_type] = max(
                lookup.last_stops.get(e.insurance_type, 0), e.stop_period
            )
    last_stop = max(
        stopped, key=lambda e: (e.stop_period, e.stop_date or date.min, e.pk), default=None
    )
    lookup.stopped_on = last_stop.stop_date if last_stop else None

    if (
        last_stop is not None
        and not open_all
        and last_stop.stop_reason == Enrolment.StopReason.DEATH
    ):
        lookup.refusal = "该人员已办理死亡停保，不能参保"
        return lookup
    if elsewhere:
        lookup.business = BETWEEN_UNITS
        if any(e.unit_id is None for e in elsewhere):
            lookup.refusal = (
                "该人员正以个人身份（灵活就业）参保，须先停止个人参保，再由单位办理参保"
            )
        else:
            lookup.refusal = (
                "该人员正在其他单位参保（单位间转移）：须由原单位先办理停保或转出，"
                "再由本单位办理参保或转入"
            )
        return lookup
    if any(e.insurance_type == INJURY and e.unit_id != unit.pk for e in open_all):
        lookup.notes.append("该人员同时在其他单位参加工伤保险（工伤保险可在多个单位同时参加）")
    transferred_out = (
        last_stop is not None
        and last_stop.stop_reason == Enrolment.StopReason.TRANSFERRED
        and last_stop.unit_id not in (None, unit.pk)
    )

    if kind == FilingKind.TRANSFER_IN:
        if lookup.open_here:
            lookup.refusal = "该人员已在本单位参保，不能转入；如需增加险种请通过“人员参保”办理"
        elif last_stop is None:
            lookup.refusal = "该人员没有参保记录，不能转入；请通过“人员参保”办理新参保"
        elif not transferred_out:
            lookup.refusal = (
                "该人员最近一次停保不是由其他单位办理的转出，不能转入；请通过“人员参保”办理续保"
            )
        elif last_stop.region_id != unit.region_id:
            lookup.refusal = "该人员由其他统筹区转出，跨统筹区转移接续请到经办机构办理"
        else:
            lookup.business = TRANSFER_IN
            lookup.notes.append(f"该人员已于 {_iso(last_stop.stop_date)} 由原单位办理转出")
        lookup.available = list(unit.insurance_types)
        return lookup

    if lookup.open_here:
        lookup.business = ADD_TYPES
        lookup.available = [t for t in unit.insurance_types if t not in lookup.open_here]
        if not lookup.available:
            lookup.refusal = "该人员已在本单位参加全部险种，无需新增"
        return lookup
    lookup.business = RESUME if stopped else NEW
    if transferred_out:
        lookup.notes.append("该人员已由原单位办理转出，也可在“人员转移 → 转入”中办理")
    lookup.available = list(unit.insurance_types)
    return lookup


def enrolment_lookup(
    *,
    actor,
    id_number: str,
    kind: str = FilingKind.ENROLMENT,
    filing: Filing | None = None,
    row_id: int | None = None,
    audit: bool = True,
) -> Lookup:
    """Look a person up by ID number (sent by POST) for the actor's unit and decide the
    business. An invalid ID number raises ValidationError on ``id_number``; a business that
    cannot be filed comes back with ``refusal`` set. ``filing``/``row_id``: the draft being
    edited (its own rows do not block). A typed look-up is audited; the pages that only
    rebuild the form around a save (audited itself) or a row of the unit's own draft pass
    ``audit=False``."""
    unit = _operator_unit(actor, handler_for(kind).business_kind)
    try:
        number = normalize_resident_id(id_number)
    except ValidationError as e:
        raise ValidationError({"id_number": e.messages}) from None
    if filing is not None and (filing.unit_id != unit.pk or filing.kind != kind):
        raise Http404
    lookup = _classify(unit, number, kind, filing=filing, keep_row=row_id)
    if not audit:
        return lookup
    audit_record(
        actor=actor,
        action=f"registry.{kind}.lookup",
        object_type="person",
        object_id=str(lookup.person.pk) if lookup.person else "",
        object_label=number,
        region=unit.region,
        detail={"business": lookup.business, "refused": bool(lookup.refusal)},
    )
    return lookup


# --- enrolment rows (人员参保, 人员转入) -----------------------------------------------------------


def _before(lookup: Lookup) -> dict:
    person = lookup.person
    if person is None:
        return {}
    return {
        "hukou": person.hukou,
        "first_work_date": _iso(person.first_work_date),
        "mobile": person.mobile,
        "address": person.address,
        "insurance_types": list(lookup.open_here),
    }


def _build_after(unit: Unit, lookup: Lookup, kind: str, data: dict) -> tuple[dict, dict]:
    """Check one person's enrolment data and return it as stored (plain JSON) with the
    field-keyed errors. ``data`` is the form's cleaned data or a stored ``after``."""
    errors: dict[str, str] = {}
    person = lookup.person
    today = _today()
    keep_person_data = kind == FilingKind.TRANSFER_IN

    if person is None:
        name = (data.get("name") or "").strip()
        if not name:
            errors["name"] = "请填写姓名"
        birth = resident_id_birth_date(lookup.id_number)
        sex = resident_id_sex(lookup.id_number)
        ethnicity = (data.get("ethnicity") or "").strip() or "汉族"
    else:
        name, birth, sex, ethnicity = person.name, person.birth_date, person.sex, person.ethnicity

    if keep_person_data and person is not None:
        hukou, mobile, address = person.hukou, person.mobile, person.address
        first_work = person.first_work_date
    else:
        hukou = data.get("hukou") or ""
        if hukou not in Person.Hukou.values:
            errors["hukou"] = "请选择户口性质"
        mobile = (data.get("mobile") or "").strip()
        if mobile and not (len(mobile) == 11 and mobile.isdigit() and mobile.startswith("1")):
            errors["mobile"] = "请输入11位手机号码"
        address = (data.get("address") or "").strip()[:200]
        if person is not None:
            mobile = mobile or person.mobile
            address = address or person.address
        first_work = person.first_work_date if person and person.first_work_date else None
        if first_work is None:
            first_work = _as_date(data.get("first_work_date"))
            if first_work is None:
                errors["first_work_date"] = "请填写参加工作日期"
            elif first_work > today:
                errors["first_work_date"] = "参加工作日期不能晚于今天"
            elif (first_work.year - MIN_WORKING_AGE, first_work.month, first_work.day) < (
                birth.year,
                birth.month,
                birth.day,
            ):
                errors["first_work_date"] = (
                    f"参加工作日期早于年满{MIN_WORKING_AGE}周岁（出生日期 {_iso(birth)}），请核对"
                )

    scope = data.get("scope") or Enrolment.Scope.REGULAR
    if scope not in Enrolment.Scope.values:
        errors["scope"] = "请选择用工形式"
    elif scope != Enrolment.Scope.REGULAR and hukou not in RURAL_HUKOU:
        errors["scope"] = "农民工用工形式只适用于农村户口，请核对户口性质或用工形式"

    types = _ordered_types(data.get("insurance_types"))
    if not types:
        errors["insurance_types"] = "请至少选择一个险种"
    else:
        not_allowed = [t for t in types if t not in lookup.available]
        if not_allowed:
            why = "已在本单位参保" if set(not_allowed) & set(lookup.open_here) else "本单位未参加"
            errors["insurance_types"] = f"不能选择{types_label(not_allowed)}（{why}）"
        elif scope == Enrolment.Scope.MIGRANT_TWO and set(types) != set(MIGRANT_TWO_TYPES):
            errors["insurance_types"] = (
                "农民工两险只参加职工基本医疗保险（310）和工伤保险（410），请只勾选这两项"
            )

    current = Period.parse(unit.region.current_period)
    start = None
    try:
        start = Period.parse(str(data.get("start_period") or "").strip())
    except ValueError:
        errors["start_period"] = "参保年月格式应为yyyyMM，例如202503"
    if start is not None:
        if first_work is not None and start < Period.of(first_work):
            errors["start_period"] = (
                f"参保年月不能早于参加工作日期所在月份（{Period.of(first_work).label}）"
            )
        elif start > current + 1:
            errors["start_period"] = f"参保年月不能晚于下一结算期（{(current + 1).label}）"
        else:
            late = [(t, p) for t, p in lookup.last_stops.items() if t in types and int(start) <= p]
            if late:
                t, p = max(late, key=lambda x: x[1])
                errors["start_period"] = (
                    f"参保年月须晚于该人员上次停保年月（{t} {InsuranceType(t).label}"
                    f"停保于{period_label(p)}）"
                )

    wage = None
    try:
        wage = Decimal(str(data.get("wage") if data.get("wage") is not None else ""))
    except InvalidOperation:
        errors["wage"] = "请填写申报工资（元）"
    if wage is not None:
        if not wage.is_finite() or wage <= 0:
            errors["wage"] = "申报工资应大于0"
        elif wage > WAGE_MAX:
            errors["wage"] = "申报工资超出范围，请核对"
        elif wage != wage.quantize(Decimal("0.01")):
            errors["wage"] = "申报工资最多保留两位小数"

    contract_start = _as_date(data.get("contract_start"))
    contract_end = _as_date(data.get("contract_end"))
    if contract_start is None:
        errors["contract_start"] = "请填写劳动合同起始日期"
    elif contract_end is not None and contract_end < contract_start:
        errors["contract_end"] = "劳动合同终止日期不能早于起始日期"

    waive = bool(data.get("waive_back_pay"))
    back_pay = start is not None and start < current and not waive
    after = {
        "business": lookup.business,
        "id_number": lookup.id_number,
        "name": name,
        "sex": sex,
        "birth_date": _iso(birth),
        "ethnicity": ethnicity,
        "hukou": hukou,
        "first_work_date": _iso(first_work),
        "mobile": mobile,
        "address": address,
        "scope": scope,
        "insurance_types": types,
        "start_period": int(start) if start is not None else None,
        "wage": str(wage.quantize(Decimal("0.01"))) if "wage" not in errors else "",
        "back_pay": back_pay,
        "waive_back_pay": waive,
        "contract_start": _iso(contract_start),
        "contract_end": _iso(contract_end),
        "employment_registered": bool(data.get("employment_registered")),
        "photo_slot": data.get("photo_slot", "") or "",
    }
    return after, errors


def _first_message(errors: dict) -> str:
    for value in errors.values():
        return value if isinstance(value, str) else "；".join(value)
    return ""


def enrolment_save(
    *,
    actor,
    data: dict,
    kind: str = FilingKind.ENROLMENT,
    filing: Filing | None = None,
    row_id: int | None = None,
    photo: CheckedMaterial | None = None,
) -> Filing:
    """Save one person into an enrolment (or transfer-in) filing: a new draft when ``filing``
    is None (the serial number is given here), else the draft or returned filing given, adding
    the person or replacing row ``row_id``. ``data``: id_number plus the form's fields.
    ``photo``: the checked social security card photo (kept as a material until approval)."""
    if kind not in ENROLMENT_KINDS:
        raise ValueError(kind)
    unit = _operator_unit(actor, handler_for(kind).business_kind)
    try:
        id_number = normalize_resident_id(data.get("id_number", ""))
    except ValidationError as e:
        raise ValidationError({"id_number": e.messages}) from None
    with transaction.atomic():
        locked = _lock_own_filing(filing, unit, kind) if filing is not None else None
        rows = list(locked.rows.select_related("person")) if locked is not None else []
        replacing = None
        if row_id is not None:
            replacing = next((r for r in rows if r.pk == row_id), None)
            if replacing is None:
                raise Http404
            if replacing.id_number != id_number:
                raise ValidationError(
                    {"id_number": "修改人员时不能更改身份证号码；如需更换人员，请移除后重新添加"}
                )
        lookup = _classify(unit, id_number, kind, filing=locked, keep_row=row_id)
        if not lookup.ok:
            raise ValidationError({"id_number": lookup.refusal})
        previous_slot = (
            replacing.payload.get("after", {}).get("photo_slot", "") if replacing else ""
        )
        after, errors = _build_after(unit, lookup, kind, {**data, "photo_slot": previous_slot})
        materials = {}
        if photo is not None and kind == FilingKind.ENROLMENT:
            if not photo.content_type.startswith("image/"):
                errors["photo"] = "社保卡照片须为 JPG 或 PNG 图片"
            else:
                slot = previous_slot or f"{PHOTO_SLOT_PREFIX}{secrets.token_hex(6)}"
                after["photo_slot"] = slot
                materials[slot] = photo
        if errors:
            raise ValidationError(errors)
        row = {
            "person": lookup.person,
            "id_number": id_number,
            "name": after["name"],
            "payload": {"before": _before(lookup), "after": after},
        }
        new_rows = [row if r is replacing else _row_dict(r) for r in rows]
        if replacing is None:
            new_rows.append(row)
        return _save_rows(
            actor=actor, kind=kind, unit=unit, filing=locked, rows=new_rows, materials=materials
        )


def filing_row_remove(*, actor, filing: Filing, row_id: int) -> Filing:
    """Take one person out of a draft or returned filing (of any of these kinds)."""
    if filing.kind not in ENROLMENT_KINDS + STOP_KINDS:
        raise Http404
    unit = _operator_unit(actor, handler_for(filing.kind).business_kind)
    with transaction.atomic():
        locked = _lock_own_filing(filing, unit, filing.kind)
        rows = list(locked.rows.select_related("person"))
        if not any(r.pk == row_id for r in rows):
            raise Http404
        if len(rows) == 1:
            raise ValidationError("业务中只有这一名人员，不能移除；如不再办理，请删除或退单该业务")
        kept = [_row_dict(r) for r in rows if r.pk != row_id]
        return _save_rows(actor=actor, kind=locked.kind, unit=unit, filing=locked, rows=kept)


def _create_person(unit: Unit, after: dict) -> Person:
    id_number = after["id_number"]
    try:
        with transaction.atomic():
            person = Person.objects.create(
                person_no=next_person_no(unit.region_id),
                id_type=_id_type(id_number),
                id_number=id_number,
                name=after["name"],
                sex=resident_id_sex(id_number),
                birth_date=resident_id_birth_date(id_number),
                ethnicity=after.get("ethnicity") or "汉族",
                hukou=after.get("hukou", ""),
                first_work_date=_as_date(after.get("first_work_date")),
                mobile=after.get("mobile", ""),
                address=after.get("address", ""),
            )
    except IntegrityError:
        raise ValidationError(f"{after['name']}：该身份证号码已建档，请重新录入该人员") from None
    return person


def _update_general(person: Person, after: dict) -> list[str]:
    """General data only (hukou, mobile, address, a missing first work date): never key data
    (name, ID number, birth date, sex), whether or not the person is locked."""
    changed = []
    for key in ("hukou", "mobile", "address"):
        if after.get(key) and after[key] != getattr(person, key):
            setattr(person, key, after[key])
            changed.append(key)
    if person.first_work_date is None and after.get("first_work_date"):
        person.first_work_date = _as_date(after["first_work_date"])
        changed.append("first_work_date")
    return changed


def _attach_photo(filing: Filing, person: Person, slot: str) -> bool:
    material = FilingMaterial.objects.filter(filing=filing, slot=slot).first() if slot else None
    if material is None:
        return False
    with material.file.open("rb") as f:
        content = f.read()
    person.photo.save(f"{person.person_no}{material.file.name[-4:]}", ContentFile(content), False)
    return True


class _RowsHandler(FilingHandler):
    review_policy = ReviewPolicy.VIP_AUTO
    uses_rows = True
    title_suffix = ""

    def apply(self, *, filing, actor) -> None:
        """Apply the approved rows, then recompute their persons' roster entries at the unit
        (one set-based refresh for the whole filing, in the approving transaction)."""
        super().apply(filing=filing, actor=actor)
        roster_refresh(
            unit_ids=[filing.unit_id],
            person_ids=filing.rows.filter(result="approved", person__isnull=False).values_list(
                "person_id", flat=True
            ),
        )

    def title(self, payload: dict) -> str:
        names = payload.get("names", [])
        count = payload.get("count", len(names))
        shown = "、".join(names[:3])
        more = "等" if count > 3 else ""
        return f"{shown}{more}{count}人{self.title_suffix}"[:200]

    def clean_payload(self, payload: dict, *, filing) -> dict:
        """Our services change ``rev`` with every save; the same ``rev`` as stored means the
        filing is being submitted as it is: check its persons against the registry again."""
        if filing is not None and payload.get("rev") == filing.payload.get("rev"):
            unit = Unit.objects.select_related("region").get(pk=filing.unit_id)
            problems = [
                message
                for row in filing.rows.select_related("person")
                if (message := self.check_row(unit=unit, filing=filing, row=row))
            ]
            if problems:
                raise ValidationError(problems)
        return payload

    def check_row(self, *, unit: Unit, filing: Filing, row: FilingRow) -> str:
        raise NotImplementedError

    @staticmethod
    def _lock_display(row) -> list[tuple[str, str, str]]:
        person = row.person if row.person_id else None
        if person is not None and person.is_locked:
            return [("信息锁定", "", f"已锁定 {person.lock_reason}".strip())]
        return []


class _EnrolmentRowsHandler(_RowsHandler):
    def check_row(self, *, unit: Unit, filing: Filing, row: FilingRow) -> str:
        lookup = _classify(unit, row.id_number, self.kind, filing=filing, keep_row=row.pk)
        if not lookup.ok:
            return f"{row.name}：{lookup.refusal}"
        _, errors = _build_after(unit, lookup, self.kind, row.payload.get("after", {}))
        return f"{row.name}：{_first_message(errors)}" if errors else ""

    def apply_row(self, *, filing, row, actor) -> None:
        unit = Unit.objects.select_related("region").get(pk=filing.unit_id)
        lookup = _classify(unit, row.id_number, self.kind, filing=filing, keep_row=row.pk)
        if not lookup.ok:
            raise ValidationError(f"{row.name}：{lookup.refusal}（可将该人员设为不通过）")
        after, errors = _build_after(unit, lookup, self.kind, row.payload.get("after", {}))
        if errors:
            raise ValidationError(f"{row.name}：{_first_message(errors)}（可将该人员设为不通过）")
        person = lookup.person
        if person is None:
            person = _create_person(unit, after)
        else:
            person = Person.objects.select_for_update().get(pk=person.pk)
            if self.kind != FilingKind.TRANSFER_IN:
                _update_general(person, after)
        _attach_photo(filing, person, after.get("photo_slot", ""))
        contract_start = _as_date(after["contract_start"])
        contract_end = _as_date(after["contract_end"])
        try:
            with transaction.atomic():
                Enrolment.objects.bulk_create(
                    Enrolment(
                        person=person,
                        unit=unit,
                        region=unit.region,
                        insurance_type=t,
                        start_period=after["start_period"],
                        status=Enrolment.Status.ACTIVE,
                        wage_base=Decimal(after["wage"]),
                        scope=after["scope"],
                        back_pay=after["back_pay"],
                        contract_start=contract_start,
                        contract_end=contract_end,
                        employment_registered=after["employment_registered"],
                        start_filing=filing,
                    )
                    for t in after["insurance_types"]
                )
        except IntegrityError:
            raise ValidationError(
                f"{row.name}：该人员已有相同险种的正常参保记录（可将该人员设为不通过）"
            ) from None
        # The back-pay flag: lines for the months before the current settlement period wait
        # for the unit's next settlement.
        hooks.call(
            "contributions.enrolment_back_pay_lines",
            Enrolment.objects.filter(start_filing=filing, person=person).values_list(
                "pk", flat=True
            ),
            actor=actor,
        )
        changed_on = Period.parse(after["start_period"]).first_day
        if person.last_change_date is None or changed_on > person.last_change_date:
            person.last_change_date = changed_on
        person.save()
        if row.person_id != person.pk:
            row.person = person
            row.save(update_fields=["person"])

    def row_display(self, row) -> list[tuple[str, str, str]]:
        before = row.payload.get("before", {})
        a = row.payload.get("after", {})
        hukou = dict(Person.Hukou.choices)
        sex = dict(Person.Sex.choices)
        scope = dict(Enrolment.Scope.choices)
        types_before = before.get("insurance_types", [])
        types_after = _ordered_types([*types_before, *a.get("insurance_types", [])])
        end = a.get("contract_end") or "无固定期限"
        lines = [
            ("业务", "", BUSINESS_LABELS.get(a.get("business"), "")),
            ("性别", "", sex.get(a.get("sex"), "")),
            ("出生日期", "", a.get("birth_date", "")),
            ("户口性质", hukou.get(before.get("hukou"), ""), hukou.get(a.get("hukou"), "")),
            ("参加工作日期", before.get("first_work_date", ""), a.get("first_work_date", "")),
            ("手机号", mask_mobile(before.get("mobile")), mask_mobile(a.get("mobile"))),
            ("地址", before.get("address", ""), a.get("address", "")),
            ("用工形式", "", scope.get(a.get("scope"), "")),
            ("本单位参保险种", types_label(types_before), types_label(types_after)),
            ("本次参保险种", "", _codes(a.get("insurance_types", []))),
            ("参保年月", "", period_label(a.get("start_period"))),
            ("申报工资", "", f"{a['wage']} 元" if a.get("wage") else ""),
            ("补收标志", "", "是" if a.get("back_pay") else "否"),
            ("劳动合同", "", f"{a.get('contract_start', '')} 至 {end}"),
            ("就业登记", "", "同时办理" if a.get("employment_registered") else "未办理"),
            ("社保卡照片", "", "已上传" if a.get("photo_slot") else ""),
        ]
        return lines + self._lock_display(row)


class EnrolmentHandler(_EnrolmentRowsHandler):
    kind = FilingKind.ENROLMENT
    business_kind = BusinessKind.ENROLMENT
    edit_url_name = "unit:enrolment_edit"
    title_suffix = "参保"


class TransferInHandler(_EnrolmentRowsHandler):
    kind = FilingKind.TRANSFER_IN
    business_kind = BusinessKind.TRANSFER
    edit_url_name = "unit:transfer_in_edit"
    title_suffix = "转入"


# --- stop rows (人员停保, 人员转出) ----------------------------------------------------------------


def _stop_check(
    *,
    unit: Unit,
    person: Person,
    types: list[str] | None,
    stop_date: date,
    filing: Filing | None,
) -> tuple[list[Enrolment], dict[str, str]]:
    """The person's open enrolments at the unit that the stop ends (all when ``types`` is
    None), and the errors keyed by field (``stop_date`` or ``persons``), named after the person."""
    errors = {}
    blocker = filing_services.open_filing_blocker(
        person.id_number, unit=unit, exclude_filing=filing
    )
    if blocker:
        return [], {"persons": blocker}
    open_here = list(
        Enrolment.objects.filter(person=person, unit=unit, stop_period__isnull=True).order_by(
            "insurance_type"
        )
    )
    chosen = [e for e in open_here if types is None or e.insurance_type in types]
    if not chosen:
        return [], {"persons": f"{person.name}：在本单位没有所选险种的正常参保记录"}
    if stop_date > _today():
        errors["stop_date"] = "停保日期不能晚于今天"
    elif person.last_change_date and stop_date < person.last_change_date:
        errors["stop_date"] = (
            f"{person.name}：停保日期不能早于该人员上次变更日期（{_iso(person.last_change_date)}）"
        )
    else:
        latest_start = max(e.start_period for e in chosen)
        if int(Period.of(stop_date)) < latest_start:
            errors["stop_date"] = (
                f"{person.name}：停保日期所在月份早于参保年月（{period_label(latest_start)}）"
            )
    unpaid = unpaid_periods(person, unit)
    if unpaid:
        shown = "、".join(str(p) for p in unpaid[:12]) + ("等" if len(unpaid) > 12 else "")
        errors["persons"] = (
            f"{person.name}：存在欠缴（费款所属期 {shown}），不能在网上办理停保，请先补缴"
        )
    return chosen, errors


def unit_roster(actor, *, q: str = "") -> QuerySet[Person]:
    """Persons with an open enrolment at the operator's unit (the roster to pick from), with a
    search by name or person number."""
    qs = Person.objects.filter(
        pk__in=Enrolment.objects.filter(unit_id=actor.unit_id, stop_period__isnull=True).values(
            "person_id"
        )
    )
    q = (q or "").strip()
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(person_no=q))
    return qs.order_by("name", "person_no")


def roster_open_types(unit_id: int, person_ids) -> dict[int, list[str]]:
    """Open insurance types at the unit per person, in one query."""
    result: dict[int, list[str]] = {}
    for person_id, t in (
        Enrolment.objects.filter(
            unit_id=unit_id, person_id__in=list(person_ids), stop_period__isnull=True
        )
        .order_by("insurance_type")
        .values_list("person_id", "insurance_type")
    ):
        result.setdefault(person_id, []).append(t)
    return result


def stop_save(
    *,
    actor,
    data: dict,
    person_ids,
    kind: str = FilingKind.STOP,
    filing: Filing | None = None,
) -> Filing:
    """Save a stop (or transfer-out) filing for several persons of the unit's roster at once:
    ``data`` has stop_date, and for a stop insurance_types and reason (a transfer-out ends all
    types with reason 转出). Editing (``filing`` given) replaces the persons. A person not on the
    unit's roster answers 404, like a missing one."""
    if kind not in STOP_KINDS:
        raise ValueError(kind)
    unit = _operator_unit(actor, handler_for(kind).business_kind)
    errors: dict[str, list[str]] = {}

    def add(key, message):
        errors.setdefault(key, []).append(message)

    try:
        ids = list(dict.fromkeys(int(p) for p in person_ids or []))
    except (TypeError, ValueError):
        raise Http404 from None
    if not ids:
        add("persons", "请至少勾选一名人员")
    if kind == FilingKind.TRANSFER_OUT:
        reason, types = Enrolment.StopReason.TRANSFERRED.value, None
    else:
        reason = data.get("reason") or ""
        if reason not in Enrolment.StopReason.values:
            add("reason", "请选择停保原因")
        types = _ordered_types(data.get("insurance_types"))
        if not types:
            add("insurance_types", "请至少选择一个险种")
    stop_date = _as_date(data.get("stop_date"))
    if stop_date is None:
        add("stop_date", "请填写停保日期")
    elif stop_date > _today():
        add("stop_date", "停保日期不能晚于今天")

    with transaction.atomic():
        locked = _lock_own_filing(filing, unit, kind) if filing is not None else None
        persons = {p.pk: p for p in unit_roster(actor).filter(pk__in=ids)}
        if len(persons) != len(ids):
            raise Http404
        rows = []
        if not errors:
            for pk in ids:
                person = persons[pk]
                chosen, problems = _stop_check(
                    unit=unit, person=person, types=types, stop_date=stop_date, filing=locked
                )
                for key, message in problems.items():
                    add(key, message)
                if problems:
                    continue
                rows.append(_stop_row(person, chosen, reason, stop_date, unit))
        if errors:
            raise ValidationError(errors)
        return _save_rows(actor=actor, kind=kind, unit=unit, filing=locked, rows=rows)


def _stop_row(person: Person, chosen: list[Enrolment], reason: str, stop_date: date, unit):
    open_here = list(
        Enrolment.objects.filter(person=person, unit=unit, stop_period__isnull=True)
        .order_by("insurance_type")
        .values_list("insurance_type", flat=True)
    )
    return {
        "person": person,
        "id_number": person.id_number,
        "name": person.name,
        "payload": {
            "before": {"insurance_types": _ordered_types(open_here)},
            "after": {
                "insurance_types": _ordered_types(e.insurance_type for e in chosen),
                "reason": reason,
                "stop_date": _iso(stop_date),
                "stop_period": int(Period.of(stop_date)),
            },
        },
    }


class _StopRowsHandler(_RowsHandler):
    def _types(self, row) -> list[str] | None:
        return row.payload.get("after", {}).get("insurance_types") or []

    def check_row(self, *, unit: Unit, filing: Filing, row: FilingRow) -> str:
        after = row.payload.get("after", {})
        chosen, errors = _stop_check(
            unit=unit,
            person=row.person,
            types=self._types(row),
            stop_date=_as_date(after.get("stop_date")),
            filing=filing,
        )
        if not errors and len(chosen) != len(self._types(row)):
            errors = {"persons": f"{row.name}：所选险种已不全是正常参保状态，请修改后再提交"}
        if errors:
            message = _first_message(errors)
            return message if message.startswith(row.name) else f"{row.name}：{message}"
        return ""

    def apply_row(self, *, filing, row, actor) -> None:
        unit = Unit.objects.select_related("region").get(pk=filing.unit_id)
        person = Person.objects.select_for_update().get(pk=row.person_id)
        after = row.payload["after"]
        types = after["insurance_types"]
        stop_date = _as_date(after["stop_date"])
        chosen, errors = _stop_check(
            unit=unit, person=person, types=types, stop_date=stop_date, filing=filing
        )
        if not errors and len(chosen) != len(types):
            errors = {"persons": "所选险种已不全是正常参保状态"}
        if errors:
            message = _first_message(errors).removeprefix(f"{row.name}：")
            raise ValidationError(f"{row.name}：{message}（可将该人员设为不通过）")
        status = (
            Enrolment.Status.ENDED
            if after["reason"] in ENDING_REASONS
            else Enrolment.Status.SUSPENDED
        )
        for e in chosen:
            e.stop_period = after["stop_period"]
            e.stop_date = stop_date
            e.stop_reason = after["reason"]
            e.stop_filing = filing
            e.status = status
        Enrolment.objects.bulk_update(
            chosen, ["stop_period", "stop_date", "stop_reason", "stop_filing", "status"]
        )
        if person.last_change_date is None or stop_date > person.last_change_date:
            person.last_change_date = stop_date
            person.save(update_fields=["last_change_date"])

    def row_display(self, row) -> list[tuple[str, str, str]]:
        before = row.payload.get("before", {}).get("insurance_types", [])
        a = row.payload.get("after", {})
        stopped = a.get("insurance_types", [])
        remaining = [t for t in before if t not in stopped]
        lines = [
            ("本单位参保险种", types_label(before), types_label(remaining) or "无"),
            ("停保险种", "", types_label(stopped)),
            ("停保原因", "", dict(Enrolment.StopReason.choices).get(a.get("reason"), "")),
            ("停保日期", "", a.get("stop_date", "")),
            ("最后缴费月", "", period_label(a.get("stop_period"))),
        ]
        return lines + self._lock_display(row)


class StopHandler(_StopRowsHandler):
    kind = FilingKind.STOP
    business_kind = BusinessKind.STOP
    edit_url_name = "unit:stop_edit"
    title_suffix = "停保"


class TransferOutHandler(_StopRowsHandler):
    kind = FilingKind.TRANSFER_OUT
    business_kind = BusinessKind.TRANSFER
    edit_url_name = "unit:transfer_out_edit"
    title_suffix = "转出"


# --- reads for the pages ------------------------------------------------------------------------


def own_filing(actor, serial_no: str, kind: str) -> Filing:
    """The operator's unit's filing of this kind, else 404 (another unit's looks missing)."""
    try:
        return Filing.objects.select_related("unit", "region").get(
            serial_no=serial_no, unit_id=actor.unit_id, kind=kind
        )
    except Filing.DoesNotExist:
        raise Http404 from None


def unit_drafts(actor, kind: str) -> QuerySet[Filing]:
    """The unit's drafts of this kind that were never submitted: "save" can add a person to
    one of them (the current batch)."""
    return Filing.objects.filter(
        unit_id=actor.unit_id, kind=kind, state=FilingState.DRAFT, submitted_at__isnull=True
    ).order_by("-updated_at", "-id")
