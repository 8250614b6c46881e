"""The enrolment lifecycle's filing kinds: 人员参保 (``EnrolmentHandler``), 人员转入
(``TransferInHandler``), 人员停保 (``StopHandler``) and 人员转出 (``TransferOutHandler``), named
in ``shebao/filings/kinds.py`` HANDLERS. Each carries one FilingRow per person.

Submitting a filing checks its persons against the registry again (``clean_payload``);
approval applies each approved row inside the approving transaction: persons and enrolments
are created, stops are recorded, and the persons' roster entries at the unit are refreshed."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction

from shebao.core import hooks
from shebao.core.ids import mask_mobile, resident_id_birth_date, resident_id_sex
from shebao.core.periods import Period
from shebao.core.sequences import next_person_no
from shebao.filings.business import BusinessKind
from shebao.filings.kinds import FilingHandler, ReviewPolicy
from shebao.filings.models import Filing, FilingKind, FilingMaterial, FilingRow
from shebao.registry.enrolment import services
from shebao.registry.enrolment.calc import (
    BUSINESS_LABELS,
    ENDING_REASONS,
    as_date,
    first_message,
    id_type,
    ordered_types,
    period_label,
    type_codes,
    types_label,
)
from shebao.registry.enrolment.selectors import classify
from shebao.registry.models import Enrolment, Person, Unit
from shebao.registry.roster import roster_refresh


def _create_person(unit: Unit, after: dict) -> Person:
    id_number = after["id_number"]
    try:
        with transaction.atomic():
            person = Person.objects.create(
                person_no=next_person_no(unit.region_id),
                id_type=id_type(id_number),
                id_number=id_number,
                name=after["name"],
                sex=resident_id_sex(id_number),
                birth_date=resident_id_birth_date(id_number),
                ethnicity=after.get("ethnicity") or "汉族",
                hukou=after.get("hukou", ""),
                first_work_date=as_date(after.get("first_work_date")),
                mobile=after.get("mobile", ""),
                address=after.get("address", ""),
            )
    except IntegrityError:
        raise ValidationError(f"{after['name']}：该身份证号码已建档，请重新录入该人员") from None
    return person


def _update_general(person: Person, after: dict) -> None:
    """General data only (hukou, mobile, address, a missing first work date): never key data
    (name, ID number, birth date, sex), whether or not the person is locked."""
    for key in ("hukou", "mobile", "address"):
        if after.get(key) and after[key] != getattr(person, key):
            setattr(person, key, after[key])
    if person.first_work_date is None and after.get("first_work_date"):
        person.first_work_date = as_date(after["first_work_date"])


def _attach_photo(filing: Filing, person: Person, slot: str) -> None:
    material = FilingMaterial.objects.filter(filing=filing, slot=slot).first() if slot else None
    if material is None:
        return
    with material.file.open("rb") as f:
        content = f.read()
    person.photo.save(f"{person.person_no}{material.file.name[-4:]}", ContentFile(content), False)


def _enrolments_create(*, filing: Filing, unit: Unit, person: Person, after: dict, name: str):
    contract_start = as_date(after["contract_start"])
    contract_end = as_date(after["contract_end"])
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
            f"{name}：该人员已有相同险种的正常参保记录（可将该人员设为不通过）"
        ) from None


def _base_used(row, after: dict) -> str:
    """The base the declared wage gives at the start month, and why when it differs (the
    bounds looked up once per filing and month)."""
    wage, period = after.get("wage"), after.get("start_period")
    if not wage or not period:
        return ""
    cache = row.filing.__dict__.setdefault("_wage_bounds", {})
    if period not in cache:
        cache[period] = hooks.call("contributions.wage_bounds", row.filing.region_id, int(period))
    return cache[period].base_label(wage) if cache[period] is not None else ""


class _RowsHandler(FilingHandler):
    review_policy = ReviewPolicy.VIP_AUTO
    uses_rows = True
    adds_persons = True
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


# --- 人员参保, 人员转入 ---------------------------------------------------------------------------


class _EnrolmentRowsHandler(_RowsHandler):
    def check_row(self, *, unit: Unit, filing: Filing, row: FilingRow) -> str:
        lookup = classify(unit, row.id_number, self.kind, filing=filing, keep_row=row.pk)
        if not lookup.ok:
            return f"{row.name}：{lookup.refusal}"
        _, errors = services.build_after(unit, lookup, self.kind, row.payload.get("after", {}))
        return f"{row.name}：{first_message(errors)}" if errors else ""

    def apply_row(self, *, filing, row, actor) -> None:
        unit = Unit.objects.select_related("region").get(pk=filing.unit_id)
        lookup = classify(unit, row.id_number, self.kind, filing=filing, keep_row=row.pk)
        if not lookup.ok:
            raise ValidationError(f"{row.name}：{lookup.refusal}（可将该人员设为不通过）")
        after, errors = services.build_after(unit, lookup, self.kind, row.payload.get("after", {}))
        if errors:
            raise ValidationError(f"{row.name}：{first_message(errors)}（可将该人员设为不通过）")
        person = lookup.person
        if person is None:
            person = _create_person(unit, after)
        else:
            person = Person.objects.select_for_update().get(pk=person.pk)
            if self.kind != FilingKind.TRANSFER_IN:
                _update_general(person, after)
        _attach_photo(filing, person, after.get("photo_slot", ""))
        _enrolments_create(filing=filing, unit=unit, person=person, after=after, name=row.name)
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
        types_after = ordered_types([*types_before, *a.get("insurance_types", [])])
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
            ("本次参保险种", "", type_codes(a.get("insurance_types", []))),
            ("参保年月", "", period_label(a.get("start_period"))),
            ("申报工资", "", f"{a['wage']} 元" if a.get("wage") else ""),
            ("核定基数", "", _base_used(row, a)),
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


# --- 人员停保, 人员转出 ---------------------------------------------------------------------------


class _StopRowsHandler(_RowsHandler):
    def _types(self, row) -> list[str] | None:
        return row.payload.get("after", {}).get("insurance_types") or []

    def check_row(self, *, unit: Unit, filing: Filing, row: FilingRow) -> str:
        after = row.payload.get("after", {})
        chosen, errors = services.stop_check(
            unit=unit,
            person=row.person,
            types=self._types(row),
            stop_date=as_date(after.get("stop_date")),
            filing=filing,
        )
        if not errors and len(chosen) != len(self._types(row)):
            errors = {"persons": f"{row.name}：所选险种已不全是正常参保状态，请修改后再提交"}
        if errors:
            message = first_message(errors)
            return message if message.startswith(row.name) else f"{row.name}：{message}"
        return ""

    def apply_row(self, *, filing, row, actor) -> None:
        unit = Unit.objects.select_related("region").get(pk=filing.unit_id)
        person = Person.objects.select_for_update().get(pk=row.person_id)
        after = row.payload["after"]
        types = after["insurance_types"]
        stop_date = as_date(after["stop_date"])
        chosen, errors = services.stop_check(
            unit=unit, person=person, types=types, stop_date=stop_date, filing=filing
        )
        if not errors and len(chosen) != len(types):
            errors = {"persons": "所选险种已不全是正常参保状态"}
        if errors:
            message = first_message(errors).removeprefix(f"{row.name}：")
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
