"""The filing kind ``flexible_enrolment`` (灵活就业人员参保登记): the check of a registration
and its handler, named by dotted path in ``shebao/filings/kinds.py``.

- **Review policy**: ``ReviewPolicy.REGION``. Every condition is mechanical (no materials) and is
  checked again at approval, so a region may choose 提交即办结 on the 审核规则 page; by default
  staff review it, as for units' enrolment changes."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from shebao.contributions.flexible.calc import (
    FLEXIBLE_TYPES,
    flexible_lines,
    level_errors,
    parse_level,
)
from shebao.contributions.flexible.selectors import KIND, enrolment_blockers, flexible_params
from shebao.contributions.models import FlexibleEnrolment
from shebao.core.audit import audit_record
from shebao.core.models import Region
from shebao.core.periods import Period
from shebao.filings.kinds import FilingHandler, ReviewPolicy
from shebao.registry import access
from shebao.registry.models import Enrolment, Person

# How far ahead a registration may start (months after the current 结算期).
START_AHEAD = 11


def _region(code) -> Region | None:
    return Region.objects.filter(pk=str(code or "").strip()).first()


def registration_check(person: Person, data: Mapping) -> dict:
    """Validate a registration (region, start_period, base_level) for `person`; return the
    cleaned payload or raise a field-keyed ValidationError (Chinese messages)."""
    errors: dict[str, list[str]] = {}
    region = _region(data.get("region"))
    if region is None:
        errors["region"] = ["请选择参保统筹区"]
    start = None
    try:
        start = Period.parse(data.get("start_period"))
    except (TypeError, ValueError):
        errors["start_period"] = ["参保年月格式应为 yyyyMM，例如 202508"]
    if region is not None and start is not None:
        current = Period.parse(region.current_period)
        if start < current:
            errors["start_period"] = [f"参保年月不能早于当前结算期 {current}（以前月份请办理补缴）"]
        elif start > current + START_AHEAD:
            errors["start_period"] = [f"参保年月不能晚于 {current + START_AHEAD}"]
        elif person.first_work_date and start < Period.of(person.first_work_date):
            errors["start_period"] = ["参保年月不能早于参加工作日期"]
    level = None
    try:
        level = parse_level(data.get("base_level"))
    except ValueError as e:
        errors["base_level"] = [str(e)]
    params = None
    if region is not None and start is not None and "start_period" not in errors:
        try:
            params = flexible_params(region.pk, int(start))
        except ValidationError as e:
            errors["region"] = e.messages
    if params is not None and level is not None:
        problems = level_errors(params, level)
        if problems:
            errors["base_level"] = problems
    blockers = enrolment_blockers(person)
    if blockers:
        errors[NON_FIELD_ERRORS] = blockers
    if errors:
        raise ValidationError(errors)
    result = flexible_lines(params, level)
    return {
        "person_no": person.person_no,
        "name": person.name,
        "region": region.pk,
        "region_name": region.name,
        "start_period": int(start),
        "base_level": f"{level:f}",
        "base": f"{result.lines[0].base:f}",
        "monthly": f"{result.total:f}",
    }


class FlexibleEnrolmentHandler(FilingHandler):
    """灵活就业人员参保登记: filed by the person themself (one FilingRow: one open filing per
    person); on approval the individual enrolments 110 and 310 (unit empty) and the
    FlexibleEnrolment with the chosen level."""

    kind = KIND
    review_policy = ReviewPolicy.REGION
    uses_rows = True
    duplicate_message = "您已有正在办理的灵活就业参保登记，请等待办结或先退单"
    labels = {
        "person_no": "个人编号",
        "name": "姓名",
        "region_name": "参保统筹区",
        "start_period": "参保年月",
        "base_level": "缴费档次（基数下限的倍数）",
        "base": "起始月缴费基数（元）",
        "monthly": "起始月应缴合计（元）",
    }

    def check_permission(self, *, actor, unit) -> None:
        """The signed-in person files for themself (the workflow does not pass the filing's
        person here: ownership is checked by the selectors of this package, 404 otherwise)."""
        if unit is not None or not access.is_person(actor) or actor.person_id is None:
            raise PermissionDenied("只有参保人本人可以办理灵活就业参保登记")

    def clean_payload(self, payload: dict, *, filing) -> dict:
        try:
            person = Person.objects.get(person_no=payload.get("person_no"))
        except Person.DoesNotExist:
            raise ValidationError("人员不存在") from None
        if filing is not None and filing.person_id != person.pk:
            raise ValidationError("申报内容与申报人不符")
        return registration_check(person, payload)

    def title(self, payload: dict) -> str:
        return f"{payload['name']}（{payload['person_no']}）灵活就业参保登记"

    def subject_key(self, payload: dict) -> str:
        return f"flex:{payload['person_no']}"

    def row_display(self, row) -> list[tuple[str, str, str]]:
        payload = row.filing.payload
        return [(label, "", str(payload.get(key, ""))) for key, label in self.labels.items()]

    def apply_row(self, *, filing, row, actor) -> None:
        """Approved: the enrolments take effect. The exclusions are checked again (the registry
        may have changed since submission) and by the database constraints."""
        person = Person.objects.select_for_update().get(pk=row.person_id)
        blockers = enrolment_blockers(person)
        if blockers:
            raise ValidationError(blockers)
        payload = filing.payload
        region_id, start = payload["region"], int(payload["start_period"])
        level = Decimal(payload["base_level"])
        base = Decimal(payload["base"])
        try:
            with transaction.atomic():
                Enrolment.objects.bulk_create(
                    Enrolment(
                        person=person,
                        unit=None,
                        region_id=region_id,
                        insurance_type=t,
                        start_period=start,
                        status=Enrolment.Status.ACTIVE,
                        wage_base=base,
                        start_filing=filing,
                    )
                    for t in FLEXIBLE_TYPES
                )
                fe = FlexibleEnrolment.objects.create(
                    person=person, region_id=region_id, base_level=level, start_period=start
                )
        except IntegrityError:
            raise ValidationError(
                "该人员已有正在缴费的养老或医疗保险参保关系，不能登记为灵活就业人员"
            ) from None
        audit_record(
            actor=actor,
            action="flexible.enrol",
            obj=person,
            region=region_id,
            detail={
                "filing": filing.serial_no,
                "flexible_enrolment": fe.pk,
                "start_period": start,
                "base_level": str(level),
            },
        )
