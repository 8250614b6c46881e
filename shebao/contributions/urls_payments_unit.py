"""Unit hall payment pages (unit namespace, /unit/…): 社保应付 and the payment history."""

from django.urls import path

from shebao.contributions import views_payments as views

urlpatterns = [
    path("payable/", views.unit_payable, name="payable"),
    path("payable/<int:period>/lines/", views.unit_payable_detail, name="payable_lines"),
    path("payments/", views.unit_payment_history, name="payment_history"),
]
