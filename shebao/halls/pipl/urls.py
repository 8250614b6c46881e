"""个人信息导出 (staff_patterns, under /staff/)."""

from django.urls import path

from shebao.halls.pipl import views

staff_patterns = [
    path("pipl/", views.pipl_search, name="pipl"),
    path("pipl/<str:person_no>/export/", views.pipl_export, name="pipl_export"),
]
