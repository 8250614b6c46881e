"""Settings shared by every environment. Environment-specific modules import * from here."""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("SHEBAO_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "dev-only-insecure-key-change-me")
DEBUG = False
ALLOWED_HOSTS = [h for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "django_tasks",
    "django_tasks_db",
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

# The cache holds only short-lived progress figures of background work (a settlement being
# computed), written by the task worker while its transaction is still open and read by the
# web process. A directory both processes share; several hosts set SHEBAO_CACHE_LOCATION to
# a shared directory or swap in Django's RedisCache here.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": os.environ.get("SHEBAO_CACHE_LOCATION", str(VAR_DIR / "cache")),
        "TIMEOUT": 3600,
    }
}

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
    text = os.environ.get(name, "")
    ring = dict(item.strip().split("=", 1) for item in text.split(",") if "=" in item)
    return {k.strip(): v.strip() for k, v in ring.items()} or dict(demo)


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

# Lockout is per account: a whole office of clerks often shares one public IP, and locking the
# IP would lock them all out. Unknown accounts are counted under a hashed name (accounts.views).
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
