"""Public pages of the contributions app (web namespace, at the site root): 缴费试算."""

from django.urls import path

from shebao.contributions import views_public as views

urlpatterns = [
    path("calculator/", views.calculator, name="calculator"),
]
