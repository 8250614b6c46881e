"""Back office payment pages (staff namespace, /staff/…): 到账登记 and 欠费查询."""

from django.urls import path

from shebao.contributions import views_payments as views

urlpatterns = [
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
