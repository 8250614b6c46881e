"""Sign-in, passwords, person sign-up and unit binding (the `accounts` namespace, /accounts/),
the unit hall's 操作员管理 (unit_patterns, /unit/) and the back office's unit pages
(staff_patterns, /staff/)."""

from django.urls import path

from shebao.accounts import views as accounts_views
from shebao.accounts import views_operators, views_units

accounts_patterns = [
    path("unit/login/", accounts_views.login_view, {"kind": "operator"}, name="unit_login"),
    path("person/login/", accounts_views.login_view, {"kind": "person"}, name="person_login"),
    path("staff/login/", accounts_views.login_view, {"kind": "staff"}, name="staff_login"),
    path("verify/", accounts_views.verify_view, name="verify"),
    path("verify/resend/", accounts_views.verify_resend, name="verify_resend"),
    path("staff/totp/", accounts_views.totp_setup, name="totp_setup"),
    path("logout/", accounts_views.logout_view, name="logout"),
    path("password/", accounts_views.password_change, name="password_change"),
    path("forgot/unit/", accounts_views.forgot_password, {"kind": "operator"}, name="forgot_unit"),
    path(
        "forgot/person/",
        accounts_views.forgot_password,
        {"kind": "person"},
        name="forgot_person",
    ),
    path("forgot/staff/", accounts_views.forgot_password, {"kind": "staff"}, name="forgot_staff"),
    path("forgot/reset/", accounts_views.forgot_reset, name="forgot_reset"),
    path("person/signup/", accounts_views.person_signup, name="person_signup"),
    path(
        "person/signup/resend/",
        accounts_views.person_signup_resend,
        name="person_signup_resend",
    ),
    path("unit/bind/", accounts_views.unit_bind, name="unit_bind"),
    path("unit/bind/code/", accounts_views.unit_bind_send_code, name="unit_bind_code"),
]

unit_patterns = [
    path("operators/", views_operators.operators, name="operators"),
    path("operators/<int:operator_id>/", views_operators.operator_edit, name="operator"),
    path(
        "operators/<int:operator_id>/toggle/",
        views_operators.operator_toggle,
        name="operator_toggle",
    ),
]

staff_patterns = [
    path("units/", views_units.staff_units, name="units"),
    path("units/new/", views_units.staff_unit_new, name="unit_new"),
    path("units/<str:unit_no>/", views_units.staff_unit, name="unit"),
    path(
        "units/<str:unit_no>/code/",
        views_units.staff_unit_issue_code,
        name="unit_issue_code",
    ),
    path("units/<str:unit_no>/revoke/", views_units.staff_unit_revoke, name="unit_revoke"),
]
