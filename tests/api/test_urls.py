"""The API's contract (shebao/api/urls.py): every operation documents 400/404/429 with
`ErrorOut`, errors answer a Chinese `detail` (never pydantic's English 422), a rate-limited
call answers 429, and the Swagger page at /api/docs needs nothing from outside the site."""

import re

import pytest
from django.contrib.staticfiles import finders
from django.test import RequestFactory
from django_ratelimit.exceptions import Ratelimited

from shebao.api.urls import api

ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}


def _operations(schema: dict):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", operation


def test_every_operation_documents_its_errors_with_error_out(client):
    schema = client.get("/api/openapi.json").json()
    operations = list(_operations(schema))
    assert operations
    for label, operation in operations:
        responses = operation["responses"]
        assert set(responses) == {"200", "400", "404", "429"}, label
        for status in ("400", "404", "429"):
            assert responses[status]["content"]["application/json"]["schema"] == ERROR_REF, (
                label,
                status,
            )
    error_out = schema["components"]["schemas"]["ErrorOut"]
    assert error_out["required"] == ["detail"]
    assert error_out["properties"]["detail"]["type"] == "string"
    assert error_out["additionalProperties"] is False


def test_a_required_string_parameter_refuses_the_empty_string_in_its_schema(client):
    schema = client.get("/api/openapi.json").json()
    for label, operation in _operations(schema):
        for parameter in operation.get("parameters", []):
            if parameter["required"] and parameter["schema"].get("type") == "string":
                pattern = parameter["schema"].get("pattern")
                assert pattern and not re.search(pattern, ""), (label, parameter["name"])


@pytest.mark.django_db
def test_no_error_answer_is_pydantic_english_422(client, region_bj):
    response = client.get("/api/v1/calculator", {"region": "abc", "wage": "x"})
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response.json() == {
        "detail": "参数 region 应为六位数字的统筹区编码，例如 110000；缺少参数 period；"
        "参数 wage 应为金额：不小于 0、最多六位小数的数，例如 5000 或 5000.50"
    }
    assert "缺少参数" in response.content.decode()  # readable, not \\u escapes


def test_rate_limited_is_429_with_a_chinese_detail():
    request = RequestFactory().get("/api/v1/calculator")
    response = api.on_exception(request, Ratelimited())
    assert response.status_code == 429
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response.content.decode() == '{"detail": "请求过于频繁，请稍后再试"}'


EXTERNAL = re.compile(r"""(?:https?:)?//[^\s"'<>]+""")
ASSET = re.compile(r"""(?:src|href)="([^"]+)\"""")
SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S)


def test_docs_page_loads_only_our_own_static_files(client, settings):
    response = client.get("/api/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert not EXTERNAL.findall(html)
    assets = ASSET.findall(html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    for asset in assets:
        assert asset.startswith(settings.STATIC_URL), asset
        assert finders.find(asset.removeprefix(settings.STATIC_URL)), asset


def test_docs_page_has_no_inline_script(client):
    """Under `script-src 'self'` only files run: every script is a file or inert JSON data."""
    html = client.get("/api/docs").content.decode()
    scripts = SCRIPT.findall(html)
    assert scripts
    for attributes, body in scripts:
        assert 'src="' in attributes or 'type="application/json"' in attributes, attributes
        if 'src="' in attributes:
            assert not body.strip()
    assert "style=" not in html
    assert "<style" not in html
