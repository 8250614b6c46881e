"""Fixtures of the flexible-worker tests: Beijing at the tests' period and a person with a sign-in."""

import pytest

from tests.contributions.flexible_helpers import PERIOD, make_person, person_login


@pytest.fixture
def region(region_bj):
    region_bj.current_period = PERIOD
    region_bj.save()
    return region_bj


@pytest.fixture
def worker(region):
    person = make_person(1)
    return person, person_login(person)
