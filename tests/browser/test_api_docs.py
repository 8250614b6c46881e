"""The Swagger page at /api/docs in chromium, offline and under a strict Content-Security-Policy:
every request stays on our own server, nothing is refused by the policy, and Swagger UI shows
the calculator operation with its parameters and documented error answers."""

import pytest
from playwright.sync_api import Route, expect

pytestmark = pytest.mark.browser

# The site's policy for this page: scripts and styles from our own files only; images also as
# data: URIs (swagger-ui.css draws its icons with inline SVG data URIs).
STRICT_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:"


def test_swagger_ui_renders_offline_under_a_strict_csp(
    transactional_db, live_server, page, tmp_path
):
    outside, problems = [], []

    def offline(route: Route) -> None:
        if not route.request.url.startswith(live_server.url):
            outside.append(route.request.url)
            route.abort("internetdisconnected")
            return
        if route.request.resource_type != "document":
            route.continue_()
            return
        response = route.fetch()
        headers = {**response.headers, "content-security-policy": STRICT_CSP}
        route.fulfill(response=response, headers=headers)

    page.route("**/*", offline)
    page.on("console", lambda m: m.type == "error" and problems.append(m.text))
    page.on("pageerror", lambda e: problems.append(str(e)))

    page.goto("/api/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("社保网上经办平台 API")
    operation = page.locator(".opblock-get", has_text="/api/v1/calculator")
    expect(operation).to_be_visible()
    expect(operation).to_contain_text("缴费试算")
    operation.locator(".opblock-summary").click()
    for name in ("region", "period", "wage", "injury_rate", "scheme"):
        expect(operation.locator(".parameters-col_name", has_text=name).first).to_be_visible()
    for status in ("200", "400", "404", "429"):
        expect(operation.locator(f"tr.response[data-code='{status}']")).to_be_visible()
    page.screenshot(path=tmp_path / "api-docs-1280.png", full_page=True)

    assert outside == []
    assert problems == []
