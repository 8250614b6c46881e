"""URL patterns included into the person hall's namespace by config/urls.py.

One pattern list per hall (person_patterns); config/urls.py includes each under its hall's prefix."""

from django.urls import path

from shebao.contributions.account import views as v

person_patterns = [
    path("contributions/", v.contributions, name="contributions"),
    path("account/", v.account_statement, name="account"),
    path("flexible/", v.flexible_page, name="flexible"),
    path("flexible/levels/", v.flexible_levels, name="flexible_levels"),
    path("flexible/assess/", v.flexible_assess, name="flexible_assess"),
    path(
        "flexible/assessments/<int:settlement_id>/rollback/",
        v.flexible_rollback,
        name="flexible_rollback",
    ),
    path("flexible/filings/<str:serial_no>/cancel/", v.flexible_cancel, name="flexible_cancel"),
]
