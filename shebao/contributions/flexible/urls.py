"""URL patterns of the back office's 灵活人员缴费核定, included into the staff namespace by
config/urls.py.

One pattern list per hall (staff_patterns); config/urls.py includes each under its hall's prefix."""

from django.urls import path

from shebao.contributions.account import views as v

staff_patterns = [
    path("flexible/", v.staff_flexible, name="flexible"),
    path("flexible/assess-all/", v.staff_flexible_assess_all, name="flexible_assess_all"),
    path("flexible/assess/", v.staff_flexible_assess, name="flexible_assess"),
    path(
        "flexible/<int:settlement_id>/rollback/",
        v.staff_flexible_rollback,
        name="flexible_rollback",
    ),
]
