"""The audit log: every service records who did what to which object, and the outcome.

Personal data never reaches the log in clear: ID numbers and mobile numbers inside the actor's
label, the object's id and label and the details (keys and values) are masked here, whatever the
caller passed — the last line of defence behind callers that pass masked values already."""

import contextvars
import re
from typing import Any

from django.db import models

from shebao.core.ids import mask_id_number, mask_mobile
from shebao.core.models import AuditEntry

current_ip: contextvars.ContextVar[str | None] = contextvars.ContextVar("current_ip", default=None)

_ID_RE = re.compile(r"(?<![0-9A-Za-z])([0-9]{17}[0-9Xx]|[0-9]{15})(?![0-9A-Za-z])")
_MOBILE_RE = re.compile(r"(?<![0-9])(1[3-9][0-9]{9})(?![0-9])")


def mask_text(value: str) -> str:
    """Mask resident ID numbers and mobile numbers appearing anywhere in a string."""
    value = _ID_RE.sub(lambda m: mask_id_number(m.group(1)), value)
    return _MOBILE_RE.sub(lambda m: mask_mobile(m.group(1)), value)


def mask_data(value: Any) -> Any:
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {mask_text(str(k)): mask_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_data(v) for v in value]
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        # A mobile or an ID number passed as a number is masked like the text.
        text = str(value)
        masked = mask_text(text)
        return value if masked == text else masked
    return mask_text(str(value))


def actor_label(actor) -> str:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return "匿名"
    return actor.audit_label()


def audit_record(
    *,
    actor,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    object_label: str = "",
    outcome: str = AuditEntry.Outcome.OK,
    detail: dict | None = None,
    region=None,
) -> AuditEntry:
    if obj is not None:
        object_type = object_type or obj._meta.model_name
        object_id = object_id or str(obj.pk)
        object_label = object_label or str(obj)
    user = actor if getattr(actor, "is_authenticated", False) else None
    if region is None and obj is not None:
        region = getattr(obj, "region", None)
    return AuditEntry.objects.create(
        actor=user,
        actor_label=mask_text(actor_label(actor))[:100],
        region_id=getattr(region, "pk", region),
        action=action,
        object_type=object_type,
        object_id=mask_text(str(object_id))[:40],
        object_label=mask_text(object_label)[:200],
        outcome=outcome,
        detail=mask_data(detail or {}),
        ip=current_ip.get(),
    )


PERSON_VIEW = "person.view"
# A display of a person's ID number in full outside their own pages (a full roster export, a
# change form with the ID number in full): recorded against the person like a view.
PERSON_VIEW_FULL = "person.view_full"


def audit_person_views(
    *,
    actor,
    persons,
    via: str,
    region=None,
    detail: dict | None = None,
    action: str = PERSON_VIEW,
) -> int:
    """One ``person.view`` (or ``action``) row per person whose data was shown to ``actor`` (a
    page with a person's detail, a filing's rows, an export…), the person as the target: the
    PIPL export lists them as the person's 访问记录. ``persons`` are ``Person`` objects or
    ``(pk, label)`` pairs (an export of thousands need not load them). One INSERT for all."""
    user = actor if getattr(actor, "is_authenticated", False) else None
    label = mask_text(actor_label(actor))[:100]
    region_id = getattr(region, "pk", region)
    ip = current_ip.get()
    shown = mask_data({"via": via, **(detail or {})})
    entries = [
        AuditEntry(
            actor=user,
            actor_label=label,
            region_id=region_id,
            action=action,
            object_type="person",
            object_id=str(pk),
            object_label=mask_text(person_label)[:200],
            detail=shown,
            ip=ip,
        )
        for pk, person_label in (p if isinstance(p, tuple) else (p.pk, str(p)) for p in persons)
    ]
    AuditEntry.objects.bulk_create(entries)
    return len(entries)


# --- labels: what the audit log and the PIPL export show for an action code ---------------------

# Codes written as they are.
ACTION_LABELS: dict[str, str] = {
    PERSON_VIEW: "查看人员信息",
    PERSON_VIEW_FULL: "完整显示证件号码",
    "person.export": "导出个人信息",
    "login": "登录",
    "login.password": "登录（密码错误）",
    "logout": "退出登录",
    "password.change": "修改密码",
    "password.reset": "找回密码",
    "totp.bind": "绑定动态口令",
    "person.signup": "个人用户注册",
    "account.view": "查看账户",
    "operator.create": "新增操作员",
    "operator.enable": "启用/停用操作员",
    "operator.set_kinds": "设置操作员业务权限",
    "operator.reset_password": "重置操作员密码",
    "online_registration.revoke": "注销网上注册信息",
    "registration_code.issue": "发放网报注册码",
    "registration.legal_rep_id_reveal": "完整显示法定代表人证件号码",
    "unit.bind": "绑定单位网报注册码",
    "unit.create": "建立单位",
    "person.lock": "锁定人员信息",
    "person.unlock": "解锁人员信息",
    "person.change_form.export": "导出人员变更表",
    "roster.export_full": "导出参保职工名单（完整证件号码）",
    "roster_additions.export_full": "导出增员表（完整证件号码）",
    "query.view": "查询",
    "filing.open": "打开申报",
    "region.next_period": "统筹区进入下一结算期",
    "region_rules.set": "设置统筹区业务规则",
    "wage.view": "查看缴费工资申报",
    "wage.declare": "缴费工资申报",
    "wage.row_remove": "删除工资申报行",
    "backpay.view": "查看补缴",
    "backpay.save": "保存补缴",
    "backpay.preview": "补缴试算",
    "backpay.enrolment": "参保补缴",
    "backpay.remove_row": "删除补缴行",
    "backpay.late_fee": "计算滞纳金",
    "payment.post": "登记到账",
    "payment.import": "导入到账",
    "payment.arrears": "查看欠费",
    "payment.payable": "查看应缴",
    "payment.history": "查看缴费记录",
    "flexible.view": "查看灵活就业",
    "flexible.register": "灵活就业登记",
    "flexible.enrol": "灵活就业参保",
    "flexible.cancel": "灵活就业注销",
    "flexible.assess": "灵活就业核定",
    "flexible.assess_region": "统筹区灵活就业核定",
    "flexible.rollback": "灵活就业核定回退",
    "settlement.start": "开始结算",
    "settlement.reopen": "重新结算",
    "settlement.preview": "结算预览",
    "settlement.export_detail": "导出结算明细",
    "settlement.region_job": "统筹区批量结算",
    "settlement.region_job_stop": "停止统筹区批量结算",
    "settlement.stop_interrupted": "停止中断的结算",
}

# Codes ``<family>.<suffix>``: the family's label with the suffix's (a business kind, a factor).
ACTION_FAMILY_LABELS: dict[str, str] = {
    "filing.create": "新建申报",
    "filing.edit": "修改申报",
    "filing.submit": "提交申报",
    "filing.delete": "删除申报",
    "filing.cancel": "退单",
    "filing.approve": "审核通过",
    "filing.return": "审核回退",
    "backpay.apply": "补缴入账",
    "wage_base.apply": "缴费工资生效",
    "person": "人员信息变更",
    "unit": "单位信息变更",
    "login": "登录失败",
}

# Codes ``<kind>.<verb>`` (a business kind, then what was done or refused).
ACTION_VERB_LABELS: dict[str, str] = {
    "view": "查看",
    "lookup": "查询人员",
    "open": "打开申报",
    "save": "保存申报",
    "row_remove": "删除申报行",
}

# The suffixes: business kinds (filled by the filings app, see ``register_kind_labels``) and
# the second factors of a sign-in.
KIND_LABELS: dict[str, str] = {"sms": "短信验证码错误", "totp": "动态口令错误"}


def register_kind_labels(labels: dict[str, str]) -> None:
    """Higher floors name their kinds here (the filings app: its filing kinds)."""
    KIND_LABELS.update(labels)


def action_label(code: str) -> str:
    """The Chinese label of an audit action code, else the code itself."""
    if code in ACTION_LABELS:
        return ACTION_LABELS[code]
    head, _, tail = code.rpartition(".")
    if head in ACTION_FAMILY_LABELS and tail in KIND_LABELS:
        return f"{ACTION_FAMILY_LABELS[head]}（{KIND_LABELS[tail]}）"
    kind, _, verb = code.partition(".")
    if kind in KIND_LABELS and verb in ACTION_VERB_LABELS:
        return f"{KIND_LABELS[kind]}·{ACTION_VERB_LABELS[verb]}"
    return code


def audit_actor_unit(entry) -> str:
    """The unit (number and name) of an entry's actor when a unit operator: the label alone
    does not say which employer looked. Needs ``actor__unit`` selected with the entry."""
    actor = entry.actor if entry.actor_id else None
    unit = getattr(actor, "unit", None) if getattr(actor, "is_operator", False) else None
    return f"{unit.unit_no} {unit.name}" if unit is not None else ""


def audit_actor_display(entry) -> str:
    """The actor's label, with the operator's unit after it."""
    unit = audit_actor_unit(entry)
    return f"{entry.actor_label}·{unit}" if unit else entry.actor_label


def audit_reason(entry) -> str:
    """The reason recorded with an entry (a return, a lock, a full-ID display), or ''."""
    reason = (entry.detail or {}).get("reason", "") if isinstance(entry.detail, dict) else ""
    return str(reason)
