"""The unit hall's queries (seed 004 信息查询): the roster (参保职工名单), one person's enrolment
history, the enrolment list (增员表) of a period (their Excel exports are in ``exports.py``).

Every read is scoped by the operator's unit and needs the 查询打印 permission. A roster page is
ONE query of the roster read model (``RosterEntry``, kept by ``shebao.registry.roster`` in the
transactions that change enrolments and persons): one row per person and unit with the
insurance types folded into a bit mask, read through the index on (unit, open, person number);
the number of rows comes with them as ``COUNT(*) OVER ()``; no query per row, no second pass
for the count, no grouping of the unit's enrolments and no scan of the region's persons."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import (
    Case,
    Exists,
    F,
    Func,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
    Window,
)
from django.http import Http404

from shebao.core.audit import audit_person_views
from shebao.core.crypto import ID, lookups
from shebao.core.ids import mask_id_number
from shebao.core.inputs import search_id_number
from shebao.core.periods import Period
from shebao.filings.business import BusinessKind
from shebao.filings.models import Filing, FilingRow
from shebao.registry import access
from shebao.registry.models import Enrolment, InsuranceType, Person, RosterEntry
from shebao.registry.roster import TYPE_BITS

ROSTER_PAGE_SIZE = 50

# Short names for the one "参保险种" column.
TYPE_SHORT = {
    InsuranceType.ENTERPRISE_PENSION: "企业养老",
    InsuranceType.INSTITUTION_PENSION: "机关养老",
    InsuranceType.UNEMPLOYMENT: "失业",
    InsuranceType.MEDICAL: "医疗",
    InsuranceType.LARGE_MEDICAL: "大额医疗",
    InsuranceType.INJURY: "工伤",
    InsuranceType.MATERNITY: "生育",
}


class RosterStatus:
    """The roster's status filter. Open enrolments have no stop month."""

    OPEN = ""  # 参保中: at least one open enrolment here
    ACTIVE = Enrolment.Status.ACTIVE  # an open enrolment here that is paying
    SUSPENDED = Enrolment.Status.SUSPENDED  # an open enrolment here that is suspended
    STOPPED = "stopped"  # enrolled here before, nothing open here now

    choices = [
        (OPEN, "参保中"),
        (ACTIVE, "正常参保"),
        (SUSPENDED, "暂停缴费"),
        (STOPPED, "已停保"),
    ]


# sort key -> ORDER BY (person number breaks ties so that pages never overlap)
ROSTER_SORTS = {
    "person_no": ("person_no",),
    "-person_no": ("-person_no",),
    "name": ("name", "person_no"),
    "-name": ("-name", "-person_no"),
    "start": ("start_period", "person_no"),
    "-start": ("-start_period", "-person_no"),
    "wage": ("wage", "person_no"),
    "-wage": ("-wage", "-person_no"),
}
DEFAULT_SORT = "person_no"

_ID_LIKE = re.compile(r"[0-9]{15}|[0-9]{17}[0-9X]")


def check_query_permission(actor) -> None:
    """Unit operators need the 查询打印 permission (unit administrators have every permission)."""
    if not access.is_operator(actor) or not actor.unit_id:
        access.deny(actor, action="query.view")
        raise PermissionDenied("只有单位经办人可以查询本单位参保人员")
    if not actor.may_file(BusinessKind.QUERY):
        access.deny(actor, action="query.view")
        raise PermissionDenied("您没有查询打印的权限，请联系本单位管理员")


# --- search ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RosterSearch:
    """What the operator typed: an ID number, a person number or (part of) a name."""

    kind: str  # "" (none) | "id" | "person_no" | "name"
    value: str
    typed: str = ""  # an ID search as typed (a long person number looks like an ID number)

    @classmethod
    def parse(cls, text: str | None) -> RosterSearch:
        words = unicodedata.normalize("NFKC", text or "").split()
        if not words:
            return cls("", "")
        upper = "".join(words).upper()
        if len(words) == 1 and _ID_LIKE.fullmatch(upper):  # an inner space: not an ID number
            try:
                number = search_id_number(upper)
            except ValidationError:
                number = upper  # not a valid resident ID: still look for exactly what was typed
            return cls("id", number, upper)
        if upper.isdigit():
            return cls("person_no", upper)
        return cls("name", " ".join(words))

    @property
    def label(self) -> str:
        """For the page: an ID number only ever shown masked."""
        if self.kind == "id":
            return mask_id_number(self.value)
        return self.value

    def person_q(self, prefix: str = "") -> Q:
        if self.kind == "id":
            by_id = Q(**{f"{prefix}id_number_lookup__in": lookups(self.value, kind=ID)})
            return by_id | Q(**{f"{prefix}person_no": self.typed})
        if self.kind == "person_no":
            return Q(**{f"{prefix}person_no": self.value})
        if self.kind == "name":
            # Chinese characters have no case: a plain LIKE then finds the same persons and
            # spares PostgreSQL an UPPER() of every name it looks at.
            lookup = "icontains" if self.value.lower() != self.value.upper() else "contains"
            return Q(**{f"{prefix}name__{lookup}": self.value})
        return Q()


NO_SEARCH = RosterSearch("", "")


@dataclass(frozen=True)
class RosterFilter:
    search: RosterSearch = NO_SEARCH
    insurance_type: str = ""
    status: str = RosterStatus.OPEN
    sort: str = DEFAULT_SORT

    def __post_init__(self):
        if self.insurance_type and self.insurance_type not in InsuranceType.values:
            raise ValueError(f"unknown insurance type {self.insurance_type!r}")
        if self.status not in dict(RosterStatus.choices):
            raise ValueError(f"unknown roster status {self.status!r}")
        if self.sort not in ROSTER_SORTS:
            raise ValueError(f"unknown roster sort {self.sort!r}")

    @property
    def stopped(self) -> bool:
        return self.status == RosterStatus.STOPPED


# --- the roster --------------------------------------------------------------------------------


def _type_mask(*, distinct: bool = True) -> Sum:
    """Bit mask of the insurance types of a group of a person's enrolments (joined from
    Person as ``enrolments__``): distinct powers of two add up exactly."""
    return Sum(
        Case(
            *[When(enrolments__insurance_type=t, then=Value(b)) for t, b in TYPE_BITS.items()],
            default=Value(0),
            output_field=IntegerField(),
        ),
        distinct=distinct,
    )


def roster_queryset(actor, f: RosterFilter) -> QuerySet[RosterEntry]:
    """The roster rows (``RosterEntry``, the read model kept by ``shebao.registry.roster``):
    one per person, with the unit's enrolments folded in (``type_mask``, ``start_period``,
    ``stop_period``, ``wage``, ``status``); filtered and ordered as ``f`` says."""
    check_query_permission(actor)
    qs = RosterEntry.objects.filter(unit_id=actor.unit_id, is_open=not f.stopped)
    bit = TYPE_BITS[f.insurance_type] if f.insurance_type else 0
    mask = {
        RosterStatus.ACTIVE: "active_mask",
        RosterStatus.SUSPENDED: "suspended_mask",
    }.get(f.status, "type_mask")
    if bit:  # an (open, paying, suspended) enrolment of that type
        qs = qs.alias(type_hit=F(mask).bitand(bit)).filter(type_hit__gt=0)
    elif mask != "type_mask":  # any enrolment here that is paying / suspended
        qs = qs.filter(**{f"{mask}__gt": 0})
    return qs.filter(f.search.person_q()).only(*ROSTER_COLUMNS).order_by(*ROSTER_SORTS[f.sort])


ROSTER_COLUMNS = (
    "person_no",
    "name",
    "id_number_masked",
    "sex",
    "type_mask",
    "start_period",
    "stop_period",
    "wage",
    "status",
)


class RosterRow:
    """A roster row as pages and exports show it: the ``ROSTER_COLUMNS`` values (and
    ``total_rows`` on a page) as attributes, decorated by ``decorate``. Plain values read
    with ``values_list``: no model instance is needed to show them."""

    def __init__(self, values):
        for name, value in zip(_ROW_FIELDS, values, strict=False):
            setattr(self, name, value)

    @property
    def masked_id_number(self) -> str:
        return self.id_number_masked


_ROW_FIELDS = (*ROSTER_COLUMNS, "total_rows")


def roster_count(actor, f: RosterFilter) -> int:
    """The number of roster rows. The roster page gets its count with its rows; this serves
    a page number past the end."""
    return roster_queryset(actor, f).order_by().count()


def types_label(mask: int | None) -> str:
    return "、".join(TYPE_SHORT[t] for t, b in TYPE_BITS.items() if (mask or 0) & b)


STATUS_LABELS = dict(Enrolment.Status.choices)
SEX_LABELS = dict(Person.Sex.choices)
MIXED_STATUS_LABEL = "部分险种暂停缴费"
STOPPED_LABEL = "已停保"


def decorate(rows, stopped: bool) -> list[RosterRow]:
    """What a page or an export shows, computed once per row in Python (no per-row template
    filters): the types and status as words, the masked ID number, the sex, the wage text."""
    rows = list(rows)
    labels: dict[int, str] = {}
    for p in rows:
        mask = p.type_mask
        if mask not in labels:
            labels[mask] = types_label(mask)
        p.types_label = labels[mask]
        if stopped:
            p.status_label = STOPPED_LABEL
        else:
            p.status_label = STATUS_LABELS.get(p.status, MIXED_STATUS_LABEL)
        p.status_ok = p.status_label == STATUS_LABELS[Enrolment.Status.ACTIVE]
        p.start_period_min = p.start_period
        p.stop_period_max = p.stop_period
        p.sex_label = SEX_LABELS.get(p.sex, "")
        p.wage_text = f"{p.wage:.2f}" if p.wage is not None else ""
    return rows


class _CountAll(Func):
    """``COUNT(*)``, for ``COUNT(*) OVER ()``: the number of groups, beside each group."""

    template = "COUNT(*)"
    window_compatible = True
    output_field = IntegerField()


class _KnownCountPaginator(Paginator):
    """A paginator told its count (from the page query itself) instead of asking the database."""

    def __init__(self, object_list, per_page, *, count: int):
        super().__init__(object_list, per_page)
        self.__dict__["count"] = count  # Paginator.count is a cached_property


def _page_number(value) -> int:
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return 1


def roster_page(actor, f: RosterFilter, page_number) -> Page:
    """One page of the roster in ONE query: the rows carry the number of all rows
    (``COUNT(*) OVER ()``), so no second pass is needed. Only a page past the end costs more:
    a count, then the last page."""
    qs = roster_queryset(actor, f).annotate(total_rows=Window(_CountAll()))
    values = qs.values_list(*ROSTER_COLUMNS, "total_rows")
    number = _page_number(page_number)
    size = ROSTER_PAGE_SIZE
    rows = [RosterRow(v) for v in values[(number - 1) * size : number * size]]
    if rows:
        total = rows[0].total_rows
    elif number > 1:  # past the end (or the roster shrank): show the last page
        total = roster_count(actor, f)
        number = max(1, -(-total // size))
        rows = [RosterRow(v) for v in values[(number - 1) * size : number * size]] if total else []
    else:
        total = 0
    paginator = _KnownCountPaginator(qs, size, count=total)
    return Page(decorate(rows, f.stopped), number, paginator)


# --- one person --------------------------------------------------------------------------------


def roster_person_get(actor, person_no: str) -> Person:
    """A person enrolled at the operator's unit now or before; anyone else is 404. The view
    is recorded (``person.view``)."""
    check_query_permission(actor)
    try:
        person = Person.objects.get(
            Exists(Enrolment.objects.filter(person_id=OuterRef("pk"), unit_id=actor.unit_id)),
            person_no=person_no,
        )
    except Person.DoesNotExist:
        raise Http404 from None
    audit_person_views(
        actor=actor, persons=[person], via="单位网厅·参保职工详情", region=actor.unit.region_id
    )
    return person


@dataclass(frozen=True)
class HistoryRow:
    """One enrolment as the unit may see it: another unit's only as 其他单位."""

    here: bool
    insurance_type: str
    type_label: str
    start_period: int
    stop_period: int | None
    status_label: str
    wage_base: Decimal | None
    scope_label: str
    stop_reason_label: str

    @property
    def unit_label(self) -> str:
        return "本单位" if self.here else "其他单位"


def roster_person_history(actor, person: Person) -> list[HistoryRow]:
    """The person's whole enrolment history, newest first, in one query. Enrolments elsewhere
    (other units, individual enrolment) carry neither the unit nor the wage or stop reason."""
    check_query_permission(actor)
    rows = []
    for e in (
        Enrolment.objects.filter(person=person)
        .only(
            "unit_id",
            "insurance_type",
            "start_period",
            "stop_period",
            "status",
            "wage_base",
            "scope",
            "stop_reason",
        )
        .order_by("-start_period", "insurance_type", "-id")
    ):
        here = e.unit_id == actor.unit_id
        rows.append(
            HistoryRow(
                here=here,
                insurance_type=e.insurance_type,
                type_label=e.get_insurance_type_display(),
                start_period=e.start_period,
                stop_period=e.stop_period,
                status_label=e.get_status_display(),
                wage_base=e.wage_base if here else None,
                scope_label=e.get_scope_display() if here else "",
                stop_reason_label=e.get_stop_reason_display() if here else "",
            )
        )
    return rows


def roster_person_filings(actor, person: Person) -> QuerySet[Filing]:
    """The unit's filings about this person: single-person filings and filings with a row for
    them. Rows are matched by person (set on every row once the person exists) or, for a row
    still open, by ID number; both lookups have an index."""
    check_query_permission(actor)
    rows = FilingRow.objects.filter(
        Q(person=person) | Q(id_number_lookup=person.id_number_lookup, is_open=True)
    ).values("filing_id")
    return (
        Filing.objects.filter(unit_id=actor.unit_id)
        .filter(Q(person=person) | Q(pk__in=rows))
        .only("serial_no", "kind", "state", "created_at", "submitted_at", "decided_at")
        .order_by("-created_at", "-id")
    )


# --- 增员表 --------------------------------------------------------------------------------------


def parse_period(value) -> Period:
    """A yyyyMM period or a ValidationError with the Chinese reason."""
    try:
        return Period.parse(value)
    except ValueError as e:
        raise ValidationError(str(e), code="invalid") from None


def additions_queryset(actor, period: Period) -> QuerySet[Person]:
    """Persons whose enrolment at the unit started in ``period``, one row per person with the
    types that started then (``type_mask``), the highest base and the employment scope."""
    check_query_permission(actor)
    return (
        Person.objects.filter(
            enrolments__unit_id=actor.unit_id, enrolments__start_period=int(period)
        )
        .annotate(
            type_mask=_type_mask(),
            wage=Max("enrolments__wage_base"),
            scope=Max("enrolments__scope"),
            back_pay=Max(Case(When(enrolments__back_pay=True, then=1), default=0)),
        )
        .only(
            "person_no",
            "name",
            "id_type",
            "id_number_enc",
            "id_number_lookup",
            "id_number_masked",
            "sex",
            "birth_date",
        )
        .order_by("person_no")
    )
