"""Person lock in the back office (included into the `staff` namespace)."""

from django.urls import path

from shebao.registry import views_changes as views

urlpatterns = [
    path("person-lock/", views.staff_person_lock, name="person_lock"),
    path(
        "person-lock/<str:person_no>/",
        views.staff_person_lock_detail,
        name="person_lock_detail",
    ),
]
