"""Payment pages: the unit hall's 社保应付 and payment history (unit_patterns, /unit/…) and the
back office's 到账登记 and 欠费查询 (staff_patterns, /staff/…). config/urls.py includes each
under its hall's prefix."""

from django.urls import path

from shebao.contributions.payments import views

unit_patterns = [
    path("payable/", views.unit_payable, name="payable"),
    path("payable/<int:period>/lines/", views.unit_payable_detail, name="payable_lines"),
    path("payments/", views.unit_payment_history, name="payment_history"),
]


staff_patterns = [
    path("payments/", views.staff_payments, name="payments"),
    path("payments/post/", views.staff_payment_post, name="payment_post"),
    path("payments/import/", views.staff_payments_import, name="payments_import"),
    path(
        "payments/import/confirm/",
        views.staff_payments_import_confirm,
        name="payments_import_confirm",
    ),
    path("arrears/", views.staff_arrears, name="arrears"),
    path("arrears/<str:unit_no>/", views.staff_arrears_unit, name="arrears_unit"),
]
