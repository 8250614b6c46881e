"""The writes of the wage declarations (缴费基数申报; issue 5 "Wage bases"; seeds 001, 003): saving
a page (or an Excel list) into a draft, taking a person out, and writing the approved bases.
The filing kinds are in ``kinds.py``, the reads in ``selectors.py``.

- 年度工资申报 (``wage_annual``): per person of the unit's roster, last year's average monthly
  wage becomes the base from the region's new period (``valid_from``: July of the declaration
  year by default, or a chosen month of that year). The page lists the roster with the latest
  base pre-filled (seed 003: 查询出的缴费基数信息为最近一次申报的基数, 从未申报过的显示为空); the
  operator changes what changed. A unit may have thousands of persons: the page is paginated
  and each page is saved into the same draft (rows of other pages stay as they are).
- 机关事业月度工资申报 (``wage_monthly``): 机关 ("30") and 事业单位 ("50") only. Per person the
  fixed wage items (WAGE_ITEMS); the base is their sum, from that month.

Each person is one FilingRow: ``payload["before"]`` the latest base (and items), ``["after"]``
the declared wage (and items). A save is all or nothing: every refused row says why (not a
number, negative, not enrolled here, in another open filing) and nothing is written.
The filing's payload carries the header (``year``/``valid_from`` or ``period``) and a revision
number that changes with every save, so ``clean_payload`` can tell a submit from an edit and
check every row against the registry again when the filing is submitted.

On approval each approved row writes a WageBase (person, unit, valid_from; a re-declaration of
the same month replaces it) and sets ``Enrolment.wage_base`` of the person's open enrolments at
the unit. The settlement engine reads the latest WageBase with valid_from ≤ period, else the
enrolment's wage; so when the new base starts after the region's current period and the person
has no earlier WageBase, the enrolment's old wage is first kept as a WageBase from the person's
start month (months before the new base keep the old one). Approval is set-based: a few queries
whatever the number of rows."""

from __future__ import annotations

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404

from shebao.contributions.models import WageBase
from shebao.contributions.wages.calc import (
    NOT_ON_ROSTER,
    annual_after,
    filing_payload,
    is_institution,
    monthly_after,
    row_key,
)
from shebao.contributions.wages.imports import line_errors, match_rows, read_annual_upload
from shebao.contributions.wages.selectors import (
    WAGE_KINDS,
    blockers,
    clean_annual_header,
    clean_monthly_header,
    latest_bases,
    roster_ids,
    wage_unit,
)
from shebao.filings import services as filing_services
from shebao.filings.models import Filing, FilingKind, FilingRow
from shebao.filings.services import lock_own_filing
from shebao.registry.models import Enrolment, Person, Unit
from shebao.registry.roster import roster_refresh


def _payload(filing: Filing | None, unit: Unit, header: dict, count: int, names) -> dict:
    return filing_payload(
        filing.payload if filing is not None else None, unit.pk, header, count, names
    )


def _save_page(
    *, actor, unit: Unit, kind: str, filing: Filing | None, header: dict, errors, entries, build
):
    """Merge one page of entries (person id -> raw input) into the draft: a filled entry
    becomes (or replaces) the person's row, a blank one takes the person out."""
    errors = dict(errors)
    try:
        ids = [int(pid) for pid in entries]
    except (TypeError, ValueError):
        raise Http404 from None
    with transaction.atomic():
        locked = lock_own_filing(filing, unit, kind) if filing is not None else None
        roster = roster_ids(unit, ids)
        persons = {p.pk: p for p in Person.objects.filter(pk__in=roster)}
        latest = latest_bases(unit, roster)
        rows: dict[int, dict] = {}
        for pid in ids:
            if pid not in roster:
                errors[row_key(pid)] = NOT_ON_ROSTER
                continue
            after, error = build(entries[pid] if pid in entries else entries[str(pid)])
            if error:
                errors[row_key(pid)] = error
            elif after is not None:
                person = persons[pid]
                rows[pid] = {
                    "person": person,
                    "id_number": person.id_number,
                    "name": person.name,
                    "payload": {"before": latest[pid].as_payload(), "after": after},
                }
        by_number = {r["id_number"]: pid for pid, r in rows.items()}
        for id_number, message in blockers(unit, by_number, exclude_filing=locked).items():
            errors[row_key(by_number[id_number])] = f"{rows[by_number[id_number]]['name']}{message}"
        if errors:
            raise ValidationError(errors)
        if locked is None:
            if not rows:
                raise ValidationError({NON_FIELD_ERRORS: "请至少填写一名人员的工资"})
            ordered = list(rows.values())
            # The rows go in below with one bulk insert (the blockers were checked above in
            # one query), not through filing_create's row-by-row check: a page may be a
            # whole unit's Excel file.
            created = filing_services.filing_create(
                actor=actor,
                kind=kind,
                region=unit.region,
                unit=unit,
                payload=_payload(None, unit, header, len(ordered), (r["name"] for r in ordered)),
            )
            _insert_rows(created, ordered)
            return created
        FilingRow.objects.filter(filing=locked, person_id__in=ids).delete()
        _insert_rows(locked, list(rows.values()))
        names = locked.rows.order_by("id").values_list("name", flat=True)[:5]
        payload = _payload(locked, unit, header, locked.rows.count(), names)
        return filing_services.filing_update(actor=actor, filing=locked, payload=payload)


def _insert_rows(filing: Filing, rows: list[dict]) -> None:
    """Bulk insert; a person taken by another filing meanwhile trips the database's one open
    filing per person and nothing is written."""
    try:
        with transaction.atomic():
            FilingRow.objects.bulk_create(
                (
                    FilingRow(
                        filing=filing,
                        person=r["person"],
                        id_number=r["id_number"],
                        name=r["name"],
                        payload=r["payload"],
                    )
                    for r in rows
                ),
                batch_size=1000,
            )
    except IntegrityError:
        raise ValidationError(
            {NON_FIELD_ERRORS: "有人员刚被其他业务占用，请刷新页面后重新保存"}
        ) from None


def annual_wage_save(
    *, actor, year, valid_from, entries: dict, filing: Filing | None = None
) -> Filing:
    """Save one page of the annual declaration (年度工资申报): ``entries`` maps a person id
    to the typed average monthly wage of last year ("" takes the person out). A new draft when
    ``filing`` is None. Raises ValidationError keyed by header field and ``row_key(person)``."""
    unit = wage_unit(actor, action="wage.declare")
    header, errors = clean_annual_header(unit, year, valid_from)
    return _save_page(
        actor=actor,
        unit=unit,
        kind=FilingKind.WAGE_ANNUAL,
        filing=filing,
        header=header,
        errors=errors,
        entries=entries,
        build=annual_after,
    )


def monthly_wage_save(*, actor, period, entries: dict, filing: Filing | None = None) -> Filing:
    """Save one page of 机关事业月度工资申报: ``entries`` maps a person id to {item code: amount}
    (all blank takes the person out). Only 机关 and 事业单位 declare itemized wages."""
    unit = wage_unit(actor, action="wage.declare")
    if not is_institution(unit):
        raise ValidationError({NON_FIELD_ERRORS: "只有机关、事业单位申报月度分项工资"})
    header, errors = clean_monthly_header(unit, period)
    return _save_page(
        actor=actor,
        unit=unit,
        kind=FilingKind.WAGE_MONTHLY,
        filing=filing,
        header=header,
        errors=errors,
        entries=entries,
        build=monthly_after,
    )


def wage_row_remove(*, actor, filing: Filing, row_id: int) -> Filing:
    """Take one person out of a draft or returned wage declaration (e.g. one who has left the
    unit since it was saved and so is no longer on the pages)."""
    if filing.kind not in WAGE_KINDS:
        raise Http404
    unit = wage_unit(actor, action="wage.row_remove")
    with transaction.atomic():
        locked = lock_own_filing(filing, unit, filing.kind)
        deleted, _ = FilingRow.objects.filter(filing=locked, pk=row_id).delete()
        if not deleted:
            raise Http404
        names = locked.rows.order_by("id").values_list("name", flat=True)[:5]
        header = {k: v for k, v in locked.payload.items() if k in ("year", "valid_from", "period")}
        payload = _payload(locked, unit, header, locked.rows.count(), names)
        return filing_services.filing_update(actor=actor, filing=locked, payload=payload)


def annual_wage_import(*, actor, year, valid_from, upload, filing: Filing | None = None) -> Filing:
    """Save the uploaded Excel list into the declaration at once (all or nothing): every row
    that is refused is listed with its line number and the reason."""
    unit = wage_unit(actor, action="wage.declare")
    rows = read_annual_upload(upload)
    roster = Enrolment.objects.filter(unit=unit, stop_period__isnull=True).values("person_id")
    persons = {
        p.person_no: p
        for p in Person.objects.filter(
            person_no__in={no for _, no, _, _ in rows}, pk__in=roster
        ).only("pk", "person_no", "name")
    }
    entries, where, problems = match_rows(rows, persons)
    header, errors = clean_annual_header(unit, year, valid_from)
    try:
        if problems:
            raise ValidationError({NON_FIELD_ERRORS: problems, **errors})
        return _save_page(
            actor=actor,
            unit=unit,
            kind=FilingKind.WAGE_ANNUAL,
            filing=filing,
            header=header,
            errors=errors,
            entries=entries,
            build=annual_after,
        )
    except ValidationError as e:
        if not hasattr(e, "error_dict"):
            raise
        names = {v.pk: v.name for v in persons.values()}
        raise line_errors(e, where=where, names=names) from None


# --- applying approved declarations -------------------------------------------------------------


def apply_bases(*, unit: Unit, valid_from: int, declared: dict[int, tuple], filing) -> dict:
    """Write the approved bases: ``declared`` maps person id -> (wage, items). Set-based."""
    ids = list(declared)
    existing = {
        wb.person_id: wb
        for wb in WageBase.objects.filter(unit=unit, valid_from=valid_from, person_id__in=ids)
    }
    earlier = set(
        WageBase.objects.filter(
            unit=unit, valid_from__lt=valid_from, person_id__in=ids
        ).values_list("person_id", flat=True)
    )
    enrolments = list(
        Enrolment.objects.filter(unit=unit, person_id__in=ids, stop_period__isnull=True).order_by(
            "person_id", "insurance_type"
        )
    )
    future = valid_from > unit.region.current_period
    create: list[WageBase] = []
    kept = 0
    if future:
        # Keep the old wage for the months before the new base (see the module docstring).
        first: dict[int, Enrolment] = {}
        start: dict[int, int] = {}
        for e in enrolments:
            first.setdefault(e.person_id, e)
            start[e.person_id] = min(start.get(e.person_id, e.start_period), e.start_period)
        for pid, e in first.items():
            if pid not in earlier and e.wage_base > 0 and start[pid] < valid_from:
                create.append(
                    WageBase(person_id=pid, unit=unit, valid_from=start[pid], wage=e.wage_base)
                )
                kept += 1
    update: list[WageBase] = []
    for pid, (wage, items) in declared.items():
        wb = existing.get(pid)
        if wb is None:
            create.append(
                WageBase(
                    person_id=pid,
                    unit=unit,
                    valid_from=valid_from,
                    wage=wage,
                    items=items,
                    filing=filing,
                )
            )
        else:
            wb.wage, wb.items, wb.filing = wage, items, filing
            update.append(wb)
    WageBase.objects.bulk_create(create, batch_size=1000)
    WageBase.objects.bulk_update(update, ["wage", "items", "filing"], batch_size=1000)
    for e in enrolments:
        e.wage_base = declared[e.person_id][0]
    Enrolment.objects.bulk_update(enrolments, ["wage_base"], batch_size=1000)
    # The roster read model folds in Enrolment.wage_base: recompute the declared persons.
    roster_refresh(unit_ids=[unit.pk], person_ids=ids)
    return {"declared": len(declared), "replaced": len(update), "kept_old_base": kept}
