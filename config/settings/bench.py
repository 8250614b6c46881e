"""Benchmarks: ./dev bench (DATABASE_URL selects PostgreSQL).

Also the settings of the gunicorn server `./dev bench roster` starts: its URLconf is
bench/urls.py, the project's URLs plus the bare baseline view the roster benchmark compares with.
"""

from .base import *  # noqa: F403

DEBUG = False
ALLOWED_HOSTS = ["*"]
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}
ROOT_URLCONF = "bench.urls"
# Rate limits and daily caps off: the benchmarks' load comes from one address. The cache is
# still Redis (REDIS_URL, started by ./dev bench): the settlement reports its progress there.
RATELIMIT_ENABLE = False
