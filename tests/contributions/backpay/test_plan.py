"""Money properties of back pay: the plan is the oracle month by month, adjustments add up to a
fresh assessment, and what the unit previews is exactly what approval writes."""

from decimal import Decimal as D

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shebao.contributions.backpay.calc import plan_lines
from shebao.contributions.backpay.selectors import backpay_preview
from shebao.contributions.calculator.calc import Line, Params, compute_annuity, compute_line
from shebao.core.periods import Period
from tests.contributions.backpay_helpers import approved, bp_unit, enrol, lines_of, request

MODES = ["fen", "jiao", "yuan", "jiao_up"]
TYPES = ["110", "120", "210", "310", "410"]
wages = st.decimals(min_value=D("0.01"), max_value=100000, places=2, allow_nan=False)
rates = st.decimals(min_value=0, max_value=D("0.3"), places=4, allow_nan=False)


@st.composite
def params(draw, insurance_type: str):
    floor = draw(st.decimals(min_value=1000, max_value=10000, places=0))
    annuity = insurance_type == "120" and draw(st.booleans())
    return Params(
        insurance_type=insurance_type,
        floor=floor,
        cap=floor + draw(st.decimals(min_value=0, max_value=40000, places=0)),
        unit_rate=draw(rates),
        personal_rate=draw(rates),
        personal_fixed=draw(st.sampled_from([D("0"), D("3")])),
        unit_rounding=draw(st.sampled_from(MODES)),
        personal_rounding=draw(st.sampled_from(MODES)),
        annuity_unit_rate=D("0.08") if annuity else D("0"),
        annuity_personal_rate=D("0.04") if annuity else D("0"),
    )


@st.composite
def scenario(draw):
    """Months with a parameter change somewhere in the range, types, an injury rate per month."""
    first = Period(2024, draw(st.integers(1, 12)))
    n = draw(st.integers(1, 14))
    months = [int(first + i) for i in range(n)]
    change = draw(st.integers(0, n))
    types = draw(st.lists(st.sampled_from(TYPES), min_size=1, max_size=5, unique=True))
    before = {t: (1, draw(params(t))) for t in types}
    after = {t: (2, draw(params(t))) for t in types}
    sets = {m: before if i < change else after for i, m in enumerate(months)}
    injury = {m: draw(st.sampled_from([D("0.002"), D("0.004"), D("0.0114")])) for m in months}
    return months, types, sets, injury


@settings(max_examples=200)
@given(scenario(), wages)
def test_each_planned_line_is_the_oracle_of_its_own_month(s, wage):
    months, types, sets, injury = s
    plan = plan_lines(
        cells=[(m, t) for m in months for t in types],
        wages=dict.fromkeys(months, wage),
        sets=sets,
        injury=injury,
    )
    expected = []
    for m in months:
        for t in sorted(types):
            ps_id, p = sets[m][t]
            line = compute_line(p, wage, unit_rate=injury[m] if t == "410" else None)
            expected.append((m, t, line.base, line.unit, line.personal, ps_id))
            annuity = compute_annuity(p, wage)
            if annuity is not None:
                expected.append((m, "121", annuity.base, annuity.unit, annuity.personal, ps_id))
    got = [(x.period, x.item, x.base, x.unit, x.personal, x.parameter_set_id) for x in plan.lines]
    assert sorted(got) == sorted(expected)
    assert plan.unit_total == sum((x.unit for x in plan.lines), D("0"))
    assert plan.total == plan.unit_total + plan.personal_total
    assert sum((g.total for g in plan.months), D("0")) == plan.total
    assert all(x.unit >= 0 and x.personal >= 0 for x in plan.lines)


@settings(max_examples=200)
@given(scenario(), wages, wages)
def test_adjustment_plus_what_was_assessed_equals_a_fresh_assessment(s, old_wage, new_wage):
    months, types, sets, injury = s
    cells = [(m, t) for m in months for t in types]
    base_plan = plan_lines(
        cells=cells, wages=dict.fromkeys(months, old_wage), sets=sets, injury=injury
    )
    old = {(x.period, x.item): Line(x.item, x.base, x.unit, x.personal) for x in base_plan.lines}
    adjust = plan_lines(
        cells=cells, wages=dict.fromkeys(months, new_wage), sets=sets, injury=injury, old=old
    )
    fresh = plan_lines(cells=cells, wages=dict.fromkeys(months, new_wage), sets=sets, injury=injury)
    fresh_by = {(x.period, x.item): x for x in fresh.lines}
    unchanged = set(adjust.unchanged)
    for x in adjust.lines:
        assert x.base > 0 and x.unit >= 0 and x.personal >= 0
        total = old[(x.period, x.item)]
        # a raise of the base never lowers an amount: old + difference = fresh
        assert total.base + x.base == fresh_by[(x.period, x.item)].base
        assert total.unit + x.unit == fresh_by[(x.period, x.item)].unit
        assert total.personal + x.personal == fresh_by[(x.period, x.item)].personal
    for m, t in cells:
        higher = fresh_by[(m, t)].base > old[(m, t)].base
        assert ((m, t) in unchanged) == (not higher)
    if new_wage <= old_wage:
        assert not adjust.lines


@given(scenario(), wages)
def test_digest_changes_with_any_amount(s, wage):
    months, types, sets, injury = s
    cells = [(m, t) for m in months for t in types]
    plan = plan_lines(cells=cells, wages=dict.fromkeys(months, wage), sets=sets, injury=injury)
    again = plan_lines(cells=cells, wages=dict.fromkeys(months, wage), sets=sets, injury=injury)
    assert plan.digest() == again.digest()
    bumped = plan_lines(
        cells=cells, wages=dict.fromkeys(months, wage + D("10000")), sets=sets, injury=injury
    )
    if [x.key() for x in bumped.lines] != [x.key() for x in plan.lines]:
        assert bumped.digest() != plan.digest()


# --- the preview equals the written lines, on the real parameters ------------------------------


@pytest.mark.django_db
@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    wage=st.decimals(min_value=1, max_value=60000, places=2, allow_nan=False),
    first=st.integers(0, 13),
    length=st.integers(1, 8),
    types=st.lists(st.sampled_from(["110", "210", "310", "410"]), max_size=4, unique=True),
    kind=st.sampled_from(["back_pay", "supplement_pay"]),
)
def test_preview_equals_the_written_lines(staff_bj, region_bj, wage, first, length, types, kind):
    from tests.conftest import ensure_published_parameters

    ensure_published_parameters()
    start = Period(2024, 7) + first  # 202407 … 202508
    end = min(start + (length - 1), Period(2025, 8))
    if kind == "supplement_pay":
        types = types[:1] or ["110"]
    with transaction.atomic():
        unit, admin = bp_unit(staff_bj, region_bj, 90, vip=True)
        person = enrol(unit, 1, start=202407)
        data = request(person, int(start), int(end), wage=wage, types=types)
        checked = backpay_preview(actor=admin, kind=kind, data=data)
        approved(admin, staff_bj, kind, data)
        written = [
            [
                str(x.belongs_period),
                x.item,
                f"{x.base:.2f}",
                f"{x.unit_amount:.2f}",
                f"{x.personal_amount:.2f}",
            ]
            for x in lines_of(person)
        ]
        assert sorted(written) == sorted(x.key() for x in checked.plan.lines)
        assert (
            sum((x.unit_amount + x.personal_amount for x in lines_of(person)), D("0"))
            == checked.plan.total
        )
        transaction.set_rollback(True)
