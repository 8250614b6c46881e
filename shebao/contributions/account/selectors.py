"""The personal pension account (个人账户, DOMAIN §5): computed, never stored.

Credits are the personal part (``personal_amount``) of the person's enterprise pension (110)
lines that are paid (``paid=True``: their item and 费款所属期 fully paid), not withdrawn, and
settled — at a unit (the 8 % personal contribution) or as a flexible worker (the 8 % part of the
20 %, see ``flexible.py``). Each is credited in the month of its 费款所属期.

Interest is booked at year end with the year's 记账利率 (``InterestRate``) and the region's
method (``RegionPolicy.interest_method``: 月积数法 "monthly" or the older approximation
"approx"), computed by ``calc.year_interest``; it joins the balance at year end, so the next
year's opening balance earns it (compounded yearly). The statement of any year is computed
year by year from the first credited year.

A year whose rate is not published yet (the current year, or any year before 2016 not entered)
earns no interest in the statement and is marked so; its closing balance is the opening balance
plus the credits. The method of a year is the one of the region where the person's last credit
of that year (or, without credits, of an earlier year) was paid: the account is kept where the
person is insured.

Sums are Python over fetched Decimals (DESIGN rule 5)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.utils import timezone

from shebao.contributions.calculator.calc import year_interest
from shebao.contributions.models import ContributionLine, InterestRate, RegionPolicy
from shebao.core.audit import audit_record
from shebao.core.models import AuditEntry
from shebao.registry.models import InsuranceType, Person

ZERO = Decimal("0.00")
PENSION = InsuranceType.ENTERPRISE_PENSION.value
DEFAULT_METHOD = RegionPolicy.InterestMethod.MONTHLY.value
METHOD_LABELS = dict(RegionPolicy.InterestMethod.choices)


# --- pure (no ORM) ---------------------------------------------------------------------------


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


# --- reads -----------------------------------------------------------------------------------


def account_credits(person: Person) -> tuple[dict[int, Decimal], dict[int, str]]:
    """(credits by 费款所属期, interest method by year) of the person's account."""
    credits: dict[int, Decimal] = defaultdict(lambda: ZERO)
    region_of_year: dict[int, tuple[int, str]] = {}
    rows = ContributionLine.objects.filter(
        person=person,
        item=PENSION,
        paid=True,
        withdrawn=False,
        settlement__isnull=False,
    ).values_list("belongs_period", "personal_amount", "region_id")
    for period, amount, region_id in rows:
        credits[period] += amount
        year = period // 100
        if period >= region_of_year.get(year, (0, ""))[0]:
            region_of_year[year] = (period, region_id)
    policies = dict(
        RegionPolicy.objects.filter(
            region_id__in={r for _, r in region_of_year.values()}
        ).values_list("region_id", "interest_method")
    )
    methods = {
        year: policies.get(region_id, DEFAULT_METHOD)
        for year, (_, region_id) in region_of_year.items()
    }
    return dict(credits), methods


def interest_rates() -> dict[int, Decimal]:
    return dict(InterestRate.objects.values_list("year", "rate"))


@dataclass
class PersonAccount:
    person: Person
    years: list[int]  # the years a statement can be asked for, newest first
    statement: YearStatement
    history: list[YearStatement]  # every year up to the chosen one, oldest first


def _person(actor) -> Person:
    if getattr(actor, "kind", None) != "person" or not actor.is_active or actor.person_id is None:
        audit_record(actor=actor, action="account.view", outcome=AuditEntry.Outcome.DENIED)
        raise PermissionDenied("请以参保人身份登录个人网厅查询")
    return actor.person


def person_account(actor, year: int | None = None) -> PersonAccount:
    """The signed-in person's statement (对账单) of `year` (default: the latest year), with
    the years before it. Years offered: the first credited year through this year."""
    person = _person(actor)
    credits, methods = account_credits(person)
    this_year = timezone.localdate().year
    first = min((p // 100 for p in credits), default=this_year)
    last = max(this_year, max((p // 100 for p in credits), default=this_year))
    years = list(range(last, first - 1, -1))
    chosen = year if year in years else last
    rates = interest_rates()
    history = statements(credits, rates, until=chosen, methods=methods)
    statement = (
        history[-1]
        if history and history[-1].year == chosen
        else statement_for(credits, rates, chosen, methods=methods)
    )
    return PersonAccount(person=person, years=years, statement=statement, history=history)


def person_lines(actor, *, year: int | None = None):
    """The signed-in person's settled contribution lines (缴费记录: at units and as a
    flexible worker), newest 费款所属期 first, with their paid status."""
    qs = ContributionLine.objects.filter(
        person=_person(actor), withdrawn=False, settlement__isnull=False
    )
    if year:
        qs = qs.filter(belongs_period__gte=year * 100 + 1, belongs_period__lte=year * 100 + 12)
    return qs.select_related("unit").order_by("-belongs_period", "-settle_period", "item", "id")


def person_line_years(actor) -> list[int]:
    periods = (
        ContributionLine.objects.filter(
            person=_person(actor), withdrawn=False, settlement__isnull=False
        )
        .order_by()
        .values_list("belongs_period", flat=True)
        .distinct()
    )
    return sorted({p // 100 for p in periods}, reverse=True)
