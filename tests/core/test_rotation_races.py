"""``rotate_field_keys`` on a live database (PostgreSQL: row locks): a write committed while a
batch is being rotated is not overwritten with the value the rotation read before it."""

import base64
import io
import threading
import time

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings

from shebao.core import crypto
from shebao.registry.models import Person
from tests import races

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

NEW_MOBILE = "13900000009"


def test_a_write_during_a_rotation_is_not_lost(person):
    ring = {
        "demo1": base64.b64encode(crypto.field_keys()[0]["demo1"]).decode(),
        "k2": base64.b64encode(b"f" * 32).decode(),
    }
    locked, release = threading.Event(), threading.Event()

    def write():
        with transaction.atomic():
            Person.objects.select_for_update().get(pk=person.pk)
            Person.objects.filter(pk=person.pk).update(**Person.mobile.columns_for(NEW_MOBILE))
            locked.set()
            release.wait(races.TIMEOUT)  # committed while the rotation is under way

    def rotate():
        call_command("rotate_field_keys", stdout=io.StringIO())

    with override_settings(SHEBAO_FIELD_KEYS=ring, SHEBAO_FIELD_KEY_CURRENT="k2"):
        writer = races.start(write, w := races.Outcome())
        assert locked.wait(races.TIMEOUT)
        rotation = races.start(rotate, r := races.Outcome())
        time.sleep(1)  # the rotation reaches the locked row
        release.set()
        races.join(writer, rotation)
        assert w.error is None and r.error is None
        fresh = Person.objects.get(pk=person.pk)
        assert crypto.key_id_of(fresh.mobile_enc) == "k2"
        assert fresh.mobile == NEW_MOBILE
