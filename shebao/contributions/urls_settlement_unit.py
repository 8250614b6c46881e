"""URL patterns included into the unit namespace by config/urls.py."""

from django.urls import path

from shebao.contributions import views_settlement as v

urlpatterns = [
    path("settlement/", v.unit_settlement, name="settlement"),
    path("settlement/preview/", v.unit_preview, name="settlement_preview"),
    path("settlement/<int:settlement_id>/", v.unit_notice, name="settlement_notice"),
    path("settlement/<int:settlement_id>/progress/", v.unit_progress, name="settlement_progress"),
    path(
        "settlement/<int:settlement_id>/detail.xlsx", v.unit_detail_export, name="settlement_detail"
    ),
]
