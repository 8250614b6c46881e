"""The development console (web namespace, /dev/)."""

from django.urls import path

from shebao.demo import views

public_patterns = [
    path("dev/", views.dev_console, name="dev_console"),
]
