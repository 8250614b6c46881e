"""The public pages of the unit first registration (the `registration` namespace, /register/)."""

from django.urls import path

from shebao.registry.registration import views as reg

public_patterns = [
    path("", reg.registration_new, name="new"),
    path("reopen/", reg.registration_reopen, name="reopen"),
    path("reopen/code/", reg.registration_reopen_send_code, name="reopen_code"),
    path("kept/<int:kept_id>/", reg.registration_kept, name="kept"),
    path("<str:serial_no>/", reg.registration_status, name="status"),
    path("<str:serial_no>/edit/", reg.registration_edit, name="edit"),
    path("<str:serial_no>/submit/", reg.registration_submit_view, name="submit"),
    path("<str:serial_no>/code/", reg.registration_send_code, name="code"),
    path("<str:serial_no>/cancel/", reg.registration_cancel, name="cancel"),
]

staff_patterns = [
    path(
        "filings/<str:serial_no>/legal-rep-id/",
        reg.legal_rep_id_reveal,
        name="legal_rep_id_reveal",
    ),
]
