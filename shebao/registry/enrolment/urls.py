"""URL patterns included into a hall namespace by config/urls.py (the unit hall, /unit/):
人员参保, 人员停保 and 人员转移 (转出, 转入). ID numbers travel by POST only.

One pattern list per hall (unit_patterns); config/urls.py includes each under its hall's prefix."""

from django.urls import path

from shebao.registry.enrolment import views

ENROLMENT = {"kind": "enrolment"}
TRANSFER_IN = {"kind": "transfer_in"}
STOP = {"kind": "stop"}
TRANSFER_OUT = {"kind": "transfer_out"}

unit_patterns = [
    path("enrolment/", views.enrolment_page, ENROLMENT, name="enrolment_new"),
    path("enrolment/<str:serial_no>/", views.enrolment_page, ENROLMENT, name="enrolment_edit"),
    path(
        "enrolment/<str:serial_no>/rows/<int:row_id>/",
        views.enrolment_row,
        ENROLMENT,
        name="enrolment_row",
    ),
    path(
        "enrolment/<str:serial_no>/rows/<int:row_id>/remove/",
        views.enrolment_row_remove,
        ENROLMENT,
        name="enrolment_row_remove",
    ),
    path("stop/", views.stop_page, STOP, name="stop_new"),
    path("stop/<str:serial_no>/", views.stop_page, STOP, name="stop_edit"),
    path("transfer/", views.stop_page, TRANSFER_OUT, name="transfer"),
    path("transfer/out/<str:serial_no>/", views.stop_page, TRANSFER_OUT, name="transfer_out_edit"),
    path("transfer/in/", views.enrolment_page, TRANSFER_IN, name="transfer_in_new"),
    path(
        "transfer/in/<str:serial_no>/", views.enrolment_page, TRANSFER_IN, name="transfer_in_edit"
    ),
    path(
        "transfer/in/<str:serial_no>/rows/<int:row_id>/",
        views.enrolment_row,
        TRANSFER_IN,
        name="transfer_in_row",
    ),
    path(
        "transfer/in/<str:serial_no>/rows/<int:row_id>/remove/",
        views.enrolment_row_remove,
        TRANSFER_IN,
        name="transfer_in_row_remove",
    ),
]
