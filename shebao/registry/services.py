"""Writes on the registry: units (by approved registration or at the counter), with the insurance
types a unit type starts with."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from shebao.core.audit import audit_record
from shebao.core.inputs import (
    UNIT_FIELD_RULES,
    clean_fields,
    normalize_bank_account,
    normalize_bank_name,
)
from shebao.core.sequences import next_unit_no
from shebao.registry import access
from shebao.registry.models import InsuranceType, Unit, UnitType, UnitTypeDefault

FALLBACK_DEFAULTS = {  # DOMAIN §2, used when a region has no row of its own
    UnitType.ENTERPRISE: ["110", "210", "310", "410"],
    UnitType.PRIVATE_NON_ENTERPRISE: ["110", "210", "310", "410"],
    UnitType.SOCIAL_ORG: ["110", "210", "310", "410"],
    UnitType.INDIVIDUAL_BUSINESS: ["110", "210", "310", "410"],
    UnitType.GOVERNMENT: ["120", "310", "410"],
    UnitType.INSTITUTION: ["120", "210", "310", "410"],
}

UNIT_FIELDS = [
    "name",
    "uscc",
    "org_code",
    "unit_type",
    "affiliation",
    "insurance_place",
    "insurance_types",
    "address",
    "legal_rep_name",
    "legal_rep_id_number",
    "contact_name",
    "contact_mobile",
    "industry",
    "injury_risk_class",
    "bank_name",
    "bank_account",
    "is_vip",
]


def default_insurance_types(region, unit_type: str) -> list[str]:
    row = UnitTypeDefault.objects.filter(region=region, unit_type=unit_type).first()
    return list(row.insurance_types) if row else list(FALLBACK_DEFAULTS.get(unit_type, []))


def _staff_in_region(actor, region) -> bool:
    return access.is_staff_member(actor) and actor.regions.filter(pk=region.pk).exists()


def unit_create(*, actor, region, fields: dict) -> Unit:
    """A unit enters the registry with its unit number. Called by the approval of a first
    registration (inside its transaction) or by staff at the counter."""
    if not _staff_in_region(actor, region):
        access.deny(actor, action="unit.create", object_type="unit", region=region)
        raise PermissionDenied("只有本统筹区的经办人员可以登记单位")
    data = {k: v for k, v in fields.items() if k in UNIT_FIELDS}
    rules = dict(UNIT_FIELD_RULES)
    if not data.get("uscc"):  # an old unit may have none
        rules.pop("uscc")
        data["uscc"] = None
    for key, rule in (("bank_name", normalize_bank_name), ("bank_account", normalize_bank_account)):
        if data.get(key):  # optional at the counter and for old units
            rules[key] = rule
    errors = clean_fields(data, rules)
    if data.get("unit_type") not in UnitType.values:
        errors["unit_type"] = "请选择单位类型"
    types = [t for t in data.get("insurance_types") or [] if t in InsuranceType.values]
    if not types and data.get("unit_type") in UnitType.values:
        types = default_insurance_types(region, data["unit_type"])
    data["insurance_types"] = types
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            unit = Unit.objects.create(unit_no=next_unit_no(region.code), region=region, **data)
    except IntegrityError:
        raise ValidationError({"uscc": "该统一社会信用代码已登记参保"}) from None
    audit_record(actor=actor, action="unit.create", obj=unit, region=region)
    return unit
