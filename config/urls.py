"""The site's URL map. Each package's urls.py holds one pattern list per hall it serves; they are
included here under that hall's prefix and namespace, in the order that decides matching."""

from django.contrib import admin
from django.urls import include, path

from shebao.accounts import urls as accounts
from shebao.api.urls import api
from shebao.contributions.account import urls as account
from shebao.contributions.backpay import urls as backpay
from shebao.contributions.calculator import urls as calculator
from shebao.contributions.flexible import urls as flexible
from shebao.contributions.params import urls as params
from shebao.contributions.payments import urls as payments
from shebao.contributions.settlement import urls as settlement
from shebao.contributions.wages import urls as wages
from shebao.demo import urls as demo
from shebao.filings import urls as filings
from shebao.halls import urls as halls
from shebao.halls.pipl import urls as pipl
from shebao.registry import urls as registry
from shebao.registry.changes import urls as changes
from shebao.registry.enrolment import urls as enrolment
from shebao.registry.queries import urls as queries
from shebao.registry.registration import urls as registration
from shebao.web import urls as web

web_patterns = [
    *halls.public_patterns,
    *demo.public_patterns,
    *filings.public_patterns,
    *calculator.public_patterns,
    *web.public_patterns,
]

unit_patterns = [
    *halls.unit_patterns,
    *registry.unit_patterns,
    *accounts.unit_patterns,
    *filings.unit_patterns,
    *enrolment.unit_patterns,
    *changes.unit_patterns,
    *queries.unit_patterns,
    *settlement.unit_patterns,
    *payments.unit_patterns,
    *backpay.unit_patterns,
    *wages.unit_patterns,
]

person_patterns = [
    *halls.person_patterns,
    *account.person_patterns,
    *flexible.person_patterns,
]

staff_patterns = [
    *halls.staff_patterns,
    *pipl.staff_patterns,
    *filings.staff_patterns,
    *registration.staff_patterns,
    *accounts.staff_patterns,
    *changes.staff_patterns,
    *settlement.staff_patterns,
    *payments.staff_patterns,
    *backpay.staff_patterns,
    *params.staff_patterns,
    *flexible.staff_patterns,
]

urlpatterns = [
    path("api/", api.urls),
    path("", include((web_patterns, "web"))),
    path("accounts/", include((accounts.accounts_patterns, "accounts"))),
    path("register/", include((registration.public_patterns, "registration"))),
    path("unit/", include((unit_patterns, "unit"))),
    path("person/", include((person_patterns, "person"))),
    path("staff/", include((staff_patterns, "staff"))),
    path("django-admin/", admin.site.urls),
]
