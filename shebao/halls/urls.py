"""The halls' home pages, one pattern list per hall; config/urls.py includes each under its
hall's prefix."""

from django.urls import path

from shebao.halls import views

public_patterns = [
    path("", views.home, name="home"),
]

unit_patterns = [
    path("", views.unit_home, name="home"),
]

person_patterns = [
    path("", views.person_home, name="home"),
]

staff_patterns = [
    path("", views.staff_home, name="home"),
    path("audit/", views.audit_log, name="audit"),
]
