"""Rate limits of the anonymous endpoints: django-ratelimit with the rates of the setting
SHEBAO_RATE_LIMITS, and the 429 answer (RATELIMIT_VIEW) in Chinese.

    @limit("login_ip")                                         # per client IP
    @limit("login_account", key=post_fields("username"))       # per account name, when given

A limit counts the requests of `method` (POST by default) and, over its rate, raises
django_ratelimit's Ratelimited, which RatelimitMiddleware turns into `ratelimited` below (the
API's exception handler answers JSON instead). Account keys are hashed with the log-hash key
(core.pseudonyms) before they reach the cache: no ID number or mobile in clear in a cache key.
RATELIMIT_ENABLE = False switches every limit off (django-ratelimit reads it on each request).
When the cache (Redis) cannot be reached, RATELIMIT_FAIL_OPEN decides: True lets the request
through (logged), False refuses it with the 429 answer."""

import logging
import unicodedata
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_ratelimit import ALL
from django_ratelimit.core import is_ratelimited
from django_ratelimit.exceptions import Ratelimited

from shebao.core.inputs import normalize_mobile, search_id_number
from shebao.core.pseudonyms import keyed_hash
from shebao.core.verification import CACHE_UNAVAILABLE

logger = logging.getLogger("shebao.ratelimits")

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

    group, methods = f"shebao.{name}", ALL if method is None else list(method)
    account_key = "ip" if key is None else account

    def decorator(fn):
        @wraps(fn)
        def limited(request, *args, **kwargs):
            try:
                over = is_ratelimited(
                    request,
                    group=group,
                    fn=fn,
                    key=account_key,
                    rate=rate,
                    method=methods,
                    increment=True,
                )
            except CACHE_UNAVAILABLE:
                logger.warning("rate limit %s not counted: the cache is unavailable", name)
                over = not getattr(settings, "RATELIMIT_FAIL_OPEN", False)
            if over:
                raise Ratelimited()
            return fn(request, *args, **kwargs)

        return limited

    return decorator


def _plain(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip().upper()


# The input rule (shebao.core.inputs) that makes an account key canonical, by POST field: one
# person typing their ID number or mobile in full-width digits, with spaces or a lower-case x
# counts as one account. A value the rule refuses is keyed as typed (trimmed, upper case).
FIELD_RULES: dict[str, Callable[[str], str]] = {
    "id_number": search_id_number,
    "mobile": normalize_mobile,
}


def _canonical(name: str, value: str, rules: dict) -> str:
    rule = rules.get(name)
    if rule is not None and value.strip():
        try:
            return rule(value)
        except ValidationError:
            pass
    return _plain(value)


def post_fields(*names: str, rules: dict[str, Callable[[str], str]] | None = None) -> AccountKey:
    """The account named by these POST fields, or None when all are empty. Each value goes
    through its field's rule (``rules``, by default FIELD_RULES), else is trimmed and upper-cased."""
    rules = FIELD_RULES if rules is None else rules

    def key(request):
        values = [_canonical(n, request.POST.get(n, ""), rules) for n in names]
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
    """RATELIMIT_VIEW: 429 with a Chinese message; a short fragment for htmx. (The API answers
    its own JSON 429 in its exception handler, shebao.api.urls.rate_limited.)"""
    if request.headers.get("HX-Request"):
        return render(
            request,
            "web/sms_sent.html",
            {"message": MESSAGE, "ok": False, "wait": 0, "button_id": ""},
            status=429,
        )
    return render(request, "web/ratelimited.html", {"message": MESSAGE}, status=429)
