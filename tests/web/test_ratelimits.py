"""Rate limits of the anonymous endpoints (shebao.web.ratelimits): each answers 429 with a
Chinese message once over its rate and not before; IP and account limits count apart; the
switch RATELIMIT_ENABLE turns them off. The cache they count in is Redis.

django-ratelimit's windows follow the wall clock; `fixed_window` pins them, so no test depends
on timing."""

import django_ratelimit.core
import pytest
from django.conf import settings as django_settings
from django.core import checks
from django.core.cache import cache
from django.test import Client, override_settings

from config.settings import bench as bench_settings
from shebao.api.urls import RATE_LIMITED
from shebao.web.ratelimits import MESSAGE, post_fields

pytestmark = pytest.mark.django_db

SERIAL = "DJ202601010001"

# (method, url, data, htmx): every anonymous endpoint with a limit.
ENDPOINTS = {
    "unit_login": ("post", "/accounts/unit/login/", {"unit_key": "U1", "account": "a"}, False),
    "person_login": ("post", "/accounts/person/login/", {"id_number": "1"}, False),
    "staff_login": ("post", "/accounts/staff/login/", {"username": "nobody"}, False),
    "verify": ("post", "/accounts/verify/", {"code": "123456"}, False),
    "verify_resend": ("post", "/accounts/verify/resend/", {}, True),
    "totp_setup": ("post", "/accounts/staff/totp/", {"code": "123456"}, False),
    "forgot_unit": ("post", "/accounts/forgot/unit/", {"unit_key": "U1", "account": "a"}, False),
    "forgot_person": ("post", "/accounts/forgot/person/", {"id_number": "1"}, False),
    "forgot_staff": ("post", "/accounts/forgot/staff/", {"username": "nobody"}, False),
    "forgot_reset": ("post", "/accounts/forgot/reset/", {"code": "123456"}, False),
    "person_signup": ("post", "/accounts/person/signup/", {"id_number": "1", "name": "张"}, False),
    "person_signup_resend": ("post", "/accounts/person/signup/resend/", {}, True),
    "unit_bind": ("post", "/accounts/unit/bind/", {"unit_no": "U1", "mobile": "1"}, False),
    "unit_bind_code": ("post", "/accounts/unit/bind/code/", {"mobile": "13900000001"}, True),
    "registration_new": ("post", "/register/", {"name": "某公司"}, False),
    "registration_edit": ("post", f"/register/{SERIAL}/edit/", {"name": "某公司"}, False),
    "registration_submit": ("post", f"/register/{SERIAL}/submit/", {"code": "1"}, False),
    "registration_code": ("post", f"/register/{SERIAL}/code/", {}, True),
    "registration_reopen": ("post", "/register/reopen/", {"serial_no": SERIAL}, False),
    "registration_reopen_code": (
        "post",
        "/register/reopen/code/",
        {"serial_no": SERIAL, "mobile": "13900000001"},
        True,
    ),
    "calculator_page": ("get", "/calculator/", {"region": "110000", "wage": "1"}, False),
    "calculator_api": (
        "get",
        "/api/v1/calculator",
        {"region": "110000", "period": "202601", "wage": "8000"},
        False,
    ),
    "csp_report": ("post", "/csp-report/", {}, False),
    "admin_login": (
        "post",
        "/django-admin/login/",
        {"username": "nobody", "password": "wrong"},
        False,
    ),
}

RATE = 3


@pytest.fixture(autouse=True)
def fixed_window(monkeypatch):
    monkeypatch.setattr(django_ratelimit.core, "_get_window", lambda value, period: 4_000_000_000)


def rates(**overrides) -> dict:
    """Every limit at a high rate but the ones named."""
    return {name: "1000/h" for name in django_settings.SHEBAO_RATE_LIMITS} | overrides


def hit(client: Client, endpoint: str, **extra):
    method, url, data, htmx = ENDPOINTS[endpoint]
    headers = {"HX-Request": "true"} if htmx else {}
    return getattr(client, method)(url, data, headers=headers, **extra)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_each_endpoint_answers_429_in_chinese_after_its_rate(settings, endpoint, region_bj):
    settings.SHEBAO_RATE_LIMITS = {name: f"{RATE}/h" for name in settings.SHEBAO_RATE_LIMITS}
    client = Client()
    for _ in range(RATE):
        assert hit(client, endpoint).status_code != 429
    response = hit(client, endpoint)
    assert response.status_code == 429
    if endpoint == "calculator_api":
        assert response.json() == {"detail": RATE_LIMITED}  # the API's handler, its one message
    else:
        assert MESSAGE in response.content.decode()


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_switched_off_nothing_is_limited(settings, endpoint, region_bj):
    settings.SHEBAO_RATE_LIMITS = {name: "1/h" for name in settings.SHEBAO_RATE_LIMITS}
    client = Client()
    with override_settings(RATELIMIT_ENABLE=False):
        for _ in range(3):
            assert hit(client, endpoint).status_code != 429


def test_htmx_buttons_get_a_short_fragment(settings):
    settings.SHEBAO_RATE_LIMITS = rates(sms_send_ip="1/h")
    client = Client()
    hit(client, "unit_bind_code")
    response = hit(client, "unit_bind_code")
    assert response.status_code == 429
    body = response.content.decode()
    assert MESSAGE in body and "<html" not in body


def test_pages_get_the_chinese_page(settings):
    settings.SHEBAO_RATE_LIMITS = rates(login_ip="1/h")
    client = Client()
    hit(client, "staff_login")
    response = hit(client, "staff_login")
    assert response.status_code == 429
    assert "操作过于频繁" in response.content.decode()
    assert "<html" in response.content.decode()


def test_the_page_itself_is_not_counted_only_posts(settings):
    settings.SHEBAO_RATE_LIMITS = rates(login_ip="1/h")
    client = Client()
    for _ in range(3):
        assert client.get("/accounts/staff/login/").status_code == 200
    assert hit(client, "staff_login").status_code != 429


def login(account: str, ip: str):
    return Client(REMOTE_ADDR=ip).post(
        "/accounts/staff/login/", {"username": account, "password": "wrong"}
    )


def test_ip_limit_counts_every_account_from_one_address(settings):
    settings.SHEBAO_RATE_LIMITS = rates(login_ip="2/h")
    assert login("a1", "10.0.0.1").status_code != 429
    assert login("a2", "10.0.0.1").status_code != 429
    assert login("a3", "10.0.0.1").status_code == 429
    assert login("a3", "10.0.0.2").status_code != 429  # another address has its own count


def test_account_limit_counts_one_account_from_every_address(settings):
    settings.SHEBAO_RATE_LIMITS = rates(login_account="2/h")
    assert login("a1", "10.0.0.1").status_code != 429
    assert login("a1", "10.0.0.2").status_code != 429
    assert login("a1", "10.0.0.3").status_code == 429
    assert login("a2", "10.0.0.3").status_code != 429  # another account has its own count


def test_account_limit_of_sms_buttons_counts_per_mobile(settings):
    settings.SHEBAO_RATE_LIMITS = rates(sms_send_account="1/h")
    first = Client(REMOTE_ADDR="10.0.0.1")
    other = Client(REMOTE_ADDR="10.0.0.2")
    url = "/accounts/unit/bind/code/"
    assert first.post(url, {"mobile": "13900000001"}).status_code == 200
    assert other.post(url, {"mobile": "13900000001"}).status_code == 429
    assert other.post(url, {"mobile": "13900000002"}).status_code == 200


def test_admin_sign_in_is_limited_per_account_name(settings):
    settings.SHEBAO_RATE_LIMITS = rates(admin_login_account="2/h")

    def admin_login(account, ip):
        return Client(REMOTE_ADDR=ip).post(
            "/django-admin/login/", {"username": account, "password": "wrong"}
        )

    assert admin_login("root", "10.0.0.1").status_code == 200
    assert admin_login("root", "10.0.0.2").status_code == 200
    response = admin_login("root", "10.0.0.3")
    assert response.status_code == 429
    assert MESSAGE in response.content.decode()
    assert admin_login("other", "10.0.0.3").status_code == 200
    assert Client().get("/django-admin/login/").status_code == 200  # the page is not counted


ID = "11010519491231002X"


@pytest.mark.parametrize(
    ("field", "spellings"),
    [
        (
            "id_number",
            [ID, ID.lower(), " １１０１０５１９４９１２３１００２ｘ ", "110105491231002"],
        ),
        (
            "mobile",
            ["13900000001", "１３９０００００００１", "139 0000 0001", "+86-139-0000-0001"],
        ),
        ("username", ["admin", " ADMIN ", "ａｄｍｉｎ"]),
    ],
)
def test_account_keys_are_the_canonical_value(rf, field, spellings):
    key = post_fields(field)
    assert len({key(rf.post("/", {field: s})) for s in spellings}) == 1


def test_a_value_the_rule_refuses_is_keyed_as_typed(rf):
    key = post_fields("id_number", "mobile")
    assert key(rf.post("/", {"id_number": "e1234567 ", "mobile": "12"})) == "E1234567|12"
    assert key(rf.post("/", {})) is None


def test_person_sign_up_is_limited_per_id_number_whatever_the_spelling(settings):
    settings.SHEBAO_RATE_LIMITS = rates(signup_account="2/h")
    statuses = [
        Client(REMOTE_ADDR=f"10.0.0.{i}")
        .post("/accounts/person/signup/", {"id_number": spelling, "name": "张三"})
        .status_code
        for i, spelling in enumerate([ID, ID.lower(), "１１０１０５１９４９１２３１００２Ｘ"])
    ]
    assert statuses == [200, 200, 429]
    other = Client(REMOTE_ADDR="10.0.0.9").post(
        "/accounts/person/signup/", {"id_number": "110105194912310038", "name": "张三"}
    )
    assert other.status_code == 200


def test_account_keys_hold_no_personal_data_in_clear(settings):
    settings.SHEBAO_RATE_LIMITS = rates()
    Client().post("/accounts/person/login/", {"id_number": "11010519491231002X", "password": "x"})
    Client().post("/accounts/unit/bind/code/", {"mobile": "13900000001"})
    client = cache._cache.get_client(write=True)
    keys = [k.decode() for k in client.scan_iter(match=cache.make_key("*"))]
    assert keys
    assert not any("11010519491231002X" in k or "13900000001" in k for k in keys)


def test_the_cache_is_redis_and_ratelimit_checks_pass():
    assert django_settings.CACHES["default"]["BACKEND"] == (
        "django.core.cache.backends.redis.RedisCache"
    )
    cache.set("probe", 1)
    assert cache.incr("probe") == 2
    errors = [
        m
        for m in checks.run_checks(tags=[checks.Tags.caches])
        if m.id.startswith("django_ratelimit")
        and m.id not in django_settings.SILENCED_SYSTEM_CHECKS
    ]
    assert errors == []


def test_benchmark_settings_switch_limits_off():
    assert bench_settings.RATELIMIT_ENABLE is False
