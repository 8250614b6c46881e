"""Fixtures and helpers shared by the information-change tests (test_changes_*.py): persons
enrolled at a unit, a VIP unit, operators without the business kind, checked materials.
(No tests here; the other modules import from it.)"""

from datetime import date
from functools import cache

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from shebao.accounts.services import operator_create
from shebao.core.ids import make_resident_id, make_uscc
from shebao.filings.materials import CheckedMaterial, check_material
from shebao.filings.models import Filing, FilingKind
from shebao.registry.changes import services as changes
from shebao.registry.models import Enrolment, Person
from shebao.registry.roster import roster_refresh
from tests.conftest import jpeg_bytes
from tests.factories import PASSWORD, make_admin, make_unit

LOCK_REASON = "正在办理退休"
NEW_USCC = make_uscc("91110108MA0099XK7")


@cache
def _small_jpeg() -> bytes:
    return jpeg_bytes((400, 320))


@cache
def _checked() -> CheckedMaterial:
    return check_material(_small_jpeg(), name="户口簿.jpg")


def proof() -> dict[str, CheckedMaterial]:
    return {"proof": _checked()}


def licence(*, legal_rep: bool = False) -> dict[str, CheckedMaterial]:
    materials = {"licence": _checked()}
    if legal_rep:
        materials["legal_rep_id"] = _checked()
    return materials


def upload(name: str = "材料.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, _small_jpeg(), "image/jpeg")


def make_person(n: int, *, birth=date(1980, 3, 15), order=None, **fields) -> Person:
    order = order if order is not None else 100 + 2 * n + 1  # odd: male
    id_number = make_resident_id("110105", birth, order)
    data = {
        "person_no": f"1100{n:08d}",
        "id_number": id_number,
        "name": f"测试人员{n}",
        "sex": "1" if order % 2 else "2",
        "birth_date": birth,
        "mobile": f"1360000{n:04d}",
        "address": "北京市朝阳区测试路2号",
        "hukou": Person.Hukou.LOCAL_URBAN,
    }
    data.update(fields)
    return Person.objects.create(**data)


def enrol(person: Person, unit, types=("110", "310")) -> None:
    for t in types:
        Enrolment.objects.create(
            person=person,
            unit=unit,
            region=unit.region,
            insurance_type=t,
            start_period=202401,
            status=Enrolment.Status.ACTIVE,
        )
    roster_refresh(unit_ids=[unit.pk], person_ids=[person.pk])


def person_save(actor, person, kind=FilingKind.PERSON_KEY_CHANGE, **kwargs) -> Filing:
    if kind == FilingKind.PERSON_KEY_CHANGE:
        kwargs.setdefault("materials", proof())
    return changes.person_change_save(actor=actor, kind=kind, person=person, **kwargs)


def key_change(actor, person, **after) -> Filing:
    return person_save(actor, person, after=after)


def general_change(actor, person, **after) -> Filing:
    full = {"mobile": person.mobile, "address": person.address, "hukou": person.hukou}
    full.update(after)
    return person_save(actor, person, kind=FilingKind.PERSON_GENERAL_CHANGE, after=full)


def unit_general_after(unit, **after) -> dict:
    full = {
        "contact_name": unit.contact_name,
        "contact_mobile": unit.contact_mobile,
        "address": unit.address,
    }
    full.update(after)
    return full


@pytest.fixture
def worker(unit_a):
    """A person currently enrolled at unit A."""
    person = make_person(1)
    enrol(person, unit_a)
    return person


@pytest.fixture
def stranger(unit_b):
    """A person of unit B only."""
    person = make_person(2)
    enrol(person, unit_b)
    return person


@pytest.fixture
def unit_vip(staff_bj, region_bj):
    return make_unit(staff_bj, region_bj, 9, vip=True)


@pytest.fixture
def admin_vip(unit_vip):
    return make_admin(unit_vip, mobile="13900000099")


@pytest.fixture
def vip_worker(unit_vip):
    person = make_person(9)
    enrol(person, unit_vip)
    return person


@pytest.fixture
def clerk(admin_a):
    """An operator of unit A allowed to file enrolments only."""
    return operator_create(
        actor=admin_a,
        account="clerk1",
        display_name="赵经办",
        mobile="13911110001",
        password=PASSWORD,
        business_kinds=["enrolment"],
    )
