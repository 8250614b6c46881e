from django.contrib import admin
from django.urls import include, path

from shebao.accounts import views as accounts_views
from shebao.accounts import views_operators
from shebao.api.urls import api
from shebao.core import views as core_views
from shebao.filings import views as filings_views
from shebao.filings import views_unit as filings_unit_views
from shebao.registry import views as registry_views
from shebao.registry import views_registration as reg
from shebao.web import views as web_views

accounts_patterns = (
    [
        path("unit/login/", accounts_views.login_view, {"kind": "operator"}, name="unit_login"),
        path("person/login/", accounts_views.login_view, {"kind": "person"}, name="person_login"),
        path("staff/login/", accounts_views.login_view, {"kind": "staff"}, name="staff_login"),
        path("verify/", accounts_views.verify_view, name="verify"),
        path("verify/resend/", accounts_views.verify_resend, name="verify_resend"),
        path("staff/totp/", accounts_views.totp_setup, name="totp_setup"),
        path("logout/", accounts_views.logout_view, name="logout"),
        path("password/", accounts_views.password_change, name="password_change"),
        path(
            "forgot/unit/", accounts_views.forgot_password, {"kind": "operator"}, name="forgot_unit"
        ),
        path(
            "forgot/person/",
            accounts_views.forgot_password,
            {"kind": "person"},
            name="forgot_person",
        ),
        path(
            "forgot/staff/", accounts_views.forgot_password, {"kind": "staff"}, name="forgot_staff"
        ),
        path("forgot/reset/", accounts_views.forgot_reset, name="forgot_reset"),
        path("person/signup/", accounts_views.person_signup, name="person_signup"),
        path(
            "person/signup/resend/",
            accounts_views.person_signup_resend,
            name="person_signup_resend",
        ),
        path("unit/bind/", accounts_views.unit_bind, name="unit_bind"),
        path("unit/bind/code/", accounts_views.unit_bind_send_code, name="unit_bind_code"),
    ],
    "accounts",
)

registration_patterns = (
    [
        path("", reg.registration_new, name="new"),
        path("reopen/", reg.registration_reopen, name="reopen"),
        path("reopen/code/", reg.registration_reopen_send_code, name="reopen_code"),
        path("<str:serial_no>/", reg.registration_status, name="status"),
        path("<str:serial_no>/edit/", reg.registration_edit, name="edit"),
        path("<str:serial_no>/submit/", reg.registration_submit_view, name="submit"),
        path("<str:serial_no>/code/", reg.registration_send_code, name="code"),
        path("<str:serial_no>/cancel/", reg.registration_cancel, name="cancel"),
    ],
    "registration",
)

unit_patterns = (
    [
        path("", registry_views.unit_home, name="home"),
        path("info/", registry_views.unit_info, name="info"),
        path("operators/", views_operators.operators, name="operators"),
        path("operators/<int:operator_id>/", views_operators.operator_edit, name="operator"),
        path(
            "operators/<int:operator_id>/toggle/",
            views_operators.operator_toggle,
            name="operator_toggle",
        ),
        path("filings/todo/", filings_unit_views.todo, name="todo"),
        path("filings/done/", filings_unit_views.done, name="done"),
        path("filings/batch/", filings_unit_views.batch, name="filings_batch"),
        path("filings/<str:serial_no>/", filings_unit_views.detail, name="filing"),
        path("filings/<str:serial_no>/action/", filings_unit_views.action, name="filing_action"),
        path("", include("shebao.registry.urls_enrolment")),
        path("", include("shebao.registry.urls_changes")),
        path("", include("shebao.registry.urls_queries")),
        path("", include("shebao.contributions.urls_settlement_unit")),
        path("", include("shebao.contributions.urls_payments_unit")),
        path("", include("shebao.contributions.urls_backpay_unit")),
        path("", include("shebao.contributions.urls_wages_unit")),
    ],
    "unit",
)

person_patterns = (
    [
        path("", registry_views.person_home, name="home"),
        path("", include("shebao.contributions.urls_person")),
    ],
    "person",
)

staff_patterns = (
    [
        path("", web_views.staff_home, name="home"),
        path("filings/", filings_views.queue, name="queue"),
        path("filings/approve/", filings_views.approve_many, name="approve_many"),
        path("filings/<str:serial_no>/", filings_views.review, name="review"),
        path("units/", registry_views.staff_units, name="units"),
        path("units/new/", registry_views.staff_unit_new, name="unit_new"),
        path("units/<str:unit_no>/", registry_views.staff_unit, name="unit"),
        path(
            "units/<str:unit_no>/code/",
            registry_views.staff_unit_issue_code,
            name="unit_issue_code",
        ),
        path("units/<str:unit_no>/revoke/", registry_views.staff_unit_revoke, name="unit_revoke"),
        path("audit/", core_views.audit_log, name="audit"),
        path("rules/", filings_views.region_rules, name="region_rules"),
        path("", include("shebao.registry.urls_staff_changes")),
        path("", include("shebao.contributions.urls_settlement_staff")),
        path("", include("shebao.contributions.urls_payments_staff")),
        path("", include("shebao.contributions.urls_backpay_staff")),
        path("", include("shebao.contributions.urls_params_staff")),
        path("", include("shebao.contributions.urls_flexible_staff")),
    ],
    "staff",
)

web_patterns = (
    [
        path("", web_views.home, name="home"),
        path("dev/", core_views.dev_console, name="dev_console"),
        path("materials/<int:material_id>/", filings_views.material_file, name="material"),
        path("", include("shebao.contributions.urls_public")),
    ],
    "web",
)

urlpatterns = [
    path("api/", api.urls),
    path("", include(web_patterns)),
    path("accounts/", include(accounts_patterns)),
    path("register/", include(registration_patterns)),
    path("unit/", include(unit_patterns)),
    path("person/", include(person_patterns)),
    path("staff/", include(staff_patterns)),
    path("django-admin/", admin.site.urls),
]
