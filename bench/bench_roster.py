"""Roster page vs a bare one-query view, wrk on gunicorn; ours_s = 1/ours_rps, ratio = base/ours rps.

Issue 4's load test. On a throwaway PostgreSQL 15 (always, whatever ``--postgres`` says) a fresh
database is migrated and filled with set-based SQL: region 110000 with 200,000 persons × 5
insurance types = 1,000,000 open enrolments over 2,000 units, one of which (the bench unit) has
10,000 persons (50,000 enrolments), the roster read model (registry_rosterentry) filled by the
project's own set-based refresh, then VACUUM (ANALYZE). The bench unit's operator gets
signed-in sessions created directly in the session table, with the roster search already made.

gunicorn serves ``config.wsgi`` with ``config.settings.bench`` (2 sync workers on 127.0.0.1),
whose URLconf ``bench/urls.py`` adds ``/bench/bare-roster/`` (``bench/bare_views.py``): a plain
function behind the same middleware that returns the same 50 rows (same unit, page 37, same
search) from one SQL query of the same roster table as a bare HTML table. Both pages are first fetched once and must
answer 200 with the same rows; then each is warmed up and loaded by wrk (16 connections,
2 threads, 30 s, cookies rotating over 16 sessions). A response other than 200 or a connect,
read or write error fails the benchmark; requests unanswered within 60 s are counted as
timeouts and fail the target. While wrk runs, the CPU time of gunicorn (master and workers),
of PostgreSQL (postmaster, backends, parallel workers) and of wrk is read from /proc: CPU
milliseconds per request, which hold whatever else the machine is doing. Afterwards each page
is requested once more through Django's test client for its queries and their plans.

Figures: ``ours_rps``, ``baseline_rps``, ``rps_ratio`` (ours ÷ baseline, target ≥ 0.5),
``p99_ms`` (the roster page's 99th-percentile latency, target ≤ 250 ms). For the runner's
ratio, ``ours_s`` and ``baseline_s`` are mean seconds per request (1/rps, ``n`` = 1 request), so
``ratio`` = baseline_rps ÷ ours_rps.

Environment: ``ROSTER_BENCH_SCALE`` (1) scales the region (persons, units; the bench unit keeps
its 10,000 persons and the region has at least 20,000), ``ROSTER_BENCH_SECONDS`` (30) the
length of each load run, ``ROSTER_BENCH_WORKER_CLASS`` (sync) and ``ROSTER_BENCH_THREADS`` (1)
gunicorn's worker class and threads, ``ROSTER_BENCH_EXTRA_SQL`` SQL run after the data load,
before VACUUM (ANALYZE) (to try an index before writing its migration). ``--n`` is ignored.

Run as a script (``python bench/bench_roster.py --setup``, DATABASE_URL set) it does the Django
side of the preparation and prints one JSON line; ``run()`` starts it in a subprocess so that the
runner's own database connection is never touched.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
for _path in (ROOT, BENCH_DIR):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from pgserver import temporary_postgres  # noqa: E402

NAME = "roster"

SCALE = float(os.environ.get("ROSTER_BENCH_SCALE", "1"))
SECONDS = int(os.environ.get("ROSTER_BENCH_SECONDS", "30"))
WARMUP_SECONDS = max(2, min(5, SECONDS // 6))
WORKER_CLASS = os.environ.get("ROSTER_BENCH_WORKER_CLASS", "sync")
THREADS = int(os.environ.get("ROSTER_BENCH_THREADS", "1"))
EXTRA_SQL = os.environ.get("ROSTER_BENCH_EXTRA_SQL", "")
WORKERS = 2
CONNECTIONS = 16
WRK_THREADS = 2
WRK_TIMEOUT = 60  # seconds: slow answers are measured, not cut off
SESSIONS = 16  # one signed-in session per client connection, rotated by the wrk script

REGION = "110000"
PERSONS = 200_000
UNITS = 2_000
UNIT_PERSONS = 10_000
INSURANCE_TYPES = ("110", "210", "310", "410", "510")
PAGE = 37
PAGE_SIZE = 50
SEARCH = "王"  # 20 % of the persons bear the surname 王: 2,000 of the bench unit's 10,000
TARGET_RPS_RATIO = 0.5
TARGET_P99_MS = 250.0

SETUP_MARK = "ROSTER_SETUP "
PROFILE_MARK = "ROSTER_PROFILE "
# The session key of the roster's search when shebao.registry.queries.views has none.
ROSTER_SEARCH_SESSION_KEY = "roster_search"


def sizes(scale: float = SCALE) -> tuple[int, int, int]:
    """``(persons, units, unit_persons)`` of the region at ``scale``."""
    persons = max(2 * UNIT_PERSONS, round(PERSONS * scale))  # the unit keeps its size
    units = max(2, round(UNITS * scale))
    return persons, units, UNIT_PERSONS


# --- data: set-based SQL, run by the setup subprocess ---------------------------------------


def id_check_sql(body: str) -> str:
    """SQL for the GB 11643 check character of the 17-digit text expression ``body``, inline."""
    weighted = " + ".join(
        f"substr({body}, {i}, 1)::int * {pow(2, 18 - i, 11)}" for i in range(1, 18)
    )
    return f"substr('10X98765432', ({weighted}) %% 11 + 1, 1)"


UNITS_SQL = """
INSERT INTO registry_unit (
    id, unit_no, name, uscc, org_code, unit_type, affiliation, region_id, insurance_place,
    insurance_types, address, legal_rep_name, legal_rep_id_number_enc, contact_name,
    contact_mobile_enc, industry, injury_risk_class, status, is_vip, created_at)
SELECT u, '11' || lpad(u::text, 8, '0'), '压测单位' || u || '有限公司',
       '91110000MA' || lpad(u::text, 7, '0') || 'X', '', '10', '40', %(region)s,
       '北京市市本级', %(types)s::jsonb, '北京市测试路' || u || '号', '李法人',
       '', '王联系', '', '', 2, '1', false, now()
FROM generate_series(1, %(units)s) AS u
"""

# Person g belongs to the bench unit (id 1) when g is a multiple of the stride, so that its rows
# are spread over the tables as a unit's enrolments are after years of changes; the others are
# dealt over units 2..U. Names: 20 % 王 (by a hash of g, so in the bench unit too), the rest from
# other common surnames; no given name contains 王.
PERSON_UNIT = """(CASE WHEN g %% %(stride)s = 0 AND g / %(stride)s <= %(unit_persons)s THEN 1
      ELSE 2 + (g * 7919) %% (%(units)s - 1) END)"""

PERSONS_FROM = """
FROM generate_series(1, %(persons)s) AS g
CROSS JOIN LATERAL (
    SELECT date '1960-01-01' + g %% 14000 AS birth, (g / 14000) %% 1000 AS seq,
           abs(hashint4(g)::bigint) AS h
    OFFSET 0
) AS d
CROSS JOIN LATERAL (
    SELECT (ARRAY['110101','110102','110105','110106','110108','110111'])[1 + g %% 6]
           || to_char(d.birth, 'YYYYMMDD') || lpad(d.seq::text, 3, '0') AS body,
           d.birth
    OFFSET 0
) AS x
"""

# The clear ID numbers and mobiles, sealed in Python (shebao.core.crypto) into person_sealed.
PERSONS_CLEAR_SQL = f"""
SELECT g, x.body || {id_check_sql("x.body")}, '139' || lpad(g::text, 8, '0')
{PERSONS_FROM}"""

PERSONS_SQL = f"""
INSERT INTO registry_person (
    id, person_no, id_type, id_number_enc, id_number_lookup, id_number_masked, name, sex,
    birth_date, ethnicity, hukou, first_work_date, mobile_enc, address, photo, is_locked,
    lock_reason, last_change_date, created_at)
SELECT g, '11' || lpad(g::text, 10, '0'), '01', s.id_number_enc, s.id_number_lookup,
       s.id_number_masked,
       (CASE WHEN d.h %% 5 = 0 THEN '王'
             ELSE (ARRAY['李','张','刘','陈','杨','赵','黄','周','吴','徐','孙','胡'])[1 + d.h / 5 %% 12]
        END)
       || (ARRAY['伟','芳','娜','秀英','敏','静','丽','强','磊','军','洋','勇','艳','杰','娟',
                 '涛','明','超','秀兰','霞','平','刚','桂英'])[1 + d.h / 60 %% 23],
       CASE WHEN d.seq %% 2 = 1 THEN '1' ELSE '2' END, d.birth, '汉族',
       (ARRAY['11','12','21','22'])[1 + g %% 4], d.birth + 7000,
       s.mobile_enc, '北京市测试区测试路' || g || '号', '', false, '', NULL, now()
{PERSONS_FROM}JOIN person_sealed s ON s.id = g
"""


def seal_persons(cursor, params: dict) -> None:
    """person_sealed: each generated person's ID number and mobile encrypted, its lookup and
    masked value, computed in Python (a few microseconds a value) and copied in."""
    from shebao.registry.models import Person

    cursor.execute(
        "CREATE TEMP TABLE person_sealed (id int PRIMARY KEY, id_number_enc text,"
        " id_number_lookup text, id_number_masked text, mobile_enc text)"
    )
    cursor.execute(PERSONS_CLEAR_SQL, params)
    clear = cursor.fetchall()
    id_attr, mobile_attr = Person.id_number, Person.mobile
    with cursor.cursor.copy("COPY person_sealed FROM STDIN") as copy:
        for g, id_number, mobile in clear:
            sealed = id_attr.columns_for(id_number)
            copy.write_row(
                (
                    g,
                    sealed["id_number_enc"],
                    sealed["id_number_lookup"],
                    sealed["id_number_masked"],
                    mobile_attr.columns_for(mobile)["mobile_enc"],
                )
            )


ENROLMENTS_SQL = f"""
INSERT INTO registry_enrolment (
    person_id, unit_id, region_id, insurance_type, start_period, stop_period, status,
    wage_base, scope, back_pay, contract_start, contract_end, employment_registered,
    stop_date, stop_reason, start_filing_id, stop_filing_id)
SELECT g, {PERSON_UNIT}, %(region)s, t.code,
       (2005 + g %% 20) * 100 + 1 + g %% 12, NULL, '1',
       4000 + (g %% 200) * 100, '1', false, make_date(2005 + g %% 20, 1 + g %% 12, 1), NULL,
       true, NULL, '', NULL, NULL
FROM generate_series(1, %(persons)s) AS g
CROSS JOIN unnest(%(type_list)s::text[]) AS t(code)
"""


def fill_roster(cursor) -> None:
    """The roster read model, by the project's own set-based refresh (one INSERT … SELECT over
    all enrolments), then rewritten in person order: the refresh writes it grouped by unit,
    but a long-lived unit's entries are spread over the table as its persons came and went,
    like its enrolments (see PERSON_UNIT)."""
    from shebao.registry.roster import roster_refresh

    roster_refresh(unit_ids=None, person_ids=None)
    cursor.execute("CREATE TEMPORARY TABLE roster_load AS SELECT * FROM registry_rosterentry")
    cursor.execute("TRUNCATE registry_rosterentry")
    cursor.execute("INSERT INTO registry_rosterentry SELECT * FROM roster_load ORDER BY person_id")
    cursor.execute("DROP TABLE roster_load")


def load_data(cursor, scale: float) -> dict:
    """Fill the migrated, empty database: region, units, persons, enrolments; VACUUM (ANALYZE)."""

    persons, units, unit_persons = sizes(scale)
    params = {
        "region": REGION,
        "units": units,
        "persons": persons,
        "unit_persons": unit_persons,
        "stride": persons // unit_persons,
        "types": json.dumps(list(INSURANCE_TYPES)),
        "type_list": list(INSURANCE_TYPES),
    }
    timings = {}
    cursor.execute(
        "INSERT INTO core_region (code, name, parent_id, is_demo, insurance_places,"
        " current_period) VALUES (%s, '北京市', NULL, false, %s::jsonb,"
        " to_char(now(), 'YYYYMM')::int) ON CONFLICT (code) DO NOTHING",
        [REGION, json.dumps(["北京市市本级"])],
    )
    # The rows are consistent by construction: skip the foreign-key triggers while loading.
    cursor.execute("SET session_replication_role = replica")
    # Indexes that back no constraint are built once after the load (much faster than row by
    # row); the partial unique indexes among them check their rows when they are rebuilt.
    cursor.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i"
        " WHERE i.indrelid IN ('registry_person'::regclass, 'registry_enrolment'::regclass,"
        " 'registry_rosterentry'::regclass)"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)"
    )
    indexes = cursor.fetchall()
    for name, _ in indexes:
        cursor.execute(f"DROP INDEX {name}")
    for table, sql in (
        ("registry_unit", UNITS_SQL),
        ("registry_person", PERSONS_SQL),
        ("registry_enrolment", ENROLMENTS_SQL),
    ):
        start = time.perf_counter()
        if table == "registry_person":
            seal_persons(cursor, params)
        cursor.execute(sql, params)
        if table == "registry_person":
            cursor.execute("DROP TABLE person_sealed")
        timings[table] = round(time.perf_counter() - start, 2)
    start = time.perf_counter()
    fill_roster(cursor)
    timings["registry_rosterentry"] = round(time.perf_counter() - start, 2)
    cursor.execute("SET session_replication_role = DEFAULT")
    start = time.perf_counter()
    cursor.execute("SET maintenance_work_mem = '256MB'")
    for _, definition in indexes:
        cursor.execute(definition)
    timings["indexes"] = round(time.perf_counter() - start, 2)
    if EXTRA_SQL:  # e.g. an index to try before writing its migration
        start = time.perf_counter()
        cursor.execute(EXTRA_SQL)
        timings["extra_sql"] = round(time.perf_counter() - start, 2)
    for table in ("registry_unit", "registry_person", "registry_rosterentry"):
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
        )
    start = time.perf_counter()
    # VACUUM as well: the visibility map lets index-only scans skip the heap, as on a database
    # autovacuum has long since been through, and autovacuum stays out of the measured runs.
    cursor.execute("VACUUM (ANALYZE)")
    timings["vacuum_analyze"] = round(time.perf_counter() - start, 2)
    cursor.execute(
        "SELECT count(*), count(*) FILTER (WHERE unit_id = 1),"
        " count(DISTINCT person_id) FILTER (WHERE unit_id = 1) FROM registry_enrolment"
    )
    enrolments, unit_enrolments, unit_person_count = cursor.fetchone()
    cursor.execute(
        "SELECT count(*), count(*) FILTER (WHERE unit_id = 1 AND is_open) FROM registry_rosterentry"
    )
    roster_entries, unit_roster_entries = cursor.fetchone()
    if unit_roster_entries != unit_person_count:
        raise AssertionError(
            f"the roster table has {unit_roster_entries} entries for the bench unit, "
            f"its enrolments {unit_person_count} persons"
        )
    cursor.execute(
        "SELECT count(*) FROM registry_person p WHERE p.name LIKE %s AND EXISTS"
        " (SELECT 1 FROM registry_enrolment e WHERE e.person_id = p.id AND e.unit_id = 1)",
        [SEARCH + "%"],
    )
    (unit_matches,) = cursor.fetchone()
    cursor.execute("SELECT id_number_masked FROM registry_person ORDER BY random() LIMIT 100")
    for (masked,) in cursor.fetchall():
        assert len(masked) == 18 and masked[4:14] == "*" * 10, masked
    return {
        "persons": persons,
        "units": units,
        "enrolments": enrolments,
        "unit_persons": unit_person_count,
        "unit_enrolments": unit_enrolments,
        "roster_entries": roster_entries,
        "unit_search_matches": unit_matches,
        "load_timings_s": timings,
    }


def setup_main() -> None:
    """The Django side of the preparation (in a subprocess, DATABASE_URL set by run())."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.bench")
    import django

    django.setup()
    from importlib import import_module

    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.urls import NoReverseMatch, reverse

    from shebao.accounts.models import UnitOnlineRegistration, User
    from shebao.accounts.services import operator_internal_username
    from shebao.registry.models import Unit

    start = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    migrate_s = time.perf_counter() - start

    start = time.perf_counter()
    with connection.cursor() as cursor:
        data = load_data(cursor, SCALE)
    load_s = time.perf_counter() - start

    unit = Unit.objects.get(pk=1)
    registration = UnitOnlineRegistration.objects.create(
        unit=unit, via=UnitOnlineRegistration.Via.REGISTRATION_CODE
    )
    user = User(
        username=operator_internal_username(registration, "admin"),
        kind=User.Kind.OPERATOR,
        unit=unit,
        registration=registration,
        operator_account="admin",
        display_name="王联系",
        mobile="13900000001",  # the unit's contact mobile is not generated (encrypted column)
        is_unit_admin=True,
    )
    user.set_unusable_password()
    user.save()

    try:  # the key the roster page keeps its search under
        from shebao.registry.queries.views import SEARCH_SESSION_KEY as search_key
    except ImportError:
        search_key = ROSTER_SEARCH_SESSION_KEY
    try:  # kept encrypted in the session since issue 11, as the page's POST stores it
        from shebao.core.crypto import encrypt
        from shebao.registry.queries.views import SEARCH_CONTEXT

        stored_search = encrypt(SEARCH, context=SEARCH_CONTEXT)
    except ImportError:
        stored_search = SEARCH
    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    session_keys = []
    for _ in range(SESSIONS):
        session = store_class()
        session["_auth_user_id"] = str(user.pk)
        session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
        session["_auth_user_hash"] = user.get_session_auth_hash()
        session[search_key] = stored_search  # as the roster's POSTed search leaves it
        session.create()
        session_keys.append(session.session_key)

    try:
        roster_path = reverse("unit:roster")
    except NoReverseMatch:
        roster_path = None
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        (pg_version,) = cursor.fetchone()
    result = {
        **data,
        "migrate_s": round(migrate_s, 2),
        "load_s": round(load_s, 2),
        "user_id": user.pk,
        "session_cookie": settings.SESSION_COOKIE_NAME,
        "session_keys": session_keys,
        "roster_path": roster_path,
        "postgresql": pg_version.split(" on ")[0],
    }
    print(SETUP_MARK + json.dumps(result, ensure_ascii=False), flush=True)


def profile_main(session_key: str, paths: list[str]) -> None:
    """Each page once more through Django's test client (after the load runs, so with warm
    caches): its time, its queries and the EXPLAIN ANALYZE of every SELECT of 2 ms or more."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.bench")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = session_key
    result = {}
    for path in paths:
        client.get(path)
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            response = client.get(path)
            elapsed = time.perf_counter() - start
        queries = []
        for query in captured.captured_queries:
            sql, seconds = query["sql"], float(query["time"])
            entry = {"ms": round(seconds * 1000, 2), "sql": sql[:600]}
            if sql.lstrip().upper().startswith("SELECT") and seconds >= 0.002:
                with connection.cursor() as cursor:
                    cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                    entry["plan"] = [row[0] for row in cursor.fetchall()]
            queries.append(entry)
        result[path] = {
            "status": response.status_code,
            "ms": round(elapsed * 1000, 2),
            "queries": queries,
        }
    print(PROFILE_MARK + json.dumps(result, ensure_ascii=False), flush=True)


# --- load: gunicorn and wrk, in the runner's process ---------------------------------------

WRK_SCRIPT = r"""
-- Rotate the Cookie header over the signed-in sessions (passed after --) and count statuses.
local threads = {}
local next_id = 0

function setup(thread)
    thread:set("id", next_id)
    next_id = next_id + 1
    table.insert(threads, thread)
end

function init(args)
    cookies = args
    index = id
    responses = 0
    not_ok = 0
end

function request()
    index = index % #cookies + 1
    return wrk.format(nil, nil, { ["Cookie"] = cookies[index] })
end

function response(status, headers, body)
    responses = responses + 1
    if status ~= 200 then
        not_ok = not_ok + 1
    end
end

function done(summary, latency, requests)
    local total, bad = 0, 0
    for _, thread in ipairs(threads) do
        total = total + thread:get("responses")
        bad = bad + thread:get("not_ok")
    end
    io.write(string.format("STATUS responses=%d not_200=%d\n", total, bad))
end
"""


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    print("[roster] installing Debian package wrk", file=sys.stderr, flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        [*sudo, "apt-get", "install", "-y", "-qq", "--no-install-recommends", "wrk"],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk is not installed and could not be installed")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_script(env: dict, mark: str, *args: str) -> dict:
    """Run this file as a script in a subprocess and return the JSON it printed after ``mark``."""
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(mark):
            return json.loads(line[len(mark) :])
    raise RuntimeError(f"{' '.join(args)} printed no result:\n{proc.stdout}")


def get(port: int, path: str, cookie: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=WRK_TIMEOUT)
    try:
        conn.request("GET", path, headers={"Cookie": cookie})
        response = conn.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        conn.close()


@contextlib.contextmanager
def gunicorn(env: dict, log_path: Path) -> Iterator[tuple[int, int]]:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi:application",
        f"--workers={WORKERS}",
        f"--worker-class={WORKER_CLASS}",
        f"--threads={THREADS}",
        f"--bind=127.0.0.1:{port}",
        "--timeout=60",
        "--log-level=warning",
        "--backlog=64",
    ]
    with log_path.open("w") as log:
        proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{log_path.read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not start listening in 60 s") from None
                time.sleep(0.2)
        yield port, proc.pid
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn died during the run:\n{log_path.read_text()}")
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def to_ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return round(float(number) * UNITS_MS[unit], 2)


def parse_wrk(output: str) -> dict:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    requests, duration = re.search(r"(\d+) requests in ([\d.]+\w+),", output).groups()
    latency = dict(re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+\w+)\s*$", output, re.MULTILINE))
    mean = re.search(r"^\s+Latency\s+([\d.]+\w+)", output, re.MULTILINE).group(1)
    status = re.search(r"STATUS responses=(\d+) not_200=(\d+)", output)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "rps": rps,
        "requests": int(requests),
        "duration_s": to_ms(duration) / 1000,
        "mean_ms": to_ms(mean),
        **{f"p{q}_ms": to_ms(value) for q, value in latency.items()},
        "responses": int(status.group(1)),
        "not_200": int(status.group(2)) + (int(non_2xx.group(1)) if non_2xx else 0),
        "socket_errors": dict(
            zip(("connect", "read", "write", "timeout"), map(int, errors.groups()), strict=True)
        )
        if errors
        else {},
    }


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name (field 3, state, first)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()


def tree_cpu_s(root: int) -> float:
    """CPU seconds of a server: its own, its exited children's (reaped: PostgreSQL's parallel
    workers, …) and its live children's (gunicorn's workers, PostgreSQL's backends)."""
    fields = _stat(root)
    total = sum(int(v) for v in fields[11:15])  # utime, stime, cutime, cstime
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError):
            child = _stat(int(entry.name))
            if int(child[1]) == root:  # ppid
                total += int(child[11]) + int(child[12])
    return total / CLOCK_TICKS


def postmaster_pid(database_url: str) -> int:
    import psycopg

    with psycopg.connect(database_url) as conn:  # read while the backend is alive
        (backend,) = conn.execute("SELECT pg_backend_pid()").fetchone()
        return int(_stat(backend)[1])


def load(
    wrk: str, script: Path, url: str, cookies: list[str], seconds: int, servers: dict | None = None
) -> dict:
    """One wrk run; with ``servers`` (name -> pid), also the CPU milliseconds per request each
    of them and wrk itself used: what the page costs, whatever else runs on the machine."""
    command = [
        wrk,
        f"--threads={WRK_THREADS}",
        f"--connections={CONNECTIONS}",
        f"--duration={seconds}s",
        f"--timeout={WRK_TIMEOUT}s",
        "--latency",
        f"--script={script}",
        url,
        "--",
        *cookies,
    ]
    servers = servers or {}
    cpu_before = {name: tree_cpu_s(pid) for name, pid in servers.items()}
    client_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    output = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True).stdout
    client_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = {name: tree_cpu_s(pid) - cpu_before[name] for name, pid in servers.items()}
    result = parse_wrk(output)
    if servers and result["requests"]:
        cpu["client"] = (client_after.ru_utime + client_after.ru_stime) - (
            client_before.ru_utime + client_before.ru_stime
        )
        result["cpu_ms_per_request"] = {
            name: round(seconds * 1000 / result["requests"], 2) for name, seconds in cpu.items()
        }
        total = sum(result["cpu_ms_per_request"].values())
        result["cpu_ms_per_request"]["total"] = round(total, 2)
        # The most this machine could serve if nothing else ran on it: all CPUs busy with the
        # server, the database and the client, and no waiting.
        result["cpu_bound_rps"] = round((os.cpu_count() or 1) * 1000 / total, 1)
    errors = result["socket_errors"]
    if result["not_200"] or errors.get("connect") or errors.get("read") or errors.get("write"):
        raise RuntimeError(f"{url}: responses other than 200 or socket errors:\n{output}")
    return result  # timeouts (no answer within WRK_TIMEOUT) are reported, and fail the target


ROW_KEY = re.compile(r"\b11\d{10}\b")  # person_no: '11' and 10 digits


def row_keys(html: str) -> list[str]:
    return list(dict.fromkeys(ROW_KEY.findall(html)))


def run(ctx) -> dict:
    wrk = ensure_wrk()
    with (
        tempfile.TemporaryDirectory(prefix="shebao-roster-") as tmp,
        temporary_postgres("shebao_roster") as database_url,
    ):
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "DJANGO_SETTINGS_MODULE": "config.settings.bench",
            "ROSTER_BENCH_SCALE": str(SCALE),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        }
        start = time.perf_counter()
        setup = run_script(env, SETUP_MARK, "--setup")
        setup_s = time.perf_counter() - start
        cookies = [f"{setup['session_cookie']}={key}" for key in setup["session_keys"]]
        roster_path = setup["roster_path"]
        placeholder = roster_path is None
        ours_path = "/unit/" if placeholder else f"{roster_path}?page={PAGE}"
        bare_path = f"/bench/bare-roster/?page={PAGE}&q={quote(SEARCH)}"
        script = Path(tmp) / "roster.lua"
        script.write_text(WRK_SCRIPT)
        postmaster = postmaster_pid(database_url)
        with gunicorn(env, Path(tmp) / "gunicorn.log") as (port, gunicorn_pid):
            base = f"http://127.0.0.1:{port}"
            pages = {}
            for side, path in (("ours", ours_path), ("baseline", bare_path)):
                status, html = get(port, path, cookies[0])
                if status != 200:
                    raise RuntimeError(f"GET {path}: {status}\n{html[:2000]}")
                pages[side] = html
            baseline_rows = row_keys(pages["baseline"])
            if len(baseline_rows) != PAGE_SIZE:
                raise AssertionError(
                    f"the bare view shows {len(baseline_rows)} rows, not {PAGE_SIZE}: the data has "
                    f"{setup['unit_search_matches']} matches, page {PAGE} needs more"
                )
            if not placeholder and row_keys(pages["ours"]) != baseline_rows:
                raise AssertionError(
                    "the roster page and the bare view show different rows: "
                    f"{row_keys(pages['ours'])[:5]}… vs {baseline_rows[:5]}…"
                )
            for path in (ours_path, bare_path):
                load(wrk, script, base + path, cookies, WARMUP_SECONDS)
            load_before = os.getloadavg()
            servers = {"gunicorn": gunicorn_pid, "postgresql": postmaster}
            ours = load(wrk, script, base + ours_path, cookies, SECONDS, servers)
            baseline = load(wrk, script, base + bare_path, cookies, SECONDS, servers)
            load_after = os.getloadavg()
        profile = run_script(
            env, PROFILE_MARK, "--profile", setup["session_keys"][-1], ours_path, bare_path
        )

    rps_ratio = ours["rps"] / baseline["rps"]
    return {
        "n": 1,
        "ours_s": 1 / ours["rps"],
        "baseline_s": 1 / baseline["rps"],
        "metric": (
            "ours_s and baseline_s are mean seconds per request under load (1/rps, n = 1 "
            "request), so ratio = baseline_rps / ours_rps; rps_ratio = ours_rps / baseline_rps"
        ),
        "ours_rps": round(ours["rps"], 2),
        "baseline_rps": round(baseline["rps"], 2),
        "rps_ratio": round(rps_ratio, 4),
        "p99_ms": ours["p99_ms"],
        "baseline_p99_ms": baseline["p99_ms"],
        "target": {"rps_ratio_min": TARGET_RPS_RATIO, "p99_ms_max": TARGET_P99_MS},
        "target_met": rps_ratio >= TARGET_RPS_RATIO
        and ours["p99_ms"] <= TARGET_P99_MS
        and not ours["socket_errors"].get("timeout"),
        "ours": ours,
        "baseline": baseline,
        "ours_url": ours_path,
        "baseline_url": bare_path,
        "placeholder": placeholder,
        "search": SEARCH,
        "page": PAGE,
        "page_size": PAGE_SIZE,
        "scale": SCALE,
        "load_seconds": SECONDS,
        "warmup_seconds": WARMUP_SECONDS,
        "server": f"gunicorn, {WORKERS} {WORKER_CLASS} workers × {THREADS} threads, 127.0.0.1",
        "client": f"wrk, {CONNECTIONS} connections, {WRK_THREADS} threads, {SESSIONS} sessions",
        "postgresql": setup["postgresql"],
        "region": REGION,
        "extra_sql": EXTRA_SQL,
        **{
            key: setup[key]
            for key in (
                "persons",
                "units",
                "enrolments",
                "unit_persons",
                "unit_enrolments",
                "roster_entries",
                "unit_search_matches",
                "migrate_s",
                "load_s",
                "load_timings_s",
            )
        },
        "setup_s": round(setup_s, 2),
        # The machine is shared by the load generator, the server and PostgreSQL; anything
        # else running shows here (1-minute load average before and after the measured runs).
        "loadavg_1min": [round(load_before[0], 2), round(load_after[0], 2)],
        "single_request_ms": {
            "ours": profile[ours_path]["ms"],
            "baseline": profile[bare_path]["ms"],
        },
        "ours_queries": profile[ours_path]["queries"],
        "baseline_queries": profile[bare_path]["queries"],
    }


if __name__ == "__main__":
    if sys.argv[1:] == ["--setup"]:
        setup_main()
    elif len(sys.argv) > 3 and sys.argv[1] == "--profile":
        profile_main(sys.argv[2], sys.argv[3:])
    else:
        sys.exit(
            "usage: DATABASE_URL=... python bench/bench_roster.py"
            " --setup | --profile SESSION_KEY PATH..."
        )
