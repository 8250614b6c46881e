"""Information changes and locks in the unit hall (included into the `unit` namespace)."""

from django.urls import path

from shebao.registry import views_changes as views

urlpatterns = [
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
