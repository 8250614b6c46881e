"""Test data made the way the services leave it: staff with their regions, units registered at
the counter, a unit's administrator and its other operators. One place for each, shared by every
test package (fixtures in conftest.py build on these)."""

from datetime import date

from shebao.accounts.models import UnitOnlineRegistration, User
from shebao.accounts.services import operator_internal_username
from shebao.core.ids import make_resident_id, make_uscc
from shebao.core.models import Region
from shebao.registry.models import Affiliation, RosterEntry, UnitType
from shebao.registry.services import unit_create

PASSWORD = "Passw0rd!x"
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def make_staff(username: str, *regions) -> User:
    user = User(
        username=username,
        kind=User.Kind.STAFF,
        display_name=f"{username}经办员",
        mobile="13700000000",
        totp_secret=TOTP_SECRET,
        totp_confirmed=True,
    )
    user.set_password(PASSWORD)
    user.save()
    user.regions.add(*regions)
    return user


def make_unit(staff: User, region: Region, n: int, *, vip=False, unit_type=UnitType.ENTERPRISE):
    unit = unit_create(
        actor=staff,
        region=region,
        fields={
            "name": f"测试单位{n}有限公司",
            "uscc": make_uscc(f"91{region.code}MA0{n:02d}XK7P"),
            "unit_type": unit_type,
            "affiliation": Affiliation.CITY,
            "address": "测试路1号",
            "legal_rep_name": "李法人",
            "legal_rep_id_number": make_resident_id("110101", date(1975, 5, 1), 11),
            "contact_name": "王联系",
            "contact_mobile": f"139000000{n:02d}",
            "injury_risk_class": 2,
            "is_vip": vip,
        },
    )
    return unit


def make_admin(unit, mobile: str | None = None) -> User:
    registration = UnitOnlineRegistration.objects.create(
        unit=unit, via=UnitOnlineRegistration.Via.REGISTRATION_CODE
    )
    user = User(
        username=operator_internal_username(registration, "admin"),
        kind=User.Kind.OPERATOR,
        unit=unit,
        registration=registration,
        operator_account="admin",
        display_name="王联系",
        mobile=mobile or unit.contact_mobile,
        is_unit_admin=True,
    )
    user.set_password(PASSWORD)
    user.save()
    return user


def make_operator(unit, account: str, kinds=(), *, mobile: str = "13600000000") -> User:
    """A non-administrator operator of ``unit`` (in its administrator's online registration)
    allowed to file ``kinds`` only."""
    registration = UnitOnlineRegistration.objects.get(unit=unit, revoked_at__isnull=True)
    user = User(
        username=operator_internal_username(registration, account),
        kind=User.Kind.OPERATOR,
        unit=unit,
        registration=registration,
        operator_account=account,
        display_name=f"{account}经办",
        mobile=mobile,
        business_kinds=list(kinds),
    )
    user.set_password(PASSWORD)
    user.save()
    return user


def make_roster_entry(unit, person) -> RosterEntry:
    """An open roster row written directly (no enrolment behind it): for tests of the stored
    columns (the lookup and masked ID copied from the person), not of the roster's refresh."""
    return RosterEntry.objects.create(
        unit=unit,
        person=person,
        person_no=person.person_no,
        name=person.name,
        id_number_lookup=person.id_number_lookup,
        id_number_masked=person.id_number_masked,
        sex=person.sex,
        is_open=True,
        type_mask=1,
        active_mask=1,
        suspended_mask=0,
        start_period=202501,
        wage=5000,
    )
