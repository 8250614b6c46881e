"""Pure arithmetic of payments against the arrears ledger (no ORM): what is outstanding per
(payer, 结算期, item), the reasons a payment is refused, the rows of an arrival file checked
against the registry lookups and the ledger, and the checked file's plan with its per-item
summary. The services fetch the data, these functions decide."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from shebao.contributions.payments.imports import ITEM_LABELS, ParsedRow, RowError

if TYPE_CHECKING:
    from shebao.core.models import Region
    from shebao.registry.models import Person, Unit

ZERO = Decimal("0.00")


@dataclass
class ImportRow:
    """A good row of an arrival file: one payment of a unit or of a flexible worker."""

    line: int
    unit: Unit | None
    person: Person | None
    settle_period: int
    item: str
    amount: Decimal
    paid_on: date

    @property
    def payer(self) -> str:
        return f"U{self.unit.pk}" if self.unit else f"P{self.person.pk}"

    @property
    def payer_no(self) -> str:
        return self.unit.unit_no if self.unit else self.person.person_no

    @property
    def payer_name(self) -> str:
        return self.unit.name if self.unit else self.person.name

    @property
    def item_label(self) -> str:
        return ITEM_LABELS.get(self.item, self.item)


@dataclass
class ImportPlan:
    """A checked arrival file: what importing it would write."""

    region: Region
    filename: str
    sha256: str
    rows: list[ImportRow]
    by_item: list[dict] = field(default_factory=list)  # item, label, count, amount

    @property
    def batch(self) -> str:
        return f"{self.region.pk}-{self.sha256[:24]}"

    @property
    def total(self) -> Decimal:
        return sum((r.amount for r in self.rows), ZERO)

    @property
    def payer_count(self) -> int:
        return len({r.payer for r in self.rows})


def outstanding(ledger: Iterable[tuple]) -> dict[tuple, Decimal]:
    """Outstanding per (payer, 结算期, item) from arrears rows given as
    (payer, 结算期, item, due, paid)."""
    result: dict[tuple, Decimal] = {}
    for payer, period, item, due, paid in ledger:
        key = (payer, period, item)
        result[key] = result.get(key, ZERO) + due - paid
    return result


def no_settlement(payer_no: str, period: int, item: str) -> str:
    return f"{payer_no} 在结算期 {period} 没有“{item} {ITEM_LABELS.get(item, '')}”的结算记录"


def too_much(amount: Decimal, left: Decimal, period: int, item: str) -> str:
    if left <= 0:
        return f"结算期 {period} 的 {item} {ITEM_LABELS.get(item, '')} 已足额到账，不能再登记"
    return (
        f"金额 {amount} 元超过结算期 {period} 的 {item} {ITEM_LABELS.get(item, '')}"
        f" 尚欠金额 {left} 元"
    )


def check_rows(
    parsed: list[ParsedRow],
    *,
    region_name: str,
    units: dict[str, Unit],
    persons: dict[str, Person],
    flexible_here: set[str],
    left: dict[tuple, Decimal],
) -> tuple[list[ImportRow], list[RowError]]:
    """Check parsed rows against the registry lookups (``units`` by 单位编号, ``persons`` by
    个人编号, ``flexible_here`` the payers "P<id>" with arrears in the region) and the ledger
    (``left``: outstanding per key, consumed row by row). Returns the good rows and every bad
    row with all its reasons, by line."""
    left = dict(left)
    rows: list[ImportRow] = []
    errors: list[RowError] = []
    seen: dict[tuple, int] = {}
    for p in parsed:
        unit = units.get(p.unit_no)
        person = persons.get(p.person_no)
        reasons = list(p.reasons)
        if p.unit_no and unit is None:
            reasons.insert(0, f"{region_name}没有单位编号为“{p.unit_no}”的单位")
        if p.person_no and (person is None or f"P{person.pk}" not in flexible_here):
            reasons.insert(0, f"{region_name}没有个人编号为“{p.person_no}”的灵活就业人员缴费记录")
        if reasons:
            errors.append(RowError(p.line, "；".join(reasons)))
            continue
        row = ImportRow(
            line=p.line,
            unit=unit,
            person=None if unit else person,
            settle_period=p.settle_period,
            item=p.item,
            amount=p.amount,
            paid_on=p.paid_on,
        )
        same = (row.payer, row.settle_period, row.item, row.amount, row.paid_on)
        if same in seen:
            errors.append(RowError(p.line, f"与第 {seen[same]} 行重复"))
            continue
        seen[same] = p.line
        key = (row.payer, row.settle_period, row.item)
        if key not in left:
            errors.append(RowError(p.line, no_settlement(row.payer_no, *key[1:])))
            continue
        if row.amount > left[key]:
            errors.append(
                RowError(p.line, too_much(row.amount, left[key], row.settle_period, row.item))
            )
            continue
        left[key] -= row.amount
        rows.append(row)
    return rows, errors


def make_plan(region: Region, filename: str, sha: str, rows: list[ImportRow]) -> ImportPlan:
    """The plan of a checked file, with its count and amount per item (by item code)."""
    by_item: dict[str, dict] = {}
    for r in rows:
        acc = by_item.setdefault(
            r.item, {"item": r.item, "label": r.item_label, "count": 0, "amount": ZERO}
        )
        acc["count"] += 1
        acc["amount"] += r.amount
    return ImportPlan(
        region=region,
        filename=filename,
        sha256=sha,
        rows=rows,
        by_item=[by_item[k] for k in sorted(by_item)],
    )
