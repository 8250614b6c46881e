"""The personal pension account: credits from paid 110 personal parts by 费款所属期, yearly
interest by the month-product method or the approximation, compounded yearly (hand-computed
numbers), a hypothesis property, and the person hall's 个人账户 and 缴费记录 pages."""

from decimal import Decimal as D

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st

from shebao.contributions.account.calc import statement_for, statements
from shebao.contributions.account.selectors import account_credits, person_account
from shebao.contributions.flexible.services import flexible_assess
from shebao.contributions.models import (
    ContributionLine,
    InterestRate,
    ParameterSet,
    RegionPolicy,
    Settlement,
)
from shebao.contributions.payments.services import payment_post
from tests.conftest import signed_in
from tests.contributions.flexible_helpers import PERIOD, make_person, person_login, register

RATES = {
    2016: D("0.0831"),
    2017: D("0.0712"),
    2018: D("0.0829"),
    2019: D("0.0761"),
    2020: D("0.0604"),
    2021: D("0.0669"),
    2022: D("0.0612"),
    2023: D("0.0397"),
    2024: D("0.0262"),
}


def monthly(year: int, months, amount: str) -> dict[int, D]:
    return {year * 100 + m: D(amount) for m in months}


# --- pure ---------------------------------------------------------------------------------


def test_interest_by_the_month_product_method():
    [s] = statements(monthly(2022, range(1, 13), "800.00"), RATES, until=2022)
    # Σ 800 × 6.12 % × (13 − n)/12 = 800 × 0.0612 × 78/12 = 318.24
    assert (s.opening, s.credit_total, s.interest, s.closing) == (
        D("0"),
        D("9600.00"),
        D("318.24"),
        D("9918.24"),
    )
    assert s.method == "monthly" and s.rate == D("0.0612")


def test_interest_by_the_approximation():
    [s] = statements(
        monthly(2022, range(1, 13), "800.00"), RATES, until=2022, default_method="approx"
    )
    # 9600 × 6.12 % × 1.083 × ½ = 318.14208
    assert s.interest == D("318.14") and s.closing == D("9918.14")


def test_late_credits_earn_less_under_the_month_product_method():
    [early] = statements({202201: D("1200.00")}, RATES, until=2022)
    [late] = statements({202212: D("1200.00")}, RATES, until=2022)
    assert early.interest == D("73.44")  # 1200 × 6.12 % × 12/12
    assert late.interest == D("6.12")  # 1200 × 6.12 % × 1/12


def test_multi_year_statement_compounds_yearly():
    credits = monthly(2022, range(1, 13), "800.00") | monthly(2023, range(7, 13), "900.00")
    years = statements(credits, RATES, until=2024)
    assert [y.year for y in years] == [2022, 2023, 2024]
    y22, y23, y24 = years
    assert (y22.interest, y22.closing) == (D("318.24"), D("9918.24"))
    # 9918.24 × 3.97 % = 393.754128, plus Σ 900 × 3.97 % × (13 − n)/12 for n = 7…12
    # = 900 × 0.0397 × 21/12 = 62.5275: 456.281628 → 456.28
    assert y23.opening == y22.closing
    assert (y23.credit_total, y23.interest, y23.closing) == (
        D("5400.00"),
        D("456.28"),
        D("15774.52"),
    )
    # no credits in 2024: the balance alone earns 2.62 %: 413.292424 → 413.29
    assert y24.opening == y23.closing and y24.credit_total == 0
    assert (y24.interest, y24.closing) == (D("413.29"), D("16187.81"))
    assert statement_for(credits, RATES, 2023) == y23


def test_method_may_change_by_year():
    credits = monthly(2022, range(1, 13), "800.00") | monthly(2023, range(7, 13), "900.00")
    y22, y23 = statements(credits, RATES, until=2023, methods={2023: "approx"})
    # 393.754128 + 5400 × 3.97 % × 1.083 × ½ (116.08677) = 509.840898
    assert y22.interest == D("318.24") and y23.interest == D("509.84")
    assert y23.closing == D("15828.08")


def test_year_without_a_published_rate_earns_nothing_yet():
    credits = monthly(2024, range(1, 13), "100.00") | monthly(2025, [1], "100.00")
    y24, y25, y26 = statements(credits, RATES, until=2026)
    assert y24.interest == D("17.03")  # 100 × 2.62 % × 78/12 = 17.03
    assert not y25.rate_published and y25.interest == 0
    assert y25.closing == y24.closing + D("100.00")
    assert y26.opening == y25.closing and y26.closing == y25.closing


def test_before_the_first_credit_the_statement_is_empty():
    s = statement_for(monthly(2023, [5], "80.00"), RATES, 2020)
    assert (s.opening, s.credit_total, s.interest, s.closing) == (0, 0, 0, 0)
    assert statements({}, RATES, until=2024) == []


def test_negative_credit_or_bad_month_refused():
    with pytest.raises(ValueError):
        statements({202201: D("-1")}, RATES, until=2022)
    with pytest.raises(ValueError):
        statements({202213: D("1")}, RATES, until=2022)


amounts = st.decimals(min_value=0, max_value=D("20000"), places=2, allow_nan=False)
periods = st.builds(lambda y, m: y * 100 + m, st.integers(2016, 2024), st.integers(1, 12))
rates = st.decimals(min_value=0, max_value=D("0.1"), places=4, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(
    credits=st.dictionaries(periods, amounts, max_size=40),
    year_rates=st.dictionaries(st.integers(2016, 2026), rates),
    methods=st.dictionaries(st.integers(2016, 2026), st.sampled_from(["monthly", "approx"])),
)
def test_property_closing_is_opening_plus_credits_plus_interest(credits, year_rates, methods):
    years = statements(credits, year_rates, until=2026, methods=methods)
    balance = D(0)
    for y in years:
        assert y.opening == balance
        assert y.closing == y.opening + y.credit_total + y.interest
        assert y.interest >= 0 and y.closing >= 0
        assert y.interest == y.interest.quantize(D("0.01"))
        if y.rate is None:
            assert y.interest == 0
        balance = y.closing
    if years:
        assert years[-1].closing >= sum(credits.values(), D(0))


# --- from the database --------------------------------------------------------------------


def _set110(region_id="110000"):
    return ParameterSet.objects.filter(region_id=region_id, insurance_type="110").first()


def credit(person, period: int, personal: str, *, paid=True, withdrawn=False, item="110"):
    """A settled flexible line of `period` (its own assessment row)."""
    settlement = Settlement.objects.create(
        person=person,
        region_id="110000",
        settle_period=period,
        kind=Settlement.Kind.FLEXIBLE,
        state=Settlement.State.WITHDRAWN if withdrawn else Settlement.State.CONFIRMED,
    )
    return ContributionLine.objects.create(
        settlement=settlement,
        unit=None,
        person=person,
        region_id="110000",
        item=item,
        settle_period=period,
        belongs_period=period,
        kind=ContributionLine.Kind.FLEXIBLE,
        base=D("10000"),
        unit_amount=D("1200.00"),
        personal_amount=D(personal),
        parameter_set=_set110(),
        paid=paid,
        withdrawn=withdrawn,
    )


@pytest.fixture
def region(region_bj):
    region_bj.current_period = PERIOD
    region_bj.save()
    return region_bj


def test_only_paid_settled_pension_personal_parts_are_credited(region):
    person = make_person(5)
    credit(person, 202201, "800.00")
    credit(person, 202202, "800.00", paid=False)  # arrears: not credited
    credit(person, 202203, "800.00", withdrawn=True)  # rolled back
    credit(person, 202204, "300.00", item="310")  # medical is not the pension account
    ContributionLine.objects.create(  # a line no settlement picked up yet
        settlement=None,
        person=person,
        region_id="110000",
        item="110",
        settle_period=202205,
        belongs_period=202205,
        base=D("1"),
        unit_amount=D("0"),
        personal_amount=D("999.00"),
        parameter_set=_set110(),
        paid=True,
    )
    credits, methods = account_credits(person)
    assert credits == {202201: D("800.00")}
    assert methods == {2022: "monthly"}


def test_region_policy_decides_the_method(region):
    person = make_person(6)
    for m in range(1, 13):
        credit(person, 202200 + m, "800.00")
    RegionPolicy.objects.update_or_create(region=region, defaults={"interest_method": "approx"})
    user = person_login(person)
    statement = person_account(user, 2022).statement
    assert statement.method == "approx" and statement.interest == D("318.14")


def test_statement_from_the_database_compounds_with_the_shipped_rates(region):
    person = make_person(7)
    for m in range(1, 13):
        credit(person, 202200 + m, "800.00")
    for m in range(7, 13):
        credit(person, 202300 + m, "900.00")
    assert dict(
        InterestRate.objects.filter(year__in=[2022, 2023, 2024]).values_list("year", "rate")
    ) == {2022: D("0.0612"), 2023: D("0.0397"), 2024: D("0.0262")}
    account = person_account(person_login(person), 2024)
    assert [y.closing for y in account.history] == [D("9918.24"), D("15774.52"), D("16187.81")]
    assert account.statement.year == 2024 and account.statement.closing == D("16187.81")
    assert account.years[-1] == 2022


def test_payment_credits_the_account(region, staff_bj):
    person = make_person(8)
    user = person_login(person)
    register(user, staff_bj, level="1.50")
    flexible_assess(actor=user)
    assert account_credits(person)[0] == {}  # assessed, not paid
    payment_post(
        actor=staff_bj,
        unit=None,
        person=person,
        settle_period=PERIOD,
        item="110",
        amount="2148.60",
        paid_on="2025-08-20",
    )
    assert account_credits(person)[0] == {PERIOD: D("859.44")}  # the 8 % part only
    s = person_account(user, 2025).statement
    assert s.credits == {8: D("859.44")} and s.closing == D("859.44")
    assert not s.rate_published and s.interest == 0


def test_unit_employees_are_credited_their_personal_contribution(region, staff_bj):
    from tests.contributions.payments_helpers import PAID_ON, settled_unit

    unit, _, people, settlement = settled_unit(staff_bj, region, 9, persons=1)
    line = ContributionLine.objects.get(settlement=settlement, item="110")
    payment_post(
        actor=staff_bj,
        unit=unit,
        settle_period=PERIOD,
        item="110",
        amount=line.unit_amount + line.personal_amount,
        paid_on=PAID_ON,
    )
    assert account_credits(people[0])[0] == {PERIOD: line.personal_amount}


def test_account_is_for_the_person_only(admin_a, staff_bj):
    with pytest.raises(PermissionDenied):
        person_account(admin_a)
    with pytest.raises(PermissionDenied):
        person_account(staff_bj)


# --- pages --------------------------------------------------------------------------------


def test_account_page_shows_the_statement_of_the_chosen_year(region):
    person = make_person(9)
    for m in range(1, 13):
        credit(person, 202200 + m, "800.00")
    client = signed_in(person_login(person))
    html = client.get(reverse("person:account"), {"year": "2022"}).content.decode()
    assert 'data-testid="credits">9,600.00<' in html
    assert 'data-testid="interest">318.24<' in html
    assert 'data-testid="closing">9,918.24<' in html
    html = client.get(reverse("person:account"), {"year": "2023"}).content.decode()
    assert 'data-testid="opening">9,918.24<' in html
    assert 'data-testid="closing">10,311.99<' in html  # + 9918.24 × 3.97 % = 393.75


def test_account_page_without_credits(region):
    client = signed_in(person_login(make_person(10)))
    response = client.get(reverse("person:account"))
    assert response.status_code == 200
    assert 'data-testid="closing">0.00<' in response.content.decode()


def test_contributions_page_lists_lines_with_paid_status(region, staff_bj):
    person = make_person(11)
    user = person_login(person)
    register(user, staff_bj, level="1.50")
    flexible_assess(actor=user)
    payment_post(
        actor=staff_bj,
        unit=None,
        person=person,
        settle_period=PERIOD,
        item="110",
        amount="2148.60",
        paid_on="2025-08-20",
    )
    client = signed_in(user)
    html = client.get(reverse("person:contributions")).content.decode()
    assert "202508" in html and "灵活就业（个人缴费）" in html
    assert "已到账" in html and "未到账" in html
    assert "2,148.60" in html and "1,270.67" in html
    assert client.get(reverse("person:contributions"), {"year": "2025"}).status_code == 200
    other = signed_in(person_login(make_person(12)))
    assert "2,148.60" not in other.get(reverse("person:contributions")).content.decode()


def test_pages_need_a_person(admin_client):
    for name in ("person:contributions", "person:account"):
        assert admin_client.get(reverse(name)).status_code == 403
