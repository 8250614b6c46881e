"""Browser tests: Playwright (sync API) driving Debian's chromium against pytest-django's
live_server. `./dev test` installs chromium; without it these tests are skipped.

Every page every test opens is watched: a Content-Security-Policy violation, any other console
error or an uncaught script error fails the test at teardown (a failed network request, such
as a 403 page a test asks for on purpose, is not a script error and is let through)."""

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import jpeg_bytes, png_bytes

# live_server runs in a thread while Playwright's sync API runs an event loop in this one;
# Django would otherwise refuse ORM calls made from the tests ("async unsafe").
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
DESKTOP = {"width": 1280, "height": 900}
TIMEOUT_MS = 10_000

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items):
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found (install Debian's chromium, e.g. via ./dev test)")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


# Chromium's console line for a response with an error status: not a script problem.
NETWORK_ERROR = re.compile(r"^Failed to load resource: the server responded with a status of")


def watch(page, problems: list[str]) -> None:
    """Collect the page's console errors (CSP violations among them) and uncaught errors."""

    def on_console(message):
        if message.type == "error" and not NETWORK_ERROR.match(message.text):
            problems.append(f"{page.url}: console error: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"{page.url}: page error: {error}"))


@pytest.fixture
def new_page(browser, live_server) -> Iterator[Callable]:
    """Open a page in a fresh browser context (own cookies: another person at another
    computer). Keyword arguments go to browser.new_context. Every page of the context (pop-ups
    too) is watched; a console error, CSP violation or page error fails the test."""
    contexts = []
    problems: list[str] = []

    def make(**options):
        options = {"viewport": DESKTOP, "locale": "zh-CN", **options}
        context = browser.new_context(base_url=live_server.url, **options)
        context.set_default_timeout(TIMEOUT_MS)
        context.on("page", lambda page: watch(page, problems))
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()
    assert problems == [], "\n".join(problems)


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture
def materials(tmp_path):
    """Scans as the applicant would pick them from disk (written with Pillow)."""
    files = {
        "licence": ("营业执照.jpg", jpeg_bytes(color=(200, 180, 160))),
        "front": ("身份证人像面.png", png_bytes()),
        "back": ("身份证国徽面.jpg", jpeg_bytes(color=(170, 190, 210))),
        "front_again": ("身份证人像面-重拍.jpg", jpeg_bytes(color=(150, 200, 170))),
    }
    paths = {}
    for key, (name, content) in files.items():
        paths[key] = tmp_path / name
        paths[key].write_bytes(content)
    return paths
