"""Pure arithmetic of the personal pension account statement (no ORM): the statement (对账单)
of each year from the credits by 费款所属期, the yearly 记账利率 and the interest method.

Interest is booked at year end with the year's rate and method, computed by
``calculator.calc.year_interest``; it joins the balance at year end, so the next year's opening
balance earns it (compounded yearly). A year whose rate is not published yet earns no interest
and is marked so; its closing balance is the opening balance plus the credits. Only the labels
of the interest methods come from the models (constants, no queries)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from shebao.contributions.calculator.calc import year_interest
from shebao.contributions.models import RegionPolicy

ZERO = Decimal("0.00")
DEFAULT_METHOD = RegionPolicy.InterestMethod.MONTHLY.value
METHOD_LABELS = dict(RegionPolicy.InterestMethod.choices)


@dataclass(frozen=True)
class YearStatement:
    """对账单 of one year."""

    year: int
    opening: Decimal
    credits: dict[int, Decimal]  # month (1–12) -> credited that month
    rate: Decimal | None  # None: not published yet
    method: str
    interest: Decimal
    closing: Decimal

    @property
    def credit_total(self) -> Decimal:
        return sum(self.credits.values(), ZERO)

    @property
    def rate_published(self) -> bool:
        return self.rate is not None

    @property
    def method_label(self) -> str:
        return METHOD_LABELS.get(self.method, self.method)

    @property
    def rate_percent(self) -> Decimal | None:
        return None if self.rate is None else (self.rate * 100).normalize()

    def months(self) -> list[tuple[int, Decimal]]:
        """Every month of the year with its credit (zero where none)."""
        return [(m, self.credits.get(m, ZERO)) for m in range(1, 13)]


def statements(
    credits: Mapping[int, Decimal],
    rates: Mapping[int, Decimal],
    *,
    until: int,
    methods: Mapping[int, str] | None = None,
    default_method: str = DEFAULT_METHOD,
) -> list[YearStatement]:
    """The statements of every year from the first credited year through `until`.
    `credits` maps a 费款所属期 (yyyyMM) to the amount credited; `rates` a year to its
    记账利率 (a fraction: 0.0262); `methods` a year to its interest method."""
    by_year: dict[int, dict[int, Decimal]] = defaultdict(dict)
    for period, amount in credits.items():
        if amount < 0:
            raise ValueError("个人账户记账金额不能为负数")
        year, month = divmod(int(period), 100)
        if not 1 <= month <= 12:
            raise ValueError(f"无效的费款所属期 {period}")
        by_year[year][month] = by_year[year].get(month, ZERO) + amount
    if not by_year:
        return []
    out: list[YearStatement] = []
    balance = ZERO
    method = default_method
    for year in range(min(by_year), until + 1):
        month_credits = dict(sorted(by_year.get(year, {}).items()))
        method = (methods or {}).get(year, method)
        rate = rates.get(year)
        interest = (
            ZERO if rate is None else year_interest(balance, month_credits, rate, method=method)
        )
        closing = balance + sum(month_credits.values(), ZERO) + interest
        out.append(
            YearStatement(
                year=year,
                opening=balance,
                credits=month_credits,
                rate=rate,
                method=method,
                interest=interest,
                closing=closing,
            )
        )
        balance = closing
    return out


def statement_for(
    credits: Mapping[int, Decimal],
    rates: Mapping[int, Decimal],
    year: int,
    *,
    methods: Mapping[int, str] | None = None,
    default_method: str = DEFAULT_METHOD,
) -> YearStatement:
    """The statement of `year` (an empty one before the first credit)."""
    years = statements(credits, rates, until=year, methods=methods, default_method=default_method)
    if years and years[-1].year == year:
        return years[-1]
    return YearStatement(
        year=year,
        opening=ZERO,
        credits={},
        rate=rates.get(year),
        method=(methods or {}).get(year, default_method),
        interest=ZERO,
        closing=ZERO,
    )
