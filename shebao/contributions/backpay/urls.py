"""Unit hall 补缴 pages (unit namespace, /unit/…): 核定基数补缴, 调整基数补缴, 个人补收 and
滞纳金试算. Back office 滞纳金试算 (staff namespace, /staff/…).

One pattern list per hall (unit_patterns, staff_patterns); config/urls.py includes each under its hall's prefix."""

from django.urls import path

from shebao.contributions.backpay import views

unit_patterns = [
    path("backpay/", views.home, name="backpay"),
    path("backpay/back-pay/", views.back_pay_page, name="back_pay_new"),
    path("backpay/back-pay/<str:serial_no>/", views.back_pay_page, name="back_pay_edit"),
    path("backpay/adjust/", views.adjust_pay_page, name="adjust_pay_new"),
    path("backpay/adjust/<str:serial_no>/", views.adjust_pay_page, name="adjust_pay_edit"),
    path("backpay/supplement/", views.supplement_pay_page, name="supplement_pay_new"),
    path(
        "backpay/supplement/<str:serial_no>/",
        views.supplement_pay_page,
        name="supplement_pay_edit",
    ),
    path(
        "backpay/filings/<str:serial_no>/rows/<int:row_id>/remove/",
        views.row_remove,
        name="backpay_row_remove",
    ),
    path("backpay/late-fee/", views.unit_late_fee, name="late_fee"),
]


staff_patterns = [
    path("late-fee/", views.staff_late_fee, name="late_fee"),
]
