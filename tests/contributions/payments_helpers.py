"""Building settled units for the payment tests: a settlement of 结算期 PERIOD with its normal
lines, plus back-pay lines of earlier 费款所属期 in the same settlement."""

import csv
import io
from datetime import date
from decimal import Decimal as D

from django.core.files.uploadedfile import SimpleUploadedFile

from shebao.contributions.models import Arrear, ContributionLine, Settlement
from shebao.contributions.settlement.services import rebuild_arrears, settlement_start
from shebao.core.excel import build_xlsx
from shebao.core.ids import make_resident_id
from shebao.registry.models import Enrolment, Person
from tests.factories import make_admin, make_unit

PERIOD = 202508
PAID_ON = date(2025, 8, 20)
HEADER = ["单位编号", "结算期", "险种", "金额", "到账日期"]


def enrol(unit, n: int, wages=("5000.00", "12345.67", "40000.00")) -> list[Person]:
    """`n` persons enrolled in all the unit's types (ID numbers unique across units)."""
    persons = []
    for i in range(n):
        born = date(1960 + unit.pk % 40, 1 + (i // 28) % 12, 1 + i % 28)
        person = Person.objects.create(
            person_no=f"P{unit.pk:03d}{i:05d}",
            id_number=make_resident_id("110101", born, (i // 336) % 1000),
            name=f"职工{unit.pk}-{i}",
            sex="1",
            birth_date=born,
        )
        Enrolment.objects.bulk_create(
            Enrolment(
                person=person,
                unit=unit,
                region=unit.region,
                insurance_type=t,
                start_period=202001,
                status=Enrolment.Status.ACTIVE,
                wage_base=D(wages[i % len(wages)]),
            )
            for t in unit.insurance_types
        )
        persons.append(person)
    return persons


def settled_unit(staff, region, n: int, persons: int = 3):
    """A unit of `region` with `persons` enrolled and its settlement of PERIOD confirmed."""
    region.current_period = PERIOD
    region.save()
    unit = make_unit(staff, region, n)
    admin = make_admin(unit)
    people = enrol(unit, persons)
    settlement = settlement_start(actor=admin, unit=unit)
    assert settlement.state == Settlement.State.CONFIRMED
    return unit, admin, people, settlement


def add_back_pay(settlement, person, item: str, belongs: int, unit_amount, personal_amount):
    """A back-pay line of an earlier 费款所属期 settled in the same settlement (DOMAIN §4)."""
    template = ContributionLine.objects.filter(settlement=settlement, item=item).first()
    line = ContributionLine.objects.create(
        settlement=settlement,
        unit=settlement.unit,
        person=person,
        region_id=settlement.region_id,
        item=item,
        settle_period=settlement.settle_period,
        belongs_period=belongs,
        kind=ContributionLine.Kind.BACK_PAY,
        base=D("5000.00"),
        unit_amount=D(unit_amount),
        personal_amount=D(personal_amount),
        parameter_set=template.parameter_set,
    )
    rebuild_arrears(
        unit_id=settlement.unit_id, person_id=None, settle_period=settlement.settle_period
    )
    return line


def flexible_worker(settlement, person):
    """A flexible worker's own lines (unit empty, payer P<id>). Until the flexible assessment
    exists, they ride on an existing settlement row, which is all rebuild_arrears needs."""
    template = ContributionLine.objects.filter(settlement=settlement, item="110").first()
    for belongs in (202507, PERIOD):
        ContributionLine.objects.create(
            settlement=settlement,
            unit=None,
            person=person,
            region_id=settlement.region_id,
            item="110",
            settle_period=PERIOD,
            belongs_period=belongs,
            kind=ContributionLine.Kind.FLEXIBLE,
            base=D("7162.00"),
            unit_amount=D("859.44"),
            personal_amount=D("572.96"),
            parameter_set=template.parameter_set,
        )
    rebuild_arrears(unit_id=None, person_id=person.pk, settle_period=PERIOD)


def lines_due(unit, item: str | None = None, belongs: int | None = None) -> D:
    """What the lines say is due, summed in Python (the oracle of the pages)."""
    qs = ContributionLine.objects.filter(
        unit=unit, settle_period=PERIOD, withdrawn=False, settlement__isnull=False
    )
    if item:
        qs = qs.filter(item=item)
    if belongs:
        qs = qs.filter(belongs_period=belongs)
    return sum((u + p for u, p in qs.values_list("unit_amount", "personal_amount")), D("0"))


def arrear(unit, item: str, belongs: int = PERIOD) -> Arrear:
    return Arrear.objects.get(
        payer=f"U{unit.pk}", settle_period=PERIOD, item=item, belongs_period=belongs
    )


def csv_bytes(rows, header=HEADER, encoding="utf-8") -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode(encoding)


def upload(data: bytes, name: str = "到账.csv", content_type="text/csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type)


def xlsx_bytes(rows, header=HEADER) -> bytes:
    return build_xlsx([("到账", header, rows)])


def region_with_units(region, staff, numbers=(11, 12, 13), persons=3):
    region.current_period = PERIOD
    region.save()
    units = [make_unit(staff, region, n) for n in numbers]
    for unit in units:
        enrol(unit, persons)
    return units
