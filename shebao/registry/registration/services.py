"""Writes of the unit first registration by the public applicant (no actor: the applicant's
access to their application is the session, proven by SMS): save the draft, submit it with the
SMS code sent to the contact mobile. Approval and return run through the filing workflow and
``kinds.UnitRegistrationHandler``."""

from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404

from shebao.core.audit import audit_record
from shebao.core.ids import mask_id_number
from shebao.core.models import Region
from shebao.core.verification import verification_code_check
from shebao.filings import services as filing_services
from shebao.filings.kinds import handler_for
from shebao.filings.models import Filing, FilingKind
from shebao.filings.selectors import staff_filing_get
from shebao.registry import access
from shebao.registry.registration.kinds import PAYLOAD_LABELS
from shebao.registry.registration.selectors import registration_for_reopen

NOT_FOUND = "未找到该流水号的申请，或手机号与申请时填写的不一致"


def registration_save(
    *,
    data: dict,
    materials: dict,
    password: str | None,
    filing: Filing | None = None,
) -> Filing:
    """Create the draft (filing=None) or edit a draft/returned application. `data` is the
    cleaned form; the administrator's password is kept only as a hash."""
    payload = {key: data.get(key) for key in PAYLOAD_LABELS}
    risk = payload["injury_risk_class"]
    payload["injury_risk_class"] = int(risk) if risk else None  # empty: the industry's class
    payload["insurance_types"] = list(data.get("insurance_types") or [])
    if password:
        payload["admin_password_hash"] = make_password(password)
    elif filing is not None:
        payload["admin_password_hash"] = filing.payload["admin_password_hash"]
    else:
        raise ValidationError({"password": "请设置管理员密码"})
    region = Region.objects.filter(code=payload["region"]).first()
    if filing is None:
        return filing_services.filing_create(
            actor=None,
            kind=FilingKind.UNIT_REGISTRATION,
            region=region,
            payload=payload,
            materials=materials,
            contact_mobile=payload["contact_mobile"],
        )
    if region is not None and region.pk != filing.region_id:
        raise ValidationError({"region": "统筹区提交后不能修改，如需更改请退单后重新申请"})
    return filing_services.filing_update(
        actor=None,
        filing=filing,
        payload=payload,
        materials=materials,
        contact_mobile=payload["contact_mobile"],
    )


@transaction.atomic
def registration_submit(*, filing: Filing) -> Filing:
    return filing_services.filing_submit(actor=None, filing=filing)


def registration_submit_with_code(*, filing: Filing, code: str) -> Filing:
    """Consume the SMS code sent to the contact mobile (a wrong code raises ValidationError on
    ``code``), then submit. The code stays used even when the submission is refused."""
    try:
        verification_code_check(
            mobile=filing.contact_mobile, purpose="unit_registration", code=code
        )
    except ValidationError as e:
        raise ValidationError({"code": e.messages[0]}) from None
    return registration_submit(filing=filing)


def registration_reopen(*, serial_no: str, mobile: str, code: str) -> Filing:
    """The application found again by serial number and contact mobile, once the SMS code sent
    to that mobile is consumed (a wrong code raises ValidationError on ``code``; no such
    application, a ValidationError on the whole form)."""
    filing = registration_for_reopen(serial_no, mobile)
    try:
        verification_code_check(mobile=mobile.strip(), purpose="registration_reopen", code=code)
    except ValidationError as e:
        raise ValidationError({"code": e.messages[0]}) from None
    if filing is None:
        raise ValidationError(NOT_FOUND)
    return filing


# --- staff: the legal representative's full ID on the review page --------------------------

REVEAL_ACTION = "registration.legal_rep_id_reveal"
REVEAL_REASON = "核对证件影像"


def legal_rep_id_reveal(*, actor, serial_no: str) -> str:
    """The legal representative's full ID number of a filing that carries one (a unit
    registration, a unit key change replacing the legal representative: the kind's
    ``legal_rep_id_number``), for staff of the filing's region to compare with the uploaded ID
    image. Every display is audited (staff, unit, reason); another region's filing, or one
    without a legal representative's ID, answers 404 like a missing one."""
    access.require_staff(actor, action=REVEAL_ACTION)
    filing = staff_filing_get(actor, serial_no)
    number = handler_for(filing.kind).legal_rep_id_number(filing.payload)
    if not number:
        access.deny(actor, action=REVEAL_ACTION, object_type="filing", object_id=serial_no[:40])
        raise Http404
    payload = filing.payload
    unit = filing.unit
    name = payload.get("name") or (unit.name if unit else "")
    uscc = payload.get("uscc") or (unit.uscc if unit else "")
    audit_record(
        actor=actor,
        action=REVEAL_ACTION,
        obj=filing,
        region=filing.region,
        object_label=f"{name}（{uscc}）{filing.serial_no}",
        detail={
            "reason": REVEAL_REASON,
            "kind": filing.kind,
            "serial_no": filing.serial_no,
            "unit": unit.unit_no if unit else "",
            "uscc": uscc,
            "shown": mask_id_number(number),
        },
    )
    return number
