"""Region settlement (当期缴费核定) of 1,000,000 person-months vs a bare INSERT … SELECT of its lines.

Issue 5's month-end benchmark. On a throwaway PostgreSQL 15 (always, whatever ``--postgres``
says) a fresh database is migrated and filled with set-based SQL (``generate_series``): region
110000 with 2,000 units and 1,000,000 persons, each with one open enrolment per insurance type
(110 or, in every tenth unit, a 机关事业 unit, 120 with its occupational annuity; 210, 310, 410),
wages from below the floor to above the cap, declared wage bases (WageBase) for one person in
ten, work-injury rates with history for half the units, some closed enrolments that must not be
settled; then VACUUM (ANALYZE). Unit 1 is the large unit: 10,000 persons spread over the tables.

- **ours**: ``region_settle_all_run`` of a fresh RegionSettlementJob, end to end: choosing the
  units, the settlements, their lines (PostgreSQL: ``sql_insert_lines``, one INSERT … SELECT
  over all parameter sets with the rounding in SQL), pending back pay, totals, arrears, in
  committed batches of ``REGION_BATCH_UNITS`` units.
- **baseline**: one ``INSERT … SELECT`` writing the same number of lines, from the same active
  enrolments, into ``bare_lines``: ``CREATE TABLE … (LIKE contributions_contributionline
  INCLUDING ALL)`` plus the same foreign keys, so the same columns, indexes, check constraints
  and foreign-key checks; amounts are plain ``round(wage × rate, 2)``.
- **single unit**: ``settlement_start`` + ``settlement_compute`` of unit 1 alone (10,000 persons,
  the background path), target ≤ 3 s.

Before every timed run the line, arrear and settlement tables of the period are emptied and a
CHECKPOINT taken; the best of the runs counts. Afterwards (untimed) the lines are checked: same
count on both sides, totals and arrears equal the sums of the lines, and the lines of a sample
of units (the large one, 机关事业 units with annuity, units with injury-rate history) equal the
Python oracle (``engine.python_lines``) to the fen. The statements of the best run are kept with
their times; ``SETTLEMENT_BENCH_EXPLAIN=1`` (``auto``: only when the ratio misses the target;
``0``, the default) adds one more, untimed run whose heavy statements are run as
``EXPLAIN (ANALYZE, BUFFERS)`` and their plans recorded (PostgreSQL).

SQLite is measured too, in its own temporary directory (``SHEBAO_VAR_DIR``), at
``SETTLEMENT_BENCH_SQLITE_SCALE`` (0.1: 200 units, 100,000 person-months; the money arithmetic
runs in Python there, DESIGN rule 5) against its own bare INSERT … SELECT into a copy of the
line table (same DDL, indexes and foreign keys).

Environment: ``SETTLEMENT_BENCH_SCALE`` (1) scales PostgreSQL's region (persons and units; unit 1
keeps 10,000 persons while the region has at least twice that), ``SETTLEMENT_BENCH_SQLITE_SCALE``
(0.1; 0 skips SQLite), ``SETTLEMENT_BENCH_REPEAT`` (timed runs of each side; default 1 at
these sizes, where one run takes minutes, ``--repeat`` below scale 0.05),
``SETTLEMENT_BENCH_EXPLAIN``,
``SETTLEMENT_BENCH_EXTRA_SQL`` (SQL run after the load, before VACUUM (ANALYZE), e.g. an index to
try). ``--n`` is ignored.

Run as a script (``python bench/bench_settlement.py --worker postgresql|sqlite``, with
DATABASE_URL or SHEBAO_VAR_DIR set) it does one database's part and prints one JSON line;
``run()`` starts it in a subprocess so that the runner's own database is never touched.
"""

from __future__ import annotations

import gc
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
for _path in (ROOT, BENCH_DIR):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from pgserver import temporary_postgres  # noqa: E402

NAME = "settlement"

SCALE = float(os.environ.get("SETTLEMENT_BENCH_SCALE", "1"))
SQLITE_SCALE = float(os.environ.get("SETTLEMENT_BENCH_SQLITE_SCALE", "0.1"))
REPEAT = os.environ.get("SETTLEMENT_BENCH_REPEAT", "")
EXPLAIN = os.environ.get("SETTLEMENT_BENCH_EXPLAIN", "0")
EXTRA_SQL = os.environ.get("SETTLEMENT_BENCH_EXTRA_SQL", "")

REGION = "110000"
PERIOD = 202508  # the 结算期 settled
BARE_PERIOD = 202507  # the baseline's lines point at settlements of this period
PERSONS = 1_000_000
UNITS = 2_000
BIG_UNIT_PERSONS = 10_000
TARGET_RATIO = 2.0
TARGET_SINGLE_S = 3.0
SAMPLE_UNITS = 12  # units whose lines are compared with the Python oracle
RESULT_MARK = "SETTLEMENT_RESULT "


def sizes(scale: float) -> tuple[int, int, int]:
    """``(persons, units, big_unit_persons)`` of the region at ``scale``."""
    persons = max(2_000, round(PERSONS * scale))
    units = max(4, round(UNITS * scale))
    big = min(BIG_UNIT_PERSONS, persons // 2)
    return persons, units, big


# --- data --------------------------------------------------------------------------------------
# Person g works at unit 1 (the large unit) when g is a multiple of the stride, so that its rows
# are spread over the tables as a long-lived unit's are; the others are dealt over units 2..U.
# Every tenth unit is a 机关事业 unit (pension 120 with occupational annuity); the others are
# enterprises (110). Everyone has 210, 310 and 410 as well: 4 lines a person, 5 with annuity.
# Wages: 3,000.00–42,999.99 with cents, so below the floor (7,162), inside, and above the cap
# (35,811). One person in ten has declared a wage base (WageBase) from 202507, one in twenty an
# older one too; even units have a work-injury rate from 202401, every fourth a newer one from
# 202501; one person in twenty has a closed 110 enrolment at another unit (not settled).

PG_UNIT_OF = """(CASE WHEN g %% %(stride)s = 0 AND g / %(stride)s <= %(big)s THEN 1
      ELSE 2 + (g::bigint * 7919) %% (%(units)s - 1) END)"""

PG_UNITS = """
INSERT INTO registry_unit (
    id, unit_no, name, uscc, org_code, unit_type, affiliation, region_id, insurance_place,
    insurance_types, address, legal_rep_name, legal_rep_id_number_enc, contact_name,
    contact_mobile_enc, industry, injury_risk_class, status, is_vip, created_at)
SELECT u, '11' || lpad(u::text, 10, '0'), '结算压测单位' || u,
       '91110000MB' || lpad(u::text, 7, '0') || 'X', '',
       CASE WHEN u %% 10 = 0 THEN '50' ELSE '10' END, '40', %(region)s, '北京市市本级',
       CASE WHEN u %% 10 = 0 THEN '["120","210","310","410"]'
            ELSE '["110","210","310","410"]' END::jsonb,
       '北京市测试路' || u || '号', '李法人', '', '王联系',
       '', '', 1 + u %% 8, '1', false, now()
FROM generate_series(1, %(units)s) AS u
"""

PG_PERSONS = """
INSERT INTO registry_person (
    id, person_no, id_type, id_number_enc, id_number_lookup, id_number_masked, name, sex,
    birth_date, ethnicity, hukou, first_work_date, mobile_enc, address, photo, is_locked,
    lock_reason, last_change_date, created_at)
SELECT g, '11' || lpad(g::text, 10, '0'), '01', s.id_number_enc, s.id_number_lookup,
       s.id_number_masked, '职工' || g,
       CASE WHEN g %% 2 = 1 THEN '1' ELSE '2' END, date '1960-01-01' + g %% 14000, '汉族', '11',
       NULL, s.mobile_enc, '', '', false, '', NULL, now()
FROM generate_series(1, %(persons)s) AS g
JOIN person_sealed s ON s.id = g
"""

PG_ENROLMENTS = f"""
INSERT INTO registry_enrolment (
    person_id, unit_id, region_id, insurance_type, start_period, stop_period, status,
    wage_base, scope, back_pay, contract_start, contract_end, employment_registered,
    stop_date, stop_reason, start_filing_id, stop_filing_id)
SELECT x.g, x.unit_id, %(region)s,
       CASE WHEN t.code = 'P' THEN (CASE WHEN x.unit_id %% 10 = 0 THEN '120' ELSE '110' END)
            ELSE t.code END,
       (2005 + x.g %% 20) * 100 + 1 + x.g %% 12, NULL, '1',
       3000 + abs(hashint4(x.g)::bigint) %% 40000 + (x.g %% 100) / 100.0, '1', false, NULL, NULL,
       true, NULL, '', NULL, NULL
FROM (SELECT g, {PG_UNIT_OF} AS unit_id FROM generate_series(1, %(persons)s) AS g) x
CROSS JOIN unnest(ARRAY['P', '210', '310', '410']) AS t(code)
"""

PG_CLOSED_ENROLMENTS = """
INSERT INTO registry_enrolment (
    person_id, unit_id, region_id, insurance_type, start_period, stop_period, status,
    wage_base, scope, back_pay, contract_start, contract_end, employment_registered,
    stop_date, stop_reason, start_filing_id, stop_filing_id)
SELECT g, 2 + (g * 31) %% (%(units)s - 1), %(region)s, '110', 201501, 202412, '2', 5000, '1',
       false, NULL, NULL, true, date '2024-12-31', '', NULL, NULL
FROM generate_series(20, %(persons)s, 20) AS g
"""

PG_WAGE_BASES = f"""
INSERT INTO contributions_wagebase (person_id, unit_id, valid_from, wage, items, filing_id,
    created_at)
SELECT g, {PG_UNIT_OF}, v.valid_from,
       CASE WHEN v.valid_from = 202507 THEN 4000 + abs(hashint4(g + 7)::bigint) %% 36000 + 0.55
            ELSE 5000 END,
       '{{}}'::jsonb, NULL, now()
FROM generate_series(10, %(persons)s, 10) AS g
CROSS JOIN (VALUES (202407), (202507)) AS v(valid_from)
WHERE v.valid_from = 202507 OR g %% 20 = 0
"""

PG_INJURY_RATES = """
INSERT INTO contributions_unitinjuryrate (unit_id, valid_from, benchmark, factor, rate,
    created_at)
SELECT u.id, v.valid_from, b.rate, v.factor, round(b.rate * v.factor, 6), now()
FROM registry_unit u
JOIN (VALUES (1, 0.0020), (2, 0.0040), (3, 0.0070), (4, 0.0090), (5, 0.0110), (6, 0.0130),
             (7, 0.0160), (8, 0.0190)) AS b(class, rate) ON b.class = u.injury_risk_class
CROSS JOIN (VALUES (202401, 1.00), (202501, 1.15)) AS v(valid_from, factor)
WHERE u.id %% 2 = 0 AND (v.valid_from = 202401 OR u.id %% 4 = 0)
"""

# SQLite: the same rows from a recursive CTE (no generate_series there). Its enrolment wages
# come from a multiplicative hash instead of hashint4.
SQLITE_SERIES = (
    "WITH RECURSIVE s({c}) AS (SELECT 1 UNION ALL SELECT {c} + 1 FROM s WHERE {c} < {n})"
)
SQLITE_UNIT_OF = """(CASE WHEN g % {stride} = 0 AND g / {stride} <= {big} THEN 1
      ELSE 2 + (g * 7919) % ({units} - 1) END)"""


def sqlite_statements(persons: int, units: int, big: int) -> list[tuple[str, str]]:
    p = {"stride": persons // big, "big": big, "units": units}
    unit_of = SQLITE_UNIT_OF.format(**p)
    return [
        (
            "registry_unit",
            SQLITE_SERIES.format(c="u", n=units)
            + """
            INSERT INTO registry_unit (id, unit_no, name, uscc, org_code, unit_type, affiliation,
                region_id, insurance_place, insurance_types, address, legal_rep_name,
                legal_rep_id_number_enc, contact_name, contact_mobile_enc, industry,
                injury_risk_class,
                status, is_vip, created_at)
            SELECT u, '11' || substr('0000000000' || u, -10), '结算压测单位' || u,
                   '91110000MB' || substr('0000000' || u, -7) || 'X', '',
                   CASE WHEN u % 10 = 0 THEN '50' ELSE '10' END, '40', '110000', '北京市市本级',
                   CASE WHEN u % 10 = 0 THEN '["120","210","310","410"]'
                        ELSE '["110","210","310","410"]' END,
                   '北京市测试路' || u || '号', '李法人', '', '王联系',
                   '', '', 1 + u % 8, '1', 0,
                   '2025-08-01 00:00:00'
            FROM s""",
        ),
        (
            "registry_person",
            SQLITE_SERIES.format(c="g", n=persons)
            + """
            INSERT INTO registry_person (id, person_no, id_type, id_number_enc,
                id_number_lookup, id_number_masked, name, sex, birth_date, ethnicity, hukou,
                first_work_date, mobile_enc, address, photo, is_locked,
                lock_reason, last_change_date, created_at)
            SELECT g, '11' || substr('0000000000' || g, -10), '01', p.id_number_enc,
                   p.id_number_lookup, p.id_number_masked, '职工' || g,
                   CASE WHEN g % 2 = 1 THEN '1' ELSE '2' END,
                   date('1960-01-01', '+' || (g % 14000) || ' days'), '汉族', '11', NULL,
                   p.mobile_enc, '', '', 0, '', NULL, '2025-08-01 00:00:00'
            FROM s JOIN person_sealed p ON p.id = g""",
        ),
        (
            "registry_enrolment",
            SQLITE_SERIES.format(c="g", n=persons)
            + f""", x(g, unit_id) AS (SELECT g, {unit_of} FROM s),
                t(code) AS (VALUES ('P'), ('210'), ('310'), ('410'))
            INSERT INTO registry_enrolment (person_id, unit_id, region_id, insurance_type,
                start_period, stop_period, status, wage_base, scope, back_pay, contract_start,
                contract_end, employment_registered, stop_date, stop_reason, start_filing_id,
                stop_filing_id)
            SELECT x.g, x.unit_id, '110000',
                   CASE WHEN t.code = 'P' THEN
                        (CASE WHEN x.unit_id % 10 = 0 THEN '120' ELSE '110' END)
                        ELSE t.code END,
                   (2005 + x.g % 20) * 100 + 1 + x.g % 12, NULL, '1',
                   printf('%d.%02d', 3000 + (x.g * 2654435761) % 4294967296 % 40000, x.g % 100),
                   '1', 0, NULL, NULL, 1, NULL, '', NULL, NULL
            FROM x CROSS JOIN t""",
        ),
        (
            "closed_enrolments",
            SQLITE_SERIES.format(c="g", n=persons // 20)
            + f"""
            INSERT INTO registry_enrolment (person_id, unit_id, region_id, insurance_type,
                start_period, stop_period, status, wage_base, scope, back_pay, contract_start,
                contract_end, employment_registered, stop_date, stop_reason, start_filing_id,
                stop_filing_id)
            SELECT g * 20, 2 + (g * 20 * 31) % ({units} - 1), '110000', '110', 201501, 202412,
                   '2', '5000.00', '1', 0, NULL, NULL, 1, '2024-12-31', '', NULL, NULL
            FROM s""",
        ),
        (
            "contributions_wagebase",
            SQLITE_SERIES.format(c="g", n=persons // 10)
            + f""", x(g) AS (SELECT g * 10 FROM s),
                v(valid_from) AS (VALUES (202407), (202507))
            INSERT INTO contributions_wagebase (person_id, unit_id, valid_from, wage, items,
                filing_id, created_at)
            SELECT g, {unit_of}, v.valid_from,
                   CASE WHEN v.valid_from = 202507
                        THEN printf('%d.55', 4000 + ((g + 7) * 2654435761) % 4294967296 % 36000)
                        ELSE '5000.00' END,
                   '{{}}', NULL, '2025-08-01 00:00:00'
            FROM x CROSS JOIN v WHERE v.valid_from = 202507 OR g % 20 = 0""",
        ),
        (
            "contributions_unitinjuryrate",
            """
            WITH b(class, rate) AS (VALUES (1, '0.0020'), (2, '0.0040'), (3, '0.0070'),
                    (4, '0.0090'), (5, '0.0110'), (6, '0.0130'), (7, '0.0160'), (8, '0.0190')),
                v(valid_from, factor) AS (VALUES (202401, '1.00'), (202501, '1.15'))
            INSERT INTO contributions_unitinjuryrate (unit_id, valid_from, benchmark, factor,
                rate, created_at)
            SELECT u.id, v.valid_from, b.rate, v.factor, printf('%.6f', b.rate * v.factor),
                   '2025-08-01 00:00:00'
            FROM registry_unit u JOIN b ON b.class = u.injury_risk_class CROSS JOIN v
            WHERE u.id % 2 = 0 AND (v.valid_from = 202401 OR u.id % 4 = 0)""",
        ),
    ]


def sealed_person_rows(persons: int):
    """Each generated person's ID number and mobile as the application stores them: a valid
    resident ID (born 1960-01-01 + g % 14000 days, order g // 14000), encrypted, with its lookup
    and masked value, and an encrypted mobile (shebao.core.crypto, a few microseconds a value)."""
    from shebao.core.ids import make_resident_id
    from shebao.registry.models import Person

    id_attr, mobile_attr = Person.id_number, Person.mobile
    first = date(1960, 1, 1)
    for g in range(1, persons + 1):
        sealed = id_attr.columns_for(
            make_resident_id("110105", first + timedelta(days=g % 14000), g // 14000 % 1000)
        )
        yield (
            g,
            sealed["id_number_enc"],
            sealed["id_number_lookup"],
            sealed["id_number_masked"],
            mobile_attr.columns_for(f"139{g:08d}")["mobile_enc"],
        )


PERSON_SEALED_TABLE = (
    "CREATE TEMP TABLE person_sealed (id integer PRIMARY KEY, id_number_enc text,"
    " id_number_lookup text, id_number_masked text, mobile_enc text)"
)


def seal_persons_postgresql(cursor, persons: int) -> None:
    cursor.execute(PERSON_SEALED_TABLE)
    with cursor.cursor.copy("COPY person_sealed FROM STDIN") as copy:
        for row in sealed_person_rows(persons):
            copy.write_row(row)


def seal_persons_sqlite(cursor, persons: int) -> None:
    cursor.execute(PERSON_SEALED_TABLE)
    cursor.executemany(
        "INSERT INTO person_sealed VALUES (%s, %s, %s, %s, %s)", sealed_person_rows(persons)
    )


def load_postgresql(cursor, scale: float) -> dict:
    """Fill the migrated, empty PostgreSQL database; VACUUM (ANALYZE)."""
    persons, units, big = sizes(scale)
    params = {
        "region": REGION,
        "units": units,
        "persons": persons,
        "big": big,
        "stride": persons // big,
    }
    timings = {}
    # Consistent by construction: skip the foreign-key triggers while loading, and build the
    # indexes that back no constraint once afterwards (the partial unique indexes among them
    # check their rows when they are rebuilt).
    cursor.execute("SET session_replication_role = replica")
    cursor.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i"
        " WHERE i.indrelid IN ('registry_person'::regclass, 'registry_enrolment'::regclass,"
        " 'contributions_wagebase'::regclass)"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)"
    )
    indexes = cursor.fetchall()
    for name, _ in indexes:
        cursor.execute(f"DROP INDEX {name}")
    start = time.perf_counter()
    seal_persons_postgresql(cursor, persons)
    timings["person_sealed"] = round(time.perf_counter() - start, 2)
    for table, sql in (
        ("registry_unit", PG_UNITS),
        ("registry_person", PG_PERSONS),
        ("registry_enrolment", PG_ENROLMENTS),
        ("closed_enrolments", PG_CLOSED_ENROLMENTS),
        ("contributions_wagebase", PG_WAGE_BASES),
        ("contributions_unitinjuryrate", PG_INJURY_RATES),
    ):
        start = time.perf_counter()
        cursor.execute(sql, params)
        timings[table] = round(time.perf_counter() - start, 2)
    cursor.execute("SET session_replication_role = DEFAULT")
    start = time.perf_counter()
    cursor.execute("SET maintenance_work_mem = '512MB'")
    for _, definition in indexes:
        cursor.execute(definition)
    timings["indexes"] = round(time.perf_counter() - start, 2)
    if EXTRA_SQL:
        start = time.perf_counter()
        cursor.execute(EXTRA_SQL)
        timings["extra_sql"] = round(time.perf_counter() - start, 2)
    for table in ("registry_unit", "registry_person"):
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
        )
    start = time.perf_counter()
    cursor.execute("VACUUM (ANALYZE)")
    timings["vacuum_analyze"] = round(time.perf_counter() - start, 2)
    return {"persons": persons, "units": units, "big_unit_persons": big, "load_timings_s": timings}


def load_sqlite(cursor, scale: float) -> dict:
    persons, units, big = sizes(scale)
    timings = {}
    start = time.perf_counter()
    seal_persons_sqlite(cursor, persons)
    timings["person_sealed"] = round(time.perf_counter() - start, 2)
    for table, sql in sqlite_statements(persons, units, big):
        start = time.perf_counter()
        cursor.execute(sql)
        timings[table] = round(time.perf_counter() - start, 2)
    start = time.perf_counter()
    cursor.execute("ANALYZE")
    timings["analyze"] = round(time.perf_counter() - start, 2)
    return {"persons": persons, "units": units, "big_unit_persons": big, "load_timings_s": timings}


# --- the bare baseline -------------------------------------------------------------------------


def create_bare_table(cursor, vendor: str) -> None:
    """``bare_lines``: the contribution-line table's columns, indexes, checks and foreign keys."""
    if vendor == "postgresql":
        cursor.execute(
            "CREATE TABLE bare_lines (LIKE contributions_contributionline INCLUDING ALL)"
        )
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = 'contributions_contributionline'::regclass AND contype = 'f'"
        )
        for name, definition in cursor.fetchall():
            cursor.execute(f"ALTER TABLE bare_lines ADD CONSTRAINT bare_{name[:50]} {definition}")
        return
    cursor.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'contributions_contributionline'"
        " AND sql IS NOT NULL ORDER BY type DESC"  # the table before its indexes
    )
    for kind, name, sql in cursor.fetchall():
        sql = sql.replace('"contributions_contributionline"', '"bare_lines"')
        if kind == "index":
            sql = sql.replace(f'"{name}"', f'"bare_{name}"')
        cursor.execute(sql)


def bare_sql(sets: dict, vendor: str) -> tuple[str, list]:
    """One INSERT … SELECT: a line per active enrolment of the region (two for 120: pension and
    annuity), amounts round(wage × rate, 2), pointing at the bare settlements of BARE_PERIOD."""
    items, params = [], []
    for insurance_type, ps in sorted(sets.items()):
        items.append((insurance_type, insurance_type, ps.unit_rate, ps.personal_rate, ps.pk))
        if ps.annuity_unit_rate or ps.annuity_personal_rate:
            items.append(
                (insurance_type, "121", ps.annuity_unit_rate, ps.annuity_personal_rate, ps.pk)
            )
    values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(items))
    for row in items:
        params.extend(row)
    if vendor == "postgresql":
        cast_rate, cast_ps = "::numeric", "::bigint"
    else:
        cast_rate = cast_ps = ""
    sql = f"""
        WITH m(insurance_type, item, unit_rate, personal_rate, ps) AS (VALUES {values})
        INSERT INTO bare_lines (settlement_id, unit_id, person_id, region_id, item,
            settle_period, belongs_period, kind, base, unit_amount, personal_amount,
            below_floor, above_cap, parameter_set_id, withdrawn, paid)
        SELECT s.id, e.unit_id, e.person_id, e.region_id, m.item, %s, %s, 'normal',
               e.wage_base, round(e.wage_base * m.unit_rate{cast_rate}, 2),
               round(e.wage_base * m.personal_rate{cast_rate}, 2), false, false,
               m.ps{cast_ps}, false, false
        FROM registry_enrolment e
        JOIN contributions_settlement s ON s.unit_id = e.unit_id AND s.settle_period = %s
        JOIN m ON m.insurance_type = e.insurance_type
        WHERE e.region_id = %s AND e.start_period <= %s
          AND (e.stop_period IS NULL OR e.stop_period >= %s)
    """
    if vendor != "postgresql":  # SQLite has no true/false before 3.23 in every build
        sql = sql.replace("false", "0")
    return sql, params + [PERIOD, PERIOD, BARE_PERIOD, REGION, PERIOD, PERIOD]


# --- the worker (one database, in a subprocess) --------------------------------------------------


def timed(fn) -> float:
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start
    finally:
        gc.enable()


class StatementProfile:
    """A ``connection.execute_wrapper`` adding up the time of each kind of statement (numbers
    blanked out, so that the per-unit statements of a loop count as one kind)."""

    def __init__(self) -> None:
        self.groups: dict[str, dict] = {}

    def __call__(self, execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            elapsed = time.perf_counter() - start
            text = " ".join(sql.split())
            key = re.sub(r"\d+", "#", text)[:120]
            group = self.groups.setdefault(key, {"statement": text[:400], "count": 0, "ms": 0.0})
            group["count"] += 1
            group["ms"] += elapsed * 1000

    def top(self, total_s: float, n: int = 12) -> dict:
        ranked = sorted(self.groups.values(), key=lambda g: -g["ms"])
        in_statements = sum(g["ms"] for g in ranked)
        return {
            "statements": [{**g, "ms": round(g["ms"], 1)} for g in ranked[:n]],
            "statements_ms": round(in_statements, 1),
            # the COMMIT (deferred foreign-key checks) and the Python between the statements
            "outside_statements_ms": round(total_s * 1000 - in_statements, 1),
        }


HEAVY_PREFIXES = (
    "INSERT INTO contributions_contributionline",
    "WITH ",  # a statement led by a CTE (e.g. an INSERT … SELECT or UPDATE of a patched engine)
    "UPDATE contributions_settlement s SET",
    "INSERT INTO contributions_arrear",
    'UPDATE "contributions_contributionline"',
)


def explain_run(run_fn) -> list[dict]:
    """Run ``run_fn`` with its heavy statements executed as EXPLAIN (ANALYZE, BUFFERS) (which
    runs them), recording each plan; the per-unit UPDATEs only once."""
    from django.db import connection

    plans: list[dict] = []
    seen: set[str] = set()

    def wrapper(execute, sql, params, many, context):
        text = " ".join(sql.split())
        prefix = next((p for p in HEAVY_PREFIXES if text.startswith(p)), None)
        if prefix is None or many or (prefix.startswith('UPDATE "') and prefix in seen):
            return execute(sql, params, many, context)
        seen.add(prefix)
        start = time.perf_counter()
        result = execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params, many, context)
        plan = [row[0] for row in context["cursor"].fetchall()]
        plans.append(
            {
                "statement": text[:300],
                "ms": round((time.perf_counter() - start) * 1000, 1),
                "plan": plan,
            }
        )
        return result

    with connection.execute_wrapper(wrapper):
        run_fn()
    return plans


def worker_main(vendor: str, scale: float, repeat: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.bench")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from shebao.accounts.models import UnitOnlineRegistration, User
    from shebao.accounts.services import operator_internal_username
    from shebao.contributions.models import (
        Arrear,
        ContributionLine,
        RegionSettlementJob,
        Settlement,
    )
    from shebao.contributions.params.selectors import parameter_sets_in_force
    from shebao.contributions.settlement.engine import python_lines
    from shebao.contributions.settlement.selectors import (
        line_rows,
        notice_summary,
        settlement_preview,
    )
    from shebao.contributions.settlement.services import settlement_compute, settlement_start
    from shebao.contributions.settlement.services_region import region_settle_all_run
    from shebao.core.models import Region
    from shebao.registry.models import Unit

    assert connection.vendor == vendor, connection.vendor
    out: dict = {"vendor": vendor, "scale": scale, "repeat": repeat}
    start = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    out["migrate_s"] = round(time.perf_counter() - start, 2)

    start = time.perf_counter()
    with connection.cursor() as cursor:
        if vendor == "postgresql":
            out.update(load_postgresql(cursor, scale))
        else:
            out.update(load_sqlite(cursor, scale))
    out["load_s"] = round(time.perf_counter() - start, 2)

    Region.objects.filter(pk=REGION).update(current_period=PERIOD)
    region = Region.objects.get(pk=REGION)
    staff = User(username="bench_staff", kind=User.Kind.STAFF, display_name="压测经办员")
    staff.set_unusable_password()
    staff.save()
    staff.regions.add(region)
    big_unit = Unit.objects.get(pk=1)
    registration = UnitOnlineRegistration.objects.create(
        unit=big_unit, via=UnitOnlineRegistration.Via.REGISTRATION_CODE
    )
    admin = User(
        username=operator_internal_username(registration, "admin"),
        kind=User.Kind.OPERATOR,
        unit=big_unit,
        registration=registration,
        operator_account="admin",
        display_name="王联系",
        is_unit_admin=True,
    )
    admin.set_unusable_password()
    admin.save()
    # The baseline's lines need settlements to point at: one per unit, of another period.
    Settlement.objects.bulk_create(
        Settlement(
            unit_id=unit_id,
            region_id=REGION,
            settle_period=BARE_PERIOD,
            kind=Settlement.Kind.NO_CHANGE,
            state=Settlement.State.CONFIRMED,
        )
        for unit_id in Unit.objects.filter(region_id=REGION).values_list("pk", flat=True)
    )
    sets = parameter_sets_in_force(REGION, PERIOD)
    baseline_sql, baseline_params = bare_sql(sets, vendor)
    with connection.cursor() as cursor:
        create_bare_table(cursor, vendor)
        cursor.execute(
            "SELECT count(*), count(DISTINCT person_id) FROM registry_enrolment"
            " WHERE region_id = %s AND start_period <= %s"
            " AND (stop_period IS NULL OR stop_period >= %s)",
            [REGION, PERIOD, PERIOD],
        )
        out["enrolments_settled"], out["n"] = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM registry_enrolment")
        (out["enrolments_total"],) = cursor.fetchone()
        if vendor == "postgresql":
            cursor.execute("SELECT version()")
            out["server_version"] = cursor.fetchone()[0].split(" on ")[0]
            cursor.execute("VACUUM (ANALYZE)")
        else:
            import sqlite3

            out["server_version"] = f"SQLite {sqlite3.sqlite_version}"
            cursor.execute("ANALYZE")
    out["big_unit_enrolments"] = big_unit.enrolments.filter(stop_period__isnull=True).count()

    def reset_ours() -> None:
        with connection.cursor() as cursor:
            if vendor == "postgresql":
                cursor.execute("TRUNCATE contributions_contributionline, contributions_arrear")
            else:
                cursor.execute("DELETE FROM contributions_contributionline")
                cursor.execute("DELETE FROM contributions_arrear")
            cursor.execute(
                "DELETE FROM contributions_settlement WHERE settle_period = %s", [PERIOD]
            )
            cursor.execute("DELETE FROM contributions_regionsettlementjob")
            quiet(cursor)

    def reset_bare() -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE bare_lines" if vendor == "postgresql" else "DELETE FROM bare_lines"
            )
            quiet(cursor)

    def quiet(cursor) -> None:
        """Start every timed run from the same state: dead rows gone, nothing left to write."""
        if vendor == "postgresql":
            cursor.execute("VACUUM contributions_settlement, contributions_regionsettlementjob")
            cursor.execute("CHECKPOINT")
        else:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def single_unit() -> dict:
        split = {}
        start = time.perf_counter()
        settlement = settlement_start(actor=admin, unit=Unit.objects.get(pk=1))
        split["start_s"] = time.perf_counter() - start
        if settlement.state == Settlement.State.RUNNING:  # queued for the background
            mid = time.perf_counter()
            settlement_compute(settlement.pk)
            split["compute_s"] = time.perf_counter() - mid
        settlement.refresh_from_db()
        assert settlement.state == Settlement.State.CONFIRMED, settlement.state
        split["lines"] = settlement.lines.count()
        return split

    job_ids = []

    def new_job() -> None:
        job = RegionSettlementJob.objects.create(
            region=region, settle_period=PERIOD, created_by=staff
        )
        job_ids.append(job.pk)

    def ours() -> None:
        region_settle_all_run(job_ids[-1])

    def baseline() -> None:
        with connection.cursor() as cursor:
            cursor.execute(baseline_sql, baseline_params)

    # what the unit's 核对人数与缴费基数 page computes before the click (SQL on PostgreSQL)
    out["preview_big_unit_s"] = timed(lambda: settlement_preview(actor=admin, unit=big_unit))

    single_runs, ours_runs, base_runs, profiles = [], [], [], []
    for _ in range(repeat):
        reset_ours()
        box = {}
        seconds = timed(lambda box=box: box.update(single_unit()))
        single_runs.append({"s": seconds, **{k: v for k, v in box.items()}})

        reset_ours()
        new_job()
        profile = StatementProfile()
        with connection.execute_wrapper(profile):
            ours_runs.append(timed(ours))
        profiles.append(profile.top(ours_runs[-1]))

        reset_bare()
        base_runs.append(timed(baseline))

    # --- checks, untimed: the last run's lines are still there on both sides --------------
    job = RegionSettlementJob.objects.get(pk=job_ids[-1])
    assert job.state == RegionSettlementJob.State.DONE, (job.state, job.error)
    lines = ContributionLine.objects.filter(settle_period=PERIOD, withdrawn=False)
    out["lines"] = lines.count()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM bare_lines")
        (out["baseline_lines"],) = cursor.fetchone()
    assert out["lines"] == out["baseline_lines"] == job.lines, (out, job.lines)
    assert job.total_units == out["units"], (job.total_units, out["units"])
    # what the unit's notice page (单位缴费通知单) sums for the large unit, settled by the job
    big_settlement = Settlement.objects.get(unit=big_unit, settle_period=PERIOD)
    out["notice_big_unit_s"] = timed(
        lambda: notice_summary(line_rows(big_settlement.lines.filter(withdrawn=False)))
    )
    out["checks"] = check_settlements(
        vendor, sets, python_lines, ContributionLine, Settlement, Arrear, Unit
    )

    best = min(range(repeat), key=lambda i: ours_runs[i])
    single_best = min(single_runs, key=lambda r: r["s"])
    out.update(
        {
            "ours_s": ours_runs[best],
            "baseline_s": min(base_runs),
            "ours_runs_s": [round(x, 3) for x in ours_runs],
            "baseline_runs_s": [round(x, 3) for x in base_runs],
            "single_unit_s": single_best["s"],
            "single_unit_start_s": round(single_best.get("start_s", 0), 3),
            "single_unit_compute_s": round(single_best.get("compute_s", 0), 3),
            "single_unit_lines": single_best["lines"],
            "single_unit_runs_s": [round(r["s"], 3) for r in single_runs],
            "profile": profiles[best],
        }
    )
    out["ratio"] = out["ours_s"] / out["baseline_s"]
    if vendor == "postgresql" and (
        EXPLAIN == "1" or (EXPLAIN == "auto" and out["ratio"] > TARGET_RATIO)
    ):
        reset_ours()
        new_job()
        out["explain"] = explain_run(ours)
    print(RESULT_MARK + json.dumps(out, ensure_ascii=False, default=str), flush=True)


def check_settlements(vendor, sets, python_lines, ContributionLine, Settlement, Arrear, Unit):
    """Totals and arrears equal the sums of the lines (every settlement of the period); the
    lines of a sample of units equal the Python oracle to the fen."""
    settlements = {
        s.unit_id: s
        for s in Settlement.objects.filter(settle_period=PERIOD, state=Settlement.State.CONFIRMED)
    }
    sums: dict[int, list] = defaultdict(lambda: [Decimal(0), Decimal(0), set()])
    for unit_id, person_id, unit_amount, personal_amount in ContributionLine.objects.filter(
        settle_period=PERIOD, withdrawn=False
    ).values_list("unit_id", "person_id", "unit_amount", "personal_amount"):
        acc = sums[unit_id]
        acc[0] += unit_amount
        acc[1] += personal_amount
        acc[2].add(person_id)
    due: dict[int, Decimal] = defaultdict(Decimal)
    for unit_id, amount in Arrear.objects.filter(settle_period=PERIOD).values_list(
        "unit_id", "due"
    ):
        due[unit_id] += amount
    assert set(settlements) == set(sums), "a unit without its settlement or lines"
    for unit_id, (unit_total, personal_total, persons) in sums.items():
        s = settlements[unit_id]
        assert (s.unit_total, s.personal_total, s.headcount) == (
            unit_total,
            personal_total,
            len(persons),
        ), unit_id
        assert due[unit_id] == unit_total + personal_total, unit_id
    # the oracle on a sample: the large unit, 机关事业 units (annuity), injury-rate histories
    sample = sorted({1, 10, 20, 2, 4, 3, 5, 8} | set(range(40, 40 + 10 * (SAMPLE_UNITS - 8), 10)))
    sample = [u for u in Unit.objects.filter(pk__in=sample).order_by("pk")]
    compared = 0
    fields = ("base", "unit_amount", "personal_amount", "below_floor", "above_cap")
    for unit in sample:
        expected = {
            (x.person_id, x.item): tuple(getattr(x, f) for f in fields) + (x.parameter_set_id,)
            for x in python_lines(
                [unit], unit.region_id, PERIOD, settlements={unit.pk: None}, sets=sets
            )
        }
        actual = {
            (row[0], row[1]): tuple(row[2:])
            for row in ContributionLine.objects.filter(
                unit=unit, settle_period=PERIOD, withdrawn=False
            ).values_list("person_id", "item", *fields, "parameter_set_id")
        }
        if expected != actual:
            diff = [k for k in expected if expected[k] != actual.get(k)][:3]
            raise AssertionError(
                f"unit {unit.pk}: lines differ from the oracle, e.g. "
                + "; ".join(f"{k}: {expected[k]} vs {actual.get(k)}" for k in diff)
            )
        compared += len(expected)
    return {
        "settlements": len(settlements),
        "oracle_units": len(sample),
        "oracle_lines": compared,
        "totals_and_arrears_equal_lines": True,
    }


# --- the runner's side -------------------------------------------------------------------------


def run_worker(vendor: str, scale: float, repeat: int, env: dict) -> dict:
    started = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--worker",
            vendor,
            "--scale",
            str(scale),
            "--repeat",
            str(repeat),
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    found = [line for line in proc.stdout.splitlines() if line.startswith(RESULT_MARK)]
    if proc.returncode != 0 or not found:
        raise RuntimeError(f"the {vendor} worker failed (exit {proc.returncode})")
    result = json.loads(found[-1][len(RESULT_MARK) :])
    result["worker_s"] = round(time.perf_counter() - started, 1)
    return result


def summary(r: dict) -> dict:
    keys = ("n", "lines", "ours_s", "baseline_s", "ratio", "single_unit_s")
    return {k: r[k] for k in keys if k in r}


def run(ctx) -> dict:
    def repeat_at(scale: float) -> int:
        # one timed run of each side at the sizes that take minutes; --repeat when small
        return int(REPEAT) if REPEAT else (1 if scale >= 0.05 else ctx.repeat)

    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.bench"
    with temporary_postgres("shebao_settlement") as url:
        pg = run_worker("postgresql", SCALE, repeat_at(SCALE), {**env, "DATABASE_URL": url})
    print(f"settlement     postgresql {json.dumps(summary(pg))}", flush=True)
    sqlite = None
    if SQLITE_SCALE > 0:
        with tempfile.TemporaryDirectory(prefix="shebao-settlement-sqlite-") as tmp:
            sqlite = run_worker(
                "sqlite", SQLITE_SCALE, repeat_at(SQLITE_SCALE), {**env, "SHEBAO_VAR_DIR": tmp}
            )
        print(f"settlement     sqlite {json.dumps(summary(sqlite))}", flush=True)
    result = {
        "n": pg["n"],
        "lines": pg["lines"],
        "ours_s": pg["ours_s"],
        "baseline_s": pg["baseline_s"],
        "single_unit_s": pg["single_unit_s"],
        "target_ratio": TARGET_RATIO,
        "target_single_unit_s": TARGET_SINGLE_S,
        "target_met": pg["ratio"] <= TARGET_RATIO and pg["single_unit_s"] <= TARGET_SINGLE_S,
        "postgresql": pg,
    }
    if sqlite is not None:
        result["sqlite"] = sqlite
    return result


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", choices=["postgresql", "sqlite"], required=True)
    parser.add_argument("--scale", type=float, default=SCALE)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    worker_main(args.worker, args.scale, args.repeat)
