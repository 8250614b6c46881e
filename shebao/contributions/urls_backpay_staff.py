"""Back office 滞纳金试算 (staff namespace, /staff/…)."""

from django.urls import path

from shebao.contributions import views_backpay as views

urlpatterns = [
    path("late-fee/", views.staff_late_fee, name="late_fee"),
]
