"""URL patterns included into the person hall's namespace by config/urls.py."""

from django.urls import path

from shebao.contributions import views_person as v

urlpatterns = [
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
