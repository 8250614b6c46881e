"""Writes of 补缴 (back pay; issue 5 "Back pay and late fees"; seed 001 核定基数补缴, 单位补收,
个人补收; DOMAIN §4–5): saving a person into a back-pay filing, taking one out, and the back-pay
lines of enrolments filed with the back-pay flag.

Three kinds, each a filing with one FilingRow per person of the unit (the handlers are in
``kinds``):

- 核定基数补缴 (``back_pay``): months from–to (seed 001: "补缴2017年2月份的社保【开始月份】
  【终止月份】都选择二月即可" — one month is from = to), a monthly wage and insurance types
  (default: the person's types at the unit) → one line per month and type, kind BACK_PAY.
  Months already assessed for the person and type (any line not withdrawn, settled or still
  waiting) are refused with a pointer to 调整基数补缴.
- 调整基数补缴 (``adjust_pay``): months already assessed at this unit, a new wage → the
  difference of the new line and what was assessed (calc.difference_line of the new line vs the
  sum of the month's lines at this unit, earlier adjustments included); a month whose new base
  is not higher gets nothing. Kind ADJUST.
- 个人补收 (``supplement_pay``): like 核定基数补缴 for one insurance type of one person (seed
  001 Handan: "如果需要单独补收某个险种，等人员审批通过后到个人补收模块进行补收"). Kind SUPPLEMENT.

Rules common to all three:
- every month lies before the region's current settlement period (the current month is
  assessed by the settlement itself) and inside an enrolment of the person at the unit for each
  chosen type (not before its start month, not after its stop month);
- each month is computed with that month's own parameter set (the latest version in force in
  that 费款所属期) and the unit's work-injury rate in force then (its class benchmark when it had
  no rate of its own yet) — calc.py does the arithmetic, nothing else;
- what the unit previews is exactly what is written: the preview (``calc.plan_lines``) is kept
  in the row with its digest; submitting and approving recompute it and refuse the person when
  anything changed meanwhile (a new parameter version, a month assessed since), so a written
  line always equals a line the unit saw, to the fen;
- approval writes the lines with ``settlement`` empty and ``settle_period`` = the region's current
  period: the unit's next settlement picks them up (settlement.pending_back_pay) and its payment
  notice lists them by 费款所属期.

``enrolment_back_pay_lines`` (named by dotted path in core/hooks.py) does the same for enrolments
approved with the back-pay flag (start month before the current settlement period): the months
from the start to the month before the current period, at the wage in force (the latest declared
WageBase at the unit, else the wage filed at enrolment)."""

from __future__ import annotations

from collections import defaultdict

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.http import Http404

from shebao.contributions.backpay.calc import (
    Plan,
    missing_sets,
    plan_lines,
    span_label,
    type_label,
)
from shebao.contributions.backpay.selectors import (
    assessed_cells,
    backpay_kind,
    check_request,
    injury_rates_by_period,
    operator_unit,
    parameter_sets,
    unit_person,
    wages_by_period,
)
from shebao.contributions.calculator.calc import ZERO
from shebao.contributions.models import ContributionLine
from shebao.core.audit import audit_record
from shebao.core.money import money_text
from shebao.core.periods import Period
from shebao.filings import services as filing_services
from shebao.filings.models import Filing
from shebao.filings.services import lock_own_filing, row_spec, rows_payload
from shebao.registry.enrolment.calc import ordered_types
from shebao.registry.models import Enrolment, Unit


def _save_rows(*, actor, kind: str, unit: Unit, filing: Filing | None, rows: list[dict]) -> Filing:
    payload = rows_payload(filing, rows)
    if filing is None:
        return filing_services.filing_create(
            actor=actor, kind=kind, region=unit.region, unit=unit, payload=payload, rows=rows
        )
    return filing_services.filing_update(actor=actor, filing=filing, payload=payload, rows=rows)


def backpay_save(
    *,
    actor,
    kind: str,
    data: dict,
    filing: Filing | None = None,
    expected_digest: str | None = None,
) -> Filing:
    """Save one person into a back-pay filing of ``kind`` (a new draft when ``filing`` is None;
    a person already in the filing is replaced). ``expected_digest``: the digest of the preview
    the operator confirmed; when the lines computed now differ, nothing is saved."""
    kind = backpay_kind(kind)
    unit = operator_unit(actor, action="backpay.save")
    with transaction.atomic():
        locked = lock_own_filing(filing, unit, kind) if filing is not None else None
        person = unit_person(unit, data.get("person"))
        checked = check_request(unit=unit, person=person, kind=kind, data=data, filing=locked)
        if not checked.ok:
            raise ValidationError(checked.errors)
        if expected_digest is not None and expected_digest != checked.plan.digest():
            raise ValidationError(
                {
                    NON_FIELD_ERRORS: [
                        "计算结果与预览不一致（参数或已核定记录刚刚变化），请重新预览后再保存"
                    ]
                }
            )
        row = {
            "person": person,
            "id_number": person.id_number,
            "name": person.name,
            "payload": {
                "before": {"insurance_types": checked.types_at_unit},
                "after": checked.after,
                "preview": checked.plan.as_payload(),
            },
        }
        rows = []
        if locked is not None:
            rows = [
                row_spec(r)
                for r in locked.rows.select_related("person")
                if r.person_id != person.pk
            ]
        rows.append(row)
        return _save_rows(actor=actor, kind=kind, unit=unit, filing=locked, rows=rows)


def backpay_row_remove(*, actor, filing: Filing, row_id: int) -> Filing:
    """Take one person out of a draft or returned back-pay filing."""
    kind = backpay_kind(filing.kind)
    unit = operator_unit(actor, action="backpay.remove_row")
    with transaction.atomic():
        locked = lock_own_filing(filing, unit, kind)
        rows = list(locked.rows.select_related("person"))
        if not any(r.pk == row_id for r in rows):
            raise Http404
        if len(rows) == 1:
            raise ValidationError("业务中只有这一名人员，不能移除；如不再办理，请删除或退单该业务")
        kept = [row_spec(r) for r in rows if r.pk != row_id]
        return _save_rows(actor=actor, kind=kind, unit=unit, filing=locked, rows=kept)


def line_objects(
    plan: Plan, *, unit: Unit, person_id: int, kind: str, settle_period: int, filing_id
) -> list[ContributionLine]:
    return [
        ContributionLine(
            settlement=None,
            unit=unit,
            person_id=person_id,
            region_id=unit.region_id,
            item=x.item,
            settle_period=settle_period,
            belongs_period=x.period,
            kind=kind,
            base=x.base,
            unit_amount=x.unit,
            personal_amount=x.personal,
            below_floor=x.below_floor,
            above_cap=x.above_cap,
            parameter_set_id=x.parameter_set_id,
            filing_id=filing_id,
        )
        for x in plan.lines
    ]


def enrolment_back_pay_lines(enrolment_ids, *, actor=None) -> int:
    """Back-pay lines of enrolments approved with the back-pay flag (补收标志, seed 001 Handan:
    "参保时间早于结算期时，是否补收标志自动置为是"): for each enrolment with ``back_pay`` set, the
    months from its start to the month before the region's current settlement period (not after
    its stop month), at each month's own parameters and the unit's injury rate then, with the
    wage the settlement would use. The lines wait (kind BACK_PAY, settlement empty) for the
    unit's next settlement. Months already assessed for the person and type are skipped.
    Called inside the approving transaction; a month without parameters refuses the person
    (ValidationError). Returns the number of lines written."""
    enrolments = list(
        Enrolment.objects.filter(pk__in=list(enrolment_ids), back_pay=True, unit__isnull=False)
        .select_related("unit__region", "person")
        .order_by("unit_id", "person_id", "insurance_type", "start_period")
    )
    groups: dict[tuple[int, int], list[Enrolment]] = defaultdict(list)
    for e in enrolments:
        groups[(e.unit_id, e.person_id)].append(e)
    written = 0
    for group in groups.values():
        unit, person = group[0].unit, group[0].person
        current = Period.parse(unit.region.current_period)
        cells_by_enrolment: list[tuple[Enrolment, list[int]]] = []
        for e in group:
            last = current - 1
            if e.stop_period is not None:
                last = min(last, Period.parse(e.stop_period))
            months = [int(p) for p in Period.range(e.start_period, last)]
            if months:
                cells_by_enrolment.append((e, months))
        if not cells_by_enrolment:
            continue
        all_months = sorted({m for _, months in cells_by_enrolment for m in months})
        types = ordered_types(e.insurance_type for e, _ in cells_by_enrolment)
        taken = assessed_cells(person, unit, types, all_months[0], all_months[-1])
        sets = parameter_sets(unit.region_id, all_months)
        injury = injury_rates_by_period(unit, all_months)
        lines: list[ContributionLine] = []
        skipped = 0
        for e, months in cells_by_enrolment:
            cells = [(m, e.insurance_type) for m in months if (m, e.insurance_type) not in taken]
            skipped += len(months) - len(cells)
            if not cells:
                continue
            missing = missing_sets(sets, cells)
            if missing:
                listed = "；".join(f"{type_label(t)} {span_label(ps)}" for t, ps in missing.items())
                raise ValidationError(
                    f"{person.name}：{unit.region.name}没有补收月份的缴费参数（{listed}），"
                    "无法生成补缴记录（可将该人员设为不通过，由单位取消补收标志后重新申报）"
                )
            plan = plan_lines(
                cells=cells,
                wages=wages_by_period(person.pk, unit.pk, months, e.wage_base),
                sets=sets,
                injury=injury,
            )
            lines += line_objects(
                plan,
                unit=unit,
                person_id=person.pk,
                kind=ContributionLine.Kind.BACK_PAY,
                settle_period=int(current),
                filing_id=e.start_filing_id,
            )
        ContributionLine.objects.bulk_create(lines, batch_size=1000)
        written += len(lines)
        audit_record(
            actor=actor,
            action="backpay.enrolment",
            obj=person,
            region=unit.region_id,
            detail={
                "unit": unit.unit_no,
                "lines": len(lines),
                "months": [all_months[0], all_months[-1]],
                "skipped_assessed": skipped,
                "unit_total": money_text(sum((x.unit_amount for x in lines), ZERO)),
                "personal_total": money_text(sum((x.personal_amount for x in lines), ZERO)),
            },
        )
    return written
