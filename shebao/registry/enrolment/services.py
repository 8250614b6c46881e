"""Writes of the enrolment lifecycle (DOMAIN §2–3, issue 4): saving persons into 人员参保
(新参保, 续保, 险种新增) and 人员转入 filings, saving 人员停保 and 人员转出 filings for
several persons of the roster, and taking a person out of a draft. Every kind carries one
FilingRow per person; the handlers that submit and apply them live in ``kinds.py``.

A row keeps what was filed in ``payload["after"]`` and what the person had before in
``payload["before"]`` (both plain JSON). The same checks (``build_after``, ``stop_check``) run
when a person is saved, when the filing is submitted and when it is approved, because the
registry may change in between."""

from __future__ import annotations

import secrets
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from shebao.core import hooks
from shebao.core.ids import resident_id_birth_date, resident_id_sex
from shebao.core.inputs import (
    normalize_address,
    normalize_mobile,
    normalize_person_name,
    normalize_resident_layout_id,
)
from shebao.core.periods import Period
from shebao.filings import services as filing_services
from shebao.filings.kinds import handler_for
from shebao.filings.materials import CheckedMaterial
from shebao.filings.models import Filing, FilingKind, FilingMaterial
from shebao.registry.access import access_operator_unit
from shebao.registry.enrolment.calc import (
    MIGRANT_TWO_TYPES,
    RURAL_HUKOU,
    as_date,
    first_work_date_error,
    iso,
    ordered_types,
    parse_wage,
    start_period_error,
    stop_date_error,
    types_label,
)
from shebao.registry.enrolment.selectors import Lookup, classify, unit_roster
from shebao.registry.models import Enrolment, Person, Unit

PHOTO_SLOT_PREFIX = "photo_"
ENROLMENT_KINDS = (FilingKind.ENROLMENT.value, FilingKind.TRANSFER_IN.value)
STOP_KINDS = (FilingKind.STOP.value, FilingKind.TRANSFER_OUT.value)


def _operator_unit(actor, kind: str, action: str) -> Unit:
    """The actor's unit when they may file ``kind``; a refusal is audited as ``<kind>.<action>``."""
    return access_operator_unit(
        actor, business_kind=handler_for(kind).business_kind, action=f"{kind}.{action}"
    )


def _save_rows(
    *, actor, kind: str, unit: Unit, filing: Filing | None, rows: list[dict], materials=None
) -> Filing:
    payload = filing_services.rows_payload(filing, rows)
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


# --- enrolment rows (人员参保, 人员转入) -----------------------------------------------------------


def _before(lookup: Lookup) -> dict:
    person = lookup.person
    if person is None:
        return {}
    return {
        "hukou": person.hukou,
        "first_work_date": iso(person.first_work_date),
        "mobile": person.mobile,
        "address": person.address,
        "insurance_types": list(lookup.open_here),
    }


def _checked(rule, value, key: str, errors: dict) -> str:
    """``rule(value)``, or "" with the rule's one message in ``errors[key]``."""
    try:
        return rule(value)
    except ValidationError as e:
        errors[key] = e.messages[0]
        return ""


def _person_fields(lookup: Lookup, kind: str, data: dict, errors: dict) -> dict:
    """The person's data as filed: a new person's typed data, an existing person's stored key
    data with their typed general data, a transfer-in's stored data unchanged."""
    person = lookup.person
    if person is None:
        name = _checked(normalize_person_name, data.get("name"), "name", errors)
        fields = {
            "name": name,
            "sex": resident_id_sex(lookup.id_number),
            "birth_date": resident_id_birth_date(lookup.id_number),
            "ethnicity": (data.get("ethnicity") or "").strip() or "汉族",
        }
    else:
        fields = {
            "name": person.name,
            "sex": person.sex,
            "birth_date": person.birth_date,
            "ethnicity": person.ethnicity,
        }
    if kind == FilingKind.TRANSFER_IN and person is not None:
        return fields | {
            "hukou": person.hukou,
            "mobile": person.mobile,
            "address": person.address,
            "first_work_date": person.first_work_date,
        }
    hukou = data.get("hukou") or ""
    if hukou not in Person.Hukou.values:
        errors["hukou"] = "请选择户口性质"
    mobile = (data.get("mobile") or "").strip()
    if mobile:
        mobile = _checked(normalize_mobile, mobile, "mobile", errors)
    address = _checked(
        lambda v: normalize_address(v, required=False), data.get("address"), "address", errors
    )
    if person is not None:
        mobile = mobile or person.mobile
        address = address or person.address
    first_work = person.first_work_date if person and person.first_work_date else None
    if first_work is None:
        first_work = as_date(data.get("first_work_date"))
        message = first_work_date_error(
            first_work, birth=fields["birth_date"], today=timezone.localdate()
        )
        if message:
            errors["first_work_date"] = message
    return fields | {
        "hukou": hukou,
        "mobile": mobile,
        "address": address,
        "first_work_date": first_work,
    }


def _types_error(types: list[str], scope: str, lookup: Lookup) -> str:
    if not types:
        return "请至少选择一个险种"
    not_allowed = [t for t in types if t not in lookup.available]
    if not_allowed:
        why = "已在本单位参保" if set(not_allowed) & set(lookup.open_here) else "本单位未参加"
        return f"不能选择{types_label(not_allowed)}（{why}）"
    if scope == Enrolment.Scope.MIGRANT_TWO and set(types) != set(MIGRANT_TWO_TYPES):
        return "农民工两险只参加职工基本医疗保险（310）和工伤保险（410），请只勾选这两项"
    return ""


def _start_period(data: dict, **checks) -> tuple[Period | None, str]:
    try:
        start = Period.parse(str(data.get("start_period") or "").strip())
    except ValueError:
        return None, "参保年月格式应为yyyyMM，例如202503"
    return start, start_period_error(start, **checks)


def build_after(unit: Unit, lookup: Lookup, kind: str, data: dict) -> tuple[dict, dict]:
    """Check one person's enrolment data and return it as stored (plain JSON) with the
    field-keyed errors. ``data`` is the form's cleaned data or a stored ``after``."""
    errors: dict[str, str] = {}
    person = _person_fields(lookup, kind, data, errors)

    scope = data.get("scope") or Enrolment.Scope.REGULAR
    if scope not in Enrolment.Scope.values:
        errors["scope"] = "请选择用工形式"
    elif scope != Enrolment.Scope.REGULAR and person["hukou"] not in RURAL_HUKOU:
        errors["scope"] = "农民工用工形式只适用于农村户口，请核对户口性质或用工形式"

    types = ordered_types(data.get("insurance_types"))
    if message := _types_error(types, scope, lookup):
        errors["insurance_types"] = message

    current = Period.parse(unit.region.current_period)
    start, message = _start_period(
        data,
        first_work=person["first_work_date"],
        current=current,
        types=types,
        last_stops=lookup.last_stops,
    )
    if message:
        errors["start_period"] = message

    wage, message = parse_wage(data.get("wage"))
    if message:
        errors["wage"] = message

    contract_start = as_date(data.get("contract_start"))
    contract_end = as_date(data.get("contract_end"))
    if contract_start is None:
        errors["contract_start"] = "请填写劳动合同起始日期"
    elif contract_end is not None and contract_end < contract_start:
        errors["contract_end"] = "劳动合同终止日期不能早于起始日期"

    waive = bool(data.get("waive_back_pay"))
    after = {
        "business": lookup.business,
        "id_number": lookup.id_number,
        "name": person["name"],
        "sex": person["sex"],
        "birth_date": iso(person["birth_date"]),
        "ethnicity": person["ethnicity"],
        "hukou": person["hukou"],
        "first_work_date": iso(person["first_work_date"]),
        "mobile": person["mobile"],
        "address": person["address"],
        "scope": scope,
        "insurance_types": types,
        "start_period": int(start) if start is not None else None,
        "wage": str(wage.quantize(Decimal("0.01"))) if "wage" not in errors else "",
        "back_pay": start is not None and start < current and not waive,
        "waive_back_pay": waive,
        "contract_start": iso(contract_start),
        "contract_end": iso(contract_end),
        "employment_registered": bool(data.get("employment_registered")),
        "photo_slot": data.get("photo_slot", "") or "",
    }
    return after, errors


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
    unit = _operator_unit(actor, kind, "save")
    try:
        id_number = normalize_resident_layout_id(data.get("id_number", ""))
    except ValidationError as e:
        raise ValidationError({"id_number": e.messages}) from None
    with transaction.atomic():
        locked = filing_services.lock_own_filing(filing, unit, kind) if filing is not None else None
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
        lookup = classify(unit, id_number, kind, filing=locked, keep_row=row_id)
        if not lookup.ok:
            raise ValidationError({"id_number": lookup.refusal})
        previous_slot = (
            replacing.payload.get("after", {}).get("photo_slot", "") if replacing else ""
        )
        after, errors = build_after(unit, lookup, kind, {**data, "photo_slot": previous_slot})
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
        new_rows = [row if r is replacing else filing_services.row_spec(r) for r in rows]
        if replacing is None:
            new_rows.append(row)
        return _save_rows(
            actor=actor, kind=kind, unit=unit, filing=locked, rows=new_rows, materials=materials
        )


def filing_row_remove(*, actor, filing: Filing, row_id: int) -> Filing:
    """Take one person out of a draft or returned filing (of any of these kinds)."""
    if filing.kind not in ENROLMENT_KINDS + STOP_KINDS:
        raise Http404
    unit = _operator_unit(actor, filing.kind, "row_remove")
    with transaction.atomic():
        locked = filing_services.lock_own_filing(filing, unit, filing.kind)
        rows = list(locked.rows.select_related("person"))
        if not any(r.pk == row_id for r in rows):
            raise Http404
        if len(rows) == 1:
            raise ValidationError("业务中只有这一名人员，不能移除；如不再办理，请删除或退单该业务")
        kept = [filing_services.row_spec(r) for r in rows if r.pk != row_id]
        return _save_rows(actor=actor, kind=locked.kind, unit=unit, filing=locked, rows=kept)


# --- stop rows (人员停保, 人员转出) ----------------------------------------------------------------


def stop_check(
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
    message = stop_date_error(
        stop_date,
        today=timezone.localdate(),
        name=person.name,
        last_change=person.last_change_date,
        latest_start=max(e.start_period for e in chosen),
    )
    if message:
        errors["stop_date"] = message
    unpaid = unpaid_periods(person, unit)
    if unpaid:
        shown = "、".join(str(p) for p in unpaid[:12]) + ("等" if len(unpaid) > 12 else "")
        errors["persons"] = (
            f"{person.name}：存在欠缴（费款所属期 {shown}），不能在网上办理停保，请先补缴"
        )
    return chosen, errors


def _stop_choice(kind: str, data: dict, add) -> tuple[str, list[str] | None, date | None]:
    """The reason, the types (None: all) and the date a stop form asks for; problems go to
    ``add(field, message)``."""
    if kind == FilingKind.TRANSFER_OUT:
        reason, types = Enrolment.StopReason.TRANSFERRED.value, None
    else:
        reason = data.get("reason") or ""
        if reason not in Enrolment.StopReason.values:
            add("reason", "请选择停保原因")
        types = ordered_types(data.get("insurance_types"))
        if not types:
            add("insurance_types", "请至少选择一个险种")
    stop_date = as_date(data.get("stop_date"))
    if stop_date is None:
        add("stop_date", "请填写停保日期")
    elif stop_date > timezone.localdate():
        add("stop_date", "停保日期不能晚于今天")
    return reason, types, stop_date


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
    unit = _operator_unit(actor, kind, "save")
    errors: dict[str, list[str]] = {}

    def add(key, message):
        errors.setdefault(key, []).append(message)

    try:
        ids = list(dict.fromkeys(int(p) for p in person_ids or []))
    except (TypeError, ValueError):
        raise Http404 from None
    if not ids:
        add("persons", "请至少勾选一名人员")
    reason, types, stop_date = _stop_choice(kind, data, add)

    with transaction.atomic():
        locked = filing_services.lock_own_filing(filing, unit, kind) if filing is not None else None
        persons = {p.pk: p for p in unit_roster(actor).filter(pk__in=ids)}
        if len(persons) != len(ids):
            raise Http404
        rows = []
        if not errors:
            for pk in ids:
                person = persons[pk]
                chosen, problems = stop_check(
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
            "before": {"insurance_types": ordered_types(open_here)},
            "after": {
                "insurance_types": ordered_types(e.insurance_type for e in chosen),
                "reason": reason,
                "stop_date": iso(stop_date),
                "stop_period": int(Period.of(stop_date)),
            },
        },
    }
