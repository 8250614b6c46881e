"""Payments (到账) and the tax bureau's arrival file (DOMAIN §4.5).

Money arrives per payer (a unit, or a flexible worker paying alone), 结算期 and item. Staff post
it one payment at a time (``payment_post``) or import the tax bureau's arrival file
(``payments_import``: all or nothing, every bad row listed with its row number). After each
write the arrears of the payer and 结算期 are rebuilt: within an item the payments fill the
oldest 费款所属期 first (``settlement.services.rebuild_arrears``).

The arrears rows (``Arrear``) are the ledger a payment is checked against: an item can be paid
only where the payer's settlement of that 结算期 produced arrears rows for it, and never beyond
what is still outstanding (an overpayment would have nowhere to go).

Locks: a unit's payment locks its settlement row (``settlement_reopen`` locks the same row, so a
settlement is never reopened under a payment); a flexible worker's payment locks the person
row; an import also locks the region row, which serialises imports of one region (the same file
imported twice is refused by its fingerprint).

Reading the arrival file is ``imports`` (no database); checking rows against the ledger and
summing the plan is ``calc`` (pure); here are the lookups, the locks and the writes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from shebao.contributions.models import Arrear, Payment, Settlement
from shebao.contributions.payments import calc
from shebao.contributions.payments.calc import ITEM_LABELS, ImportPlan
from shebao.contributions.payments.imports import (
    ImportRefused,
    ParsedRow,
    RowError,
    parse_amount,
    parse_paid_on,
    parse_rows,
    parse_settle_period,
    read_arrival_file,
)
from shebao.contributions.settlement.services import rebuild_arrears
from shebao.core.audit import audit_record
from shebao.core.models import Region
from shebao.filings.materials import clean_filename
from shebao.registry.access import access_staff_region, deny, require_staff
from shebao.registry.models import Person, Unit

NOT_STAFF = "只有经办人员可以登记到账"


@dataclass
class ImportResult:
    batch: str
    count: int
    total: Decimal
    rebuilt: int  # (payer, 结算期) pairs whose arrears were rebuilt


# --- arrears ledger ------------------------------------------------------------------------


def _outstanding(payers: set[str], periods: set[int], region_ids) -> dict[tuple, Decimal]:
    """Outstanding per (payer, 结算期, item) from the arrears rows, summed in Python."""
    if not payers:
        return {}
    return calc.outstanding(
        Arrear.objects.filter(
            payer__in=payers, settle_period__in=periods, region_id__in=list(region_ids)
        ).values_list("payer", "settle_period", "item", "due", "paid")
    )


def _lock_payers(units: Iterable[int], persons: Iterable[int], periods: Iterable[int]) -> None:
    """Row locks serialising payments with each other and with settlement_reopen."""
    units, persons, periods = list(units), list(persons), list(periods)
    if units:
        list(
            Settlement.objects.select_for_update()
            .filter(unit_id__in=units, settle_period__in=periods)
            .exclude(state=Settlement.State.WITHDRAWN)
            .values_list("pk", flat=True)
        )
    if persons:
        list(Person.objects.select_for_update().filter(pk__in=persons).values_list("pk", flat=True))


# --- one payment ---------------------------------------------------------------------------


def _payer_region_id(actor, *, unit: Unit | None, person: Person | None) -> str:
    """The payer's region among the staff member's own (a flexible worker belongs to the
    regions where their arrears are); another region answers 404 like a missing payer."""
    if unit is not None:
        return access_staff_region(
            actor, region=unit.region_id, action="payment.post", message=NOT_STAFF
        ).pk
    require_staff(actor, action="payment.post", message=NOT_STAFF)
    region_id = (
        Arrear.objects.filter(payer=f"P{person.pk}", region__in=actor.regions.all())
        .values_list("region_id", flat=True)
        .first()
    )
    if region_id is None:
        deny(actor, action="payment.post", object_type="person", object_id=str(person.pk))
        raise Http404
    return region_id


def payment_post(
    *,
    actor,
    unit: Unit | None,
    settle_period,
    item: str,
    amount,
    paid_on: date,
    person: Person | None = None,
) -> Payment:
    """Post one payment (到账) of a unit — or of a flexible worker (``unit`` None, ``person``
    given) — for a 结算期 and item, then rebuild that payer's arrears of the 结算期. Staff of
    the payer's region only (another region answers 404); the item must have arrears rows in
    that 结算期 and the amount may not exceed what is outstanding."""
    if (unit is None) == (person is None):
        raise ValueError("exactly one of unit and person")
    target = unit or person
    payer = f"U{unit.pk}" if unit else f"P{person.pk}"
    payer_no = unit.unit_no if unit else person.person_no
    region_id = _payer_region_id(actor, unit=unit, person=person)
    errors: dict[str, list[str]] = {}
    values: dict = {}
    for key, parse, value in (
        ("settle_period", parse_settle_period, settle_period),
        ("amount", parse_amount, amount),
        ("paid_on", parse_paid_on, paid_on),
    ):
        try:
            values[key] = parse(value)
        except ValueError as e:
            errors[key] = [str(e)]
    if item not in ITEM_LABELS:
        errors["item"] = ["请选择险种"]
    if errors:
        raise ValidationError(errors)
    period, money, day = values["settle_period"], values["amount"], values["paid_on"]
    with transaction.atomic():
        _lock_payers([unit.pk] if unit else [], [person.pk] if person else [], [period])
        left = _outstanding({payer}, {period}, [region_id]).get((payer, period, item))
        if left is None:
            raise ValidationError({"item": [calc.no_settlement(payer_no, period, item)]})
        if money > left:
            raise ValidationError({"amount": [calc.too_much(money, left, period, item)]})
        payment = Payment.objects.create(
            unit=unit,
            person=person,
            region_id=region_id,
            settle_period=period,
            item=item,
            amount=money,
            paid_on=day,
            source=Payment.Source.MANUAL,
            created_by=actor,
        )
        rebuild_arrears(
            unit_id=unit.pk if unit else None,
            person_id=person.pk if person else None,
            settle_period=period,
        )
        audit_record(
            actor=actor,
            action="payment.post",
            obj=target,
            region=region_id,
            detail={
                "payment": payment.pk,
                "settle_period": period,
                "item": item,
                "amount": str(money),
                "paid_on": day.isoformat(),
                "outstanding_before": str(left),
            },
        )
    return payment


# --- the arrival file ----------------------------------------------------------------------


def _check_rows(region: Region, parsed: list[ParsedRow]) -> tuple[list, list[RowError]]:
    """Check the rows against the registry and the arrears ledger (one query per kind of
    lookup, whatever the number of rows). Returns the good rows and every bad row with all
    its reasons, by line."""
    units = {
        u.unit_no: u
        for u in Unit.objects.filter(
            region=region, unit_no__in={p.unit_no for p in parsed if p.unit_no}
        )
    }
    persons = {
        p.person_no: p
        for p in Person.objects.filter(person_no__in={p.person_no for p in parsed if p.person_no})
    }
    payers = {f"U{u.pk}" for u in units.values()} | {f"P{p.pk}" for p in persons.values()}
    left = _outstanding(payers, {p.settle_period for p in parsed if p.settle_period}, [region.pk])
    flexible_here = set(
        Arrear.objects.filter(
            payer__in=[f"P{p.pk}" for p in persons.values()], region=region
        ).values_list("payer", flat=True)
    )
    return calc.check_rows(
        parsed,
        region_name=region.name,
        units=units,
        persons=persons,
        flexible_here=flexible_here,
        left=left,
    )


def _refuse_reimport(plan: ImportPlan) -> None:
    first = (
        Payment.objects.filter(batch=plan.batch)
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    if first is not None:
        when = timezone.localtime(first).strftime("%Y-%m-%d %H:%M")
        raise ImportRefused(
            [RowError(0, f"该文件已于 {when} 导入（批次 {plan.batch}），不能重复导入")],
            plan.filename,
        )


def _read(upload) -> tuple[str, str, list[ParsedRow]]:
    filename = clean_filename(getattr(upload, "name", None))
    try:
        raw_rows, sha = read_arrival_file(upload)
    except ImportRefused as e:
        e.filename = filename
        raise
    return filename, sha, parse_rows(raw_rows)


def _checked_plan(region: Region, filename: str, sha: str, parsed: list[ParsedRow]) -> ImportPlan:
    rows, errors = _check_rows(region, parsed)
    if errors:
        raise ImportRefused(errors, filename)
    plan = calc.make_plan(region, filename, sha, rows)
    _refuse_reimport(plan)
    return plan


def payments_import_preview(*, actor, region, upload) -> ImportPlan:
    """Check an arrival file without writing anything (the confirmation page shows the plan).
    Raises ImportRefused listing every bad row."""
    region = access_staff_region(actor, region=region, action="payment.import", message=NOT_STAFF)
    return _checked_plan(region, *_read(upload))


def payments_import(*, actor, region, upload) -> ImportResult:
    """Import the tax bureau's arrival file (到账文件) for a region: all rows or none. Every bad
    row is listed (ImportRefused) and nothing is written; on success one batch of payments,
    the arrears of every (payer, 结算期) touched rebuilt, and one audit row."""
    region = access_staff_region(actor, region=region, action="payment.import", message=NOT_STAFF)
    filename, sha, parsed = _read(upload)
    with transaction.atomic():
        # One import of a region at a time; then lock the payers the file may touch (as
        # payment_post does) and check the rows against the ledger as it is now.
        Region.objects.select_for_update().filter(pk=region.pk).values_list("pk").first()
        _lock_payers(
            Unit.objects.filter(
                region=region, unit_no__in={p.unit_no for p in parsed if p.unit_no}
            ).values_list("pk", flat=True),
            Person.objects.filter(
                person_no__in={p.person_no for p in parsed if p.person_no}
            ).values_list("pk", flat=True),
            {p.settle_period for p in parsed if p.settle_period},
        )
        plan = _checked_plan(region, filename, sha, parsed)
        Payment.objects.bulk_create(
            Payment(
                unit=r.unit,
                person=r.person,
                region=region,
                settle_period=r.settle_period,
                item=r.item,
                amount=r.amount,
                paid_on=r.paid_on,
                source=Payment.Source.IMPORT,
                batch=plan.batch,
                created_by=actor,
            )
            for r in plan.rows
        )
        touched = sorted(
            {
                (r.unit.pk if r.unit else 0, r.person.pk if r.person else 0, r.settle_period)
                for r in plan.rows
            }
        )
        for unit_id, person_id, period in touched:
            rebuild_arrears(
                unit_id=unit_id or None, person_id=person_id or None, settle_period=period
            )
        audit_record(
            actor=actor,
            action="payment.import",
            obj=region,
            region=region,
            detail={
                "batch": plan.batch,
                "file": plan.filename,
                "sha256": plan.sha256,
                "rows": len(plan.rows),
                "payers": plan.payer_count,
                "total": str(plan.total),
                "by_item": {x["item"]: str(x["amount"]) for x in plan.by_item},
            },
        )
    return ImportResult(
        batch=plan.batch, count=len(plan.rows), total=plan.total, rebuilt=len(touched)
    )
