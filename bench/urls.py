"""The benchmark server's URLconf (config.settings.bench): the project's URLs, unchanged, plus
the bare baseline views benchmarks compare with."""

from django.urls import path

from bench.bare_views import bare_roster
from config.urls import urlpatterns as project_urlpatterns

urlpatterns = [
    path("bench/bare-roster/", bare_roster, name="bench_bare_roster"),
    *project_urlpatterns,
]
