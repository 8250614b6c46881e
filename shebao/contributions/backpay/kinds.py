"""The filing handlers of the three 补缴 kinds (named by dotted path in filings/kinds.py HANDLERS):
核定基数补缴 (``back_pay``), 调整基数补缴 (``adjust_pay``) and 个人补收 (``supplement_pay``).

On submit every person's stored request is checked again and its lines recomputed
(selectors.check_request); a person whose lines differ from the saved preview is refused. On
approval the approved persons' lines are written with ``settlement`` empty and ``settle_period``
= the region's current period: the unit's next settlement picks them up."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError

from shebao.contributions.backpay.calc import CHANGED, Checked, types_label
from shebao.contributions.backpay.selectors import check_request
from shebao.contributions.backpay.services import line_objects
from shebao.contributions.calculator.calc import ZERO
from shebao.contributions.models import ContributionLine
from shebao.core.audit import audit_record
from shebao.core.money import money_text
from shebao.core.periods import Period
from shebao.filings.business import BusinessKind
from shebao.filings.kinds import FilingHandler, ReviewPolicy
from shebao.filings.models import Filing, FilingKind, FilingRow
from shebao.registry.models import Person, Unit

KIND_LINE = {
    FilingKind.BACK_PAY.value: ContributionLine.Kind.BACK_PAY,
    FilingKind.ADJUST_PAY.value: ContributionLine.Kind.ADJUST,
    FilingKind.SUPPLEMENT_PAY.value: ContributionLine.Kind.SUPPLEMENT,
}


class _BackPayHandler(FilingHandler):
    business_kind = BusinessKind.BACK_PAY
    review_policy = ReviewPolicy.VIP_AUTO  # reviewed for normal units, on submit for VIP units
    uses_rows = True
    title_suffix = ""

    def title(self, payload: dict) -> str:
        names = payload.get("names", [])
        count = payload.get("count", len(names))
        more = "等" if count > 3 else ""
        return f"{'、'.join(names[:3])}{more}{count}人{self.title_suffix}"[:200]

    def check_row(
        self, *, unit: Unit, filing: Filing, row: FilingRow
    ) -> tuple[str, Checked | None]:
        """(problem, checked): the stored request checked again and its lines recomputed; a
        problem when it no longer passes or its lines differ from the saved preview."""
        if row.person_id is None:
            return f"{row.name}：未找到该人员", None
        checked = check_request(
            unit=unit,
            person=row.person,
            kind=self.kind,
            data=row.payload.get("after", {}),
            filing=filing,
        )
        if not checked.ok:
            message = checked.first_error()
            return (message if message.startswith(row.name) else f"{row.name}：{message}"), None
        if checked.plan.digest() != row.payload.get("preview", {}).get("digest"):
            return f"{row.name}：{CHANGED}", None
        return "", checked

    def clean_payload(self, payload: dict, *, filing) -> dict:
        """On a save the service checked everything; on submit (the stored ``rev``) every row is
        checked again and its lines recomputed."""
        if filing is not None and payload.get("rev") == filing.payload.get("rev"):
            unit = Unit.objects.select_related("region").get(pk=filing.unit_id)
            problems = [
                message
                for row in filing.rows.select_related("person")
                if (message := self.check_row(unit=unit, filing=filing, row=row)[0])
            ]
            if problems:
                raise ValidationError(problems)
        return payload

    def apply(self, *, filing, actor) -> None:
        """Write the approved persons' lines (waiting for the unit's next settlement)."""
        unit = Unit.objects.select_related("region").get(pk=filing.unit_id)
        settle_period = unit.region.current_period
        lines: list[ContributionLine] = []
        persons = 0
        for row in filing.rows.filter(result=FilingRow.Result.APPROVED).select_related("person"):
            list(Person.objects.select_for_update().filter(pk=row.person_id))  # serialize
            problem, checked = self.check_row(unit=unit, filing=filing, row=row)
            if problem:
                raise ValidationError(f"{problem}（可将该人员设为不通过）")
            lines += line_objects(
                checked.plan,
                unit=unit,
                person_id=row.person_id,
                kind=KIND_LINE[self.kind],
                settle_period=settle_period,
                filing_id=filing.pk,
            )
            persons += 1
        ContributionLine.objects.bulk_create(lines, batch_size=1000)
        unit_total = sum((x.unit_amount for x in lines), ZERO)
        personal_total = sum((x.personal_amount for x in lines), ZERO)
        audit_record(
            actor=actor,
            action=f"backpay.apply.{self.kind}",
            obj=filing,
            region=unit.region_id,
            detail={
                "persons": persons,
                "lines": len(lines),
                "settle_period": settle_period,
                "unit_total": money_text(unit_total),
                "personal_total": money_text(personal_total),
            },
        )

    def row_display(self, row) -> list[tuple[str, str, str]]:
        after = row.payload.get("after", {})
        preview = row.payload.get("preview", {})
        first, last = after.get("month_from"), after.get("month_to")
        months = ""
        if first and last:
            a, b = Period.parse(first), Period.parse(last)
            shown = a.label if a == b else f"{a.label}至{b.label}"
            months = f"{shown}（{b - a + 1}个月）"
        unit_total = Decimal(preview.get("unit_total", "0"))
        personal_total = Decimal(preview.get("personal_total", "0"))
        return [
            ("补缴月份", "", months),
            ("缴费工资", "", f"{after['wage']} 元/月" if after.get("wage") else ""),
            ("险种", "", types_label(after.get("insurance_types", []))),
            ("明细条数", "", str(len(preview.get("lines", [])))),
            ("单位应缴", "", money_text(unit_total)),
            ("个人应缴", "", money_text(personal_total)),
            ("合计", "", money_text(unit_total + personal_total)),
        ]


class BackPayHandler(_BackPayHandler):
    kind = FilingKind.BACK_PAY.value
    edit_url_name = "unit:back_pay_edit"
    title_suffix = "核定基数补缴"


class AdjustPayHandler(_BackPayHandler):
    kind = FilingKind.ADJUST_PAY.value
    edit_url_name = "unit:adjust_pay_edit"
    title_suffix = "调整基数补缴"


class SupplementPayHandler(_BackPayHandler):
    kind = FilingKind.SUPPLEMENT_PAY.value
    edit_url_name = "unit:supplement_pay_edit"
    title_suffix = "个人补收"
