"""Back office pages for policy parameters and units' work-injury rates (staff namespace,
/staff/…).

One pattern list per hall (staff_patterns); config/urls.py includes each under its hall's prefix."""

from django.urls import path

from shebao.contributions.params import views

staff_patterns = [
    path("parameters/", views.parameters, name="parameters"),
    path("parameters/new/", views.parameter_publish, name="parameter_publish"),
    path("parameters/<int:parameter_set_id>/", views.parameter_detail, name="parameter_detail"),
    path(
        "parameters/<int:parameter_set_id>/verify/",
        views.parameter_verify,
        name="parameter_verify",
    ),
    path("units/<str:unit_no>/injury-rates/", views.injury_rates, name="injury_rates"),
]
