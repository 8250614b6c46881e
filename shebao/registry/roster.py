"""The roster read model (``RosterEntry``, 参保职工名单): recomputed from Enrolment and Person,
set-based, by the services that change them, in their own transaction (no signals).

Call ``roster_refresh(unit_ids=…, person_ids=…)`` at the end of anything that creates or
changes enrolments at a unit (start, stop, status, wage) or a person's name, ID number or sex.
``None`` means "all": ``unit_ids=None`` for a person change (every unit the person was ever
at), both ``None`` to rebuild the whole table (``manage.py roster_rebuild``).

One DELETE and one ``INSERT … SELECT`` (grouped over the enrolments) per batch of persons,
the same SQL on SQLite and PostgreSQL. Masks of insurance types are sums of distinct powers of
two; the wage is the highest base copied as it is (MAX), never computed (DESIGN rule 5)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection, transaction

from shebao.registry.models import Enrolment, InsuranceType, Person, RosterEntry

TYPE_BITS = {t: 1 << i for i, t in enumerate(InsuranceType.values)}
BATCH = 500  # persons per statement (SQLite's bound parameters)

_BIT = (
    "CASE e.insurance_type "
    + " ".join(f"WHEN '{t}' THEN {b}" for t, b in TYPE_BITS.items())
    + " ELSE 0 END"
)
_OPEN = "e.stop_period IS NULL"
_ACTIVE = Enrolment.Status.ACTIVE.value
_SUSPENDED = Enrolment.Status.SUSPENDED.value

_TABLE = RosterEntry._meta.db_table
_ENROLMENT = Enrolment._meta.db_table
_PERSON = Person._meta.db_table

# One row per (unit, person) with enrolments there: the open enrolments' figures while any is
# open, all enrolments' once none is. Types are unique among a person's open enrolments at a
# unit (database constraints), and DISTINCT makes the masks exact whatever the history.
_INSERT = f"""
INSERT INTO {_TABLE} (
    unit_id, person_id, person_no, name, id_number_lookup, id_number_masked, sex, is_open,
    type_mask, active_mask, suspended_mask, start_period, stop_period, wage, status)
SELECT a.unit_id, a.person_id, p.person_no, p.name, p.id_number_lookup, p.id_number_masked,
       p.sex, a.open_n > 0,
       CASE WHEN a.open_n > 0 THEN a.open_mask ELSE a.all_mask END,
       a.active_mask, a.suspended_mask,
       CASE WHEN a.open_n > 0 THEN a.open_start ELSE a.all_start END,
       CASE WHEN a.open_n > 0 THEN NULL ELSE a.all_stop END,
       CASE WHEN a.open_n > 0 THEN a.open_wage ELSE a.all_wage END,
       CASE WHEN a.open_n > 0 AND a.status_min = a.status_max THEN a.status_min ELSE '' END
FROM (
    SELECT e.unit_id, e.person_id,
           SUM(CASE WHEN {_OPEN} THEN 1 ELSE 0 END) AS open_n,
           SUM(DISTINCT CASE WHEN {_OPEN} THEN {_BIT} ELSE 0 END) AS open_mask,
           SUM(DISTINCT {_BIT}) AS all_mask,
           SUM(DISTINCT CASE WHEN {_OPEN} AND e.status = '{_ACTIVE}' THEN {_BIT} ELSE 0 END)
               AS active_mask,
           SUM(DISTINCT CASE WHEN {_OPEN} AND e.status = '{_SUSPENDED}' THEN {_BIT} ELSE 0 END)
               AS suspended_mask,
           MIN(CASE WHEN {_OPEN} THEN e.start_period END) AS open_start,
           MIN(e.start_period) AS all_start,
           MAX(e.stop_period) AS all_stop,
           MAX(CASE WHEN {_OPEN} THEN e.wage_base END) AS open_wage,
           MAX(e.wage_base) AS all_wage,
           MIN(CASE WHEN {_OPEN} THEN e.status END) AS status_min,
           MAX(CASE WHEN {_OPEN} THEN e.status END) AS status_max
    FROM {_ENROLMENT} e
    WHERE e.unit_id IS NOT NULL{{where}}
    GROUP BY e.unit_id, e.person_id
) a
JOIN {_PERSON} p ON p.id = a.person_id
"""  # noqa: S608 (table names and constants; every value is a bound parameter)


def _ids(values: Iterable | None) -> list[int] | None:
    if values is None:
        return None
    return sorted({int(v) for v in values})


def _in(column: str, ids: list[int] | None) -> str:
    """`` AND column IN (%s, …)`` for ``ids``; nothing for None (all)."""
    if ids is None:
        return ""
    return f" AND {column} IN ({', '.join(['%s'] * len(ids))})"


def roster_refresh(*, unit_ids: Iterable[int] | None, person_ids: Iterable[int] | None) -> None:
    """Recompute the roster entries of ``person_ids`` at ``unit_ids`` from their enrolments
    (``None``: all). Call it inside the transaction that changed them.

    The persons' rows are locked first (``SELECT … FOR UPDATE``, ordered, on PostgreSQL), so
    that two transactions refreshing the same person run one after the other and the second
    reads what the first committed; the services that change enrolments hold that lock
    already."""
    units = _ids(unit_ids)
    persons = _ids(person_ids)
    if units == [] or persons == []:
        return
    batches = (
        [None]
        if persons is None
        else [persons[i : i + BATCH] for i in range(0, len(persons), BATCH)]
    )
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        for batch in batches:
            if batch is not None and connection.features.has_select_for_update:
                list(
                    Person.objects.select_for_update()
                    .filter(pk__in=batch)
                    .order_by("pk")
                    .values_list("pk", flat=True)
                )
            params = [*(units or []), *(batch or [])]
            delete = _in("unit_id", units) + _in("person_id", batch)
            cursor.execute(f"DELETE FROM {_TABLE} WHERE 1 = 1{delete}", params)  # noqa: S608
            where = _in("e.unit_id", units) + _in("e.person_id", batch)
            cursor.execute(_INSERT.format(where=where), params)


def roster_rebuild() -> int:
    """Recompute the whole roster table; the number of entries. Idempotent."""
    roster_refresh(unit_ids=None, person_ids=None)
    return RosterEntry.objects.count()
