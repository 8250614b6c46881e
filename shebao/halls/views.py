"""The halls' home pages (the site root, the unit hall, the person hall, the back office) and
the back office's audit log search. The top floor: it may read from every domain."""

from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse

from shebao.contributions.payments.selectors import unit_home_arrears
from shebao.core import selectors as core_selectors
from shebao.filings.selectors import review_queue, unit_recent, unit_returned_count
from shebao.halls.forms import AuditFilterForm
from shebao.registry import selectors as registry_selectors
from shebao.registry.models import InsuranceType
from shebao.web.decorators import hall_required

HOME = {"operator": "unit:home", "person": "person:home", "staff": "staff:home"}


# The businesses a visitor may pick before signing in (seed 004): each links to its hall's
# sign-in page with ``next``, and the visitor lands on it after signing in.
UNIT_BUSINESSES = [
    ("人员参保", "unit:enrolment_new"),
    ("人员停保", "unit:stop_new"),
    ("缴费基数申报", "unit:wages"),
    ("单位结算", "unit:settlement"),
    ("参保职工名单", "unit:roster"),
    ("补缴", "unit:backpay"),
]
PERSON_BUSINESSES = [
    ("缴费记录", "person:contributions"),
    ("个人账户", "person:account"),
    ("灵活就业", "person:flexible"),
]


def business_links(login: str, businesses) -> list[tuple[str, str]]:
    """(label, the sign-in page's address with ``next`` set to the business)."""
    url = reverse(login)
    return [(label, f"{url}?{urlencode({'next': reverse(name)})}") for label, name in businesses]


def home(request):
    if request.user.is_authenticated:
        return redirect(HOME[request.user.kind])
    context = {
        "unit_businesses": business_links("accounts:unit_login", UNIT_BUSINESSES),
        "person_businesses": business_links("accounts:person_login", PERSON_BUSINESSES),
    }
    return render(request, "halls/home.html", context)


@hall_required("operator")
def unit_home(request):
    unit = request.user.unit
    summary = registry_selectors.unit_enrolment_summary(unit)
    counts = [(t, InsuranceType(t).label, summary.get(t, 0)) for t in unit.insurance_types]
    context = {
        "unit": unit,
        "counts": counts,
        "recent": unit_recent(request.user),
        "returned": unit_returned_count(request.user),
        "arrears": unit_home_arrears(request.user),
    }
    return render(request, "halls/unit_home.html", context)


@hall_required("person")
def person_home(request):
    person = request.user.person
    enrolments = registry_selectors.person_enrolments(person)
    return render(request, "halls/person_home.html", {"person": person, "enrolments": enrolments})


@hall_required("staff")
def staff_home(request):
    waiting = review_queue(request.user).count()
    return render(request, "halls/staff_home.html", {"waiting": waiting})


@hall_required("staff")
def audit_log(request):
    form = AuditFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    qs = core_selectors.audit_entries(request.user, **filters).select_related(
        "region", "actor__unit"
    )
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request, "halls/audit_log.html", {"form": form, "page": page, "query": query.urlencode()}
    )
