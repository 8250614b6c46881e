"""Unit first registration (单位首次参保登记, seed 000) as a filing kind.

The public applicant fills the form and uploads materials (saved as a draft filing), proves the
contact mobile with an SMS code and submits; staff approve (the unit gets its unit number and its
first operator account, and an SMS tells the contact how to sign in) or return it with a reason
(the applicant reopens it with serial number + mobile + SMS code, fixes and resubmits).

This module holds the handler (named in ``shebao/filings/kinds.py`` HANDLERS), its materials and
its payload's labels; the applicant's saves are in ``services.py``."""

from django.core.exceptions import ValidationError

from shebao.core import hooks
from shebao.core.ids import mask_id_number
from shebao.core.inputs import (
    UNIT_FIELD_RULES,
    clean_fields,
    normalize_bank_account,
    normalize_bank_name,
)
from shebao.core.models import Region
from shebao.core.sms import send_sms
from shebao.filings.kinds import FilingHandler
from shebao.filings.models import Filing, FilingKind, FilingState
from shebao.registry.industries import industry_code, industry_label, risk_class_for
from shebao.registry.models import (
    INJURY_CLASS_BENCHMARKS,
    Affiliation,
    InsuranceType,
    Unit,
    UnitType,
)
from shebao.registry.services import default_insurance_types, unit_create

MATERIALS = {
    "licence": "营业执照、法人证或批准成立文件",
    "legal_rep_id_front": "法定代表人身份证（人像面）",
    "legal_rep_id_back": "法定代表人身份证（国徽面）",
}

PAYLOAD_LABELS = {
    "name": "单位名称",
    "uscc": "统一社会信用代码",
    "unit_type": "单位类型",
    "affiliation": "隶属关系",
    "region": "统筹区",
    "insurance_place": "单位参保地",
    "insurance_types": "参保险种",
    "address": "单位地址",
    "legal_rep_name": "法定代表人",
    "legal_rep_id_number": "法定代表人身份证号",
    "contact_name": "联系人",
    "contact_mobile": "联系人手机",
    "industry": "所属行业",
    "injury_risk_class": "工伤风险类别",
    "bank_name": "开户银行",
    "bank_account": "银行账号",
    "admin_account": "管理员账号",
}


class UnitRegistrationHandler(FilingHandler):
    kind = FilingKind.UNIT_REGISTRATION
    required_materials = MATERIALS
    labels = PAYLOAD_LABELS
    duplicate_message = "该统一社会信用代码已有参保登记申请正在办理，不能重复申请"

    def check_permission(self, *, actor, unit) -> None:
        """Anyone may apply; access to an existing application is checked by the views
        (the applicant's session, proven by SMS)."""

    def clean_payload(self, payload: dict, *, filing) -> dict:
        rules = {
            **UNIT_FIELD_RULES,
            "bank_name": normalize_bank_name,
            "bank_account": normalize_bank_account,
        }
        errors = clean_fields(payload, rules)
        code = industry_code(payload.get("industry"))
        if code is None:
            errors["industry"] = "请选择所属行业"
        else:
            payload["industry"] = industry_label(code)
            if not payload.get("injury_risk_class"):  # left empty: the table's class
                payload["injury_risk_class"] = risk_class_for(code)
        if payload.get("injury_risk_class") not in INJURY_CLASS_BENCHMARKS:
            errors["injury_risk_class"] = "请选择工伤风险类别（1–8 类）"
        if "uscc" not in errors:
            if Unit.objects.filter(uscc=payload["uscc"]).exists():
                errors["uscc"] = (
                    "该统一社会信用代码已登记参保，不能重复登记；如需网上办理请到经办机构领取网报注册码"
                )
            else:
                pending = Filing.objects.filter(
                    kind=self.kind,
                    subject_key=payload["uscc"],
                    state__in=[FilingState.DRAFT, FilingState.SUBMITTED, FilingState.RETURNED],
                )
                if filing is not None:
                    pending = pending.exclude(pk=filing.pk)
                if pending.exists():
                    errors["uscc"] = self.duplicate_message
        region = Region.objects.filter(code=payload.get("region")).first()
        if region is None:
            errors["region"] = "请选择统筹区"
        elif (
            region.insurance_places
            and payload.get("insurance_place") not in region.insurance_places
        ):
            errors["insurance_place"] = f"请选择{region.name}的单位参保地"
        if payload.get("unit_type") not in UnitType.values:
            errors["unit_type"] = "请选择单位类型"
        if payload.get("affiliation") not in Affiliation.values:
            errors["affiliation"] = "请选择隶属关系"
        if region is not None and payload.get("unit_type") in UnitType.values:
            defaults = default_insurance_types(region, payload["unit_type"])
            if UnitType.may_change_insurance_types(payload["unit_type"]):
                chosen = [
                    t for t in InsuranceType.values if t in payload.get("insurance_types", [])
                ]
                if not chosen:
                    errors["insurance_types"] = "请至少选择一个险种"
                payload["insurance_types"] = chosen
            else:
                payload["insurance_types"] = defaults
        if errors:
            raise ValidationError(errors)
        return payload

    def title(self, payload: dict) -> str:
        return f"{payload['name']} 单位首次参保登记"

    def subject_key(self, payload: dict) -> str:
        return payload["uscc"]

    def display_rows(self, payload: dict) -> list[tuple[str, str]]:
        shown = dict(payload)
        shown["unit_type"] = UnitType(payload["unit_type"]).label
        shown["affiliation"] = Affiliation(payload["affiliation"]).label
        shown["insurance_types"] = "、".join(
            f"{t} {InsuranceType(t).label}" for t in payload["insurance_types"]
        )
        region = Region.objects.filter(code=payload["region"]).first()
        shown["region"] = str(region) if region else payload["region"]
        shown["legal_rep_id_number"] = mask_id_number(payload["legal_rep_id_number"])
        shown["injury_risk_class"] = f"{payload['injury_risk_class']} 类"
        return [(label, shown.get(key, "")) for key, label in self.labels.items()]

    def legal_rep_id_number(self, payload: dict) -> str:
        return payload.get("legal_rep_id_number") or ""

    def apply(self, *, filing: Filing, actor) -> None:
        p = filing.payload
        unit = unit_create(
            actor=actor,
            region=filing.region,
            fields={
                "name": p["name"],
                "uscc": p["uscc"],
                "unit_type": p["unit_type"],
                "affiliation": p["affiliation"],
                "insurance_place": p.get("insurance_place", ""),
                "insurance_types": p["insurance_types"],
                "address": p["address"],
                "legal_rep_name": p["legal_rep_name"],
                "legal_rep_id_number": p["legal_rep_id_number"],
                "contact_name": p["contact_name"],
                "contact_mobile": p["contact_mobile"],
                "industry": p.get("industry", ""),
                "injury_risk_class": p["injury_risk_class"],
                "bank_name": p.get("bank_name", ""),
                "bank_account": p.get("bank_account", ""),
            },
        )
        filing.unit = unit
        hooks.call(
            "accounts.unit_first_operator_create",
            unit=unit,
            account=p["admin_account"],
            display_name=p["contact_name"],
            mobile=p["contact_mobile"],
            password_hash=p["admin_password_hash"],
        )

    def on_returned(self, *, filing: Filing) -> None:
        send_sms(
            mobile=filing.contact_mobile,
            purpose="unit_registration",
            text=(
                f"【社保网厅】您的单位参保登记申请（流水号 {filing.serial_no}）已被退回："
                f"{filing.return_reason[:60]}。请凭流水号和本手机号登录修改后重新提交。"
            ),
        )
