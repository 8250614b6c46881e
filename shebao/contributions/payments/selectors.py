"""Reads on payments and arrears, each scoped by the actor: staff see their regions, a unit's
operators their own unit. Another tenant's object answers 404, like a missing one.

Money is summed in Python over fetched values (SQLite stores decimals as floats: never add
them in SQL there); only the region-wide arrears total may sum in SQL, on PostgreSQL."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import F, Q, QuerySet, Sum
from django.http import Http404

from shebao.contributions.models import Arrear, ContributionLine, ItemType, Payment, Settlement
from shebao.filings.business import BusinessKind
from shebao.registry.models import Person, Unit

ZERO = Decimal("0.00")
ITEM_LABELS = dict(ItemType.choices)


# --- scoping -------------------------------------------------------------------------------


def _staff_regions(actor):
    if getattr(actor, "kind", None) != "staff":
        raise PermissionDenied("只有经办人员可以查询")
    return actor.regions.all()


def _operator_unit_id(actor) -> int:
    """The operator's unit; 社保应付 is a query (查询打印) or part of 结算与缴费."""
    if getattr(actor, "kind", None) != "operator":
        raise PermissionDenied("只有单位经办人可以查询本单位缴费信息")
    if not (actor.may_file(BusinessKind.QUERY) or actor.may_file(BusinessKind.SETTLEMENT)):
        raise PermissionDenied("您没有查询打印的权限，请联系本单位管理员")
    return actor.unit_id


def unpaid_lines(unit_id: int) -> QuerySet[ContributionLine]:
    """A unit's settled lines that are not fully paid (欠缴): the rule of
    ``settlement.unpaid_periods``, for many persons at once."""
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
    regions = _staff_regions(actor)
    if unit_no:
        return Unit.objects.filter(unit_no=unit_no.strip(), region__in=regions).first()
    if person_no:
        person = Person.objects.filter(person_no=person_no.strip()).first()
        if person and Arrear.objects.filter(payer=f"P{person.pk}", region__in=regions).exists():
            return person
    return None


def staff_payments(
    actor, *, unit_no: str = "", settle_period: int | None = None, item: str = "", batch=""
) -> QuerySet[Payment]:
    qs = Payment.objects.filter(region__in=_staff_regions(actor)).select_related(
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
    return qs.order_by("-created_at", "-id")


# --- staff: arrears ------------------------------------------------------------------------


def staff_arrears(
    actor, *, unit_no: str = "", settle_period: int | None = None, item: str = ""
) -> QuerySet[Arrear]:
    """Outstanding arrears rows (per payer, 结算期, item and 费款所属期) of the staff's
    regions, newest 结算期 first."""
    qs = (
        Arrear.objects.filter(region__in=_staff_regions(actor))
        .filter(_outstanding_q())
        .select_related("unit", "person")
    )
    if unit_no:
        qs = qs.filter(Q(unit__unit_no=unit_no) | Q(person__person_no=unit_no))
    if settle_period:
        qs = qs.filter(settle_period=settle_period)
    if item:
        qs = qs.filter(item=item)
    return qs.order_by("-settle_period", "payer", "item", "belongs_period")


def arrears_totals(qs: QuerySet[Arrear]) -> dict[str, Decimal]:
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


def staff_arrears_unit(actor, unit_no: str) -> Unit:
    try:
        return Unit.objects.select_related("region").get(
            unit_no=unit_no, region__in=_staff_regions(actor)
        )
    except Unit.DoesNotExist:
        raise Http404 from None


def unit_arrears(unit: Unit) -> list[Arrear]:
    """A unit's outstanding arrears rows of every 结算期 (items × 费款所属期: a short list)."""
    return list(
        Arrear.objects.filter(payer=f"U{unit.pk}")
        .filter(_outstanding_q())
        .order_by("-settle_period", "item", "belongs_period")
    )


def unpaid_persons(unit: Unit) -> QuerySet[Person]:
    """Persons with unpaid lines at the unit (they cannot be stopped online)."""
    return Person.objects.filter(pk__in=unpaid_lines(unit.pk).values("person_id")).order_by(
        "person_no"
    )


@dataclass
class PersonArrears:
    person: Person
    periods: list[int]  # 费款所属期, oldest first
    items: list[str]
    amount: Decimal  # the person's unpaid lines (unit + personal parts)


def unpaid_by_person(unit: Unit, persons) -> list[PersonArrears]:
    """One row per person of ``persons`` (e.g. a page of ``unpaid_persons``), from one query."""
    persons = list(persons)
    acc: dict[int, dict] = defaultdict(lambda: {"periods": set(), "items": set(), "amount": ZERO})
    for person_id, item, belongs, u, p in (
        unpaid_lines(unit.pk)
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


def unit_settle_periods(actor) -> list[int]:
    """The 结算期 of the unit's confirmed settlements, newest first."""
    return list(
        Settlement.objects.filter(
            unit_id=_operator_unit_id(actor), state=Settlement.State.CONFIRMED
        )
        .order_by("-settle_period")
        .values_list("settle_period", flat=True)
    )


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


def unit_payable(actor, settle_period: int) -> Payable | None:
    """社保应付 of the operator's unit for one 结算期 (seed 004): per item the due amount
    (unit and personal parts, summed from the lines), what has arrived and what is
    outstanding, per 费款所属期 too; the payments of the period. None when the unit has no
    confirmed settlement of that 结算期. A fixed number of queries."""
    unit_id = _operator_unit_id(actor)
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


def unit_payable_lines(actor, settle_period: int, *, item: str = "") -> QuerySet:
    """The persons' lines behind 社保应付 (drill-down), by person, item and 费款所属期.
    404 when the unit has no confirmed settlement of that 结算期."""
    unit_id = _operator_unit_id(actor)
    if not Settlement.objects.filter(
        unit_id=unit_id, settle_period=settle_period, state=Settlement.State.CONFIRMED
    ).exists():
        raise Http404
    qs = _payable_lines(unit_id, settle_period).select_related("person")
    if item:
        qs = qs.filter(item=item)
    return qs.order_by("person__person_no", "item", "belongs_period", "id")


def unit_payments(actor) -> QuerySet[Payment]:
    """The unit's payment history (缴费到账记录), newest first."""
    return Payment.objects.filter(unit_id=_operator_unit_id(actor)).order_by(
        "-paid_on", "-settle_period", "item", "-id"
    )


def unit_payment_history(unit: Unit) -> QuerySet[Payment]:
    """A unit's payments for the staff drill-down (the caller scoped the unit)."""
    return Payment.objects.filter(unit=unit).order_by("-paid_on", "-id")
