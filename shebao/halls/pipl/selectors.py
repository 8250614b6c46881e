"""Reads of the PIPL export: the person (staff of the person's regions only, by the same
scoping as the back office's person pages), and every table that holds data about them, as
plain sheets (name, header, rows) for ``core.excel.build_xlsx``.

Columns are read as attributes (``person.id_number``…), so values kept in encrypted columns
behind decrypting properties come out readable. The account's password hash, TOTP secret and
SMS code hashes are never exported; mobiles in the SMS outbox and verification codes are
masked (the brief of the export: who texted the person, not what)."""

import json
from collections.abc import Callable, Iterable
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404
from django.utils import timezone

from shebao.accounts.models import User
from shebao.contributions.models import (
    Arrear,
    ContributionLine,
    FlexibleEnrolment,
    Payment,
    Settlement,
    WageBase,
)
from shebao.core.audit import action_label, audit_actor_display, audit_reason, mask_text
from shebao.core.ids import mask_mobile
from shebao.core.inputs import search_id_number
from shebao.core.models import AuditEntry, SmsMessage, VerificationCode
from shebao.core.verification import mask_sms_code, purpose_label
from shebao.filings.models import Filing, FilingMaterial, FilingRow
from shebao.registry import access
from shebao.registry.changes.selectors import (
    staff_person_region,
    staff_person_search,
    staff_persons,
)
from shebao.registry.enrolment.services import PHOTO_SLOT_PREFIX
from shebao.registry.models import Enrolment, Person

EXPORT_ACTION = "person.export"
NOT_FOUND = "未找到该人员：请核对证件号码或个人编号（只能查询您经办的统筹区参保过的人员）"

Column = tuple[str, Callable[[object], object]]
Sheet = tuple[str, list[str], list[list]]


def cell(value) -> object:
    """A value as the workbook shows it: dates and times as text (local time), yes/no in
    Chinese, None empty; numbers and Decimals stay numbers."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        # Never a hash (passwords, codes) even inside a payload.
        shown = {k: v for k, v in value.items() if not str(k).endswith("_hash")}
        return json.dumps(shown, ensure_ascii=False, default=str) if shown else ""
    if isinstance(value, list):
        return json.dumps(value, ensure_ascii=False, default=str) if value else ""
    return value


def _attr(name: str) -> Callable[[object], object]:
    def get(obj):
        display = getattr(obj, f"get_{name}_display", None)
        return display() if callable(display) else getattr(obj, name)

    return get


def _related(name: str, field: str) -> Callable[[object], object]:
    return lambda obj: getattr(getattr(obj, name), field, "") if getattr(obj, name) else ""


def table(name: str, columns: list[Column], objects: Iterable) -> Sheet:
    return (
        name,
        [title for title, _ in columns],
        [[cell(get(obj)) for _, get in columns] for obj in objects],
    )


def vertical(name: str, columns: list[Column], obj) -> Sheet:
    """One record as 项目 / 内容 lines (easier to read than one wide row)."""
    rows = [[title, cell(get(obj))] for title, get in columns] if obj is not None else []
    return (name, ["项目", "内容"], rows)


# --- who may export whom -----------------------------------------------------------------------


def pipl_person_search(actor, q: str, *, limit: int = 20) -> list[Person]:
    """Persons of the staff member's regions with this ID number or person number (exactly;
    names are not searched: the export is for one known person). The lookup goes through the
    back office's person search, the one path for finding a person by ID number."""
    access.require_staff(actor, action=EXPORT_ACTION)
    q = (q or "").strip()
    if not q:
        return []
    try:
        id_number = search_id_number(q)
    except ValidationError:
        id_number = q.upper()
    return [
        p
        for p in staff_person_search(actor, q, limit=limit)
        if p.person_no == q or (p.id_number or "").upper() == id_number
    ]


def pipl_person_get(actor, person_no: str) -> Person:
    """The person when they are (or were) enrolled in one of the staff member's regions; else
    404 like a missing one, the refusal audited."""
    access.require_staff(actor, action=EXPORT_ACTION)
    person = staff_persons(actor).filter(person_no=person_no).first()
    if person is None:
        access.deny(actor, action=EXPORT_ACTION, object_type="person", object_id=person_no[:40])
        raise Http404
    return person


def export_region(actor, person: Person) -> str | None:
    return staff_person_region(actor, person)


# --- the sheets --------------------------------------------------------------------------------

PERSON_COLUMNS: list[Column] = [
    ("个人编号", _attr("person_no")),
    ("证件类型", _attr("id_type")),
    ("证件号码", _attr("id_number")),
    ("姓名", _attr("name")),
    ("性别", _attr("sex")),
    ("出生日期", _attr("birth_date")),
    ("民族", _attr("ethnicity")),
    ("户口性质", _attr("hukou")),
    ("参加工作日期", _attr("first_work_date")),
    ("手机号", _attr("mobile")),
    ("地址", _attr("address")),
    ("社保卡照片", lambda p: "已上传" if p.photo else "无"),
    ("信息锁定", _attr("is_locked")),
    ("锁定原因", _attr("lock_reason")),
    ("最近变更日期", _attr("last_change_date")),
    ("建档时间", _attr("created_at")),
]

ACCOUNT_COLUMNS: list[Column] = [
    ("账户", _attr("username")),
    ("姓名", _attr("display_name")),
    ("账户类型", _attr("kind")),
    ("手机号", _attr("mobile")),
    ("有效", _attr("is_active")),
    ("注册时间", _attr("date_joined")),
    ("最近登录", _attr("last_login")),
]

ENROLMENT_COLUMNS: list[Column] = [
    ("统筹区", _related("region", "name")),
    ("单位编号", _related("unit", "unit_no")),
    ("单位名称", _related("unit", "name")),
    ("险种", _attr("insurance_type")),
    ("参保年月", _attr("start_period")),
    ("停保年月", _attr("stop_period")),
    ("参保状态", _attr("status")),
    ("缴费工资", _attr("wage_base")),
    ("用工形式", _attr("scope")),
    ("补缴标志", _attr("back_pay")),
    ("劳动合同起始日期", _attr("contract_start")),
    ("劳动合同终止日期", _attr("contract_end")),
    ("已办就业登记", _attr("employment_registered")),
    ("停保日期", _attr("stop_date")),
    ("停保原因", _attr("stop_reason")),
]

FILING_ROW_COLUMNS: list[Column] = [
    ("流水号", lambda r: r.filing.serial_no),
    ("业务类型", lambda r: r.filing.get_kind_display()),
    ("状态", lambda r: r.filing.get_state_display()),
    ("单位", lambda r: r.filing.unit.name if r.filing.unit_id else ""),
    ("提交时间", lambda r: r.filing.submitted_at),
    ("证件号码", _attr("id_number")),
    ("姓名", _attr("name")),
    ("审核结果", _attr("result")),
    ("不通过原因", _attr("refuse_reason")),
    ("申报内容", _attr("payload")),
]

FILING_COLUMNS: list[Column] = [
    ("流水号", _attr("serial_no")),
    ("业务类型", _attr("kind")),
    ("状态", _attr("state")),
    ("摘要", _attr("title")),
    ("联系手机", lambda f: mask_mobile(f.contact_mobile) if f.contact_mobile else ""),
    ("创建时间", _attr("created_at")),
    ("提交时间", _attr("submitted_at")),
    ("办结时间", _attr("decided_at")),
    ("回退原因", _attr("return_reason")),
    ("申报内容", _attr("payload")),
]

WAGE_COLUMNS: list[Column] = [
    ("单位", _related("unit", "name")),
    ("起始年月", _attr("valid_from")),
    ("缴费工资", _attr("wage")),
    ("分项工资", _attr("items")),
    ("登记时间", _attr("created_at")),
]

LINE_COLUMNS: list[Column] = [
    ("单位", _related("unit", "name")),
    ("统筹区", _related("region", "name")),
    ("险种", _attr("item")),
    ("结算期", _attr("settle_period")),
    ("费款所属期", _attr("belongs_period")),
    ("类型", _attr("kind")),
    ("缴费基数", _attr("base")),
    ("单位应缴", _attr("unit_amount")),
    ("个人应缴", _attr("personal_amount")),
    ("已撤销", _attr("withdrawn")),
    ("已到账", _attr("paid")),
]

PAYMENT_COLUMNS: list[Column] = [
    ("统筹区", _related("region", "name")),
    ("结算期", _attr("settle_period")),
    ("险种", _attr("item")),
    ("金额", _attr("amount")),
    ("到账日期", _attr("paid_on")),
    ("来源", _attr("source")),
    ("登记时间", _attr("created_at")),
]

ARREAR_COLUMNS: list[Column] = [
    ("统筹区", _related("region", "name")),
    ("结算期", _attr("settle_period")),
    ("险种", _attr("item")),
    ("费款所属期", _attr("belongs_period")),
    ("应缴", _attr("due")),
    ("已缴", _attr("paid")),
    ("最近缴费日期", _attr("last_paid_on")),
]

FLEXIBLE_COLUMNS: list[Column] = [
    ("统筹区", _related("region", "name")),
    ("缴费档次（基数下限的倍数）", _attr("base_level")),
    ("起始年月", _attr("start_period")),
    ("终止年月", _attr("stop_period")),
    ("登记时间", _attr("created_at")),
]

ASSESSMENT_COLUMNS: list[Column] = [
    ("统筹区", _related("region", "name")),
    ("结算期", _attr("settle_period")),
    ("结算类型", _attr("kind")),
    ("状态", _attr("state")),
    ("个人应缴", _attr("personal_total")),
    ("时间", _attr("created_at")),
]

SMS_COLUMNS: list[Column] = [
    ("时间", _attr("created_at")),
    ("手机号", lambda m: mask_mobile(m.mobile)),
    ("用途", lambda m: purpose_label(m.purpose)),
    ("内容", lambda m: mask_text(mask_sms_code(m.text))),
    ("已发送", _attr("delivered")),
]

CODE_COLUMNS: list[Column] = [
    ("发送时间", _attr("created_at")),
    ("手机号", lambda c: mask_mobile(c.mobile)),
    ("用途", lambda c: purpose_label(c.purpose)),
    ("有效期至", _attr("expires_at")),
    ("使用时间", _attr("used_at")),
    ("错误次数", _attr("failed_attempts")),
    ("已作废", _attr("voided")),
]

MATERIAL_COLUMNS: list[Column] = [
    ("流水号", lambda m: m.filing.serial_no),
    ("业务类型", lambda m: m.filing.get_kind_display()),
    ("材料类型", _attr("slot")),
    ("文件名", _attr("original_name")),
    ("文件类型", _attr("content_type")),
    ("大小（字节）", _attr("size")),
    ("上传时间", _attr("uploaded_at")),
]

ACCESS_COLUMNS: list[Column] = [
    ("时间", _attr("at")),
    ("操作人", audit_actor_display),
    ("操作", lambda e: action_label(e.action)),
    ("事由", audit_reason),
    ("途径", lambda e: (e.detail or {}).get("via", "")),
    ("业务流水号", lambda e: (e.detail or {}).get("serial_no", "")),
    ("导出", lambda e: EXPORT_LABELS.get((e.detail or {}).get("export", ""), "")),
    ("结果", _attr("outcome")),
    ("IP", _attr("ip")),
    ("统筹区", _related("region", "name")),
    ("操作代码", _attr("action")),
]

# The exports that record the persons they list (detail "export").
EXPORT_LABELS = {
    "roster.export_full": "参保职工名单（完整证件号码）",
    "roster_additions.export_full": "增员表（完整证件号码）",
    "person.change_form.export": "人员变更表",
}

ACCESS_SHEET = "访问记录"


def _any_mobile(model, mobiles: set[str]) -> Q:
    """Rows of the SMS outbox or the codes sent to any of these mobiles (through the lookup)."""
    match = Q(pk__in=[])
    for mobile in mobiles:
        match |= model.mobile.q(mobile)
    return match


def _filing_rows(person: Person):
    # Rows about the person: linked, or (before their enrolment was approved) by ID number.
    return (
        FilingRow.objects.filter(
            Q(person=person) | Q(person__isnull=True) & FilingRow.id_number.q(person.id_number)
        )
        .select_related("filing", "filing__unit")
        .order_by("filing__created_at", "id")
    )


def _own_materials(own_filings: list[Filing], filing_rows: list[FilingRow]) -> Q:
    """The materials about the person: all of their own filings', and of the (batch) filings
    they are a row of, the filing-level ones and their own row's photo, never another row's
    (a photo's file name may name its person)."""
    match = Q(filing_id__in=[f.pk for f in own_filings])
    row_filings = {r.filing_id for r in filing_rows}
    match |= Q(filing_id__in=row_filings) & ~Q(slot__startswith=PHOTO_SLOT_PREFIX)
    for r in filing_rows:
        slot = (r.payload or {}).get("after", {}).get("photo_slot")
        if slot:
            match |= Q(filing_id=r.filing_id, slot=slot)
    return match


def access_entries(person: Person, account: User | None):
    """Every audit row with the person (or their sign-in account) as the target, oldest first:
    who opened or displayed their data, exported it, or changed it."""
    targets = Q(object_type="person", object_id=str(person.pk))
    if account is not None:
        targets |= Q(object_type="user", object_id=str(account.pk))
    return (
        AuditEntry.objects.filter(targets)
        .select_related("region", "actor__unit")
        .order_by("at", "id")
    )


def person_data_sheets(person: Person) -> list[Sheet]:
    """The workbook of everything held on ``person``: one sheet per table, then 访问记录."""
    account = User.objects.filter(person=person).first()
    filing_rows = list(_filing_rows(person))
    own_filings = list(Filing.objects.filter(person=person).order_by("created_at", "id"))
    mobiles = {m for m in (person.mobile, account.mobile if account else "") if m}
    lines = ContributionLine.objects.filter(person=person).select_related("unit", "region")
    lines = lines.order_by("belongs_period", "item", "id")
    return [
        vertical("人员信息", PERSON_COLUMNS, person),
        vertical("网厅账户", ACCOUNT_COLUMNS, account),
        table(
            "参保关系",
            ENROLMENT_COLUMNS,
            Enrolment.objects.filter(person=person)
            .select_related("unit", "region")
            .order_by("start_period", "insurance_type", "id"),
        ),
        table("申报记录", FILING_ROW_COLUMNS, filing_rows),
        table("个人业务", FILING_COLUMNS, own_filings),
        table(
            "缴费基数",
            WAGE_COLUMNS,
            WageBase.objects.filter(person=person).select_related("unit").order_by("valid_from"),
        ),
        table("缴费明细", LINE_COLUMNS, lines.filter(kind=ContributionLine.Kind.NORMAL)),
        table("补缴明细", LINE_COLUMNS, lines.exclude(kind=ContributionLine.Kind.NORMAL)),
        table(
            "个人到账",
            PAYMENT_COLUMNS,
            Payment.objects.filter(person=person).select_related("region").order_by("paid_on"),
        ),
        table(
            "个人欠费",
            ARREAR_COLUMNS,
            Arrear.objects.filter(person=person)
            .select_related("region")
            .order_by("belongs_period"),
        ),
        table(
            "灵活就业登记",
            FLEXIBLE_COLUMNS,
            FlexibleEnrolment.objects.filter(person=person).select_related("region"),
        ),
        table(
            "灵活就业核定",
            ASSESSMENT_COLUMNS,
            Settlement.objects.filter(person=person)
            .select_related("region")
            .order_by("settle_period"),
        ),
        table(
            "短信",
            SMS_COLUMNS,
            SmsMessage.objects.filter(_any_mobile(SmsMessage, mobiles)).order_by(
                "created_at", "id"
            ),
        ),
        table(
            "短信验证码",
            CODE_COLUMNS,
            VerificationCode.objects.filter(_any_mobile(VerificationCode, mobiles)).order_by(
                "created_at", "id"
            ),
        ),
        table(
            "申报材料",
            MATERIAL_COLUMNS,
            FilingMaterial.objects.filter(_own_materials(own_filings, filing_rows))
            .select_related("filing")
            .order_by("uploaded_at", "id"),
        ),
        table(ACCESS_SHEET, ACCESS_COLUMNS, access_entries(person, account)),
    ]
