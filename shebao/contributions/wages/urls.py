"""Unit hall 缴费基数申报 pages (unit namespace, /unit/…): 年度工资申报 and 机关事业单位月度
分项工资申报.

One pattern list per hall (unit_patterns); config/urls.py includes each under its hall's prefix."""

from django.urls import path

from shebao.contributions.wages import views

unit_patterns = [
    path("wages/", views.wages_home, name="wages"),
    path("wages/annual/", views.annual_page, name="wages_annual_new"),
    path("wages/annual/list.xlsx", views.annual_template, name="wages_annual_template"),
    path("wages/annual/<str:serial_no>/", views.annual_page, name="wages_annual_edit"),
    path("wages/monthly/", views.monthly_page, name="wages_monthly_new"),
    path("wages/monthly/<str:serial_no>/", views.monthly_page, name="wages_monthly_edit"),
    path(
        "wages/<str:serial_no>/rows/<int:row_id>/remove/",
        views.row_remove,
        name="wages_row_remove",
    ),
]
