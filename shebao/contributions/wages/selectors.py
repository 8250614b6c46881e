"""Reads of the wage declarations, scoped by the operator's unit: the declaration headers
(years, months after the last settlement), the latest base of each person (what the pages
pre-fill), the persons held by another open filing, the paginated roster merged with the
draft's and the typed values, the Excel list's rows and the unit's wage filings."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet

from shebao.contributions.models import WageBase
from shebao.contributions.params.selectors import WageBounds, last_settled_period, wage_bounds
from shebao.contributions.wages.calc import (
    DEFAULT_MONTH,
    WAGE_ITEMS,
    is_institution,
    row_key,
)
from shebao.core.money import money_text
from shebao.core.periods import Period
from shebao.filings.business import BusinessKind
from shebao.filings.kinds import handler_for
from shebao.filings.models import OPEN_STATES, Filing, FilingKind, FilingRow, FilingState
from shebao.registry.access import access_operator_unit, access_unit_filing
from shebao.registry.enrolment.selectors import unit_roster
from shebao.registry.models import Enrolment, Person, Unit

ANNUAL = FilingKind.WAGE_ANNUAL.value
MONTHLY = FilingKind.WAGE_MONTHLY.value
WAGE_KINDS = (ANNUAL, MONTHLY)
PAGE_SIZE = 50


def wage_unit(actor, *, action: str) -> Unit:
    """The operator's unit when they may file wage declarations (else refused and audited)."""
    return access_operator_unit(actor, business_kind=BusinessKind.WAGE, action=action)


def wage_filing(actor, *, serial_no: str, kind=WAGE_KINDS, action: str) -> Filing:
    """The unit's wage filing (403 without the wage permission, 404 for another unit's)."""
    wage_unit(actor, action=action)
    return access_unit_filing(actor, serial_no=serial_no, kind=kind)


# --- headers ------------------------------------------------------------------------------------


def annual_years(unit: Unit) -> list[int]:
    year = Period.parse(unit.region.current_period).year
    return [year - 1, year, year + 1]


def clean_annual_header(unit: Unit, year, valid_from) -> tuple[dict, dict[str, str]]:
    """({"year", "valid_from"}, errors): the declaration year is around the region's current
    period; the new base starts in a month of that year (July unless chosen)."""
    errors: dict[str, str] = {}
    years = annual_years(unit)
    try:
        year = int(str(year).strip())
    except (TypeError, ValueError):
        year = None
    if year not in years:
        errors["year"] = f"申报年度只能是{'、'.join(str(y) for y in years)}年"
        return {}, errors
    text = str(valid_from or "").strip()
    try:
        start = Period.parse(text) if text else Period(year, DEFAULT_MONTH)
    except ValueError:
        errors["valid_from"] = "新基数起始年月格式应为yyyyMM，例如202507"
        return {}, errors
    if start.year != year:
        errors["valid_from"] = f"新基数起始年月须在申报年度内（{year}01 至 {year}12）"
        return {}, errors
    return {"year": year, "valid_from": int(start)}, errors


def monthly_bounds(unit: Unit) -> tuple[Period, Period]:
    """The months a unit may declare itemized wages for: after its last settlement, up to
    the region's next settlement period."""
    current = Period.parse(unit.region.current_period)
    settled = last_settled_period(unit)
    first = Period.parse(settled) + 1 if settled else current
    return min(first, current + 1), current + 1


def clean_monthly_header(unit: Unit, period) -> tuple[dict, dict[str, str]]:
    errors: dict[str, str] = {}
    try:
        month = Period.parse(str(period or "").strip())
    except ValueError:
        return {}, {"period": "工资所属年月格式应为yyyyMM，例如202508"}
    first, last = monthly_bounds(unit)
    settled = last_settled_period(unit)
    if settled is not None and int(month) <= settled:
        errors["period"] = (
            f"本单位已结算至{Period.parse(settled).label}，请申报{first.label}及以后月份的工资"
        )
    elif month > last:
        errors["period"] = f"工资所属年月不能晚于下一结算期（{last.label}）"
    elif month < first:
        errors["period"] = f"工资所属年月不能早于{first.label}"
    return ({} if errors else {"period": int(month)}), errors


def _header_initial(unit: Unit, kind: str, filing: Filing | None, params) -> dict:
    """The header form's initial values: the draft's, else the query string's, else defaults."""
    if filing is not None:
        payload = filing.payload
        if kind == ANNUAL:
            return {"year": payload.get("year"), "valid_from": str(payload.get("valid_from", ""))}
        return {"period": str(payload.get("period", ""))}
    if kind == ANNUAL:
        year = params.get("year") or Period.parse(unit.region.current_period).year
        return {"year": year, "valid_from": params.get("valid_from") or ""}
    first, _ = monthly_bounds(unit)
    return {"period": params.get("period") or str(first)}


def _open_filing(unit: Unit, kind: str, initial: dict) -> Filing | None:
    """The unit's open declaration of the period ``initial`` names, if any."""
    if kind == ANNUAL:
        header = clean_annual_header(unit, initial["year"], initial["valid_from"])[0]
    else:
        header = clean_monthly_header(unit, initial["period"])[0]
    if not header:
        return None
    key = handler_for(kind).subject_key({"unit": unit.pk, **header})
    return Filing.objects.filter(
        unit=unit, kind=kind, subject_key=key, state__in=OPEN_STATES
    ).first()


# --- the latest base of each person -------------------------------------------------------------


@dataclass
class Latest:
    """What the page pre-fills: the latest declared base at the unit (a WageBase), else the
    wage declared at enrolment; empty when never declared."""

    wage: Decimal | None = None
    items: dict = field(default_factory=dict)
    valid_from: int | None = None
    source: str = ""  # "declared" | "enrolment" | ""

    def as_payload(self) -> dict:
        return {
            "wage": money_text(self.wage),
            "items": dict(self.items),
            "valid_from": self.valid_from,
            "source": self.source,
        }

    @property
    def source_label(self) -> str:
        if self.source == "declared" and self.valid_from:
            return f"{Period.parse(self.valid_from).label}起"
        return {"enrolment": "参保时申报", "": "从未申报"}.get(self.source, "")


def latest_bases(unit: Unit, person_ids) -> dict[int, Latest]:
    ids = list(person_ids)
    result: dict[int, Latest] = {pid: Latest() for pid in ids}
    for pid, wage in (
        Enrolment.objects.filter(unit=unit, person_id__in=ids, stop_period__isnull=True)
        .order_by("-insurance_type")
        .values_list("person_id", "wage_base")
    ):
        if wage:  # ordered so the lowest type code (pension) wins
            result[pid] = Latest(wage=wage, source="enrolment")
    for pid, wage, items, valid_from in (
        WageBase.objects.filter(unit=unit, person_id__in=ids)
        .order_by("valid_from")
        .values_list("person_id", "wage", "items", "valid_from")
    ):
        result[pid] = Latest(wage=wage, items=items or {}, valid_from=valid_from, source="declared")
    return result


def roster_ids(unit: Unit, person_ids) -> set[int]:
    """Which of the persons (ids, or a subquery of ids) have an open enrolment at the unit."""
    if not isinstance(person_ids, QuerySet):
        person_ids = list(person_ids)
    return set(
        Enrolment.objects.filter(
            unit=unit, person_id__in=person_ids, stop_period__isnull=True
        ).values_list("person_id", flat=True)
    )


def blockers(unit: Unit, id_numbers, *, exclude_filing=None) -> dict[str, str]:
    """id_number -> why the person cannot be declared (in another not-yet-approved filing),
    in one query. Another unit's filing is not named."""
    by_lookup = {h: number for number in id_numbers for h in FilingRow.id_number.lookups(number)}
    rows = FilingRow.objects.filter(id_number_lookup__in=list(by_lookup), is_open=True)
    rows = rows.select_related("filing").defer("id_number_enc", "id_number_lookup", "payload")
    if exclude_filing is not None:
        rows = rows.exclude(filing=exclude_filing)
    found = {}
    for row in rows:
        if row.filing.unit_id == unit.pk:
            found[by_lookup[row.id_number_lookup]] = (
                f"已在业务 {row.filing.serial_no}（{row.filing.get_kind_display()}）中办理，"
                "请先提交办结或退单"
            )
        else:
            found[by_lookup[row.id_number_lookup]] = "在其他单位有正在办理的业务，暂不能申报"
    return found


def stale_rows(filing: Filing) -> list[FilingRow]:
    """Rows of a draft whose person is no longer on the unit's open roster."""
    unit = Unit.objects.get(pk=filing.unit_id)
    rows = list(
        filing.rows.all().only("id", "person_id", "name", "id_number_enc", "id_number_lookup")
    )
    roster = roster_ids(unit, filing.rows.values("person_id"))
    return [r for r in rows if r.person_id not in roster]


# --- the pages ----------------------------------------------------------------------------------


@dataclass
class Entry:
    """One person on a page of the declaration."""

    person: Person
    latest: Latest
    in_draft: bool = False
    draft_after: dict = field(default_factory=dict)
    blocker: str = ""

    @property
    def masked_id(self) -> str:
        return self.person.masked_id_number

    def initial_wage(self) -> str:
        if self.in_draft:
            return self.draft_after.get("wage", "")
        return money_text(self.latest.wage)

    def initial_items(self) -> dict[str, str]:
        if self.in_draft:
            return dict(self.draft_after.get("items") or {})
        return dict(self.latest.items or {})


def page_entries(actor, *, filing: Filing | None, q: str, page_number):
    """(page, entries) of the roster with what each row shows: the latest base, the draft's
    value, and whether another open filing holds the person."""
    unit = Unit.objects.select_related("region").get(pk=actor.unit_id)
    # The roster the unit may declare: its open enrolments, searchable by name or person no.
    page: Page = Paginator(unit_roster(actor, q=q), PAGE_SIZE).get_page(page_number)
    persons = list(page)
    ids = [p.pk for p in persons]
    latest = latest_bases(unit, ids)
    draft = {}
    if filing is not None:
        draft = {r.person_id: r for r in filing.rows.filter(person_id__in=ids)}
    held = blockers(unit, [p.id_number for p in persons], exclude_filing=filing)
    entries = []
    for p in persons:
        row = draft.get(p.pk)
        entries.append(
            Entry(
                person=p,
                latest=latest.get(p.pk, Latest()),
                in_draft=row is not None,
                draft_after=row.payload.get("after", {}) if row else {},
                blocker=f"{p.name}{held[p.id_number]}" if p.id_number in held else "",
            )
        )
    return page, entries


def unit_wage_filings(actor, *, open_only: bool = False) -> QuerySet[Filing]:
    qs = Filing.objects.filter(unit_id=actor.unit_id, kind__in=WAGE_KINDS)
    if open_only:
        qs = qs.filter(state__in=[FilingState.DRAFT, FilingState.SUBMITTED, FilingState.RETURNED])
    return qs.order_by("-created_at", "-id")


def wages_home(actor) -> dict:
    """What the 缴费基数申报 home page shows: the unit, the months open to the monthly
    declaration, the open and the recent wage filings."""
    unit = wage_unit(actor, action="wage.view")
    first, last = monthly_bounds(unit)
    return {
        "unit": unit,
        "institution": is_institution(unit),
        "monthly_first": first,
        "monthly_last": last,
        "open_filings": unit_wage_filings(actor, open_only=True),
        "recent": unit_wage_filings(actor).select_related("created_by")[:20],
        "current": Period.parse(unit.region.current_period),
    }


@dataclass
class DeclarationStart:
    """Where a declaration page starts: the unit, the draft (when editing one) and the header's
    initial values; or why the page sends the operator elsewhere (``not_institution``, a
    ``filing`` no longer editable, an ``existing`` open declaration of the same period)."""

    unit: Unit
    filing: Filing | None = None
    initial: dict = field(default_factory=dict)
    existing: Filing | None = None
    not_institution: bool = False


def declaration_start(
    actor, *, kind: str, serial_no: str | None, params, fresh: bool
) -> DeclarationStart:
    """``params`` is the query string; ``fresh`` (a GET of a new declaration) looks for an open
    declaration of the same period to continue instead."""
    unit = wage_unit(actor, action="wage.view")
    if kind == MONTHLY and not is_institution(unit):
        return DeclarationStart(unit=unit, not_institution=True)
    filing = access_unit_filing(actor, serial_no=serial_no, kind=kind) if serial_no else None
    if filing is not None and not filing.is_editable:
        return DeclarationStart(unit=unit, filing=filing)
    initial = _header_initial(unit, kind, filing, params)
    existing = _open_filing(unit, kind, initial) if filing is None and fresh else None
    return DeclarationStart(unit=unit, filing=filing, initial=initial, existing=existing)


@dataclass
class DeclarationRows:
    """One page of the roster as the declaration page shows it."""

    page: Page
    rows: list[dict]  # {"entry", "value", "error"} per person on the page
    stray_errors: list[str]  # row errors of persons not on this page
    stale: list[FilingRow]  # draft rows of persons no longer on the roster
    bounds: WageBounds | None = None  # the floor and cap the declared wages are held to


def declaration_bounds(unit: Unit, filing, initial: dict) -> WageBounds | None:
    """The floor and cap in force when the new base starts (the draft's or the header's
    新基数起始年月, else the region's current 结算期)."""
    payload = filing.payload if filing is not None else {}
    start = str(payload.get("valid_from") or payload.get("period") or "")
    start = start or str(initial.get("valid_from") or initial.get("period") or "")
    try:
        period = Period.parse(start)
    except (TypeError, ValueError):
        period = Period.parse(unit.region.current_period)
    return wage_bounds(unit.region_id, int(period))


def declaration_rows(
    actor,
    *,
    kind: str,
    filing,
    q: str,
    page_number,
    posted: dict,
    row_errors: dict,
    bounds: WageBounds | None = None,
) -> DeclarationRows:
    """The page's rows: what was typed (``posted``) when a save was refused, else the draft's
    value, else the latest base; each with its error."""
    page, entries = page_entries(actor, filing=filing, q=q, page_number=page_number)
    shown = {e.person.pk for e in entries}
    stray = [msg for key, msg in row_errors.items() if int(key[1:]) not in shown]
    rows = []
    for e in entries:
        pid = e.person.pk
        if kind == ANNUAL:
            value = posted.get(pid, e.initial_wage()) if posted else e.initial_wage()
        else:
            value = posted.get(pid, e.initial_items()) if posted else e.initial_items()
            value = [(code, label, value.get(code, "")) for code, label in WAGE_ITEMS]
        row = {"entry": e, "value": value, "error": row_errors.get(row_key(pid), "")}
        if bounds is not None and kind == ANNUAL and value not in (None, ""):
            row["base"] = bounds.base_label(value)
        rows.append(row)
    stale = stale_rows(filing) if filing is not None else []
    return DeclarationRows(page=page, rows=rows, stray_errors=stray, stale=stale, bounds=bounds)


def annual_template(actor, *, serial_no: str = "") -> tuple[Unit, list[list[str]]]:
    """(unit, rows) of the Excel list: every person of the roster with the latest base and
    what to declare pre-filled (the draft's value when ``serial_no`` names one, else the
    latest base). The amounts stay text: the operator edits them and the import reads them."""
    unit = wage_unit(actor, action="wage.view")
    filing = access_unit_filing(actor, serial_no=serial_no, kind=ANNUAL) if serial_no else None
    persons = list(
        unit_roster(actor).only(
            "pk", "person_no", "name", "id_number_enc", "id_number_lookup", "id_number_masked"
        )
    )
    latest = latest_bases(unit, [p.pk for p in persons])
    draft = {}
    if filing is not None:
        draft = {r.person_id: r.payload.get("after", {}).get("wage", "") for r in filing.rows.all()}
    return unit, [
        [
            p.person_no,
            p.name,
            p.masked_id_number,
            money_text(latest[p.pk].wage),
            draft[p.pk] if p.pk in draft else money_text(latest[p.pk].wage),
        ]
        for p in persons
    ]
