"""URL patterns of flexible workers: the person hall's 灵活就业 pages (person_patterns) and the
back office's 灵活人员缴费核定 (staff_patterns). config/urls.py includes each under its hall's
prefix and namespace."""

from django.urls import path

from shebao.contributions.flexible import views as v

person_patterns = [
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
