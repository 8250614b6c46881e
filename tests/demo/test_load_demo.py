"""The demo loader that ./dev serve runs: the demo accounts it announces can be used, and running
it again changes nothing."""

import io

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.management import call_command

from shebao.accounts.models import User
from shebao.demo.management.commands.load_demo import DEMO_PASSWORD
from shebao.registry.models import Enrolment, Person, Unit

pytestmark = pytest.mark.django_db


def load() -> str:
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


def counts() -> tuple[int, ...]:
    return tuple(m.objects.count() for m in (Unit, Person, Enrolment, User))


def test_loads_the_demo_and_is_idempotent():
    text = load()
    first = counts()
    assert all(first)
    assert "演示账号" in text
    person = User.objects.get(
        Person.id_number.q("11010519491231002X", "person__"), kind=User.Kind.PERSON
    )
    assert person.check_password("Demo@2026")
    assert User.objects.filter(kind=User.Kind.STAFF, username="demo_bj").exists()
    load()
    assert counts() == first


def test_the_demo_password_passes_every_validator_for_every_demo_account():
    load()
    users = list(User.objects.all())
    assert users
    for user in users:
        validate_password(DEMO_PASSWORD, user=user)
