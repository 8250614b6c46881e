"""Test suite: ./dev test (SQLite by default, PostgreSQL when DATABASE_URL is set)."""

import os
import tempfile
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403

DEBUG = False
ALLOWED_HOSTS = ["*"]
SHEBAO_DEV_CONSOLE = True
PASSWORD_HASHERS = [
    # Fast hashing in tests only; production and dev use Argon2 (tested separately).
    "django.contrib.auth.hashers.MD5PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
]
_TMP = Path(tempfile.mkdtemp(prefix="shebao-test-media-"))
MEDIA_ROOT = _TMP
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(_TMP)},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
# Redis, as in production (django-ratelimit refuses local-memory caches): ./dev test starts a
# throwaway server and sets REDIS_URL. Each test process (pytest-xdist worker) has a key prefix
# of its own, so they can share one server; tests/conftest.py clears that prefix before each test.
if not os.environ.get("REDIS_URL"):
    raise ImproperlyConfigured(
        "REDIS_URL is not set: run the tests with ./dev test, which starts a throwaway Redis"
    )
CACHES = {
    "default": {
        **CACHES["default"],  # noqa: F405
        "KEY_PREFIX": f"test-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-{os.getpid()}",
    }
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not Django's shared in-memory database: the browser tests' live server thread
    # then has a connection of its own instead of sharing (and interleaving savepoints on)
    # the test thread's.
    DATABASES["default"]["TEST"] = {"NAME": str(_TMP / "test.sqlite3")}  # noqa: F405
