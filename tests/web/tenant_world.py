"""The world of the tenant-isolation matrix (tests/web/test_tenant_matrix.py): a victim region
with two victim units (an enterprise with a record of every kind, and an institution for the
monthly wage declaration), a victim person with an account and a flexible-worker record, the
victim region's staff; and the attackers — a unit of the same region, a unit of another
region, another person, staff of another region. Built through the services where they exist
(the way the pages leave the tables), with the shared factories and helpers. No tests here."""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal as D

from shebao.accounts.models import User
from shebao.contributions.backpay.services import backpay_save
from shebao.contributions.flexible.services import flexible_assess, flexible_register
from shebao.contributions.models import ParameterSet, RegionSettlementJob, Settlement
from shebao.contributions.params.services import unit_injury_rate_set
from shebao.contributions.payments.services import payment_post
from shebao.contributions.settlement.services import settlement_start
from shebao.contributions.settlement.services_region import (
    region_open_next_period,
    region_settle_all_start,
)
from shebao.contributions.wages.services import annual_wage_save, monthly_wage_save
from shebao.core.ids import make_resident_id, make_uscc, mask_id_number
from shebao.core.models import Region
from shebao.filings.kept import kept_store
from shebao.filings.models import Filing, FilingMaterial, FilingRow
from shebao.filings.services import filing_approve, filing_cancel, filing_return, filing_submit
from shebao.registry.changes import services as changes
from shebao.registry.enrolment.services import enrolment_save, stop_save
from shebao.registry.models import Affiliation, Enrolment, Person, UnitType
from shebao.registry.roster import roster_refresh
from shebao.registry.services import unit_create
from tests.conftest import ensure_published_parameters
from tests.factories import PASSWORD, make_admin, make_operator, make_staff
from tests.registry.changes_helpers import licence, proof, unit_general_after
from tests.registry.enrolment_helpers import enrol_data
from tests.registry.flow import checked_materials, make_draft

PERIOD = 202508  # the victim region's current 结算期 (the shipped 2025-07 parameters apply)
AREA = "510105"  # victims' ID numbers: masked "5101**********…", unlike any attacker's
TYPES = ("110", "210", "310", "410")
KEPT_OWNER = "victim-applicant-session-token"


@dataclass
class World:
    """What the matrix needs by name: the victim's objects, the actors, the markers."""

    victim_region: Region
    other_region: Region
    victim_staff: User
    victim_admin: User
    victim_clerk: User
    institution_admin: User
    victim_person_user: User
    superuser: User
    attackers: dict[str, User | None]
    persons: list[Person]
    serials: dict[str, str]  # label -> serial number
    rows: dict[str, int]  # serial label -> a FilingRow id of it
    settlement_id: int
    flexible_settlement_id: int
    job_id: int
    parameter_set_id: int
    material_id: int
    kept_id: int  # a material kept for the victim applicant's form (filings/kept.py)
    kept_owner: str  # the victim applicant's session token for it
    markers: list[str] = field(default_factory=list)
    victim_ids: dict[str, set] = field(default_factory=dict)  # column -> the victim's values

    def names_victim(self, row: dict, *, own_region: bool) -> bool:
        """Whether a table row points at a victim unit, person, filing or (for an actor of
        another region) the victim region."""
        return any(
            row.get(column) in values
            for column, values in self.victim_ids.items()
            if not (own_region and column == "region_id")
        )


def region(code: str, name: str) -> Region:
    obj, _ = Region.objects.update_or_create(
        code=code,
        defaults={"name": name, "insurance_places": [f"{name}市本级"], "current_period": PERIOD},
    )
    return obj


def unit(staff, reg, n: int, name: str, unit_type=UnitType.ENTERPRISE):
    return unit_create(
        actor=staff,
        region=reg,
        fields={
            "name": name,
            "uscc": make_uscc(f"91{reg.code}MA1{n:02d}XK7P"),
            "unit_type": unit_type,
            "affiliation": Affiliation.CITY,
            "address": "示范路9号",
            "legal_rep_name": "蔺法人",
            "legal_rep_id_number": make_resident_id(AREA, date(1970, 1, 1 + n % 28), 11 + 2 * n),
            "contact_name": "蔺联系",
            "contact_mobile": f"139888800{n:02d}",
            "injury_risk_class": 2,
        },
    )


def person(n: int, name: str, area: str = AREA) -> Person:
    born = date(1980, 1 + n % 12, 1 + n % 28)
    return Person.objects.create(
        person_no=f"V{area[:2]}{n:09d}",
        id_number=make_resident_id(area, born, 300 + 2 * n + 1),
        name=name,
        sex="1",
        birth_date=born,
        hukou=Person.Hukou.LOCAL_URBAN,
        first_work_date=date(2005, 7, 1),
        mobile=f"1378888{n:04d}",
        address="示范路10号",
    )


def enrol(p: Person, u, types=None, wage="8000.00") -> None:
    Enrolment.objects.bulk_create(
        Enrolment(
            person=p,
            unit=u,
            region=u.region,
            insurance_type=t,
            start_period=202001,
            status=Enrolment.Status.ACTIVE,
            wage_base=D(wage),
        )
        for t in types or u.insurance_types
    )
    roster_refresh(unit_ids=[u.pk], person_ids=[p.pk])


def login(p: Person, username: str) -> User:
    user = User(username=username, kind=User.Kind.PERSON, person=p, display_name=p.name)
    user.set_password(PASSWORD)
    user.save()
    return user


def build() -> World:
    ensure_published_parameters()
    bj, sh = region("110000", "北京市"), region("310000", "上海市")
    staff_v, staff_x = make_staff("victim_staff", bj), make_staff("other_staff", sh)
    superuser = make_staff("root_staff", bj)
    superuser.is_superuser = superuser.is_staff = True
    superuser.save()

    # Victim units: an enterprise with a record of every kind, an institution (monthly wages).
    v1 = unit(staff_v, bj, 1, "蔺氏受害精密仪器有限公司")
    admin = make_admin(v1, mobile="13988880001")
    clerk = make_operator(v1, "vclerk", ["enrolment"], mobile="13988880011")
    v2 = unit(staff_v, bj, 2, "蔺氏受害研究所", unit_type=UnitType.GOVERNMENT)
    inst_admin = make_admin(v2, mobile="13988880002")
    names = [f"蔺受害{c}" for c in "甲乙丙丁戊己庚辛壬癸"]
    persons = [person(i, nm) for i, nm in enumerate(names, start=1)]
    for p in persons[2:9]:
        enrol(p, v1)
    enrol(persons[9], v2)

    # Attackers: another unit of the region, a unit of another region, another person, staff
    # of another region (and anonymous).
    a1 = unit(staff_v, bj, 31, "邻居同区商贸有限公司")
    a1_admin = make_admin(a1, mobile="13977770031")
    a2 = unit(staff_x, sh, 32, "远方异地物流有限公司")
    a2_admin = make_admin(a2, mobile="13977770032")
    for n, u in ((41, a1), (42, a2)):
        enrol(person(n, f"邻人{n}", area="110105"), u)
    other = person(43, "邻人旁观者", area="110105")
    other_user = login(other, "other_person")

    serials, rows = {}, {}

    def keep(label, filing):
        serials[label] = filing.serial_no
        row = filing.rows.order_by("pk").first()
        if row is not None:
            rows[label] = row.pk
        return filing

    # An approved stop; then the settlement of the current period (open filings block it), a
    # payment, arrears; then two persons join, owing nothing, for the stop drafts.
    stop_data = {
        "insurance_types": list(TYPES),
        "reason": Enrolment.StopReason.LEFT,
        "stop_date": date(2025, 8, 31),
    }
    approved_stop = stop_save(actor=admin, data=stop_data, person_ids=[persons[8].pk])
    filing_submit(actor=admin, filing=approved_stop)
    filing_approve(actor=staff_v, filing_id=approved_stop.pk)
    keep("stop_approved", approved_stop)
    settlement = settlement_start(actor=admin, unit=v1)
    assert settlement.state == Settlement.State.CONFIRMED, settlement.state
    payment_post(
        actor=staff_v,
        unit=v1,
        settle_period=PERIOD,
        item="110",
        amount=D("100.00"),
        paid_on=date(2025, 8, 20),
    )
    unit_injury_rate_set(actor=staff_v, unit=v1, valid_from=str(PERIOD + 1), factor="1.20")
    region_open_next_period(actor=staff_v, region_code=bj.code)  # 202508 becomes back pay

    enrol(persons[0], v1)
    enrol(persons[1], v1)

    # Enrolment filings: a draft (new person), one submitted, one cancelled.
    new_ids = [make_resident_id(AREA, date(1995, 5, 5 + i), 501 + 2 * i) for i in range(4)]
    keep(
        "enrolment",
        enrolment_save(
            actor=admin, data=enrol_data(new_ids[0], name="蔺新员甲", start_period=str(PERIOD))
        ),
    )
    sub = enrolment_save(
        actor=admin, data=enrol_data(new_ids[1], name="蔺新员乙", start_period=str(PERIOD))
    )
    filing_submit(actor=admin, filing=sub)
    keep("enrolment_submitted", sub)
    cancelled = enrolment_save(
        actor=admin, data=enrol_data(new_ids[2], name="蔺新员丙", start_period=str(PERIOD))
    )
    filing_cancel(actor=admin, filing=Filing.objects.get(pk=cancelled.pk))
    keep("enrolment_cancelled", cancelled)

    keep("stop", stop_save(actor=admin, data=stop_data, person_ids=[persons[0].pk]))
    keep(
        "transfer_out",
        stop_save(
            actor=admin,
            data={"stop_date": date(2025, 8, 31)},
            person_ids=[persons[1].pk],
            kind="transfer_out",
        ),
    )

    # Transfer in (a draft) of a person the institution transferred out.
    moved = person(11, "蔺受害转入")
    enrol(moved, v2)
    out = stop_save(
        actor=inst_admin,
        data={"stop_date": date(2025, 8, 31)},
        person_ids=[moved.pk],
        kind="transfer_out",
    )
    filing_submit(actor=inst_admin, filing=out)
    filing_approve(actor=staff_v, filing_id=out.pk)
    persons.append(moved)
    keep(
        "transfer_in",
        enrolment_save(
            actor=admin,
            kind="transfer_in",
            data=enrol_data(moved.id_number, name=moved.name, start_period=str(PERIOD + 1)),
        ),
    )

    # Person key change (with a proof material; then returned) and a unit general change.
    key = changes.person_change_save(
        actor=admin,
        kind="person_key_change",
        person=persons[2],
        after={"name": "蔺受害丙改"},
        materials=proof(),
    )
    filing_submit(actor=admin, filing=key)
    filing_return(actor=staff_v, filing_id=key.pk, reason="材料不清")
    keep("person_key_change", key)
    keep(
        "unit_general_change",
        changes.unit_change_save(
            actor=admin, kind="unit_general_change", after=unit_general_after(v1, address="新址8号")
        ),
    )
    # A unit key change replacing the legal representative (submitted: the reviewer may show
    # the new legal representative's full ID).
    unit_key = changes.unit_change_save(
        actor=admin,
        kind="unit_key_change",
        after={
            "legal_rep_name": "蔺新法人",
            "legal_rep_id_number": make_resident_id(AREA, date(1971, 2, 3), 15),
        },
        materials=licence(legal_rep=True),
    )
    filing_submit(actor=admin, filing=unit_key)
    keep("unit_key_change", unit_key)
    changes.person_lock(actor=staff_v, person=persons[3], reason="正在办理退休")

    # Wages: the annual declaration (draft) and the institution's monthly one (draft).
    keep(
        "wage_annual",
        annual_wage_save(actor=admin, year="2025", valid_from="", entries={persons[4].pk: "9000"}),
    )
    keep(
        "wage_monthly",
        monthly_wage_save(actor=inst_admin, period=str(PERIOD + 1), entries=monthly(persons[9])),
    )

    # Back pay of the three kinds (drafts).
    for kind, p in (("back_pay", 5), ("adjust_pay", 6), ("supplement_pay", 7)):
        keep(kind, backpay_save(actor=admin, kind=kind, data=backpay(persons[p], kind)))

    # The victim person: an account, an approved flexible registration and its assessment.
    vperson = person(20, "蔺受害个人")
    vuser = login(vperson, "victim_person")
    flex = flexible_register(
        actor=vuser,
        data={"region": "110000", "start_period": str(PERIOD + 1), "base_level": "1.50"},
    )
    flex = filing_approve(actor=staff_v, filing_id=flex.pk)
    keep("flexible_enrolment", flex)
    flex_settlement = flexible_assess(actor=vuser)

    # Staff's records of the region: a region settlement job; a first registration draft.
    job = region_settle_all_start(actor=staff_v, region_code="110000")
    keep(
        "unit_registration",
        make_draft(name="蔺氏受害申请有限公司", uscc=make_uscc("91110108MA0901XK9")),
    )

    material = FilingMaterial.objects.filter(filing__serial_no=serials["person_key_change"]).first()
    kept = kept_store(
        owner=KEPT_OWNER,
        scope="registration:new",
        slot="licence",
        checked=checked_materials()["licence"],
    )
    world = World(
        victim_region=bj,
        other_region=sh,
        victim_staff=staff_v,
        victim_admin=admin,
        victim_clerk=clerk,
        institution_admin=inst_admin,
        victim_person_user=vuser,
        superuser=superuser,
        attackers={
            "anonymous": None,
            "unit_same_region": a1_admin,
            "unit_other_region": a2_admin,
            "person": other_user,
            "staff_other_region": staff_x,
        },
        persons=[*persons, vperson],
        serials=serials,
        rows=rows,
        settlement_id=settlement.pk,
        flexible_settlement_id=flex_settlement.pk,
        job_id=job.pk,
        parameter_set_id=ParameterSet.objects.filter(region=bj).order_by("pk").first().pk,
        material_id=material.pk,
        kept_id=kept.pk,
        kept_owner=KEPT_OWNER,
    )
    world.markers = markers(world, [v1, v2])
    world.victim_ids = {
        "unit_id": {v1.pk, v2.pk},
        "person_id": {p.pk for p in world.persons},
        "filing_id": set(
            Filing.objects.filter(serial_no__in=serials.values()).values_list("pk", flat=True)
        ),
        "region_id": {bj.code},
    }
    assert RegionSettlementJob.objects.filter(pk=job.pk).exists()
    return world


def monthly(p: Person) -> dict:
    return {p.pk: {"basic": "5000", "allowance": "1000", "performance": "0", "other": "0"}}


def backpay(p: Person, kind: str) -> dict:
    return {
        "person": p.pk,
        "month_from": str(PERIOD) if kind == "adjust_pay" else "202501",
        "month_to": str(PERIOD) if kind == "adjust_pay" else "202503",
        "wage": "9000.00",
        "insurance_types": ["110"] if kind == "supplement_pay" else [],
    }


def markers(world: World, units) -> list[str]:
    """Strings that only victim data contains: the units' names, the persons' names and
    masked ID numbers, the filings' serial numbers."""
    found = [u.name for u in units]
    for p in world.persons:
        found += [p.name, mask_id_number(p.id_number)]
    for name, masked in FilingRow.objects.filter(
        filing__serial_no__in=world.serials.values()
    ).values_list("name", "id_number_masked"):
        found += [name, masked]
    found += list(world.serials.values())
    return sorted(set(filter(None, found)))
