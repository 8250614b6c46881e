"""Rate limits of the anonymous endpoints: django-ratelimit with the rates of the setting
SHEBAO_RATE_LIMITS, and the 429 answer (RATELIMIT_VIEW) in Chinese.

    @limit("login_ip")                                         # per client IP
    @limit("login_account", key=post_fields("username"))       # per account name, when given

A limit counts the requests of `method` (POST by default) and, over its rate, raises
django_ratelimit's Ratelimited, which RatelimitMiddleware turns into `ratelimited` below (the
API's exception handler answers JSON instead). Account keys are hashed with the log-hash key
(core.pseudonyms) before they reach the cache: no ID number or mobile in clear in a cache key.
RATELIMIT_ENABLE = False switches every limit off (django-ratelimit reads it on each request)."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django_ratelimit import ALL
from django_ratelimit.decorators import ratelimit

from shebao.core.pseudonyms import keyed_hash

MESSAGE = "操作过于频繁，请稍后再试"
KEY_SALT = "shebao.web.ratelimits"

AccountKey = Callable[[HttpRequest], str | None]


def account_hash(value: str) -> str:
    return keyed_hash(f"{KEY_SALT}:{value}")


def limit(name: str, *, key: AccountKey | None = None, method=("POST",)):
    """Decorator of a view (or a view's helper taking the request first): at most
    SHEBAO_RATE_LIMITS[name] requests per client IP, or per the value `key(request)` returns;
    when it returns nothing (no account known yet) only the IP limits apply. `method=None`
    counts every method."""

    def rate(group, request):
        if key is not None and not key(request):
            return None  # django-ratelimit: no rate, no limit
        return settings.SHEBAO_RATE_LIMITS[name]

    def account(group, request):
        return account_hash(key(request))

    return ratelimit(
        group=f"shebao.{name}",
        key="ip" if key is None else account,
        rate=rate,
        method=ALL if method is None else list(method),
        block=True,
    )


def post_fields(*names: str) -> AccountKey:
    """The account named by these POST fields (trimmed, upper case), or None when all are empty."""

    def key(request):
        values = [request.POST.get(n, "").strip().upper() for n in names]
        return "|".join(values) if any(values) else None

    return key


def session_value(name: str, field: str | None = None) -> AccountKey:
    """The account the session is working on (e.g. the pending sign-in's user id)."""

    def key(request):
        value = request.session.get(name)
        if field is not None:
            value = value.get(field) if isinstance(value, dict) else None
        return f"{name}:{value}" if value else None

    return key


def url_value(name: str) -> AccountKey:
    """The object named in the URL (e.g. an application's serial number)."""

    def key(request):
        value = request.resolver_match.kwargs.get(name) if request.resolver_match else None
        return f"{name}:{value}" if value else None

    return key


def ratelimited(request, exception) -> HttpResponse:
    """RATELIMIT_VIEW: 429 with a Chinese message; a short fragment for htmx, JSON for the API."""
    if request.headers.get("HX-Request"):
        return render(
            request,
            "web/sms_sent.html",
            {"message": MESSAGE, "ok": False, "wait": 0, "button_id": ""},
            status=429,
        )
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"detail": MESSAGE}, status=429, json_dumps_params={"ensure_ascii": False}
        )
    return render(request, "web/ratelimited.html", {"message": MESSAGE}, status=429)
