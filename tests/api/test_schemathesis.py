"""schemathesis over the whole OpenAPI schema, every built-in check enabled: each operation
keeps the contract its schema states (valid requests accepted, invalid ones refused with a
documented 400, every answer matching its documented status, content type and body)."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS, load_all_checks

from config.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application)


@pytest.fixture
def wsgi_keeps_the_test_connection():
    """Requests go through the WSGI handler, whose request signals close the database
    connection (and with it the test's transaction); Django's test client unhooks them the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_keeps_its_schema(case, region_bj, region_sh, wsgi_keeps_the_test_connection, settings):
    settings.RATELIMIT_ENABLE = False  # the contract, not the limiter (429 is documented too)
    case.call_and_validate()


def test_every_built_in_check_is_enabled():
    """call_and_validate runs the checks enabled in the configuration: all of them (but
    max_response_time, which only runs with a limit: timing is for bench/, not tests)."""
    load_all_checks()
    config = schema.config.checks_config_for()
    names = [check.__name__ for check in CHECKS.get_all()]
    assert {"positive_data_acceptance", "negative_data_rejection", "unsupported_method"} <= set(
        names
    )
    assert [n for n in names if not config.get_by_name(name=n).enabled] == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    [
        {"region": "110000", "period": "202408", "wage": "5000", "injury_rate": "0.004"},
        {"region": "310000", "period": "2025-09", "wage": "123456.789", "scheme": "institution"},
        {"region": "110000", "period": "202408", "wage": "0"},
    ],
)
def test_a_real_calculation_passes_every_check(
    query, region_bj, region_sh, wsgi_keeps_the_test_connection, settings
):
    """The generated cases mostly name regions that do not exist: these answer 200, so the
    response schema is checked against a real body."""
    settings.RATELIMIT_ENABLE = False  # schemathesis' WSGI calls carry no client address
    case = schema["/api/v1/calculator"]["GET"].Case(query=query)
    response = case.call_and_validate()
    assert response.status_code == 200
