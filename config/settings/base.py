"""Settings shared by every environment. Environment-specific modules import * from here."""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF

from shebao.core.crypto import parse_key_ring

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("SHEBAO_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "dev-only-insecure-key-change-me")
DEBUG = False
ALLOWED_HOSTS = [h for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(",") if h]

INSTALLED_APPS = [
    "shebao.web.admin_config.AdminConfig",  # django.contrib.admin, its sign-in rate limited
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "csp",
    "django_tasks",
    "django_tasks_db",
    "ninja",  # its static Swagger UI assets and templates: /api/docs works offline
    "django_ratelimit",
    "shebao.core",
    "shebao.accounts",
    "shebao.registry",
    "shebao.filings",
    "shebao.contributions",
    "shebao.web",
    "shebao.halls",
    "shebao.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "shebao.web.middleware.NoStoreForPersonalDataMiddleware",
    "axes.middleware.AxesMiddleware",
    # Turns django_ratelimit's Ratelimited into RATELIMIT_VIEW's 429 answer.
    "django_ratelimit.middleware.RatelimitMiddleware",
    # 404 and 405 under /api/ answer JSON with a Chinese detail, like the API's other errors.
    "shebao.api.middleware.ApiErrorsAsJsonMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "shebao.web.context_processors.hall",
                "shebao.web.context_processors.guide_links",
            ],
        },
    },
]


def database_from_env(default_sqlite: Path) -> dict:
    """DATABASE_URL selects PostgreSQL; otherwise a local SQLite file tuned for a web server
    and a worker sharing it (WAL, busy timeout, IMMEDIATE transactions)."""
    url = os.environ.get("DATABASE_URL")
    if url:
        db = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
        if db["ENGINE"] == "django.db.backends.postgresql":
            # No parallel query on the web's connections: its pages are short OLTP reads where
            # starting parallel workers costs more CPU than it saves (~30 ms a roster page on 2
            # cores, measured), and under load they only compete with the other requests. Bulk
            # work loses nothing: the settlement's INSERT … SELECT never gets a parallel plan.
            options = db.setdefault("OPTIONS", {})
            options["options"] = " ".join(
                filter(None, [options.get("options"), "-c max_parallel_workers_per_gather=0"])
            )
        return db
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": default_sqlite,
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;"
            ),
        },
    }


DATABASES = {"default": database_from_env(VAR_DIR / "shebao.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "shebao.core.passwords.PasswordPolicyValidator"},
    # Django's list of 20,000 common passwords, and not too close to the account's own names
    # (shebao.core.passwords.validate_new_password runs them all on every path).
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ["username", "operator_account", "display_name", "email"]},
    },
]
LOGIN_URL = "web:home"

# Session: 30 minutes idle timeout, renewed on every request; new key on sign-in (django.contrib.auth.login).
SESSION_COOKIE_AGE = 30 * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = False

# django-axes: 5 failures lock the account for 15 minutes.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked.html"
AXES_VERBOSE = False
# Axes stores a keyed hash of the account name, never the name itself (persons sign in with their
# ID number), and none of the identifying fields of the posted sign-in forms.
AXES_USERNAME_CALLABLE = "shebao.core.pseudonyms.axes_username_callable"
# Successful sign-ins are in our own audit log ("login", masked); axes' AccessLog would store the
# internal account name in clear.
AXES_DISABLE_ACCESS_LOG = True
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "id_number", "unit_key", "account", "mobile"]
# The key of the pseudonyms in sign-in bookkeeping and logs (shebao.core.pseudonyms); derived
# from SECRET_KEY when unset.
SHEBAO_LOG_HASH_KEY = os.environ.get("SHEBAO_LOG_HASH_KEY", "")

LANGUAGE_CODE = "zh-hans"
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(VAR_DIR / "media")},
    },
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Materials are never served from a public URL: views check access and stream them.
MEDIA_ROOT = VAR_DIR / "media"
FILE_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 30 * 1024 * 1024

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}

# ── Cache: Redis (REDIS_URL) ──────────────────────────────────────────────────────────────────
# Rate-limit counters, daily caps on verification codes and the progress figures of background
# work (a settlement being computed, written by the task worker while its transaction is still
# open and read by the web process). Every web server and worker must share it, and
# django-ratelimit needs atomic increments: Django's own RedisCache. ./dev serve, ./dev test and
# .ci/run start a throwaway redis-server on a free loopback port and set REDIS_URL; production
# requires it (config/settings/production.py).
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "shebao",
        "TIMEOUT": 3600,
    }
}

# ── Rate limits (django-ratelimit) ────────────────────────────────────────────────────────────
# Every anonymous endpoint is limited per client IP and, where an account or mobile is known,
# per account (shebao/web/ratelimits.py); over the limit the answer is 429 with a Chinese page
# (or a short fragment for htmx buttons). RATELIMIT_ENABLE = False switches every limit off,
# the daily caps below included (benchmarks, the tenant matrix test). The IP limits are
# generous: a whole office of clerks often shares one public IP.
RATELIMIT_ENABLE = True
RATELIMIT_USE_CACHE = "default"
# Redis down (a deliberate choice, README §Redis): the rate limits let requests through (logged
# by "shebao.ratelimits"); django-axes' lockouts live in the database and still hold. No
# verification code is sent (the daily caps fail closed with a Chinese message); a code already
# sent keeps its five tries.
RATELIMIT_FAIL_OPEN = True
RATELIMIT_VIEW = "shebao.web.ratelimits.ratelimited"
# Behind a reverse proxy the client's address is in a header the proxy sets (e.g. X-Real-IP:
# SHEBAO_CLIENT_IP_META=HTTP_X_REAL_IP); never a header the client can forge past the proxy.
RATELIMIT_IP_META_KEY = os.environ.get("SHEBAO_CLIENT_IP_META") or None
SHEBAO_RATE_LIMITS = {
    # "count/period" (s, m, h, d; "10/15m" is 10 per 15 minutes).
    "sms_send_ip": "30/h",  # 获取验证码 buttons and forms that send a code, per client IP
    "sms_send_account": "6/h",  # ... per account, application or mobile (keyed hash)
    "code_check_ip": "60/h",  # submitting a verification code or TOTP, per client IP
    "code_check_account": "20/h",  # ... per pending sign-in, account or application
    "login_ip": "300/h",  # sign-in password step, per client IP
    "login_account": "30/h",  # ... per account name (django-axes locks after 5 failures)
    "password_reset_ip": "20/h",  # 找回密码 (step 1), per client IP
    "password_reset_account": "6/h",  # ... per account name
    "signup_ip": "20/h",  # 个人注册 (ID number + name lookup), per client IP
    "signup_account": "6/h",  # ... per ID number
    "registration_ip": "20/h",  # 单位参保登记 application saved (new or edited), per client IP
    "calculator_ip": "120/m",  # the public 缴费试算 page, per client IP
    "api_ip": "120/m",  # the public API (/api/v1/...), per client IP
    "admin_login_ip": "60/h",  # the Django admin's sign-in, per client IP
    "admin_login_account": "20/h",  # ... per account name (django-axes locks after 5 failures)
    "csp_report_ip": "60/m",  # Content-Security-Policy violation reports, per client IP
}
# Daily caps per mobile (natural day, Asia/Shanghai), counted in the cache under a keyed hash
# of the mobile (shebao.core.verification). Notification SMS are never capped.
SHEBAO_SMS_CODES_PER_MOBILE_DAY = 10  # verification codes sent to one mobile
SHEBAO_WRONG_CODES_PER_MOBILE_DAY = 20  # wrong codes entered for one mobile

# SMS gateway: the built-in outbox stores messages in the database (listed on the dev console).
# A real gateway is a dotted path to a class implementing shebao.core.sms.SmsGateway.
SHEBAO_SMS_GATEWAY = os.environ.get("SHEBAO_SMS_GATEWAY", "shebao.core.sms.OutboxGateway")
# The dev console (SMS outbox, demo TOTP codes) is for development machines only.
SHEBAO_DEV_CONSOLE = False

# ID numbers and mobiles encrypted at rest (shebao.core.crypto). Key rings from the environment
# as "id=BASE64,id=BASE64" (32-byte keys; `openssl rand -base64 32`), the current key named
# apart; rotate with `manage.py rotate_field_keys`. Without them development and tests use the
# fixed demo keys below, which production settings refuse.
DEMO_FIELD_KEYS = {"demo1": "Ewgi2OD7gPvgrJyHI3Fezg3FE2CKUZbLmi0Nh+kk0YQ="}
DEMO_LOOKUP_KEYS = {"1": "YhNRfj3vtrWiDJBJFJLHqfaDemsW6ZZvEUUvbfGk9Ek="}


def _key_ring(name: str, demo: dict[str, str]) -> dict[str, str]:
    return parse_key_ring(os.environ.get(name, "")) or dict(demo)


SHEBAO_FIELD_KEYS = _key_ring("SHEBAO_FIELD_KEYS", DEMO_FIELD_KEYS)
SHEBAO_FIELD_KEY_CURRENT = os.environ.get("SHEBAO_FIELD_KEY_CURRENT", list(SHEBAO_FIELD_KEYS)[-1])
SHEBAO_LOOKUP_KEYS = _key_ring("SHEBAO_LOOKUP_KEYS", DEMO_LOOKUP_KEYS)
SHEBAO_LOOKUP_KEY_CURRENT = os.environ.get(
    "SHEBAO_LOOKUP_KEY_CURRENT", list(SHEBAO_LOOKUP_KEYS)[-1]
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}

# --- Content-Security-Policy (django-csp 4) -----------------------------------------------
# Sent by every environment. No inline scripts or styles anywhere: behaviour lives in
# shebao/web/static/web/site.js (data attributes + listeners), looks in site.css. img-src
# allows data: for Bootstrap's SVG icons (toggler, select arrow, close button); segno's QR code
# is inline SVG markup, no data: URI. Violations are posted to shebao.web's report endpoint and
# logged by the "shebao.csp" logger.
SHEBAO_CSP_REPORT_URL = "/csp-report/"
SHEBAO_CSP_REPORT_MAX_BYTES = 16 * 1024
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "report-uri": [SHEBAO_CSP_REPORT_URL],
    },
}
# --- end of Content-Security-Policy ---------------------------------------------------------

# Lockout is per account: a whole office of clerks often shares one public IP, and locking the
# IP would lock them all out. Unknown accounts are counted under a hashed name (accounts.views).
# django-ratelimit lists django-redis as supported and warns about Django's own RedisCache, which
# has the atomic increments it needs (INCR).
SILENCED_SYSTEM_CHECKS = ["axes.W006", "django_ratelimit.W001"]
