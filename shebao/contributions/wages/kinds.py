"""The filing kinds of the wage declarations (``shebao.filings.kinds.HANDLERS``):
年度工资申报 (``wage_annual``) and 机关事业月度工资申报 (``wage_monthly``). On submit every row is
checked against the registry again; on approval the approved rows become WageBase rows
(``services.apply_bases``) and one audit row is written."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError

from shebao.contributions.params.selectors import wage_bounds
from shebao.contributions.wages.calc import (
    NOT_ON_ROSTER,
    WAGE_ITEMS,
    annual_after,
    filing_title,
    is_institution,
    monthly_after,
)
from shebao.contributions.wages.selectors import (
    clean_annual_header,
    clean_monthly_header,
    roster_ids,
)
from shebao.contributions.wages.services import apply_bases
from shebao.core.audit import audit_record
from shebao.core.periods import Period
from shebao.filings.business import BusinessKind
from shebao.filings.kinds import FilingHandler, ReviewPolicy
from shebao.filings.models import Filing, FilingKind, FilingRow
from shebao.registry.models import Unit

PROBLEMS_SHOWN = 20


class _WageHandler(FilingHandler):
    business_kind = BusinessKind.WAGE
    review_policy = ReviewPolicy.VIP_AUTO  # wage declarations are reviewed for normal units
    uses_rows = True
    duplicate_message = "本单位已有同一期间的缴费基数申报正在办理，请在待办业务中继续办理"

    def subject_key(self, payload: dict) -> str:
        return f"U{payload.get('unit', '')}:{self.period_key(payload)}"

    def period_key(self, payload: dict) -> str:
        raise NotImplementedError

    def valid_from(self, payload: dict) -> int:
        raise NotImplementedError

    def clean_header(self, unit: Unit, payload: dict) -> dict[str, str]:
        raise NotImplementedError

    def build(self, after: dict) -> tuple[dict | None, str]:
        raise NotImplementedError

    def clean_payload(self, payload: dict, *, filing) -> dict:
        """On a save the services checked everything. On submit (the stored ``rev``) every row
        is checked against the registry again: the roster may have changed meanwhile."""
        if filing is not None and payload.get("rev") == filing.payload.get("rev"):
            problems = self.check_rows(filing)
            if problems:
                more = len(problems) - PROBLEMS_SHOWN
                shown = problems[:PROBLEMS_SHOWN] + ([f"另有 {more} 人有误"] if more > 0 else [])
                raise ValidationError(shown)
        return payload

    def check_rows(self, filing: Filing) -> list[str]:
        unit = Unit.objects.select_related("region").get(pk=filing.unit_id)
        problems = list(self.clean_header(unit, filing.payload).values())
        rows = list(filing.rows.all())
        roster = roster_ids(unit, filing.rows.values("person_id"))
        for row in rows:
            if row.person_id not in roster:
                problems.append(f"{row.name}：{NOT_ON_ROSTER}")
                continue
            after, error = self.build(row.payload.get("after", {}))
            if error or after is None:
                problems.append(f"{row.name}：{error or '没有填写工资'}")
        return problems

    def apply(self, *, filing, actor) -> None:
        unit = Unit.objects.select_related("region").get(pk=filing.unit_id)
        header_problems = self.clean_header(unit, filing.payload)
        if header_problems:
            raise ValidationError(list(header_problems.values()))
        approved = filing.rows.filter(result=FilingRow.Result.APPROVED)
        rows = list(approved)
        roster = roster_ids(unit, approved.values("person_id"))
        declared: dict[int, tuple] = {}
        for row in rows:
            after, error = self.build(row.payload.get("after", {}))
            if row.person_id not in roster:
                error = "已不在本单位正常参保"
            if error or after is None:
                raise ValidationError(f"{row.name}：{error}（可将该人员设为不通过）")
            declared[row.person_id] = (Decimal(after["wage"]), after.get("items", {}))
        valid_from = self.valid_from(filing.payload)
        summary = apply_bases(unit=unit, valid_from=valid_from, declared=declared, filing=filing)
        audit_record(
            actor=actor,
            action=f"wage_base.apply.{self.kind}",
            obj=filing,
            region=unit.region_id,
            detail={"valid_from": valid_from, **summary},
        )


class AnnualWageHandler(_WageHandler):
    kind = FilingKind.WAGE_ANNUAL
    edit_url_name = "unit:wages_annual_edit"
    labels = {"wage": "缴费工资（上年月平均工资，元）"}

    def period_key(self, payload: dict) -> str:
        return str(payload.get("year", ""))

    def valid_from(self, payload: dict) -> int:
        return int(payload["valid_from"])

    def clean_header(self, unit: Unit, payload: dict) -> dict[str, str]:
        _, errors = clean_annual_header(unit, payload.get("year"), payload.get("valid_from"))
        return errors

    def build(self, after: dict) -> tuple[dict | None, str]:
        return annual_after(after.get("wage"))

    def title(self, payload: dict) -> str:
        start = Period.parse(payload["valid_from"]).label if payload.get("valid_from") else ""
        return filing_title(payload, f"{payload.get('year', '')}年度工资申报（{start}起）")

    def row_display(self, row) -> list[tuple[str, str, str]]:
        before = row.payload.get("before", {})
        after = row.payload.get("after", {})
        lines = [("缴费工资（元/月）", before.get("wage") or "从未申报", after.get("wage", ""))]
        return lines + _base_line(row, after.get("wage"))


def _base_line(row, wage) -> list[tuple[str, str, str]]:
    """核定基数 beside the declared wage: the floor and cap in force from 新基数起始年月 (looked
    up once per filing)."""
    filing = row.filing
    if not wage or not filing.payload.get("valid_from"):
        return []
    if "_wage_bounds" not in filing.__dict__:
        filing.__dict__["_wage_bounds"] = wage_bounds(
            filing.region_id, int(filing.payload["valid_from"])
        )
    bounds = filing.__dict__["_wage_bounds"]
    return [("核定基数", "", bounds.base_label(wage))] if bounds is not None else []


class MonthlyWageHandler(_WageHandler):
    kind = FilingKind.WAGE_MONTHLY
    edit_url_name = "unit:wages_monthly_edit"
    labels = {"wage": "缴费基数（分项工资合计，元）"}

    def period_key(self, payload: dict) -> str:
        return str(payload.get("period", ""))

    def valid_from(self, payload: dict) -> int:
        return int(payload["period"])

    def clean_header(self, unit: Unit, payload: dict) -> dict[str, str]:
        if not is_institution(unit):
            return {"period": "只有机关、事业单位申报月度分项工资"}
        if not payload.get("period"):
            return {"period": "请填写工资所属年月"}
        try:
            Period.parse(payload["period"])
        except ValueError:
            return {"period": "工资所属年月格式应为yyyyMM"}
        return {}

    def check_rows(self, filing: Filing) -> list[str]:
        problems = super().check_rows(filing)
        unit = Unit.objects.select_related("region").get(pk=filing.unit_id)
        _, errors = clean_monthly_header(unit, filing.payload.get("period"))
        return list(errors.values()) + problems

    def build(self, after: dict) -> tuple[dict | None, str]:
        return monthly_after(after.get("items", {}))

    def title(self, payload: dict) -> str:
        month = Period.parse(payload["period"]).label if payload.get("period") else ""
        return filing_title(payload, f"{month}分项工资申报")

    def row_display(self, row) -> list[tuple[str, str, str]]:
        before = row.payload.get("before", {})
        after = row.payload.get("after", {})
        b_items, a_items = before.get("items") or {}, after.get("items") or {}
        lines = [
            (label, b_items.get(code, ""), a_items.get(code, "")) for code, label in WAGE_ITEMS
        ]
        lines.append(("缴费基数（合计）", before.get("wage") or "从未申报", after.get("wage", "")))
        return lines
