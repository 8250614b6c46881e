"""Computing the contribution lines of a settlement.

Two paths, one rule set:
- `python_line_rows`: the oracle (calc.py) over plain rows, written with executemany in
  chunks. Used on SQLite (DESIGN rule 5: no money arithmetic in SQL there).
- `sql_insert_lines` / `sql_line_rows`: PostgreSQL only; one INSERT … SELECT (or SELECT, for a
  preview) over all the parameter sets in force with the rounding written in SQL. Tests
  compare it with the oracle to the fen on generated data.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import Q

from shebao.contributions.calculator.calc import ANNUITY_ITEM, Params, compute_annuity, compute_line
from shebao.contributions.models import ContributionLine, ParameterSet, UnitInjuryRate, WageBase
from shebao.contributions.params.selectors import parameter_sets_in_force, to_params
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


def python_line_rows(
    units, region_id: str, period: int, *, settlements: dict[int, int | None], sets=None
) -> Iterator[tuple]:
    """The units' lines of `period` as tuples in LINE_COLUMNS order (the oracle path; plain
    tuples, no model instances: a 10,000-person unit has 50,000 of them)."""
    sets = sets if sets is not None else parameter_sets_in_force(region_id, period)
    params: dict[str, tuple[ParameterSet, Params]] = {
        t: (ps, to_params(ps)) for t, ps in sets.items()
    }
    injury = unit_injury_rates(units, period)
    normal = ContributionLine.Kind.NORMAL.value
    for a in assessables(units, period):
        if a.insurance_type not in params:
            raise MissingParameters(
                f"统筹区 {region_id} 在 {period} 没有险种 {a.insurance_type} 的缴费参数"
            )
        ps, p = params[a.insurance_type]
        rate = injury[a.unit_id] if a.insurance_type == "410" else None
        out = [compute_line(p, a.wage, unit_rate=rate)]
        annuity = compute_annuity(p, a.wage)
        if annuity is not None:
            out.append(annuity)
        for x in out:
            yield (
                settlements[a.unit_id],
                a.unit_id,
                a.person_id,
                region_id,
                x.insurance_type,
                period,
                period,
                normal,
                x.base,
                x.unit,
                x.personal,
                x.below_floor,
                x.above_cap,
                ps.pk,
                None,
                False,
                False,
            )


def python_lines(
    units, region_id: str, period: int, *, settlements: dict[int, int | None], sets=None
) -> Iterator[ContributionLine]:
    """Unsaved ContributionLine objects for the units' period (the oracle, for comparisons)."""
    for row in python_line_rows(units, region_id, period, settlements=settlements, sets=sets):
        yield ContributionLine(**dict(zip(LINE_COLUMNS, row, strict=True)))


LINE_COLUMNS = (
    "settlement_id",
    "unit_id",
    "person_id",
    "region_id",
    "item",
    "settle_period",
    "belongs_period",
    "kind",
    "base",
    "unit_amount",
    "personal_amount",
    "below_floor",
    "above_cap",
    "parameter_set_id",
    "filing_id",
    "withdrawn",
    "paid",
)


def _insert_rows(rows: list[tuple]) -> None:
    table = ContributionLine._meta.db_table
    placeholders = ", ".join(["%s"] * len(LINE_COLUMNS))
    with connection.cursor() as cur:
        cur.executemany(
            f"INSERT INTO {table} ({', '.join(LINE_COLUMNS)}) VALUES ({placeholders})", rows
        )


def write_lines(rows: Iterable[tuple], *, progress=None) -> int:
    """executemany in chunks of tuples in LINE_COLUMNS order (the values are already clean:
    Decimals with two places, ints, bools; Django's per-field save machinery of bulk_create
    is most of its cost); `progress(n)` after each chunk."""
    batch: list[tuple] = []
    written = 0
    for row in rows:
        batch.append(row)
        if len(batch) >= CHUNK:
            _insert_rows(batch)
            written += len(batch)
            batch = []
            if progress:
                progress(written)
    if batch:
        _insert_rows(batch)
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


def _round_sql(expr: str, mode_column: str) -> str:
    """Round ``expr`` by the rounding mode held in ``mode_column`` (one CASE branch runs)."""
    branches = " ".join(
        f"WHEN '{mode}' THEN {template.format(x=expr)}" for mode, template in ROUNDING_SQL.items()
    )
    return f"round(CASE {mode_column} {branches} END, 2)"


def _lines_select(
    *, region_id: str, period: int, source: str, where: str, filters: dict
) -> tuple[str, dict]:
    """The SELECT of the period's lines (LINE_COLUMNS order) of the units in `source` (SQL
    with columns id, unit_id, aliased s) limited by `where`, for all the parameter sets in
    force: the sets are a VALUES list joined to the enrolments by insurance type (120 joins
    twice: the pension and its annuity), each row rounded by its own set's modes. The
    enrolments are read once, the declared wage once per enrolment (LATERAL) and the injury
    rate once per unit. Raises MissingParameters for an enrolled type without a set in force
    (as the oracle does). PostgreSQL only; its round() on numeric is half away from zero,
    i.e. half-up for our non-negative amounts."""
    assert connection.vendor == "postgresql"
    sets = parameter_sets_in_force(region_id, period)
    with connection.cursor() as cur:
        cur.execute(
            f"""
            SELECT DISTINCT e.insurance_type
            FROM {source} s
            JOIN registry_enrolment e ON e.unit_id = s.unit_id
            WHERE {where} AND e.start_period <= %(period)s
              AND (e.stop_period IS NULL OR e.stop_period >= %(period)s)
              AND NOT e.insurance_type = ANY(%(types)s)
            """,
            {"period": period, "types": list(sets), **filters},
        )
        missing = sorted(row[0] for row in cur.fetchall())
    if missing:
        raise MissingParameters(
            f"统筹区 {region_id} 在 {period} 没有险种 {'、'.join(missing)} 的缴费参数"
        )
    rows, values = [], {}
    for insurance_type, ps in sets.items():
        items = [(insurance_type, ps.unit_rate, ps.personal_rate, True)]
        if ps.annuity_unit_rate or ps.annuity_personal_rate:
            items.append((ANNUITY_ITEM, ps.annuity_unit_rate, ps.annuity_personal_rate, False))
        for item, unit_rate, personal_rate, with_fixed in items:
            i = len(rows)
            rows.append(
                f"(%(t{i})s::text, %(i{i})s::text, %(ps{i})s::bigint, %(fl{i})s::numeric,"
                f" %(cap{i})s::numeric, %(ur{i})s::numeric, %(pr{i})s::numeric,"
                f" %(uf{i})s::numeric, %(pf{i})s::numeric, %(um{i})s::text, %(pm{i})s::text,"
                f" %(inj{i})s::boolean)"
            )
            values.update(
                {
                    f"t{i}": insurance_type,
                    f"i{i}": item,
                    f"ps{i}": ps.pk,
                    f"fl{i}": ps.floor,
                    f"cap{i}": ps.cap,
                    f"ur{i}": unit_rate,
                    f"pr{i}": personal_rate,
                    f"uf{i}": ps.unit_fixed if with_fixed else 0,
                    f"pf{i}": ps.personal_fixed if with_fixed else 0,
                    f"um{i}": ps.unit_rounding,
                    f"pm{i}": ps.personal_rounding,
                    f"inj{i}": insurance_type == "410" and with_fixed,
                }
            )
    if not rows:  # no sets and (checked above) nothing enrolled: an empty result
        rows.append(
            "(NULL::text, NULL::text, NULL::bigint, NULL::numeric, NULL::numeric, NULL::numeric,"
            " NULL::numeric, NULL::numeric, NULL::numeric, NULL::text, NULL::text, NULL::boolean)"
        )
    unit_amount = _round_sql("b.base * b.urate", "b.unit_rounding") + " + b.unit_fixed"
    personal_amount = (
        _round_sql("b.base * b.personal_rate", "b.personal_rounding") + " + b.personal_fixed"
    )
    sql = f"""
        WITH m (insurance_type, item, ps, floor, cap, unit_rate, personal_rate, unit_fixed,
                personal_fixed, unit_rounding, personal_rounding, injury)
            AS (VALUES {", ".join(rows)})
        SELECT b.settlement_id, b.unit_id, b.person_id, %(region)s, b.item, %(period)s,
               %(period)s, 'normal', b.base, {unit_amount}, {personal_amount},
               b.raw < b.floor, b.raw > b.cap, b.ps, NULL::bigint, false, false
        FROM (
            SELECT r.*, LEAST(GREATEST(r.raw, r.floor), r.cap) AS base
            FROM (
                SELECT s.id AS settlement_id, e.unit_id, e.person_id, m.*,
                       round(COALESCE(w.wage, e.wage_base), 2) AS raw,
                       CASE WHEN m.injury THEN COALESCE(ir.rate, {BENCHMARK_SQL})
                            ELSE m.unit_rate END AS urate
                FROM {source} s
                JOIN registry_unit u ON u.id = s.unit_id
                LEFT JOIN LATERAL (
                    SELECT r.rate FROM contributions_unitinjuryrate r
                    WHERE r.unit_id = s.unit_id AND r.valid_from <= %(period)s
                    ORDER BY r.valid_from DESC LIMIT 1
                ) ir ON true
                JOIN registry_enrolment e ON e.unit_id = s.unit_id
                JOIN m ON m.insurance_type = e.insurance_type
                LEFT JOIN LATERAL (
                    SELECT w.wage FROM contributions_wagebase w
                    WHERE w.person_id = e.person_id AND w.unit_id = e.unit_id
                      AND w.valid_from <= %(period)s
                    ORDER BY w.valid_from DESC LIMIT 1
                ) w ON true
                WHERE {where} AND e.start_period <= %(period)s
                  AND (e.stop_period IS NULL OR e.stop_period >= %(period)s)
            ) r
        ) b
    """
    return sql, {"region": region_id, "period": period, **values, **filters}


def sql_insert_lines(*, region_id: str, period: int, settlement_filter: str, params: list) -> int:
    """Insert the lines of every settlement selected by `settlement_filter` (SQL over alias s,
    placeholders %(f0)s, %(f1)s … taken from `params`) in one INSERT … SELECT for all the
    parameter sets in force (see _lines_select). PostgreSQL only."""
    select, values = _lines_select(
        region_id=region_id,
        period=period,
        source="contributions_settlement",
        where=settlement_filter,
        filters={f"f{i}": value for i, value in enumerate(params)},
    )
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {ContributionLine._meta.db_table} ({', '.join(LINE_COLUMNS)})" + select,
            values,
        )
        return cur.rowcount


def sql_line_rows(unit, period: int) -> list[tuple]:
    """The unit's lines of `period` computed by PostgreSQL without writing them (the
    settlement preview of a large unit), as tuples in LINE_COLUMNS order."""
    select, values = _lines_select(
        region_id=unit.region_id,
        period=period,
        source="(SELECT NULL::bigint AS id, %(unit)s::bigint AS unit_id)",
        where="true",
        filters={"unit": unit.pk},
    )
    with connection.cursor() as cur:
        cur.execute(select, values)
        return cur.fetchall()
