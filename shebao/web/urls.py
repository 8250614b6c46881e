"""The chrome's public URLs (web namespace)."""

from django.urls import path

from shebao.web import views

public_patterns = [
    path("favicon.ico", views.favicon, name="favicon"),
    path("csp-report/", views.csp_report, name="csp_report"),
]
