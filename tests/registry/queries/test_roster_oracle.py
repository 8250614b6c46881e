"""The roster read model (RosterEntry) against an oracle: random sequences of enrolments,
resumptions, added types, stops, transfers out and in, and person key changes (name, ID
number, sex), all through the services (save, submit, approve), then the table must equal what
a plain Python computation from Enrolment and Person gives, and ``roster_rebuild`` must give
the same rows again (idempotent)."""

import random
from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from shebao.core.ids import make_resident_id
from shebao.core.periods import Period
from shebao.filings import services as filing_services
from shebao.registry.changes import services as changes
from shebao.registry.enrolment.services import enrolment_save, stop_save
from shebao.registry.models import Enrolment, Person, RosterEntry, UnitType
from shebao.registry.roster import TYPE_BITS, roster_rebuild, roster_refresh
from tests.factories import make_admin, make_unit
from tests.registry.changes_helpers import proof
from tests.registry.enrolment_helpers import enrol_data

BIRTH = date(1985, 6, 15)
FIRST_WORK = date(2010, 1, 1)
NAMES = ["王一", "王二", "李三", "张四", "赵五", "王小六", "陈七"]
STOP_REASONS = [
    Enrolment.StopReason.LEFT,
    Enrolment.StopReason.RETIRED,
    Enrolment.StopReason.OTHER,
]
COLUMNS = (
    "unit_id",
    "person_id",
    "person_no",
    "name",
    "id_number_masked",
    "sex",
    "is_open",
    "type_mask",
    "active_mask",
    "suspended_mask",
    "start_period",
    "stop_period",
    "wage",
    "status",
)


def oracle() -> set[tuple]:
    """The roster as the page used to compute it, in Python from the enrolments: per unit and
    person, the open enrolments' figures while any is open, else all enrolments'."""
    groups = defaultdict(list)
    for e in Enrolment.objects.filter(unit__isnull=False):
        groups[e.unit_id, e.person_id].append(e)
    persons = Person.objects.in_bulk({person_id for _, person_id in groups})
    rows = set()
    for (unit_id, person_id), enrolments in groups.items():
        p = persons[person_id]
        opened = [e for e in enrolments if e.stop_period is None]
        shown = opened or enrolments
        mask = 0
        for e in shown:
            mask |= TYPE_BITS[e.insurance_type]
        active = suspended = 0
        for e in opened:
            if e.status == Enrolment.Status.ACTIVE:
                active |= TYPE_BITS[e.insurance_type]
            elif e.status == Enrolment.Status.SUSPENDED:
                suspended |= TYPE_BITS[e.insurance_type]
        statuses = {e.status for e in opened}
        rows.add(
            (
                unit_id,
                person_id,
                p.person_no,
                p.name,
                p.masked_id_number,
                p.sex,
                bool(opened),
                mask,
                active,
                suspended,
                min(e.start_period for e in shown),
                None if opened else max(e.stop_period for e in enrolments),
                max(e.wage_base for e in shown).quantize(Decimal("0.01")),
                statuses.pop() if len(statuses) == 1 else "",
            )
        )
    return rows


def table() -> set[tuple]:
    return {
        (*row[:-2], row[-2].quantize(Decimal("0.01")), row[-1])
        for row in RosterEntry.objects.values_list(*COLUMNS)
    }


class World:
    """Units with their administrators, the persons created so far, a clock of months that
    only moves forward (start and stop months must follow each other) and the operations."""

    def __init__(self, rng, staff, units):
        self.rng = rng
        self.staff = staff
        self.units = units  # [(unit, admin)]
        self.month = Period.parse("201601")
        self.ids = 0
        self.applied = defaultdict(int)
        self.refused = defaultdict(int)

    def approve(self, admin, filing):
        filing_services.filing_submit(actor=admin, filing=filing)
        filing_services.filing_approve(actor=self.staff, filing_id=filing.pk)

    def new_id(self) -> str:
        self.ids += 1
        return make_resident_id("110105", BIRTH, self.ids)

    def open_at(self, unit) -> list[Person]:
        ids = Enrolment.objects.filter(unit=unit, stop_period__isnull=True).values("person_id")
        return list(Person.objects.filter(pk__in=ids).order_by("pk"))

    def staffed_unit(self):
        """A unit with persons on its roster, its administrator and those persons."""
        staffed = [(u, a, people) for u, a in self.units if (people := self.open_at(u))]
        if not staffed:
            raise ValidationError("nobody on any roster")
        return self.rng.choice(staffed)

    # --- operations: each either takes effect through the services or is refused --------------

    def enrol(self):
        unit, admin = self.rng.choice(self.units)
        known = list(Person.objects.order_by("pk"))
        if known and self.rng.random() < 0.5:
            id_number = self.rng.choice(known).id_number  # resume, add types, or refused
        else:
            id_number = self.new_id()
        types = self.rng.sample(unit.insurance_types, self.rng.randint(1, 3))
        data = enrol_data(
            id_number,
            name=self.rng.choice(NAMES),
            first_work_date=FIRST_WORK,
            insurance_types=types,
            start_period=str(self.month),
            wage=Decimal(self.rng.randrange(400_000, 2_000_000)) / 100,
            contract_start=FIRST_WORK,
            waive_back_pay=True,  # past months: no back-pay records (parameters are recent)
        )
        self.approve(admin, enrolment_save(actor=admin, data=data))

    def stop(self, kind="stop"):
        unit, admin, people = self.staffed_unit()
        chosen = self.rng.sample(people, self.rng.randint(1, min(3, len(people))))
        types = sorted(
            set(
                Enrolment.objects.filter(
                    unit=unit, person__in=chosen, stop_period__isnull=True
                ).values_list("insurance_type", flat=True)
            )
        )
        data = {
            "insurance_types": self.rng.sample(types, self.rng.randint(1, len(types))),
            "reason": self.rng.choice(STOP_REASONS),
            "stop_date": self.month.first_day,
        }
        filing = stop_save(actor=admin, data=data, person_ids=[p.pk for p in chosen], kind=kind)
        self.approve(admin, filing)

    def transfer_out(self):
        self.stop(kind="transfer_out")

    def transfer_in(self):
        """A person whose last stop was a transfer out, taken up by another unit."""
        candidates = []
        for person in Person.objects.exclude(enrolments__stop_period__isnull=True).distinct():
            last = person.enrolments.order_by("-stop_period", "-pk").first()
            if last.stop_reason == Enrolment.StopReason.TRANSFERRED:
                candidates.append((person, last.unit_id))
        if not candidates:
            raise ValidationError("nobody transferred out")
        person, left = self.rng.choice(candidates)
        unit, admin = self.rng.choice([(u, a) for u, a in self.units if u.pk != left])
        data = enrol_data(
            person.id_number,
            insurance_types=self.rng.sample(unit.insurance_types, self.rng.randint(1, 4)),
            start_period=str(self.month),
            wage=Decimal("7300.50"),
            contract_start=FIRST_WORK,
            waive_back_pay=True,  # past months: no back-pay records (parameters are recent)
        )
        self.approve(admin, enrolment_save(actor=admin, kind="transfer_in", data=data))

    def key_change(self):
        _unit, admin, people = self.staffed_unit()
        person = self.rng.choice(people)
        after = {"name": self.rng.choice(NAMES) + "新"}
        if self.rng.random() < 0.5:  # a new ID number: birth date and sex follow it
            after["id_number"] = self.new_id()
        filing = changes.person_change_save(
            actor=admin,
            kind="person_key_change",
            person=person,
            after=after,
            materials=proof(),
        )
        self.approve(admin, filing)

    def step(self):
        name = self.rng.choices(
            ["enrol", "stop", "transfer_out", "transfer_in", "key_change"],
            weights=[6, 3, 2, 2, 2],
        )[0]
        try:
            getattr(self, name)()
        except ValidationError:
            self.refused[name] += 1
        else:
            self.applied[name] += 1
        self.month += 1


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_roster_table_follows_the_services(seed, staff_bj, region_bj):
    rng = random.Random(seed)
    units = []
    for n, unit_type in (
        (1, UnitType.ENTERPRISE),
        (2, UnitType.ENTERPRISE),
        (3, UnitType.INSTITUTION),
    ):
        unit = make_unit(staff_bj, region_bj, n, unit_type=unit_type)
        units.append((unit, make_admin(unit, mobile=f"1390000010{n}")))
    world = World(rng, staff_bj, units)
    for i in range(60):
        world.step()
        if i % 20 == 19:  # now and then, not only at the end
            assert table() == oracle()
    expected = oracle()
    assert table() == expected
    # the sequence did exercise every kind of change
    for name in ("enrol", "stop", "transfer_out", "transfer_in", "key_change"):
        assert world.applied[name] > 0, (name, dict(world.applied), dict(world.refused))
    assert any(row[6] for row in expected) and any(not row[6] for row in expected)

    # rebuilding from scratch gives the same rows, twice
    assert roster_rebuild() == len(expected)
    assert table() == expected
    call_command("roster_rebuild", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert table() == expected


def test_refresh_of_some_persons_leaves_the_others(admin_a, unit_a, unit_b):
    from tests.registry.queries_helpers import enrol, make_person

    a, b = make_person(1), make_person(2)
    enrol(a, unit_a)
    enrol(b, unit_a, stop=202312, start=202301)
    enrol(b, unit_b, ("310",))
    before = table()
    assert before == oracle() and len(before) == 3
    # written around the services: only the refreshed person's rows follow
    Enrolment.objects.filter(person=a).update(wage_base=Decimal("9999.99"))
    Enrolment.objects.filter(person=b, unit=unit_b).update(status=Enrolment.Status.SUSPENDED)
    roster_refresh(unit_ids=[unit_b.pk], person_ids=[b.pk])
    entry = RosterEntry.objects.get(person=b, unit=unit_b)
    assert entry.status == Enrolment.Status.SUSPENDED and entry.suspended_mask == TYPE_BITS["310"]
    assert RosterEntry.objects.get(person=a).wage == Decimal("6000.00")  # not refreshed
    roster_refresh(unit_ids=None, person_ids=[a.pk])
    assert table() == oracle()
    # nothing to do for empty lists
    roster_refresh(unit_ids=[], person_ids=[a.pk])
    roster_refresh(unit_ids=None, person_ids=[])
    assert table() == oracle()
