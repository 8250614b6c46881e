"""Reads of the enrolment lifecycle, scoped by the operator's unit: what typing an ID number
decides (seed 001 Handan, ``enrolment_lookup``), the roster to pick persons from, the unit's
drafts to add to, and the data of the enrolment and stop pages.

Typing an ID number decides the business: never insured → 新参保 (the person is created at
approval); insured before and stopped now → 续保; insured here for some types → 险种新增;
insured at another unit now → 单位间转移, refused: the old unit stops the person (or transfers
them out) first. 转入 takes up a person whose last enrolment ended with 转出 at another unit of
the same region, keeping their data."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import Case, Q, QuerySet, Value, When
from django.http import Http404
from django.utils import timezone

from shebao.core import hooks
from shebao.core.audit import audit_record
from shebao.core.ids import resident_id_birth_date, resident_id_sex
from shebao.core.inputs import id_type_of, normalize_resident_layout_id
from shebao.core.periods import Period
from shebao.filings.kinds import handler_for
from shebao.filings.models import Filing, FilingKind, FilingRow, FilingState
from shebao.filings.services import open_filing_blocker
from shebao.registry.access import access_operator_unit, access_unit_filing
from shebao.registry.enrolment.calc import (
    ADD_TYPES,
    BETWEEN_UNITS,
    BUSINESS_LABELS,
    INJURY,
    NEW,
    RESUME,
    TRANSFER_IN,
    iso,
    ordered_types,
    period_label,
)
from shebao.registry.models import Enrolment, Person, Unit
from shebao.registry.selectors import person_by_id_number

ROSTER_PAGE_SIZE = 50


# --- what an ID number means for this unit --------------------------------------------------------


@dataclass
class Lookup:
    """What typing an ID number decided for a unit (seed 001: the system analyses whether the
    person needs 参保登记, 续保, 单位间转移 or 险种新增)."""

    id_number: str
    business: str = NEW
    person: Person | None = None
    refusal: str = ""  # why it cannot be filed; shown next to the ID number
    notes: list[str] = field(default_factory=list)
    open_here: list[str] = field(default_factory=list)  # types open at this unit
    available: list[str] = field(default_factory=list)  # types that may be chosen
    # type -> the latest stop month the new start month must come after
    last_stops: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.refusal

    @property
    def business_label(self) -> str:
        return BUSINESS_LABELS[self.business]

    @property
    def birth_date(self) -> date:
        return self.person.birth_date if self.person else resident_id_birth_date(self.id_number)

    @property
    def sex_label(self) -> str:
        sex = self.person.sex if self.person else resident_id_sex(self.id_number)
        return Person.Sex(sex).label


def _refusal_before_history(unit: Unit, id_number: str, filing, keep_row) -> str:
    """Refusals that do not depend on the person: the unit's state, another open filing."""
    if unit.status != Unit.Status.ACTIVE:
        return f"本单位状态为“{unit.get_status_display()}”，不能办理人员参保"
    if filing is not None and any(
        r.id_number == id_number and r.pk != keep_row for r in filing.rows.all()
    ):
        return "该人员已在本业务中，请在人员列表中修改"
    blocker = open_filing_blocker(id_number, unit=unit, exclude_filing=filing)
    return blocker or ""


def _transfer_in_refusal(lookup: Lookup, last_stop, transferred_out: bool, unit: Unit) -> str:
    if lookup.open_here:
        return "该人员已在本单位参保，不能转入；如需增加险种请通过“人员参保”办理"
    if last_stop is None:
        return "该人员没有参保记录，不能转入；请通过“人员参保”办理新参保"
    if not transferred_out:
        return "该人员最近一次停保不是由其他单位办理的转出，不能转入；请通过“人员参保”办理续保"
    if last_stop.region_id != unit.region_id:
        return "该人员由其他统筹区转出，跨统筹区转移接续请到经办机构办理"
    return ""


def classify(
    unit: Unit, id_number: str, kind: str, *, filing: Filing | None = None, keep_row=None
) -> Lookup:
    """Decide the business of ``id_number`` at ``unit`` for a filing of ``kind``. ``filing``
    and ``keep_row``: the draft being edited (its own row does not block)."""
    lookup = Lookup(id_number=id_number)
    person = person_by_id_number(id_number, id_type=id_type_of(id_number))
    lookup.person = person
    lookup.refusal = _refusal_before_history(unit, id_number, filing, keep_row)
    if lookup.refusal:
        return lookup
    if person is None:
        if kind == FilingKind.TRANSFER_IN:
            lookup.refusal = "该人员从未参保，不能转入；请通过“人员参保”办理新参保"
        lookup.available = list(unit.insurance_types)
        return lookup

    if person.is_locked:
        reason = f"（{person.lock_reason}）" if person.lock_reason else ""
        lookup.notes.append(f"该人员信息已锁定{reason}：可以参保、停保，但不能修改关键信息")
    enrolments = list(person.enrolments.all())
    open_all = [e for e in enrolments if e.stop_period is None]
    stopped = [e for e in enrolments if e.stop_period is not None]
    lookup.open_here = ordered_types(e.insurance_type for e in open_all if e.unit_id == unit.pk)
    elsewhere = [e for e in open_all if e.unit_id != unit.pk and e.insurance_type != INJURY]
    for e in stopped:
        if e.insurance_type != INJURY or e.unit_id == unit.pk:
            lookup.last_stops[e.insurance_type] = max(
                lookup.last_stops.get(e.insurance_type, 0), e.stop_period
            )
    last_stop = max(
        stopped, key=lambda e: (e.stop_period, e.stop_date or date.min, e.pk), default=None
    )

    if (
        last_stop is not None
        and not open_all
        and last_stop.stop_reason == Enrolment.StopReason.DEATH
    ):
        lookup.refusal = "该人员已办理死亡停保，不能参保"
        return lookup
    if elsewhere:
        lookup.business = BETWEEN_UNITS
        if any(e.unit_id is None for e in elsewhere):
            lookup.refusal = (
                "该人员正以个人身份（灵活就业）参保，须先停止个人参保，再由单位办理参保"
            )
        else:
            lookup.refusal = (
                "该人员正在其他单位参保（单位间转移）：须由原单位先办理停保或转出，"
                "再由本单位办理参保或转入"
            )
        return lookup
    if any(e.insurance_type == INJURY and e.unit_id != unit.pk for e in open_all):
        lookup.notes.append("该人员同时在其他单位参加工伤保险（工伤保险可在多个单位同时参加）")
    transferred_out = (
        last_stop is not None
        and last_stop.stop_reason == Enrolment.StopReason.TRANSFERRED
        and last_stop.unit_id not in (None, unit.pk)
    )

    if kind == FilingKind.TRANSFER_IN:
        lookup.refusal = _transfer_in_refusal(lookup, last_stop, transferred_out, unit)
        if not lookup.refusal:
            lookup.business = TRANSFER_IN
            lookup.notes.append(f"该人员已于 {iso(last_stop.stop_date)} 由原单位办理转出")
        lookup.available = list(unit.insurance_types)
        return lookup

    if lookup.open_here:
        lookup.business = ADD_TYPES
        lookup.available = [t for t in unit.insurance_types if t not in lookup.open_here]
        if not lookup.available:
            lookup.refusal = "该人员已在本单位参加全部险种，无需新增"
        return lookup
    lookup.business = RESUME if stopped else NEW
    if transferred_out:
        lookup.notes.append("该人员已由原单位办理转出，也可在“人员转移 → 转入”中办理")
    lookup.available = list(unit.insurance_types)
    return lookup


def enrolment_lookup(
    *,
    actor,
    id_number: str,
    kind: str = FilingKind.ENROLMENT,
    filing: Filing | None = None,
    row_id: int | None = None,
    audit: bool = True,
) -> Lookup:
    """Look a person up by ID number (sent by POST) for the actor's unit and decide the
    business. An invalid ID number raises ValidationError on ``id_number``; a business that
    cannot be filed comes back with ``refusal`` set. ``filing``/``row_id``: the draft being
    edited (its own rows do not block). A typed look-up is audited; the pages that only
    rebuild the form around a save (audited itself) or a row of the unit's own draft pass
    ``audit=False``."""
    unit = access_operator_unit(
        actor, business_kind=handler_for(kind).business_kind, action=f"{kind}.lookup"
    )
    try:
        number = normalize_resident_layout_id(id_number)
    except ValidationError as e:
        raise ValidationError({"id_number": e.messages}) from None
    if filing is not None and (filing.unit_id != unit.pk or filing.kind != kind):
        raise Http404
    lookup = classify(unit, number, kind, filing=filing, keep_row=row_id)
    if not audit:
        return lookup
    audit_record(
        actor=actor,
        action=f"{kind}.lookup",
        object_type="person",
        object_id=str(lookup.person.pk) if lookup.person else "",
        object_label=number,
        region=unit.region,
        detail={"business": lookup.business, "refused": bool(lookup.refusal)},
    )
    return lookup


# --- the roster and the drafts --------------------------------------------------------------------


def unit_roster(actor, *, q: str = "") -> QuerySet[Person]:
    """Persons with an open enrolment at the operator's unit (the roster to pick from), with a
    search by name or person number."""
    qs = Person.objects.filter(
        pk__in=Enrolment.objects.filter(unit_id=actor.unit_id, stop_period__isnull=True).values(
            "person_id"
        )
    )
    q = (q or "").strip()
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(person_no=q))
    return qs.order_by("name", "person_no")


def roster_open_types(unit_id: int, person_ids) -> dict[int, list[str]]:
    """Open insurance types at the unit per person, in one query."""
    result: dict[int, list[str]] = {}
    for person_id, t in (
        Enrolment.objects.filter(
            unit_id=unit_id, person_id__in=list(person_ids), stop_period__isnull=True
        )
        .order_by("insurance_type")
        .values_list("person_id", "insurance_type")
    ):
        result.setdefault(person_id, []).append(t)
    return result


def unit_drafts(actor, kind: str) -> QuerySet[Filing]:
    """The unit's drafts of this kind that were never submitted: "save" can add a person to
    one of them (the current batch). The actor's own come first (newest first), then the
    other operators' (newest first): the default is never a colleague's batch while the actor
    has one of their own."""
    mine = Case(When(created_by_id=actor.pk, then=Value(0)), default=Value(1))
    return (
        Filing.objects.filter(
            unit_id=actor.unit_id, kind=kind, state=FilingState.DRAFT, submitted_at__isnull=True
        )
        .select_related("created_by")
        .order_by(mine, "-updated_at", "-id")
    )


def filing_row_items(filing: Filing) -> list[dict]:
    """The persons of a filing as its pages list them (ID numbers masked)."""
    items = []
    for row in filing.rows.select_related("person"):
        after = row.payload.get("after", {})
        items.append(
            {
                "row": row,
                "masked_id": row.id_number_masked,
                "business": BUSINESS_LABELS.get(after.get("business"), ""),
                "types": "、".join(after.get("insurance_types", [])),
                "start": period_label(after.get("start_period")),
                "stop_date": after.get("stop_date", ""),
                "locked": bool(row.person_id and row.person.is_locked),
            }
        )
    return items


# --- page data ------------------------------------------------------------------------------------


@dataclass
class FilingPage:
    """What every enrolment or stop page starts from: the operator's unit (allowed to file the
    kind) and the filing being edited, if any (the unit's own, else 404)."""

    actor: object
    kind: str
    unit: Unit
    filing: Filing | None

    @property
    def current_period(self) -> Period:
        return Period.parse(self.unit.region.current_period)

    @property
    def editable(self) -> bool:
        return self.filing is None or self.filing.is_editable

    @cached_property
    def rows(self) -> list[dict]:
        return filing_row_items(self.filing) if self.filing is not None else []

    @cached_property
    def wage_bounds(self):
        """The declared wage's floor and cap in the unit's region this 结算期 (or None)."""
        return hooks.call(
            "contributions.wage_bounds", self.unit.region_id, int(self.current_period)
        )

    @cached_property
    def drafts(self) -> list[Filing]:
        """Drafts to add a person to; none when a filing is being edited."""
        return list(unit_drafts(self.actor, self.kind)[:5]) if self.filing is None else []


def filing_page(actor, *, kind: str, serial_no: str | None = None) -> FilingPage:
    """The page data of a new (``serial_no`` None) or edited filing of ``kind``: 403 for an
    operator not allowed to file it, 404 for another unit's filing."""
    unit = access_operator_unit(
        actor, business_kind=handler_for(kind).business_kind, action=f"{kind}.view"
    )
    filing = access_unit_filing(actor, serial_no=serial_no, kind=kind) if serial_no else None
    return FilingPage(actor=actor, kind=kind, unit=unit, filing=filing)


@dataclass
class RowPage:
    page: FilingPage
    row: FilingRow | None = None
    lookup: Lookup | None = None


def enrolment_row_page(actor, *, kind: str, serial_no: str, row_id: int) -> RowPage:
    """One person of an editable enrolment or transfer-in filing with what their ID number
    decides now; a row of another filing answers 404. A filing no longer editable comes back
    without the row (the page says so)."""
    page = filing_page(actor, kind=kind, serial_no=serial_no)
    if not page.editable:
        return RowPage(page=page)
    row = page.filing.rows.filter(pk=row_id).first()
    if row is None:
        raise Http404
    lookup = classify(page.unit, row.id_number, kind, filing=page.filing, keep_row=row.pk)
    return RowPage(page=page, row=row, lookup=lookup)


def stop_initial(page: FilingPage) -> tuple[dict, list[int]]:
    """The stop form's initial data and the persons ticked: today and the unit's types for a
    new filing, what the filing holds when one is edited."""
    initial = {
        "stop_date": timezone.localdate(),
        "insurance_types": list(page.unit.insurance_types),
    }
    if page.filing is None:
        return initial, []
    rows = list(page.filing.rows.all())
    if rows:
        after = rows[0].payload.get("after", {})
        initial = {
            "stop_date": after.get("stop_date"),
            "reason": after.get("reason"),
            "insurance_types": after.get("insurance_types"),
        }
    return initial, [r.person_id for r in rows if r.person_id]


def stop_roster_entries(
    actor, *, unit: Unit, q: str, page_number, selected: list[int]
) -> tuple[Page, list[dict]]:
    """One page of the roster to tick persons on, searched by ``q``; the ticked persons not on
    this page come first, so a search never loses them."""
    roster = Paginator(unit_roster(actor, q=q), ROSTER_PAGE_SIZE).get_page(page_number)
    on_page = {p.pk for p in roster}
    extra = list(unit_roster(actor).filter(pk__in=selected).exclude(pk__in=on_page))
    persons = [*extra, *roster]
    types = roster_open_types(unit.pk, [p.pk for p in persons])
    chosen = set(selected)
    entries = [
        {
            "person": p,
            "masked_id": p.masked_id_number,
            "types": "、".join(types.get(p.pk, [])),
            "checked": p.pk in chosen,
        }
        for p in persons
    ]
    return roster, entries
