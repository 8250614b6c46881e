"""Settlement pages: the unit hall's 单位结算 (unit_patterns, /unit/…: preview, notice, progress,
Excel detail) and the back office's 当期缴费核定 (staff_patterns, /staff/…: region job, reopen,
next period, stopping interrupted work). config/urls.py includes each under its hall's prefix."""

from django.urls import path

from shebao.contributions.settlement import views as v

unit_patterns = [
    path("settlement/", v.unit_settlement, name="settlement"),
    path("settlement/preview/", v.unit_preview, name="settlement_preview"),
    path("settlement/<int:settlement_id>/", v.unit_notice, name="settlement_notice"),
    path("settlement/<int:settlement_id>/progress/", v.unit_progress, name="settlement_progress"),
    path(
        "settlement/<int:settlement_id>/detail.xlsx", v.unit_detail_export, name="settlement_detail"
    ),
]


staff_patterns = [
    path("settlements/", v.staff_settlements, name="settlements"),
    path("settlements/job/", v.staff_region_job, name="settlement_job"),
    path("settlements/job/<int:job_id>/", v.staff_job_progress, name="settlement_job_progress"),
    path("settlements/next-period/", v.staff_next_period, name="settlement_next_period"),
    path("settlements/<int:settlement_id>/", v.staff_notice, name="settlement_notice"),
    path("settlements/<int:settlement_id>/reopen/", v.staff_reopen, name="settlement_reopen"),
    path("settlements/<int:settlement_id>/progress/", v.staff_progress, name="settlement_progress"),
    path("settlements/<int:settlement_id>/stop/", v.staff_stop_settlement, name="settlement_stop"),
    path("settlements/job/<int:job_id>/stop/", v.staff_stop_job, name="settlement_job_stop"),
]
