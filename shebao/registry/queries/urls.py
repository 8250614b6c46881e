"""The unit hall's query pages (seed 004), included into the ``unit`` namespace at /unit/.

One pattern list per hall (unit_patterns); config/urls.py includes each under its hall's prefix."""

from django.urls import path

from shebao.registry.queries import views

unit_patterns = [
    path("roster/", views.roster, name="roster"),
    path("roster/export/", views.roster_export, name="roster_export"),
    path("roster/additions/", views.roster_additions, name="roster_additions"),
    path("roster/<str:person_no>/", views.roster_person, name="roster_person"),
]
