"""Public pages of the contributions app (web namespace, at the site root): 缴费试算.

One pattern list per hall (public_patterns); config/urls.py includes each under its hall's prefix."""

from django.urls import path

from shebao.contributions.calculator import views

public_patterns = [
    path("calculator/", views.calculator, name="calculator"),
]
