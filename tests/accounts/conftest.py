"""Fixtures of the accounts tests (helpers live in tests/accounts/helpers.py)."""

import pytest
from django.utils import timezone

from tests.accounts.helpers import Clock, make_clerk


@pytest.fixture
def clerk_a(admin_a):
    """A non-administrator operator of unit A, allowed to file enrolments only."""
    return make_clerk(admin_a)


@pytest.fixture
def clock(monkeypatch):
    """Frozen time: `clock.advance(seconds=61)` moves it; every timezone.now() call sees it."""
    c = Clock(timezone.now().replace(microsecond=0))
    monkeypatch.setattr(timezone, "now", c)
    return c
