"""Information changes and locks: the unit hall's pages (unit_patterns, /unit/…) and the back
office's person locks (staff_patterns, /staff/…). config/urls.py includes each under its hall's
prefix."""

from django.urls import path

from shebao.registry.changes import views

unit_patterns = [
    path("changes/", views.changes_index, name="changes"),
    path(
        "changes/person/<str:person_no>/key/",
        views.person_change_new,
        {"what": "key"},
        name="change_person_key",
    ),
    path(
        "changes/person/<str:person_no>/general/",
        views.person_change_new,
        {"what": "general"},
        name="change_person_general",
    ),
    path(
        "changes/person/<str:person_no>/lock/",
        views.person_change_new,
        {"what": "lock"},
        name="change_person_lock",
    ),
    path(
        "changes/unit/general/",
        views.unit_change_new,
        {"what": "general"},
        name="change_unit_general",
    ),
    path("changes/unit/key/", views.unit_change_new, {"what": "key"}, name="change_unit_key"),
    path("changes/filing/<str:serial_no>/edit/", views.change_edit, name="change_edit"),
    path(
        "changes/filing/<str:serial_no>/change-form.xlsx",
        views.change_form_xlsx,
        name="change_form_xlsx",
    ),
]


staff_patterns = [
    path("person-lock/", views.staff_person_lock, name="person_lock"),
    path(
        "person-lock/<str:person_no>/",
        views.staff_person_lock_detail,
        name="person_lock_detail",
    ),
]
