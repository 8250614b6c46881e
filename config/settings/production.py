"""Production: DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS, DATABASE_URL, REDIS_URL and the field keys
(SHEBAO_FIELD_KEYS, SHEBAO_LOOKUP_KEYS; see base.py) come from the environment."""

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403

DEBUG = False
if SECRET_KEY.startswith("dev-only"):  # noqa: F405
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set in production")
if not os.environ.get("REDIS_URL"):
    raise ImproperlyConfigured(
        "REDIS_URL must be set in production (the shared cache of rate limits and progress)"
    )
if set(SHEBAO_FIELD_KEYS.values()) & set(DEMO_FIELD_KEYS.values()):  # noqa: F405
    raise ImproperlyConfigured("SHEBAO_FIELD_KEYS must be set in production (not the demo key)")
if set(SHEBAO_LOOKUP_KEYS.values()) & set(DEMO_LOOKUP_KEYS.values()):  # noqa: F405
    raise ImproperlyConfigured("SHEBAO_LOOKUP_KEYS must be set in production (not the demo key)")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = os.environ.get("SHEBAO_SSL_REDIRECT", "1") == "1"
SECURE_HSTS_SECONDS = 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- Content-Security-Policy (django-csp 4): base.py's policy, and every sub-resource over
# HTTPS (they are all relative URLs today; this keeps a mistake from loading over HTTP).
CONTENT_SECURITY_POLICY = {
    **CONTENT_SECURITY_POLICY,  # noqa: F405
    "DIRECTIVES": {
        **CONTENT_SECURITY_POLICY["DIRECTIVES"],  # noqa: F405
        "upgrade-insecure-requests": True,
    },
}
# --- end of Content-Security-Policy ---
