"""The personal pension account (个人账户, DOMAIN §5): computed, never stored; and the person's
contribution record (缴费记录). Reads scoped to the signed-in person.

Credits are the personal part (``personal_amount``) of the person's enterprise pension (110)
lines that are paid (``paid=True``: their item and 费款所属期 fully paid), not withdrawn, and
settled — at a unit (the 8 % personal contribution) or as a flexible worker (the 8 % part of the
20 %, see ``contributions/flexible/calc.py``). Each is credited in the month of its 费款所属期.

Interest is booked at year end with the year's 记账利率 (``InterestRate``) and the region's
method (``RegionPolicy.interest_method``: 月积数法 "monthly" or the older approximation
"approx"); the statements are computed by ``calc.py``. The statement of any year is computed
year by year from the first credited year.

The method of a year is the one of the region where the person's last credit of that year (or,
without credits, of an earlier year) was paid: the account is kept where the person is insured.

Sums are Python over fetched Decimals (DESIGN rule 5)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.utils import timezone

from shebao.contributions.account.calc import (
    DEFAULT_METHOD,
    ZERO,
    YearStatement,
    statement_for,
    statements,
)
from shebao.contributions.models import ContributionLine, InterestRate, ItemType, RegionPolicy
from shebao.registry import access
from shebao.registry.models import InsuranceType, Person

PENSION = InsuranceType.ENTERPRISE_PENSION.value
ITEM_LABELS = dict(ItemType.choices)
KIND_LABELS = dict(ContributionLine.Kind.choices)
LINES_PER_PAGE = 60


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
    if not access.is_person(actor) or actor.person_id is None:
        access.deny(actor, action="account.view")
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


def person_contributions_page(actor, *, year: str = "", page_number=None) -> dict:
    """The 缴费记录 page: one page of the person's lines (of `year` when it is one of theirs),
    grouped by 费款所属期, with the years to choose from."""
    years = person_line_years(actor)
    chosen = int(year) if year.isdigit() and int(year) in years else None
    page = Paginator(person_lines(actor, year=chosen), LINES_PER_PAGE).get_page(page_number)
    groups: list[dict] = []
    for line in page:
        if not groups or groups[-1]["period"] != line.belongs_period:
            groups.append({"period": line.belongs_period, "lines": []})
        groups[-1]["lines"].append(
            {
                "line": line,
                "item_label": ITEM_LABELS.get(line.item, line.item),
                "kind_label": KIND_LABELS.get(line.kind, line.kind),
                "total": line.unit_amount + line.personal_amount,
            }
        )
    return {
        "page": page,
        "groups": groups,
        "years": years,
        "year": chosen,
        "query": f"year={chosen}" if chosen else "",
    }
