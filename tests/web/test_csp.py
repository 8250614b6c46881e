"""The Content-Security-Policy header (test and production settings) and the endpoint that
logs the violation reports browsers send."""

import base64
import importlib
import json
import logging
import sys

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from tests.conftest import signed_in

pytestmark = pytest.mark.django_db

REPORT_URL = "/csp-report/"
EXPECTED = {
    "default-src": {"'self'"},
    "script-src": {"'self'"},
    "style-src": {"'self'"},
    "img-src": {"'self'", "data:"},
    "object-src": {"'none'"},
    "base-uri": {"'self'"},
    "frame-ancestors": {"'none'"},
    "form-action": {"'self'"},
    "report-uri": {REPORT_URL},
}


def directives(header: str) -> dict[str, set[str]]:
    parts = (p.split() for p in header.split(";") if p.strip())
    return {name: set(values) for name, *values in parts}


@pytest.fixture
def production(monkeypatch):
    """config.settings.production as a module (it refuses to load without a secret key)."""
    monkeypatch.setenv("DJANGO_SECRET_KEY", "test-only-" + "x" * 50)
    monkeypatch.setenv("SHEBAO_FIELD_KEYS", "t1=" + base64.b64encode(b"k" * 32).decode())
    monkeypatch.setenv("SHEBAO_LOOKUP_KEYS", "1=" + base64.b64encode(b"l" * 32).decode())
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")  # read, never connected to
    base = sys.modules.pop("config.settings.base")  # re-read with the key set
    try:
        yield importlib.import_module("config.settings.production")
    finally:
        sys.modules.pop("config.settings.production", None)
        vars(sys.modules["config.settings"]).pop("production", None)
        sys.modules["config.settings.base"] = base
        sys.modules["config.settings"].base = base


def test_a_hall_page_carries_the_policy(admin_a):
    response = signed_in(admin_a).get("/unit/")
    assert response.status_code == 200
    assert directives(response["Content-Security-Policy"]) == EXPECTED
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert "unsafe-eval" not in response["Content-Security-Policy"]


def test_public_pages_and_error_pages_carry_it_too():
    for path, status in (("/", 200), ("/calculator/", 200), ("/no-such-page/", 404)):
        response = Client().get(path)
        assert response.status_code == status
        assert directives(response["Content-Security-Policy"]) == EXPECTED


def test_the_report_url_setting_is_the_report_endpoint(settings):
    assert settings.SHEBAO_CSP_REPORT_URL == reverse("web:csp_report") == REPORT_URL


def test_production_sends_the_same_policy_and_keeps_the_other_security_headers(production):
    assert production.SECURE_HSTS_SECONDS >= 31536000
    assert production.X_FRAME_OPTIONS == "DENY"
    assert production.SECURE_REFERRER_POLICY == "same-origin"
    with override_settings(
        CONTENT_SECURITY_POLICY=production.CONTENT_SECURITY_POLICY,
        SECURE_HSTS_SECONDS=production.SECURE_HSTS_SECONDS,
        SECURE_REFERRER_POLICY=production.SECURE_REFERRER_POLICY,
        X_FRAME_OPTIONS=production.X_FRAME_OPTIONS,
    ):
        response = Client().get("/", secure=True)
    assert directives(response["Content-Security-Policy"]) == {
        **EXPECTED,
        "upgrade-insecure-requests": set(),
    }
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"


# --- the report endpoint ---------------------------------------------------------------------

LEVEL2 = {
    "csp-report": {
        "document-uri": "http://testserver/unit/",
        "referrer": "",
        "violated-directive": "style-src-attr",
        "effective-directive": "style-src-attr",
        "original-policy": "default-src 'self'; …",
        "disposition": "enforce",
        "blocked-uri": "inline",
        "line-number": 12,
        "source-file": "http://testserver/unit/",
        "status-code": 200,
        "script-sample": "width: 40%\nFAKE LOG LINE",
    }
}
REPORTING_API = [
    {
        "type": "csp-violation",
        "url": "http://testserver/staff/",
        "body": {
            "documentURL": "http://testserver/staff/",
            "effectiveDirective": "script-src-elem",
            "blockedURL": "https://cdn.example.com/x.js",
            "disposition": "enforce",
            "lineNumber": 3,
        },
    },
    {"type": "deprecation", "url": "http://testserver/", "body": {"id": "x"}},
]


def post(body, content_type="application/csp-report", client=None):
    data = body if isinstance(body, bytes) else json.dumps(body)
    return (client or Client()).post(REPORT_URL, data=data, content_type=content_type)


def csp_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "shebao.csp"]


def test_a_report_uri_report_is_logged_and_answered_204(caplog):
    caplog.set_level(logging.WARNING, logger="shebao.csp")
    response = post(LEVEL2, client=Client(enforce_csrf_checks=True))
    assert response.status_code == 204 and response.content == b""
    [line] = csp_lines(caplog)
    assert [r.levelno for r in caplog.records if r.name == "shebao.csp"] == [logging.WARNING]
    assert '"directive": "style-src-attr"' in line and '"blocked": "inline"' in line
    assert '"document": "http://testserver/unit/"' in line
    assert "\n" not in line and "original-policy" not in line and "default-src" not in line


def test_reporting_api_reports_are_logged_one_line_per_violation(caplog):
    caplog.set_level(logging.WARNING, logger="shebao.csp")
    response = post(REPORTING_API, content_type="application/reports+json")
    assert response.status_code == 204
    [line] = csp_lines(caplog)
    assert '"directive": "script-src-elem"' in line
    assert '"blocked": "https://cdn.example.com/x.js"' in line


def test_get_is_refused():
    assert Client().get(REPORT_URL).status_code == 405


def test_an_oversize_body_is_refused_unlogged(caplog, settings):
    caplog.set_level(logging.WARNING, logger="shebao.csp")
    big = {"csp-report": {**LEVEL2["csp-report"], "script-sample": "x" * 20_000}}
    assert len(json.dumps(big)) > settings.SHEBAO_CSP_REPORT_MAX_BYTES
    assert post(big).status_code == 413
    assert csp_lines(caplog) == []


def test_other_bodies_are_refused_unlogged(caplog):
    caplog.set_level(logging.WARNING, logger="shebao.csp")
    assert post(LEVEL2, content_type="application/json").status_code == 415
    assert post(b"{not json").status_code == 400
    assert post({"no": "report"}).status_code == 400
    assert post(LEVEL2, content_type="application/reports+json").status_code == 400
    assert csp_lines(caplog) == []


def test_values_are_cut_short(caplog):
    caplog.set_level(logging.WARNING, logger="shebao.csp")
    long = {
        "csp-report": {**LEVEL2["csp-report"], "blocked-uri": "https://x.example/" + "a" * 5000}
    }
    assert post(long).status_code == 204
    [line] = csp_lines(caplog)
    assert len(line) < 1500


def test_id_numbers_and_mobiles_in_reported_values_are_masked(caplog):
    caplog.set_level(logging.WARNING, logger="shebao.csp")
    report = {
        "csp-report": {
            **LEVEL2["csp-report"],
            "blocked-uri": "https://x.example/p?id=11010519491231002X&m=13912345678",
            "document-uri": "http://testserver/staff/persons/110105194912310038/",
            "script-sample": "x" * 289 + " 110105194912310038",  # straddles the cut
        }
    }
    assert post(report).status_code == 204
    [line] = csp_lines(caplog)
    for clear in ("11010519491231002X", "110105194912310038", "13912345678", "1101051949"):
        assert clear not in line
    assert "139****5678" in line
