"""Shared fixtures: regions, a staff reviewer per region, units with their administrator, an
insured person with a login, signed-in clients and material files."""

import io
import re
from datetime import date

import pytest
from django.core.cache import cache
from django.test import Client
from PIL import Image

from shebao.accounts.models import User
from shebao.core.models import Region, SmsMessage
from shebao.registry.models import Affiliation, Person, UnitType
from tests.factories import PASSWORD, make_admin, make_staff, make_unit


@pytest.fixture(autouse=True)
def _clear_cache():
    """Each test starts with an empty cache: rate-limit counters, daily caps and progress
    figures of one test never reach the next. Only this process's keys (its KEY_PREFIX) are
    deleted: other pytest-xdist workers share the Redis server."""
    client = cache._cache.get_client(write=True)
    keys = list(client.scan_iter(match=cache.make_key("*"), count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture(autouse=True)
def _fast_media(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media")},
        },
    }


def ensure_published_parameters() -> None:
    """The shipped parameter sets come from a data migration; a transactional test's flush
    removes them, so fixtures put them back (idempotent)."""
    import importlib

    from django.apps import apps

    from shebao.contributions.models import ParameterSet

    if not ParameterSet.objects.filter(region_id="110000").exists():
        migration = importlib.import_module(
            "shebao.contributions.migrations.0002_published_parameters"
        )
        migration.forwards(apps, None)


@pytest.fixture
def region_bj(db):
    region, _ = Region.objects.update_or_create(
        code="110000", defaults={"name": "北京市", "insurance_places": ["北京市市本级"]}
    )
    ensure_published_parameters()
    return region


@pytest.fixture
def region_sh(db):
    region, _ = Region.objects.update_or_create(
        code="310000", defaults={"name": "上海市", "insurance_places": ["上海市市本级"]}
    )
    ensure_published_parameters()
    return region


@pytest.fixture
def staff_bj(region_bj):
    return make_staff("staff_bj", region_bj)


@pytest.fixture
def staff_sh(region_sh):
    return make_staff("staff_sh", region_sh)


@pytest.fixture
def unit_a(staff_bj, region_bj):
    return make_unit(staff_bj, region_bj, 1)


@pytest.fixture
def unit_b(staff_bj, region_bj):
    return make_unit(staff_bj, region_bj, 2)


@pytest.fixture
def admin_a(unit_a):
    return make_admin(unit_a)


@pytest.fixture
def admin_b(unit_b):
    return make_admin(unit_b)


@pytest.fixture
def person(region_bj):
    return Person.objects.create(
        person_no="110000000001",
        id_number="11010519491231002X",
        name="张晓红",
        sex="2",
        birth_date=date(1949, 12, 31),
        mobile="13800000001",
    )


@pytest.fixture
def person_user(person):
    user = User(username="pperson", kind=User.Kind.PERSON, person=person, display_name=person.name)
    user.set_password(PASSWORD)
    user.save()
    return user


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def staff_client(staff_bj):
    return signed_in(staff_bj)


@pytest.fixture
def admin_client(admin_a):
    return signed_in(admin_a)


def last_sms_code(mobile: str) -> str:
    """The newest verification code texted to `mobile` (read from the outbox)."""
    for message in SmsMessage.objects.filter(SmsMessage.mobile.q(mobile)).order_by("-id"):
        found = re.search(r"验证码 (\d{6})", message.text)
        if found:
            return found.group(1)
    raise AssertionError(f"no verification code sent to {mobile}")


def jpeg_bytes(size=(1200, 900), color=(200, 180, 160)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def png_bytes(size=(1000, 800)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (240, 240, 240)).save(buf, "PNG")
    return buf.getvalue()


VALID_USCC = "91350100M000100Y43"


def registration_data(**overrides) -> dict:
    """A valid first-registration form (without files)."""
    data = {
        "name": "新注册科技有限公司",
        "uscc": VALID_USCC,
        "unit_type": UnitType.ENTERPRISE,
        "affiliation": Affiliation.CITY,
        "region": "110000",
        "insurance_place": "北京市市本级",
        "address": "北京市海淀区测试路8号",
        "legal_rep_name": "赵法人",
        "legal_rep_id_number": "11010519491231002X",
        "contact_name": "钱联系",
        "contact_mobile": "13912345678",
        "industry": "65",
        "injury_risk_class": "1",
        "bank_name": "中国工商银行北京海淀支行",
        "bank_account": "0200004509012345678",
        "admin_account": "zhaoadmin",
        "password": PASSWORD,
        "password2": PASSWORD,
    }
    data.update(overrides)
    return data


def registration_files() -> dict:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return {
        "licence": SimpleUploadedFile("营业执照.jpg", jpeg_bytes(), "image/jpeg"),
        "legal_rep_id_front": SimpleUploadedFile("front.png", png_bytes(), "image/png"),
        "legal_rep_id_back": SimpleUploadedFile("back.jpg", jpeg_bytes(), "image/jpeg"),
    }


def pytest_collection_modifyitems(config, items):
    """PostgreSQL-only tests (row locks, races) are skipped on SQLite; CI's PostgreSQL pass
    runs them."""
    from django.conf import settings

    if "postgresql" in settings.DATABASES["default"]["ENGINE"]:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (CI runs it with DATABASE_URL)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)
