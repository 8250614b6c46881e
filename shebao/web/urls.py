"""The chrome's public URLs (web namespace)."""

from django.urls import path

from shebao.web import views

public_patterns = [
    path("favicon.ico", views.favicon, name="favicon"),
    path("csp-report/", views.csp_report, name="csp_report"),
    path("guides/", views.guide_list, name="guides"),
    path("guides/all/", views.guide_all, name="guides_all"),
    path("guides/<slug:slug>/", views.guide_detail, name="guide"),
]
