"""The back office's settlement of a whole region (当期缴费核定): the job queued by staff that
settles every unit still to settle in committed batches (set-based on PostgreSQL, the Python
path elsewhere), stopping a job its worker left, and opening the region's next period."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, OperationalError, connection, transaction
from django.http import Http404
from django.utils import timezone
from django_tasks import task

from shebao.contributions.models import (
    INTERRUPTED_AFTER,
    RegionSettlementJob,
    Settlement,
)
from shebao.contributions.settlement.engine import (
    active_enrolments,
    python_line_rows,
    sql_insert_lines,
    write_lines,
)
from shebao.contributions.settlement.selectors import (
    changed_units,
    pending_back_pay,
    units_with_open_filings,
)
from shebao.contributions.settlement.services import BUSY, finish_settlement
from shebao.core.audit import audit_record
from shebao.core.models import Region
from shebao.core.periods import Period
from shebao.registry.access import access_staff_region, require_staff
from shebao.registry.models import Unit

# Units per transaction of the region job (当期缴费核定): the page sees progress per batch.
REGION_BATCH_UNITS = 200


def region_settle_all_start(*, actor, region_code: str) -> RegionSettlementJob:
    """Queue the job settling every unit of the region that has not settled the current
    period; the page shows its progress."""

    region = access_staff_region(actor, region=region_code, action="settlement.region_job")
    try:
        with transaction.atomic():
            job = RegionSettlementJob.objects.create(
                region=region, settle_period=region.current_period, created_by=actor
            )
            audit_record(
                actor=actor,
                action="settlement.region_job",
                obj=region,
                detail={"period": region.current_period},
            )
    except IntegrityError:
        raise ValidationError("该统筹区本期核定任务正在进行，请勿重复提交") from None
    transaction.on_commit(lambda: region_settle_all_task.enqueue(job_id=job.pk))
    return job


@task()
def region_settle_all_task(job_id: int) -> None:
    region_settle_all_run(job_id)


def region_settle_all_run(job_id: int) -> None:

    job = RegionSettlementJob.objects.select_related("region").get(pk=job_id)
    if job.state != RegionSettlementJob.State.QUEUED:
        return
    period = job.settle_period
    settled = (
        Settlement.objects.filter(settle_period=period, unit__isnull=False)
        .exclude(state=Settlement.State.WITHDRAWN)
        .values("unit_id")
    )
    units = list(
        Unit.objects.filter(region=job.region, status=Unit.Status.ACTIVE)
        .exclude(pk__in=settled)
        .filter(
            pk__in=active_enrolments(
                Unit.objects.filter(region=job.region).values_list("pk", flat=True), period
            ).values("unit_id")
        )
        .order_by("unit_no")
    )
    blocked = units_with_open_filings([u.pk for u in units])
    skipped = [u.unit_no for u in units if u.pk in blocked]
    units = [u for u in units if u.pk not in blocked]
    running = RegionSettlementJob.objects.filter(pk=job.pk, state=RegionSettlementJob.State.RUNNING)
    RegionSettlementJob.objects.filter(pk=job.pk, state=RegionSettlementJob.State.QUEUED).update(
        state=RegionSettlementJob.State.RUNNING,
        total_units=len(units),
        skipped=skipped,
        heartbeat_at=timezone.now(),
    )
    # Batches, each its own transaction: the page sees the progress after each, and a job
    # that fails keeps the units it finished (a new job picks up the rest). Each batch holds
    # the job's row, so staff cannot stop a job in the middle of one.
    lines = done = 0
    try:
        for start in range(0, len(units), REGION_BATCH_UNITS):
            batch = units[start : start + REGION_BATCH_UNITS]
            with transaction.atomic():
                if running.select_for_update().values_list("pk").first() is None:
                    return  # staff stopped it: leave off
                # a unit may have opened a change filing since the job began
                opened = units_with_open_filings([u.pk for u in batch])
                if opened:
                    skipped += [u.unit_no for u in batch if u.pk in opened]
                lines += settle_units(
                    [u for u in batch if u.pk not in opened],
                    job.region_id,
                    period,
                    actor=job.created_by,
                )
                done += len(batch)
                running.update(
                    done_units=done, lines=lines, skipped=skipped, heartbeat_at=timezone.now()
                )
    except Exception as exc:  # the job page shows what went wrong
        RegionSettlementJob.objects.filter(pk=job.pk).update(
            state=RegionSettlementJob.State.FAILED,
            error=str(exc)[:500],
            finished_at=timezone.now(),
        )
        raise
    running.update(
        state=RegionSettlementJob.State.DONE,
        done_units=len(units),
        lines=lines,
        finished_at=timezone.now(),
    )


def settle_units(units: list[Unit], region_id: str, period: int, *, actor) -> int:
    """Settle many units of one region at once, in one transaction. PostgreSQL: settlements
    in one INSERT (a unit that settled itself meanwhile is skipped), pending back pay in one
    UPDATE, lines in one INSERT … SELECT, totals in one UPDATE, arrears in one INSERT …
    SELECT, every statement limited to the settlements this call created. SQLite: the Python
    path unit by unit. Returns the number of lines written."""
    if not units:
        return 0
    now = timezone.now()
    changed = changed_units([u.pk for u in units], period)
    kinds = {
        u.pk: Settlement.Kind.WITH_CHANGE if u.pk in changed else Settlement.Kind.NO_CHANGE
        for u in units
    }
    with transaction.atomic():
        if connection.vendor == "postgresql":
            ids = _create_settlements_sql(kinds, region_id, period, actor, now)
            if not ids:
                return 0
            _claim_back_pay_sql(ids, period)
            written = sql_insert_lines(
                region_id=region_id,
                period=period,
                settlement_filter="s.id = ANY(%(f0)s)",
                params=[ids],
            )
            _finish_many_sql(ids, now)
            return written
        written = 0
        for unit in units:
            try:
                with transaction.atomic():
                    settlement = Settlement.objects.create(
                        unit=unit,
                        region_id=region_id,
                        settle_period=period,
                        kind=kinds[unit.pk],
                        created_by=actor,
                        started_at=now,
                    )
            except IntegrityError:  # the unit settled itself meanwhile: leave it alone
                continue
            written += write_lines(
                python_line_rows([unit], region_id, period, settlements={unit.pk: settlement.pk})
            )
            pending_back_pay(unit, period).update(settlement=settlement, settle_period=period)
            finish_settlement(settlement)
        return written


def _create_settlements_sql(
    kinds: dict[int, str], region_id: str, period: int, actor, now
) -> list[int]:
    """One running settlement per unit (of kind kinds[unit id]), skipping units that already
    have one in force (the unique constraint decides, under concurrency too). The ids of
    those created."""
    with connection.cursor() as cur:
        cur.execute(
            """
            INSERT INTO contributions_settlement (unit_id, person_id, region_id, settle_period,
                kind, state, headcount, unit_total, personal_total, progress, created_by_id,
                created_at, started_at)
            SELECT u, NULL, %(region)s, %(period)s, k, 'running', 0, 0, 0, 0, %(actor)s, %(now)s,
                %(now)s
            FROM unnest(%(units)s::bigint[], %(kinds)s::text[]) AS t (u, k)
            ON CONFLICT DO NOTHING
            RETURNING id
            """,
            {
                "units": list(kinds),
                "kinds": list(kinds.values()),
                "region": region_id,
                "period": period,
                "actor": getattr(actor, "pk", None),
                "now": now,
            },
        )
        return [row[0] for row in cur.fetchall()]


def _claim_back_pay_sql(ids: list[int], period: int) -> None:
    """The waiting back-pay lines of these settlements' units join them (one statement, before
    the period's lines exist, so it reads only the waiting ones)."""
    with connection.cursor() as cur:
        cur.execute(
            """
            UPDATE contributions_contributionline l
            SET settlement_id = s.id, settle_period = %(period)s
            FROM contributions_settlement s
            WHERE s.id = ANY(%(ids)s) AND l.unit_id = s.unit_id AND l.settlement_id IS NULL
              AND NOT l.withdrawn AND l.settle_period <= %(period)s
            """,
            {"ids": ids, "period": period},
        )


def _finish_many_sql(ids: list[int], now) -> None:
    """Totals and arrears of the given running settlements, set-based. The aggregate is
    materialized: the planner never sees the running settlements in its statistics (they are
    transient), and must not re-run the aggregate once per settlement."""
    with connection.cursor() as cur:
        cur.execute(
            """
            WITH t AS MATERIALIZED (
                SELECT settlement_id,
                       COUNT(DISTINCT person_id) FILTER (WHERE kind = 'normal') AS headcount,
                       SUM(unit_amount) AS unit_total, SUM(personal_amount) AS personal_total
                FROM contributions_contributionline
                WHERE settlement_id = ANY(%(ids)s) AND NOT withdrawn
                GROUP BY settlement_id
            )
            UPDATE contributions_settlement s SET
                headcount = COALESCE(t.headcount, 0), unit_total = COALESCE(t.unit_total, 0),
                personal_total = COALESCE(t.personal_total, 0), state = 'confirmed',
                progress = 100, finished_at = %(now)s
            FROM unnest(%(ids)s::bigint[]) AS i(id)
            LEFT JOIN t ON t.settlement_id = i.id
            WHERE s.id = i.id AND s.state = 'running'
            """,
            {"ids": ids, "now": now},
        )
        cur.execute(
            """
            WITH arrear AS (
                INSERT INTO contributions_arrear (payer, unit_id, person_id, region_id,
                    settle_period, item, belongs_period, due, paid, last_paid_on)
                SELECT 'U' || l.unit_id, l.unit_id, NULL, l.region_id, l.settle_period, l.item,
                       l.belongs_period, SUM(l.unit_amount + l.personal_amount), 0, NULL
                FROM contributions_contributionline l
                WHERE l.settlement_id = ANY(%(ids)s) AND NOT l.withdrawn
                GROUP BY l.unit_id, l.region_id, l.settle_period, l.item, l.belongs_period
                RETURNING unit_id, item, belongs_period, due
            )
            SELECT unit_id, item, belongs_period FROM arrear WHERE due = 0
            """,
            {"ids": ids},
        )
        nothing_due = cur.fetchall()
        if nothing_due:  # paid as soon as settled, as rebuild_arrears has it (0 % rates)
            units, items, belongs = (list(c) for c in zip(*nothing_due, strict=True))
            cur.execute(
                """
                UPDATE contributions_contributionline l SET paid = true
                FROM unnest(%(units)s::bigint[], %(items)s::text[], %(belongs)s::int[])
                    AS z (unit_id, item, belongs_period)
                WHERE l.settlement_id = ANY(%(ids)s) AND NOT l.withdrawn AND NOT l.paid
                  AND l.unit_id = z.unit_id AND l.item = z.item
                  AND l.belongs_period = z.belongs_period
                """,
                {"ids": ids, "units": units, "items": items, "belongs": belongs},
            )


def region_job_stop_interrupted(*, actor, job_id: int) -> RegionSettlementJob:
    """Staff stop a region job that has shown no progress for INTERRUPTED_AFTER (its worker
    stopped, or none took it), so a new job can settle the units it left. The units it
    finished stay settled. A batch in progress holds the job's row: refused then."""
    require_staff(
        actor, action="settlement.region_job_stop", message="只有经办人员可以中止核定任务"
    )
    try:
        with transaction.atomic():
            try:
                job = (
                    RegionSettlementJob.objects.select_for_update(nowait=True, of=("self",))
                    .select_related("region")
                    .get(pk=job_id, region__in=actor.regions.all())
                )
            except RegionSettlementJob.DoesNotExist:
                raise Http404 from None
            if job.state not in (
                RegionSettlementJob.State.QUEUED,
                RegionSettlementJob.State.RUNNING,
            ):
                raise ValidationError("该任务已结束，无需中止", code="state")
            if not job.interrupted:
                raise ValidationError(
                    f"任务在 {INTERRUPTED_AFTER.seconds // 60} 分钟内仍有进展，请等待其完成",
                    code="busy",
                )
            by = actor.display_name or actor.username
            job.state = RegionSettlementJob.State.FAILED
            job.error = f"任务中断，已由经办人员 {by} 中止；已核定的单位保留"
            job.finished_at = timezone.now()
            job.save(update_fields=["state", "error", "finished_at"])
            audit_record(
                actor=actor,
                action="settlement.region_job_stop",
                obj=job.region,
                detail={"period": job.settle_period, "job": job.pk, "done_units": job.done_units},
            )
    except OperationalError:  # a batch holds the row
        raise ValidationError(f"该核定任务{BUSY}", code="busy") from None
    return job


def region_open_next_period(*, actor, region_code: str) -> int:
    """Staff open the next settlement period of their region."""
    region = access_staff_region(actor, region=region_code, action="region.next_period")
    with transaction.atomic():
        region = Region.objects.select_for_update().get(pk=region.pk)
        before = region.current_period
        region.current_period = int(Period.parse(before).next())
        region.save(update_fields=["current_period"])
        audit_record(
            actor=actor,
            action="region.next_period",
            obj=region,
            detail={"before": before, "after": region.current_period},
        )
    return region.current_period
