"""The unit hall's 单位信息 (unit_patterns)."""

from django.urls import path

from shebao.registry import views as registry_views

unit_patterns = [
    path("info/", registry_views.unit_info, name="info"),
]
