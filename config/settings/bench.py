"""Benchmarks: ./dev bench (DATABASE_URL selects PostgreSQL)."""

from .base import *  # noqa: F403

DEBUG = False
ALLOWED_HOSTS = ["*"]
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}
