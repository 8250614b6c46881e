"""Monthly settlement (结算, DOMAIN §4) writes: one settlement per unit and 结算期, the lines of
the period plus the back-pay lines approved during it, its totals, and the arrears rows that
payments fill. Large units settle in the background, reporting progress through the cache.
Staff reopen a settlement or stop one a worker left; the region job (当期缴费核定) and the next
period are in ``services_region``, the reads in ``selectors``."""

from collections import defaultdict
from contextlib import contextmanager
from decimal import Decimal

from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Count, Q
from django.http import Http404
from django.utils import timezone
from django_tasks import task

from shebao.contributions.models import (
    INTERRUPTED_AFTER,
    Arrear,
    ContributionLine,
    Payment,
    Settlement,
)
from shebao.contributions.params.selectors import parameter_sets_in_force
from shebao.contributions.settlement.engine import (
    active_enrolments,
    python_line_rows,
    sql_insert_lines,
    write_lines,
)
from shebao.contributions.settlement.selectors import (
    DETAIL_HEADER,
    ZERO,
    blocking_filings,
    changed_since_last_settlement,
    detail_rows,
    line_rows,
    may_settle,
    notice_summary,
    pending_back_pay,
    progress_key,
    unit_settlement_get,
)
from shebao.core.audit import audit_record
from shebao.core.excel import build_xlsx
from shebao.filings.models import FilingKind
from shebao.registry.access import deny, require_staff
from shebao.registry.models import Person, Unit

# Units with more enrolments than this settle in the background (the page never waits long).
SYNC_LIMIT = 5000
BUSY = "正在计算中，请稍后查看结果"


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
    if not may_settle(actor, unit):
        deny(
            actor,
            action="settlement.start",
            object_type="unit",
            object_id=str(unit.pk),
            region=unit.region_id,
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
    cache.delete(progress_key(settlement_id))


@task()
def settle_in_background(settlement_id: int) -> None:
    try:
        settlement_compute(settlement_id)
    except Exception:
        _abandon(settlement_id)
        raise


def _set_progress(settlement_id: int, value: int) -> None:
    """The computing transaction holds the settlement row until it commits: a figure written
    there would stay invisible (SQLite) or wait for the lock (PostgreSQL). The cache (Redis,
    shared by every web process and worker) carries it meanwhile."""
    cache.set(progress_key(settlement_id), max(1, min(99, value)))


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
    cache.delete(progress_key(settlement_id))


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
    require_staff(actor, action="settlement.reopen", message="只有经办人员可以撤销结算")
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


def settlement_stop_interrupted(*, actor, settlement_id: int) -> Settlement:
    """Staff stop a unit's settlement that a worker left: computing for over INTERRUPTED_AFTER
    (the worker stopped) or queued that long without a worker taking it. It is withdrawn (kept
    in history; a computation that died wrote nothing) so the unit can settle again; should
    its task run later it finds the settlement withdrawn and does nothing. One still computing
    is refused: its computation holds the row (PostgreSQL; SQLite holds the whole database)."""
    require_staff(actor, action="settlement.stop_interrupted", message="只有经办人员可以中止结算")
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
    cache.delete(progress_key(settlement.pk))
    return settlement


def settlement_detail_export(*, actor, settlement_id: int) -> tuple[str, bytes]:
    """缴费明细 of one of the operator's unit's settlements as Excel (file name, content): the
    same lines as the notice, so the sums match it to the fen. The export is audited."""
    settlement = unit_settlement_get(actor=actor, settlement_id=settlement_id)
    content = build_xlsx(
        [(f"{settlement.settle_period}缴费明细", DETAIL_HEADER, detail_rows(settlement))]
    )
    audit_record(
        actor=actor,
        action="settlement.export_detail",
        obj=settlement.unit,
        detail={"period": settlement.settle_period},
    )
    return f"缴费明细_{settlement.unit.unit_no}_{settlement.settle_period}.xlsx", content
