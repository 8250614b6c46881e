"""A lived-in demo: years of settled and paid months, a retiree, a flexible worker, a unit in
arrears and filings in every state. Settlements, filings and the flexible worker go through the
real services, so every amount due on the pages is the one they compute; the units' payments are
bulk-created (``pay_in_full``: equal to what is due), not posted one by one.

The history runs month by month from January three years back to last month: each 结算期 the
demo regions' current period is moved to that month, every demo unit settles it
(``settlement_start``, the same code a unit's 结算 button runs) and the payments arrive (one per
unit, item and 结算期, equal to what is due; ``rebuild_arrears`` then marks the lines paid, as a
posted payment does). The last month of one unit stays unpaid: its arrears. The flexible worker
registers through the person hall's service, is approved by staff, assesses herself each month
and pays through ``payment_post``. At the end the regions are back at their current period,
which nobody has settled yet (the demo user can settle it).

Months before the first published parameter set (2024-07) use demo sets copied from it with
plausible floors and caps, marked 演示数据 (never taken for real)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from shebao.accounts.models import User
from shebao.contributions.flexible.services import flexible_assess, flexible_register
from shebao.contributions.models import Arrear, ParameterSet, Payment, WageBase
from shebao.contributions.payments.services import payment_post
from shebao.contributions.settlement.services import rebuild_arrears, settlement_start
from shebao.core.ids import make_resident_id
from shebao.core.models import Region
from shebao.core.periods import Period
from shebao.core.retirement import MEN, retirement_period
from shebao.core.sequences import next_person_no
from shebao.filings.models import Filing
from shebao.filings.services import filing_approve, filing_return, filing_submit
from shebao.registry.enrolment.services import enrolment_save
from shebao.registry.models import Enrolment, Person, Unit
from shebao.registry.roster import roster_refresh

ZERO = Decimal("0.00")
MONTHS = 36  # of settled history
DEMO_SOURCE = "演示数据（非真实参数，仅用于演示缴费历史）"
# region -> [(valid_from, floor, cap)]: demo sets before the first published one
EARLIER_BASES = {
    "110000": [(202107, "5869", "29354"), (202207, "6326", "31884"), (202307, "6326", "33891")],
    "310000": [(202107, "5975", "31014"), (202207, "6520", "34188"), (202307, "7310", "36549")],
}
RETURN_REASON = "缴费工资与劳动合同约定的工资不一致，请核对工资后修改并重新提交"

# The named persons the README points to: (key, ID area, birth, order, name, mobile).
# Odd order codes are men, even women (GB 11643).
WORKER = ("worker", "110105", date(1986, 4, 12), 31, "陈志远", "13800000002")
# The retiree's birth depends on the current period (``retiree_spec``): None here.
RETIREE = ("retiree", "110108", None, 17, "刘建国", "13800000003")
FLEXIBLE = ("flexible", "110101", date(1990, 11, 5), 44, "赵丽娜", "13800000004")
RETIRED_MONTHS_AGO = 13  # the retiree retired this many months before the current period


def retiree_spec(current: int) -> tuple:
    """The retiree, born so that he reached the statutory retirement month (MEN, with the 2025
    reform's delays) about a year before `current`: inside the three-year history in any year."""
    target = Period.parse(current) - RETIRED_MONTHS_AGO
    birth = Period(target.year - 60, target.month)
    while retirement_period(birth.first_day, MEN) > target:
        birth = birth - 1
    key, area, _birth, order, name, mobile = RETIREE
    return (key, area, birth.first_day.replace(day=20), order, name, mobile)


def named_specs(current: int) -> tuple:
    """The named persons the README points to, for a demo loaded at `current`."""
    return (WORKER, retiree_spec(current), FLEXIBLE)


# persons filed into the arrears unit's filings (area, birth, order, name)
NEWCOMERS = [
    ("110105", date(1995, 6, 18), 53, "孙浩然"),
    ("110108", date(1998, 2, 9), 62, "周雨桐"),
    ("110101", date(1993, 9, 27), 75, "吴俊杰"),
    ("110105", date(1997, 12, 3), 86, "郑佳怡"),
    ("110108", date(1992, 7, 21), 91, "王博文"),
]


def named_id(spec) -> str:
    _key, area, birth, order, _name, _mobile = spec
    return make_resident_id(area, birth, order)


def history_range(current: int) -> list[int]:
    """The three years (36 months) before `current`."""
    end = Period.parse(current).prev()
    return [int(p) for p in Period.range(end - (MONTHS - 1), end)]


def earlier_parameter_sets(region_ids) -> None:
    """Demo sets before the published ones: the rates of the first published set, the floors
    and caps of EARLIER_BASES, status 演示数据."""
    for region_id in region_ids:
        first = {}
        for ps in ParameterSet.objects.filter(region_id=region_id).order_by("valid_from"):
            first.setdefault(ps.insurance_type, ps)
        for valid_from, floor, cap in EARLIER_BASES.get(region_id, []):
            for insurance_type, ps in first.items():
                if ps.valid_from <= valid_from:
                    continue
                ParameterSet.objects.get_or_create(
                    region_id=region_id,
                    insurance_type=insurance_type,
                    valid_from=valid_from,
                    version=1,
                    defaults={
                        "floor": Decimal(floor),
                        "cap": Decimal(cap),
                        "unit_rate": ps.unit_rate,
                        "personal_rate": ps.personal_rate,
                        "unit_fixed": ps.unit_fixed,
                        "personal_fixed": ps.personal_fixed,
                        "annuity_unit_rate": ps.annuity_unit_rate,
                        "annuity_personal_rate": ps.annuity_personal_rate,
                        "source": DEMO_SOURCE,
                        "status": ParameterSet.Status.DEMO,
                    },
                )


def _person(spec, *, sex: str, first_work: date, region_id: str) -> Person:
    _key, _area, birth, _order, name, mobile = spec
    return Person.objects.create(
        person_no=next_person_no(region_id),
        id_number=named_id(spec),
        name=name,
        sex=sex,
        birth_date=birth,
        hukou=Person.Hukou.LOCAL_URBAN,
        first_work_date=first_work,
        mobile=mobile,
        address="北京市朝阳区示范小区1号楼",
    )


def _enrol(person, unit, *, start, wage, stop=None, reason="", stop_date=None) -> None:
    Enrolment.objects.bulk_create(
        Enrolment(
            person=person,
            unit=unit,
            region_id=unit.region_id,
            insurance_type=t,
            start_period=start,
            stop_period=stop,
            status=Enrolment.Status.ENDED if stop else Enrolment.Status.ACTIVE,
            stop_reason=reason,
            stop_date=stop_date,
            wage_base=Decimal(wage),
            contract_start=date(start // 100, start % 100, 1),
            employment_registered=True,
        )
        for t in unit.insurance_types
    )
    roster_refresh(unit_ids=[unit.pk], person_ids=[person.pk])


def person_login(person: Person, password_hash: str) -> User:
    user = User(
        username=f"p{person.person_no}",
        kind=User.Kind.PERSON,
        person=person,
        display_name=person.name,
        password=password_hash,
    )
    user.save()
    return user


def named_persons(units: list[Unit], history: list[int], password_hash: str) -> dict[str, User]:
    """The worker with a long history at the first unit (a raise declared each July), the
    retiree who retired from it during the history, and the worker who left the second unit
    to become a flexible worker (registered later, in the history loop)."""
    first, second = units[0], units[1]
    start = history[0]
    worker = _person(WORKER, sex="1", first_work=date(2008, 7, 1), region_id="110000")
    _enrol(worker, first, start=201507, wage="15000.00")
    for year, wage in ((2023, "15800.00"), (2024, "16500.00"), (2025, "17200.00")):
        if year * 100 + 7 > start:
            WageBase.objects.create(
                person=worker, unit=first, valid_from=year * 100 + 7, wage=Decimal(wage)
            )
    spec = retiree_spec(int(Period.parse(history[-1]).next()))
    retired = int(retirement_period(spec[2], MEN))
    first_work = date(spec[2].year + 20, 9, 1)
    retiree = _person(spec, sex="1", first_work=first_work, region_id="110000")
    _enrol(
        retiree,
        first,
        start=199807,
        wage="12000.00",
        stop=retired,
        reason=Enrolment.StopReason.RETIRED,
        stop_date=Period.parse(retired).last_day,
    )
    left = history[len(history) // 2]  # half way through the history
    flexible = _person(FLEXIBLE, sex="2", first_work=date(2013, 7, 1), region_id="110000")
    _enrol(
        flexible,
        second,
        start=201803,
        wage="8000.00",
        stop=left,
        reason=Enrolment.StopReason.LEFT,
        stop_date=Period.parse(left).last_day,
    )
    return {
        key: person_login(p, password_hash)
        for key, p in (("worker", worker), ("retiree", retiree), ("flexible", flexible))
    }


def pay_in_full(units: list[Unit], period: int, staff_of: dict[str, User]) -> None:
    """The tax bureau's payments of the units' settlements of `period`: one per item, equal to
    what is due, dated the 15th of the next month; the arrears then rebuilt as a posted payment
    rebuilds them (the lines of fully paid items are marked paid)."""
    paid_on = Period.parse(period).next().first_day.replace(day=15)
    payer_unit = {f"U{u.pk}": u for u in units}
    due: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    for payer, item, amount, paid in Arrear.objects.filter(
        payer__in=list(payer_unit), settle_period=period
    ).values_list("payer", "item", "due", "paid"):
        due[(payer, item)] += amount - paid
    Payment.objects.bulk_create(
        Payment(
            unit=payer_unit[payer],
            region_id=payer_unit[payer].region_id,
            settle_period=period,
            item=item,
            amount=amount,
            paid_on=paid_on,
            source=Payment.Source.MANUAL,
            created_by=staff_of[payer_unit[payer].region_id],
        )
        for (payer, item), amount in due.items()
        if amount > 0
    )
    for unit in units:
        rebuild_arrears(unit_id=unit.pk, person_id=None, settle_period=period)


def flexible_month(user: User, staff: User, period: int) -> None:
    """The flexible worker's 核定 of `period` (by herself) and its payment (posted by staff)."""
    settlement = flexible_assess(actor=user)
    paid_on = Period.parse(period).last_day.replace(day=20)
    totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for line in settlement.lines.all():
        totals[line.item] += line.unit_amount + line.personal_amount
    for item, amount in sorted(totals.items()):
        payment_post(
            actor=staff,
            unit=None,
            person=user.person,
            settle_period=period,
            item=item,
            amount=amount,
            paid_on=paid_on,
        )


def run_history(
    *, units: list[Unit], staff_of: dict[str, User], logins: dict[str, User], arrears_unit: Unit
) -> list[int]:
    """Settle and pay every month of the history; returns the months. The arrears unit's last
    month stays unpaid; the flexible worker registers the month after she left her unit."""
    regions = {r.pk: r for r in Region.objects.filter(pk__in={u.region_id for u in units})}
    current = {code: r.current_period for code, r in regions.items()}
    for unit in units:
        unit.region = regions[unit.region_id]  # one object per region: moved month by month
    history = history_range(min(current.values()))
    flexible = logins["flexible"]
    flexible_from = Enrolment.objects.filter(person=flexible.person).values_list(
        "stop_period", flat=True
    )[0]
    flexible_from = int(Period.parse(flexible_from).next())
    bj_staff = staff_of["110000"]
    for period in history:
        for region in regions.values():
            region.current_period = period
            region.save(update_fields=["current_period"])
        for unit in units:
            settlement_start(actor=staff_of[unit.region_id], unit=unit)
        last = period == history[-1]
        pay_in_full([u for u in units if not (last and u == arrears_unit)], period, staff_of)
        if period == flexible_from:
            register_flexible(flexible, bj_staff)
        if period >= flexible_from:
            flexible_month(flexible, bj_staff, period)
    for code, region in regions.items():
        region.current_period = current[code]
        region.save(update_fields=["current_period"])
    # this month's 核定 of the flexible worker, waiting for her payment
    flexible_assess(actor=flexible)
    return history


def register_flexible(user: User, staff: User) -> None:
    region = Region.objects.get(pk="110000")
    filing = flexible_register(
        actor=user,
        data={"region": region.pk, "start_period": str(region.current_period), "base_level": "1.2"},
    )
    filing_approve(actor=staff, filing_id=filing.pk, note="材料齐全，同意登记")


def unit_filings(unit: Unit, admin: User, staff: User, current: int) -> dict[str, Filing]:
    """The unit's filings in each state: two approved enrolments (one with two persons), one
    returned to the unit with the reviewer's reason (待办: 退回修改) and one submitted,
    waiting in the staff queue."""
    people = [make_resident_id(area, birth, order) for area, birth, order, _name in NEWCOMERS]
    names = [name for *_rest, name in NEWCOMERS]

    def save(i, filing=None, **overrides):
        data = {
            "id_number": people[i],
            "name": names[i],
            "ethnicity": "汉族",
            "hukou": Person.Hukou.LOCAL_URBAN,
            "first_work_date": date(2020, 7, 1),
            "mobile": f"1381234{i:04d}",
            "address": "北京市朝阳区示范路88号",
            "scope": Enrolment.Scope.REGULAR,
            "insurance_types": list(unit.insurance_types),
            "start_period": str(current),
            "wage": Decimal("9000.00"),
            "waive_back_pay": False,
            "contract_start": Period.parse(current).first_day,
            "contract_end": None,
            "employment_registered": True,
        }
        data.update(overrides)
        return enrolment_save(actor=admin, data=data, filing=filing)

    first = save(0)
    first = save(1, filing=first)
    filing_submit(actor=admin, filing=first)
    filing_approve(actor=staff, filing_id=first.pk, note="材料齐全，予以通过")
    second = save(2)
    filing_submit(actor=admin, filing=second)
    filing_approve(actor=staff, filing_id=second.pk, note="")
    returned = save(3, wage=Decimal("5200.00"))
    filing_submit(actor=admin, filing=returned)
    filing_return(actor=staff, filing_id=returned.pk, reason=RETURN_REASON)
    waiting = save(4)
    filing_submit(actor=admin, filing=waiting)
    return {"approved": first, "returned": returned, "submitted": waiting}
