"""Reads on payments and arrears, each scoped by the actor: staff see their regions, a unit's
operators their own unit (refusals audited as ``payment.<page>``). Another tenant's object
answers 404, like a missing one. The pages' data (pagination, merged rows) comes from here.

Money is summed in Python over fetched values (SQLite stores decimals as floats: never add
them in SQL there); only the region-wide arrears total may sum in SQL, on PostgreSQL."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import F, Q, QuerySet, Sum
from django.http import Http404

from shebao.contributions.models import Arrear, ContributionLine, ItemType, Payment, Settlement
from shebao.contributions.payments.calc import ITEM_LABELS, ZERO
from shebao.core.models import Region
from shebao.filings.business import BusinessKind
from shebao.registry.access import access_operator_unit, deny, is_operator, require_staff
from shebao.registry.models import Person, Unit

PAGE_SIZE = 20
LINES_PAGE_SIZE = 50
STAFF_QUERY = "只有经办人员可以查询"


# --- scoping -------------------------------------------------------------------------------


def access_staff_regions(actor, *, action: str = "payment.list") -> QuerySet[Region]:
    """The staff member's regions (anyone else is refused, audited under ``action``)."""
    require_staff(actor, action=action, message=STAFF_QUERY)
    return actor.regions.all()


def _payable_unit(actor, *, action: str) -> Unit:
    """The operator's unit: 社保应付 is a query (查询打印) or part of 结算与缴费, so either
    permission will do."""
    settles = is_operator(actor) and actor.may_file(BusinessKind.SETTLEMENT)
    kind = BusinessKind.SETTLEMENT if settles else BusinessKind.QUERY
    return access_operator_unit(actor, business_kind=kind, action=action)


def _unpaid_lines(unit_id: int) -> QuerySet[ContributionLine]:
    """A unit's settled lines that are not fully paid (欠缴): the rule of
    ``settlement.selectors.unpaid_periods``, for many persons at once."""
    return ContributionLine.objects.filter(
        unit_id=unit_id, paid=False, withdrawn=False, settlement__isnull=False
    )


def _outstanding_q() -> Q:
    # a comparison, not arithmetic: equal decimals are stored equal even on SQLite
    return Q(paid__lt=F("due"))


# --- staff: payments -----------------------------------------------------------------------


def staff_payer(actor, *, unit_no: str = "", person_no: str = "") -> Unit | Person | None:
    """The unit (by 单位编号) or flexible worker (by 个人编号) a staff member may post a
    payment for: in one of their regions; None when there is none."""
    regions = access_staff_regions(actor, action="payment.post")
    if unit_no:
        return Unit.objects.filter(unit_no=unit_no.strip(), region__in=regions).first()
    if person_no:
        person = Person.objects.filter(person_no=person_no.strip()).first()
        if person and Arrear.objects.filter(payer=f"P{person.pk}", region__in=regions).exists():
            return person
    return None


def staff_payments_page(
    actor,
    *,
    page=None,
    unit_no: str = "",
    settle_period: int | None = None,
    item: str = "",
    batch: str = "",
) -> Page:
    """A page of the payments of the staff's regions, newest first, filtered by payer number,
    结算期, item and import batch."""
    qs = Payment.objects.filter(region__in=access_staff_regions(actor)).select_related(
        "unit", "person", "created_by"
    )
    if unit_no:
        qs = qs.filter(Q(unit__unit_no=unit_no) | Q(person__person_no=unit_no))
    if settle_period:
        qs = qs.filter(settle_period=settle_period)
    if item:
        qs = qs.filter(item=item)
    if batch:
        qs = qs.filter(batch=batch)
    return Paginator(qs.order_by("-created_at", "-id"), PAGE_SIZE).get_page(page)


# --- staff: arrears ------------------------------------------------------------------------


def staff_arrears_page(
    actor, *, page=None, unit_no: str = "", settle_period: int | None = None, item: str = ""
) -> dict:
    """A page of the outstanding arrears rows (per payer, 结算期, item and 费款所属期) of the
    staff's regions, newest 结算期 first, and the totals of all the rows filtered."""
    qs = (
        Arrear.objects.filter(region__in=access_staff_regions(actor, action="payment.arrears"))
        .filter(_outstanding_q())
        .select_related("unit", "person")
    )
    if unit_no:
        qs = qs.filter(Q(unit__unit_no=unit_no) | Q(person__person_no=unit_no))
    if settle_period:
        qs = qs.filter(settle_period=settle_period)
    if item:
        qs = qs.filter(item=item)
    qs = qs.order_by("-settle_period", "payer", "item", "belongs_period")
    return {"page": Paginator(qs, PAGE_SIZE).get_page(page), "totals": _arrears_totals(qs)}


def _arrears_totals(qs: QuerySet[Arrear]) -> dict[str, Decimal]:
    """Due, paid and outstanding of a set of arrears rows: one SQL sum on PostgreSQL, a sum of
    the fetched values in Python elsewhere (SQLite)."""
    if connection.vendor == "postgresql":
        sums = qs.order_by().aggregate(due=Sum("due"), paid=Sum("paid"))
        due, paid = sums["due"] or ZERO, sums["paid"] or ZERO
    else:
        due = paid = ZERO
        for d, p in qs.order_by().values_list("due", "paid").iterator(chunk_size=5000):
            due += d
            paid += p
    return {"due": due, "paid": paid, "outstanding": due - paid}


def staff_arrears_unit_page(actor, unit_no: str, *, page=None) -> dict:
    """One unit of the staff's regions (another region's or a missing one answers 404): its
    outstanding arrears, a page of the persons with unpaid lines, its recent payments."""
    regions = access_staff_regions(actor, action="payment.arrears")
    unit = Unit.objects.select_related("region").filter(unit_no=unit_no, region__in=regions).first()
    if unit is None:
        deny(actor, action="payment.arrears", object_type="unit", object_id=unit_no)
        raise Http404
    arrears = _unit_arrears(unit)
    persons = Paginator(_unpaid_persons(unit), LINES_PAGE_SIZE).get_page(page)
    return {
        "unit": unit,
        "arrears": arrears,
        "outstanding": sum((a.outstanding for a in arrears), ZERO),
        "page": persons,
        "persons": _unpaid_by_person(unit, persons.object_list),
        "recent_payments": Payment.objects.filter(unit=unit).order_by("-paid_on", "-id")[
            :PAGE_SIZE
        ],
    }


def _unit_arrears(unit: Unit) -> list[Arrear]:
    """A unit's outstanding arrears rows of every 结算期 (items × 费款所属期: a short list)."""
    return list(
        Arrear.objects.filter(payer=f"U{unit.pk}")
        .filter(_outstanding_q())
        .order_by("-settle_period", "item", "belongs_period")
    )


def unit_home_arrears(actor) -> dict | None:
    """For the unit hall's home: what the operator's unit still owes over every 结算期, or None
    when nothing is owed or the operator may see neither 社保应付 nor the queries."""
    if not (actor.may_file(BusinessKind.SETTLEMENT) or actor.may_file(BusinessKind.QUERY)):
        return None
    arrears = _unit_arrears(actor.unit)
    if not arrears:
        return None
    return {
        "outstanding": sum((a.outstanding for a in arrears), ZERO),
        "periods": sorted({a.settle_period for a in arrears}),
    }


def _unpaid_persons(unit: Unit) -> QuerySet[Person]:
    """Persons with unpaid lines at the unit (they cannot be stopped online)."""
    return Person.objects.filter(pk__in=_unpaid_lines(unit.pk).values("person_id")).order_by(
        "person_no"
    )


@dataclass
class PersonArrears:
    person: Person
    periods: list[int]  # 费款所属期, oldest first
    items: list[str]
    amount: Decimal  # the person's unpaid lines (unit + personal parts)


def _unpaid_by_person(unit: Unit, persons) -> list[PersonArrears]:
    """One row per person of ``persons`` (e.g. a page of ``_unpaid_persons``), from one query."""
    persons = list(persons)
    acc: dict[int, dict] = defaultdict(lambda: {"periods": set(), "items": set(), "amount": ZERO})
    for person_id, item, belongs, u, p in (
        _unpaid_lines(unit.pk)
        .filter(person_id__in=[x.pk for x in persons])
        .values_list("person_id", "item", "belongs_period", "unit_amount", "personal_amount")
    ):
        a = acc[person_id]
        a["periods"].add(belongs)
        a["items"].add(item)
        a["amount"] += u + p
    return [
        PersonArrears(
            person=x,
            periods=sorted(acc[x.pk]["periods"]),
            items=sorted(acc[x.pk]["items"]),
            amount=acc[x.pk]["amount"],
        )
        for x in persons
    ]


# --- a unit's 社保应付 ---------------------------------------------------------------------


def unit_payable_page(actor, *, period: int | None, latest: bool = True) -> dict:
    """社保应付 of the operator's unit: the 结算期 of its confirmed settlements (newest first)
    and the payable of ``period``, or of the newest 结算期 when none is asked and ``latest``."""
    unit = _payable_unit(actor, action="payment.payable")
    periods = list(
        Settlement.objects.filter(unit_id=unit.pk, state=Settlement.State.CONFIRMED)
        .order_by("-settle_period")
        .values_list("settle_period", flat=True)
    )
    if period is None and latest:
        period = periods[0] if periods else None
    payable = _unit_payable(unit.pk, period) if period else None
    return {"periods": periods, "period": period, "payable": payable}


@dataclass
class PeriodRow:
    belongs_period: int
    due: Decimal = ZERO
    paid: Decimal = ZERO

    @property
    def outstanding(self) -> Decimal:
        return self.due - self.paid


@dataclass
class ItemPayable:
    item: str
    headcount: int = 0
    unit: Decimal = ZERO
    personal: Decimal = ZERO
    paid: Decimal = ZERO
    periods: list[PeriodRow] = field(default_factory=list)

    @property
    def label(self) -> str:
        return ITEM_LABELS.get(self.item, self.item)

    @property
    def due(self) -> Decimal:
        return self.unit + self.personal

    @property
    def outstanding(self) -> Decimal:
        return self.due - self.paid


@dataclass
class Payable:
    settle_period: int
    settlement: Settlement
    items: list[ItemPayable]
    headcount: int
    payments: list[Payment]

    def _sum(self, attr: str) -> Decimal:
        return sum((getattr(i, attr) for i in self.items), ZERO)

    @property
    def unit(self) -> Decimal:
        return self._sum("unit")

    @property
    def personal(self) -> Decimal:
        return self._sum("personal")

    @property
    def due(self) -> Decimal:
        return self._sum("due")

    @property
    def paid(self) -> Decimal:
        return self._sum("paid")

    @property
    def outstanding(self) -> Decimal:
        return self._sum("outstanding")


def _payable_lines(unit_id: int, period: int) -> QuerySet[ContributionLine]:
    # the lines rebuild_arrears allocates payments to
    return ContributionLine.objects.filter(
        unit_id=unit_id, settle_period=period, withdrawn=False, settlement__isnull=False
    )


def _unit_payable(unit_id: int, settle_period: int) -> Payable | None:
    """社保应付 of the operator's unit for one 结算期 (seed 004): per item the due amount
    (unit and personal parts, summed from the lines), what has arrived and what is
    outstanding, per 费款所属期 too; the payments of the period. None when the unit has no
    confirmed settlement of that 结算期. A fixed number of queries."""
    settlement = Settlement.objects.filter(
        unit_id=unit_id, settle_period=settle_period, state=Settlement.State.CONFIRMED
    ).first()
    if settlement is None:
        return None
    items: dict[str, ItemPayable] = {}
    persons: dict[str, set] = defaultdict(set)
    periods: dict[tuple[str, int], PeriodRow] = {}
    for item, belongs, u, p, person_id in _payable_lines(unit_id, settle_period).values_list(
        "item", "belongs_period", "unit_amount", "personal_amount", "person_id"
    ):
        row = items.setdefault(item, ItemPayable(item))
        row.unit += u
        row.personal += p
        persons[item].add(person_id)
        pr = periods.setdefault((item, belongs), PeriodRow(belongs))
        pr.due += u + p
    for item, belongs, paid in Arrear.objects.filter(
        payer=f"U{unit_id}", settle_period=settle_period
    ).values_list("item", "belongs_period", "paid"):
        if (item, belongs) in periods:
            periods[(item, belongs)].paid += paid
            items[item].paid += paid
    for (item, _), pr in sorted(periods.items()):
        items[item].periods.append(pr)
    for item, row in items.items():
        row.headcount = len(persons[item])
    ordered = [items[k] for k in ItemType.values if k in items]
    payments = list(
        Payment.objects.filter(unit_id=unit_id, settle_period=settle_period).order_by(
            "paid_on", "id"
        )
    )
    return Payable(
        settle_period=settle_period,
        settlement=settlement,
        items=ordered,
        headcount=len(set().union(*persons.values())) if persons else 0,
        payments=payments,
    )


def unit_payable_lines_page(actor, settle_period: int, *, item: str = "", page=None) -> Page:
    """A page of the persons' lines behind 社保应付 (drill-down), by person, item and 费款所属期,
    each with its ``total`` (unit and personal parts). 404 when the unit has no confirmed
    settlement of that 结算期."""
    unit_id = _payable_unit(actor, action="payment.payable").pk
    if not Settlement.objects.filter(
        unit_id=unit_id, settle_period=settle_period, state=Settlement.State.CONFIRMED
    ).exists():
        raise Http404
    qs = _payable_lines(unit_id, settle_period).select_related("person")
    if item:
        qs = qs.filter(item=item)
    lines = Paginator(
        qs.order_by("person__person_no", "item", "belongs_period", "id"), LINES_PAGE_SIZE
    ).get_page(page)
    for line in lines:
        line.total = line.unit_amount + line.personal_amount
    return lines


def unit_payments_page(actor, *, page=None) -> Page:
    """A page of the unit's payment history (缴费到账记录), newest first."""
    unit = _payable_unit(actor, action="payment.history")
    qs = Payment.objects.filter(unit_id=unit.pk).order_by(
        "-paid_on", "-settle_period", "item", "-id"
    )
    return Paginator(qs, PAGE_SIZE).get_page(page)
