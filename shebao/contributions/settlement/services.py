"""Monthly settlement (结算, DOMAIN §4): one per unit and 结算期, the lines of the period plus
the back-pay lines approved during it, totals for the payment notice, and the arrears rows
that payments fill. Large units settle in the background with a progress bar."""

from collections import defaultdict
from contextlib import contextmanager
from decimal import Decimal

from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Count, F, OuterRef, Q, Subquery
from django.http import Http404
from django.utils import timezone
from django_tasks import task

from shebao.contributions.models import (
    INTERRUPTED_AFTER,
    Arrear,
    ContributionLine,
    Payment,
    RegionSettlementJob,
    Settlement,
)
from shebao.contributions.params.selectors import parameter_sets_in_force
from shebao.contributions.settlement.engine import (
    LINE_COLUMNS,
    active_enrolments,
    python_line_rows,
    sql_insert_lines,
    sql_line_rows,
    write_lines,
)
from shebao.core.audit import audit_record
from shebao.core.models import AuditEntry
from shebao.filings.business import BusinessKind
from shebao.filings.models import Filing, FilingKind, FilingState
from shebao.registry.models import Person, Unit

# Units with more enrolments than this settle in the background (the page never waits long).
SYNC_LIMIT = 5000
# Units per transaction of the region job (当期缴费核定): the page sees progress per batch.
REGION_BATCH_UNITS = 200
ZERO = Decimal("0.00")
# Filings that change who or what a unit pays for: they must be finished before settling.
CHANGE_KINDS = [
    FilingKind.ENROLMENT,
    FilingKind.STOP,
    FilingKind.TRANSFER_IN,
    FilingKind.TRANSFER_OUT,
    "wage_annual",
    "wage_monthly",
    "back_pay",
    "adjust_pay",
    "supplement_pay",
]


def _may_settle(actor, unit: Unit) -> bool:
    if getattr(actor, "kind", None) == "operator":
        return actor.unit_id == unit.pk and actor.may_file(BusinessKind.SETTLEMENT)
    if getattr(actor, "kind", None) == "staff":
        return actor.regions.filter(pk=unit.region_id).exists()
    return False


def blocking_filings(unit: Unit):
    """Open filings of the unit that change its contributions (有变动结算 waits for them)."""
    return Filing.objects.filter(
        unit=unit,
        kind__in=CHANGE_KINDS,
        state__in=[FilingState.DRAFT, FilingState.SUBMITTED, FilingState.RETURNED],
    ).order_by("serial_no")


def units_with_open_filings(unit_ids) -> set[int]:
    """Those of the units that have a filing open that changes their contributions."""
    return set(
        Filing.objects.filter(
            unit__in=unit_ids,
            kind__in=CHANGE_KINDS,
            state__in=[FilingState.DRAFT, FilingState.SUBMITTED, FilingState.RETURNED],
        ).values_list("unit_id", flat=True)
    )


def changed_since_last_settlement(unit: Unit) -> bool:
    return unit.pk in changed_units([unit.pk], unit.region.current_period)


def changed_units(unit_ids: list[int], period: int) -> set[int]:
    """The units (of `unit_ids`) that settle 有变动 in `period`: a change filing approved
    since their last confirmed settlement (any, before the first), or back pay waiting."""
    last = (
        Settlement.objects.filter(unit_id=OuterRef("unit_id"), state=Settlement.State.CONFIRMED)
        .order_by("-settle_period")
        .values("created_at")[:1]
    )
    changed = set(
        Filing.objects.filter(
            unit_id__in=unit_ids, kind__in=CHANGE_KINDS, state=FilingState.APPROVED
        )
        .annotate(last=Subquery(last))
        .filter(Q(last__isnull=True) | Q(decided_at__gt=F("last")))
        .values_list("unit_id", flat=True)
        .distinct()
    )
    changed.update(
        ContributionLine.objects.filter(
            unit_id__in=unit_ids,
            settlement__isnull=True,
            withdrawn=False,
            settle_period__lte=period,
        )
        .values_list("unit_id", flat=True)
        .distinct()
    )
    return changed


def pending_back_pay(unit: Unit, period: int):
    """Back-pay lines approved up to this 结算期 that no settlement has picked up yet."""
    return ContributionLine.objects.filter(
        unit=unit, settlement__isnull=True, withdrawn=False, settle_period__lte=period
    )


def _sum_python(rows, keys) -> dict:
    """Money sums in Python (SQLite stores decimals as floats: never add them in SQL there)."""
    out: dict = defaultdict(
        lambda: {"n": 0, "base": ZERO, "unit": ZERO, "personal": ZERO, "persons": set()}
    )
    for row in rows:
        key = tuple(row[k] for k in keys)
        acc = out[key]
        acc["n"] += 1
        acc["base"] += row["base"]
        acc["unit"] += row["unit_amount"]
        acc["personal"] += row["personal_amount"]
        acc["persons"].add(row["person_id"])
    return out


LINE_FIELDS = (
    "item",
    "belongs_period",
    "kind",
    "base",
    "unit_amount",
    "personal_amount",
    "person_id",
)


def line_rows(lines) -> list[dict]:
    return list(lines.values(*LINE_FIELDS))


def notice_summary(rows: list[dict]) -> dict:
    """The payment notice figures (单位缴费通知单): per item headcount, base, unit and personal
    amounts for this month; back pay per item and 费款所属期; totals. Same numbers as the
    Excel detail, summed from the same lines."""
    this_month = (ContributionLine.Kind.NORMAL, ContributionLine.Kind.FLEXIBLE)
    current = [r for r in rows if r["kind"] in this_month]
    back = [r for r in rows if r["kind"] not in this_month]
    by_item = _sum_python(current, ["item"])
    by_back = _sum_python(back, ["item", "belongs_period"])
    items = [
        {
            "item": k[0],
            "headcount": len(v["persons"]),
            "base": v["base"],
            "unit": v["unit"],
            "personal": v["personal"],
            "total": v["unit"] + v["personal"],
        }
        for k, v in sorted(by_item.items())
    ]
    back_items = [
        {
            "item": k[0],
            "belongs_period": k[1],
            "headcount": len(v["persons"]),
            "base": v["base"],
            "unit": v["unit"],
            "personal": v["personal"],
            "total": v["unit"] + v["personal"],
        }
        for k, v in sorted(by_back.items())
    ]
    unit_total = sum((r["unit_amount"] for r in rows), ZERO)
    personal_total = sum((r["personal_amount"] for r in rows), ZERO)
    return {
        "items": items,
        "back_items": back_items,
        "headcount": len({r["person_id"] for r in current}),
        "unit_total": unit_total,
        "personal_total": personal_total,
        "total": unit_total + personal_total,
    }


def settlement_preview(*, actor, unit: Unit) -> dict:
    """What settling now would produce (核对人数与缴费基数), computed without saving."""
    if not _may_settle(actor, unit):
        raise PermissionDenied("您没有办理结算的权限")
    period = unit.region.current_period
    if connection.vendor == "postgresql":
        lines = sql_line_rows(unit, period)
    else:
        lines = list(python_line_rows([unit], unit.region_id, period, settlements={unit.pk: None}))
    at = {c: i for i, c in enumerate(LINE_COLUMNS)}
    fields = [(f, at[f if f in at else f"{f}_id"]) for f in LINE_FIELDS]
    rows = [{f: line[i] for f, i in fields} for line in lines]
    summary = notice_summary(rows + line_rows(pending_back_pay(unit, period)))
    summary["period"] = period
    summary["below_floor"] = sum(1 for x in lines if x[at["below_floor"]])
    summary["above_cap"] = sum(1 for x in lines if x[at["above_cap"]])
    return summary


@contextmanager
def lock_timeout(value: str):
    """On PostgreSQL, statements inside wait at most `value` for a row lock (then
    OperationalError); the caller's setting comes back after. Inside a transaction only."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cur:
        cur.execute(
            "SELECT current_setting('lock_timeout'), set_config('lock_timeout', %s, true)",
            [value],
        )
        before = cur.fetchone()[0]
    yield
    with connection.cursor() as cur:
        cur.execute("SELECT set_config('lock_timeout', %s, true)", [before])


def settlement_start(*, actor, unit: Unit) -> Settlement:
    """Settle the unit's current 结算期. Refused while a change filing is open; exactly one
    settlement per unit and 结算期 even under concurrent clicks (database constraint)."""
    if not _may_settle(actor, unit):
        audit_record(
            actor=actor, action="settlement.start", obj=unit, outcome=AuditEntry.Outcome.DENIED
        )
        raise PermissionDenied("您没有办理结算的权限")
    period = unit.region.current_period
    blockers = list(blocking_filings(unit).values_list("serial_no", "kind"))
    if blockers:
        listed = "、".join(
            f"{s}（{FilingKind(k).label if k in FilingKind.values else k}）" for s, k in blockers
        )
        raise ValidationError(f"以下业务尚未办结，不能结算：{listed}", code="open_filings")
    per_type = dict(
        active_enrolments([unit.pk], period)
        .order_by()
        .values_list("insurance_type")
        .annotate(n=Count("id"))
    )  # one scan: the types to check and the size, without a row per enrolment in Python
    missing = set(per_type) - set(parameter_sets_in_force(unit.region_id, period))
    if missing:
        raise ValidationError(
            f"{unit.region.name} {period} 缺少险种 {'、'.join(sorted(missing))} 的缴费参数，请联系经办机构"
        )
    kind = (
        Settlement.Kind.WITH_CHANGE
        if changed_since_last_settlement(unit)
        else Settlement.Kind.NO_CHANGE
    )
    try:
        with transaction.atomic():
            # a region job's batch holding this unit answers in seconds, not at its commit
            with lock_timeout("3s"):
                settlement = Settlement.objects.create(
                    unit=unit,
                    region_id=unit.region_id,
                    settle_period=period,
                    kind=kind,
                    created_by=actor,
                )
            audit_record(
                actor=actor,
                action="settlement.start",
                obj=unit,
                detail={"period": period, "kind": kind},
            )
    except IntegrityError:
        raise ValidationError(
            f"{period} 已结算或正在结算，不能重复结算", code="duplicate"
        ) from None
    except OperationalError:  # lock_timeout: the region job is settling the unit right now
        raise ValidationError(
            f"经办机构正在核定本期全部单位，{period} 正在结算中，请稍后刷新查看", code="duplicate"
        ) from None
    if sum(per_type.values()) > SYNC_LIMIT:
        transaction.on_commit(lambda: settle_in_background.enqueue(settlement_id=settlement.pk))
    else:
        try:
            settlement_compute(settlement.pk)
        except Exception:
            _abandon(settlement.pk)
            raise
        settlement.refresh_from_db()
    return settlement


def _abandon(settlement_id: int) -> None:
    """A computation that failed leaves no half-written settlement behind: its lines were
    rolled back with it, and the running row goes so the unit can try again."""
    Settlement.objects.filter(pk=settlement_id, state=Settlement.State.RUNNING).delete()
    cache.delete(_progress_key(settlement_id))


@task()
def settle_in_background(settlement_id: int) -> None:
    try:
        settlement_compute(settlement_id)
    except Exception:
        _abandon(settlement_id)
        raise


def _progress_key(settlement_id: int) -> str:
    return f"settlement-progress:{settlement_id}"


def _set_progress(settlement_id: int, value: int) -> None:
    """The computing transaction holds the settlement row until it commits: a figure written
    there would stay invisible (SQLite) or wait for the lock (PostgreSQL). The cache (a
    directory shared by the web and the worker) carries it meanwhile."""
    cache.set(_progress_key(settlement_id), max(1, min(99, value)))


def settlement_progress(settlement: Settlement) -> int:
    """Percent done: 100 once confirmed, else the figure the computation last reported."""
    if settlement.state != Settlement.State.RUNNING:
        return settlement.progress
    return cache.get(_progress_key(settlement.pk), settlement.progress)


def settlement_compute(settlement_id: int) -> None:
    """Write the lines of a running settlement, pick up pending back pay, total it and
    build its arrears rows; then mark it confirmed."""
    # Seen by the pages while the computation runs: from now on a long wait means interrupted.
    Settlement.objects.filter(
        pk=settlement_id, state=Settlement.State.RUNNING, started_at__isnull=True
    ).update(started_at=timezone.now())
    with transaction.atomic():
        settlement = (
            Settlement.objects.select_for_update(of=("self",))
            .select_related("unit")
            .get(pk=settlement_id)
        )
        if settlement.state != Settlement.State.RUNNING:
            return
        unit, period = settlement.unit, settlement.settle_period
        _set_progress(settlement.pk, 5)
        if connection.vendor == "postgresql":
            # one statement: the bar moves by phase (lines about two thirds of the time)
            sql_insert_lines(
                region_id=unit.region_id,
                period=period,
                settlement_filter="s.id = %(f0)s",
                params=[settlement.pk],
            )
        else:
            # about 4.5 lines per enrolment; the bar moves by chunk up to 80 %
            expected = max(1, active_enrolments([unit.pk], period).count() * 9 // 2)
            write_lines(
                python_line_rows(
                    [unit], unit.region_id, period, settlements={unit.pk: settlement.pk}
                ),
                progress=lambda n: _set_progress(settlement.pk, 5 + min(75, n * 75 // expected)),
            )
        _set_progress(settlement.pk, 80)
        pending_back_pay(unit, period).update(settlement=settlement, settle_period=period)
        finish_settlement(settlement, progress=lambda v: _set_progress(settlement.pk, v))
    cache.delete(_progress_key(settlement_id))


def finish_settlement(settlement: Settlement, *, progress=None) -> None:
    summary = notice_summary(line_rows(settlement.lines.filter(withdrawn=False)))
    if progress:
        progress(90)
    settlement.headcount = summary["headcount"]
    settlement.unit_total = summary["unit_total"]
    settlement.personal_total = summary["personal_total"]
    settlement.state = Settlement.State.CONFIRMED
    settlement.progress = 100
    settlement.finished_at = timezone.now()
    settlement.save()
    rebuild_arrears(
        unit_id=settlement.unit_id,
        person_id=settlement.person_id if settlement.unit_id is None else None,
        settle_period=settlement.settle_period,
    )


def rebuild_arrears(*, unit_id: int | None, person_id: int | None, settle_period: int) -> None:
    """Recompute due and paid per item and 费款所属期 of one payer and 结算期, and the paid flag
    of its lines. Payments of an item fill its oldest 费款所属期 first; a line counts as paid
    when its item and 费款所属期 are fully paid."""
    payer = f"U{unit_id}" if unit_id else f"P{person_id}"
    lines = ContributionLine.objects.filter(
        settle_period=settle_period, withdrawn=False, settlement__isnull=False
    )
    pays = Payment.objects.filter(settle_period=settle_period)
    if unit_id:
        lines, pays = lines.filter(unit_id=unit_id), pays.filter(unit_id=unit_id)
    else:
        lines = lines.filter(unit__isnull=True, person_id=person_id)
        pays = pays.filter(unit__isnull=True, person_id=person_id)
    due: dict[tuple[str, int], Decimal] = defaultdict(lambda: ZERO)
    for item, belongs, u, p in lines.values_list(
        "item", "belongs_period", "unit_amount", "personal_amount"
    ):
        due[(item, belongs)] += u + p
    paid_by_item: dict[str, Decimal] = defaultdict(lambda: ZERO)
    last_paid: dict[str, object] = {}
    for item, amount, paid_on in pays.values_list("item", "amount", "paid_on"):
        paid_by_item[item] += amount
        last_paid[item] = max(paid_on, last_paid.get(item, paid_on))
    Arrear.objects.filter(payer=payer, settle_period=settle_period).delete()
    region_id = lines.values_list("region_id", flat=True).first()
    rows, fully_paid = [], []
    for item in sorted({k[0] for k in due}):
        left = paid_by_item.get(item, ZERO)
        for belongs in sorted(b for i, b in due if i == item):
            amount = due[(item, belongs)]
            paid = min(amount, left)
            left -= paid
            rows.append(
                Arrear(
                    payer=payer,
                    unit_id=unit_id,
                    person_id=person_id if not unit_id else None,
                    region_id=region_id,
                    settle_period=settle_period,
                    item=item,
                    belongs_period=belongs,
                    due=amount,
                    paid=paid,
                    last_paid_on=last_paid.get(item) if paid else None,
                )
            )
            if paid == amount:
                fully_paid.append((item, belongs))
    Arrear.objects.bulk_create(rows)
    # Only the flags that change: rewriting every line of a fresh settlement costs a new row
    # version, its index entries and its foreign-key checks again.
    if fully_paid:
        cond = Q()
        for item, belongs in fully_paid:
            cond |= Q(item=item, belongs_period=belongs)
        lines.filter(paid=True).exclude(cond).update(paid=False)
        lines.filter(cond, paid=False).update(paid=True)
    else:
        lines.filter(paid=True).update(paid=False)


def settlement_reopen(*, actor, settlement_id: int) -> Settlement:
    """Staff reopen a settlement before any payment against it: its lines are withdrawn (kept),
    its back-pay lines wait again for the next settlement, and the unit may settle again."""
    if getattr(actor, "kind", None) != "staff":
        raise PermissionDenied("只有经办人员可以撤销结算")
    with transaction.atomic():
        try:
            settlement = Settlement.objects.select_for_update().get(
                pk=settlement_id, region__in=actor.regions.all()
            )
        except Settlement.DoesNotExist:
            raise Http404 from None
        if settlement.state != Settlement.State.CONFIRMED:
            raise ValidationError("只有已结算的记录可以撤销")
        if settlement.person_id:
            # a flexible worker's payment locks the person row: take it too
            Person.objects.select_for_update().filter(pk=settlement.person_id).first()
        payments = Payment.objects.filter(settle_period=settlement.settle_period)
        payments = (
            payments.filter(unit_id=settlement.unit_id)
            if settlement.unit_id
            else payments.filter(unit__isnull=True, person_id=settlement.person_id)
        )
        if payments.exists():
            raise ValidationError("该结算期已有到账记录，不能撤销结算")
        back = list(settlement.lines.exclude(kind=ContributionLine.Kind.NORMAL))
        settlement.lines.update(withdrawn=True)
        for line in back:  # the back pay waits for the next settlement again
            line.pk = None
            line.settlement = None
            line.withdrawn = False
            line.paid = False
        ContributionLine.objects.bulk_create(back)
        settlement.state = Settlement.State.WITHDRAWN
        settlement.withdrawn_at = timezone.now()
        settlement.withdrawn_by = actor
        settlement.save()
        payer = f"U{settlement.unit_id}" if settlement.unit_id else f"P{settlement.person_id}"
        Arrear.objects.filter(payer=payer, settle_period=settlement.settle_period).delete()
        audit_record(
            actor=actor,
            action="settlement.reopen",
            obj=settlement.unit or settlement.person,
            detail={"period": settlement.settle_period, "settlement": settlement.pk},
        )
    return settlement


BUSY = "正在计算中，请稍后查看结果"


def settlement_stop_interrupted(*, actor, settlement_id: int) -> Settlement:
    """Staff stop a unit's settlement that a worker left: computing for over INTERRUPTED_AFTER
    (the worker stopped) or queued that long without a worker taking it. It is withdrawn (kept
    in history; a computation that died wrote nothing) so the unit can settle again; should
    its task run later it finds the settlement withdrawn and does nothing. One still computing
    is refused: its computation holds the row (PostgreSQL; SQLite holds the whole database)."""
    if getattr(actor, "kind", None) != "staff":
        raise PermissionDenied("只有经办人员可以中止结算")
    try:
        with transaction.atomic():
            try:
                settlement = Settlement.objects.select_for_update(nowait=True).get(
                    pk=settlement_id, region__in=actor.regions.all()
                )
            except Settlement.DoesNotExist:
                raise Http404 from None
            if settlement.state != Settlement.State.RUNNING:
                raise ValidationError("只有结算中的记录可以中止", code="state")
            if not settlement.stuck:
                raise ValidationError(
                    f"该结算排队或计算未满 {INTERRUPTED_AFTER.seconds // 60} 分钟，请稍后再试",
                    code="busy",
                )
            settlement.state = Settlement.State.WITHDRAWN
            settlement.withdrawn_at = timezone.now()
            settlement.withdrawn_by = actor
            settlement.save(update_fields=["state", "withdrawn_at", "withdrawn_by"])
            audit_record(
                actor=actor,
                action="settlement.stop_interrupted",
                obj=settlement.unit or settlement.person,
                detail={
                    "period": settlement.settle_period,
                    "settlement": settlement.pk,
                    "started": settlement.started_at is not None,
                },
            )
    except OperationalError:  # the computation holds the row
        raise ValidationError(f"该结算{BUSY}", code="busy") from None
    cache.delete(_progress_key(settlement.pk))
    return settlement


def region_job_stop_interrupted(*, actor, job_id: int) -> RegionSettlementJob:
    """Staff stop a region job that has shown no progress for INTERRUPTED_AFTER (its worker
    stopped, or none took it), so a new job can settle the units it left. The units it
    finished stay settled. A batch in progress holds the job's row: refused then."""
    if getattr(actor, "kind", None) != "staff":
        raise PermissionDenied("只有经办人员可以中止核定任务")
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


def unpaid_periods(person, unit) -> list[int]:
    """费款所属期 of the person's lines at the unit that are not fully paid (欠缴), oldest
    first; a stop filing is refused while any exist (seed 001, Tianjin)."""
    return sorted(
        set(
            ContributionLine.objects.filter(
                person=person, unit=unit, withdrawn=False, paid=False, settlement__isnull=False
            ).values_list("belongs_period", flat=True)
        )
    )


# --- back office: settle a whole region (当期缴费核定) and open the next period ----------------


def _staff_region(actor, region_code: str):
    if getattr(actor, "kind", None) != "staff":
        raise PermissionDenied("只有经办人员可以办理")
    region = actor.regions.filter(pk=region_code).first()
    if region is None:
        raise Http404
    return region


def region_settle_all_start(*, actor, region_code: str) -> RegionSettlementJob:
    """Queue the job settling every unit of the region that has not settled the current
    period; the page shows its progress."""

    region = _staff_region(actor, region_code)
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


def region_open_next_period(*, actor, region_code: str) -> int:
    """Staff open the next settlement period of their region."""
    from shebao.core.periods import Period

    with transaction.atomic():
        region = _staff_region(actor, region_code)
        region = type(region).objects.select_for_update().get(pk=region.pk)
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
