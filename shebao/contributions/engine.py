"""Computing the contribution lines of a settlement.

Two paths, one rule set:
- `python_lines`: the oracle (calc.py) over plain rows, written with bulk_create in chunks.
  Used on SQLite (DESIGN rule 5: no money arithmetic in SQL there) and for previews.
- `sql_insert_lines`: PostgreSQL only; one INSERT … SELECT per parameter set with the rounding
  written in SQL. Tests compare it with the oracle to the fen on generated data.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import Q

from shebao.contributions.calc import ANNUITY_ITEM, Params, compute_annuity, compute_line
from shebao.contributions.models import ContributionLine, ParameterSet, WageBase
from shebao.contributions.selectors import parameter_sets_in_force, to_params
from shebao.registry.models import INJURY_CLASS_BENCHMARKS, Enrolment

CHUNK = 5000


class MissingParameters(ValueError):
    pass


@dataclass(frozen=True)
class Assessable:
    """One enrolment to assess in a period."""

    person_id: int
    unit_id: int | None
    insurance_type: str
    wage: Decimal


def active_enrolments(unit_ids: Iterable[int], period: int):
    """Enrolments of the units that cover `period` (start ≤ period ≤ stop)."""
    return Enrolment.objects.filter(unit_id__in=list(unit_ids), start_period__lte=period).filter(
        Q(stop_period__isnull=True) | Q(stop_period__gte=period)
    )


def unit_injury_rates(units, period: int) -> dict[int, Decimal]:
    """Each unit's work-injury rate in force in `period`; the benchmark of its class when it
    has no rate of its own yet."""
    from shebao.contributions.models import UnitInjuryRate

    rates = {u.pk: Decimal(INJURY_CLASS_BENCHMARKS[u.injury_risk_class]) for u in units}
    rows = (
        UnitInjuryRate.objects.filter(unit_id__in=list(rates), valid_from__lte=period)
        .order_by("unit_id", "valid_from")
        .values_list("unit_id", "rate")
    )
    for unit_id, rate in rows:
        rates[unit_id] = rate  # ordered by valid_from: the last one wins
    return rates


def assessables(units, period: int) -> Iterator[Assessable]:
    """(person, unit, type, wage) rows: the latest declared wage base ≤ period at the unit,
    else the wage recorded at enrolment."""
    unit_ids = [u.pk for u in units]
    declared: dict[tuple[int, int], Decimal] = {}
    for person_id, unit_id, wage in (
        WageBase.objects.filter(unit_id__in=unit_ids, valid_from__lte=period)
        .order_by("valid_from")
        .values_list("person_id", "unit_id", "wage")
    ):
        declared[(person_id, unit_id)] = wage
    for person_id, unit_id, insurance_type, wage_base in (
        active_enrolments(unit_ids, period)
        .order_by("unit_id", "person_id", "insurance_type")
        .values_list("person_id", "unit_id", "insurance_type", "wage_base")
    ):
        yield Assessable(
            person_id, unit_id, insurance_type, declared.get((person_id, unit_id), wage_base)
        )


def python_lines(
    units, region_id: str, period: int, *, settlements: dict[int, int], sets=None
) -> Iterator[ContributionLine]:
    """Unsaved ContributionLine objects for the units' period (the oracle path)."""
    sets = sets if sets is not None else parameter_sets_in_force(region_id, period)
    params: dict[str, tuple[ParameterSet, Params]] = {
        t: (ps, to_params(ps)) for t, ps in sets.items()
    }
    injury = unit_injury_rates(units, period)
    for a in assessables(units, period):
        if a.insurance_type not in params:
            raise MissingParameters(
                f"统筹区 {region_id} 在 {period} 没有险种 {a.insurance_type} 的缴费参数"
            )
        ps, p = params[a.insurance_type]
        rate = injury[a.unit_id] if a.insurance_type == "410" else None
        line = compute_line(p, a.wage, unit_rate=rate)
        out = [line]
        annuity = compute_annuity(p, a.wage)
        if annuity is not None:
            out.append(annuity)
        for x in out:
            yield ContributionLine(
                settlement_id=settlements[a.unit_id],
                unit_id=a.unit_id,
                person_id=a.person_id,
                region_id=region_id,
                item=x.insurance_type,
                settle_period=period,
                belongs_period=period,
                kind=ContributionLine.Kind.NORMAL,
                base=x.base,
                unit_amount=x.unit,
                personal_amount=x.personal,
                below_floor=x.below_floor,
                above_cap=x.above_cap,
                parameter_set_id=ps.pk,
            )


def write_lines(lines: Iterable[ContributionLine], *, progress=None) -> int:
    """bulk_create in chunks; `progress(n)` after each chunk."""
    batch: list[ContributionLine] = []
    written = 0
    for line in lines:
        batch.append(line)
        if len(batch) >= CHUNK:
            ContributionLine.objects.bulk_create(batch)
            written += len(batch)
            batch = []
            if progress:
                progress(written)
    if batch:
        ContributionLine.objects.bulk_create(batch)
        written += len(batch)
    if progress:
        progress(written)
    return written


# --- PostgreSQL set-based path -----------------------------------------------------------------

ROUNDING_SQL = {
    "fen": "round({x}, 2)",
    "jiao": "round({x}, 1)",
    "yuan": "round({x}, 0)",
    "jiao_up": "(ceil(({x}) * 10) / 10)",
}
BENCHMARK_SQL = (
    "CASE u.injury_risk_class "
    + " ".join(f"WHEN {k} THEN {v}" for k, v in INJURY_CLASS_BENCHMARKS.items())
    + " END"
)


def _round(expr: str, mode: str) -> str:
    return "round(" + ROUNDING_SQL[mode].format(x=expr) + ", 2)"


def sql_insert_lines(*, region_id: str, period: int, settlement_filter: str, params: list) -> int:
    """Insert the lines of every settlement selected by `settlement_filter` (SQL over alias s,
    placeholders %(f0)s, %(f1)s … taken from `params`) in one statement per parameter set.
    PostgreSQL only; its round() on numeric is half away from zero, i.e. half-up for our
    non-negative amounts."""
    assert connection.vendor == "postgresql"
    sets = parameter_sets_in_force(region_id, period)
    line_table = ContributionLine._meta.db_table
    wage = (
        "COALESCE((SELECT w.wage FROM contributions_wagebase w WHERE w.person_id = e.person_id"
        " AND w.unit_id = e.unit_id AND w.valid_from <= %(period)s"
        " ORDER BY w.valid_from DESC LIMIT 1), e.wage_base)"
    )
    injury_rate = (
        "COALESCE((SELECT r.rate FROM contributions_unitinjuryrate r WHERE r.unit_id = e.unit_id"
        f" AND r.valid_from <= %(period)s ORDER BY r.valid_from DESC LIMIT 1), {BENCHMARK_SQL})"
    )
    total = 0
    with connection.cursor() as cur:
        for insurance_type, ps in sets.items():
            urate = injury_rate if insurance_type == "410" else "%(unit_rate)s"
            items = [(insurance_type, "b.urate", "%(personal_rate)s", True)]
            if ps.annuity_unit_rate or ps.annuity_personal_rate:
                items.append((ANNUITY_ITEM, "%(a_unit)s", "%(a_personal)s", False))
            for item, unit_rate, personal_rate, with_fixed in items:
                unit_amount = _round(f"b.base * {unit_rate}", ps.unit_rounding)
                personal_amount = _round(f"b.base * {personal_rate}", ps.personal_rounding)
                if with_fixed:
                    unit_amount += " + %(unit_fixed)s"
                    personal_amount += " + %(personal_fixed)s"
                sql = f"""
                    INSERT INTO {line_table} (settlement_id, unit_id, person_id, region_id, item,
                        settle_period, belongs_period, kind, base, unit_amount, personal_amount,
                        below_floor, above_cap, parameter_set_id, withdrawn, paid)
                    SELECT b.settlement_id, b.unit_id, b.person_id, %(region)s, %(item)s,
                        %(period)s, %(period)s, 'normal', b.base, {unit_amount},
                        {personal_amount}, b.raw < %(floor)s, b.raw > %(cap)s, %(ps)s,
                        false, false
                    FROM (
                        SELECT r.*, LEAST(GREATEST(r.raw, %(floor)s), %(cap)s) AS base
                        FROM (
                            SELECT s.id AS settlement_id, e.unit_id, e.person_id,
                                   round({wage}, 2) AS raw, {urate} AS urate
                            FROM contributions_settlement s
                            JOIN registry_unit u ON u.id = s.unit_id
                            JOIN registry_enrolment e ON e.unit_id = s.unit_id
                            WHERE {settlement_filter}
                              AND e.insurance_type = %(type)s AND e.start_period <= %(period)s
                              AND (e.stop_period IS NULL OR e.stop_period >= %(period)s)
                        ) r
                    ) b
                """
                values = {
                    "region": region_id,
                    "item": item,
                    "type": insurance_type,
                    "period": period,
                    "floor": ps.floor,
                    "cap": ps.cap,
                    "unit_rate": ps.unit_rate,
                    "personal_rate": ps.personal_rate,
                    "unit_fixed": ps.unit_fixed,
                    "personal_fixed": ps.personal_fixed,
                    "a_unit": ps.annuity_unit_rate,
                    "a_personal": ps.annuity_personal_rate,
                    "ps": ps.pk,
                    **{f"f{i}": value for i, value in enumerate(params)},
                }
                cur.execute(sql, values)
                total += cur.rowcount
    return total
