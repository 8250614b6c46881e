"""The halls' home pages (the site root, the unit hall, the person hall, the back office) and
the back office's audit log search. The top floor: it may read from every domain."""

from django.core.paginator import Paginator
from django.shortcuts import redirect, render

from shebao.core import selectors as core_selectors
from shebao.filings.selectors import review_queue
from shebao.halls.forms import AuditFilterForm
from shebao.registry import selectors as registry_selectors
from shebao.registry.models import InsuranceType
from shebao.web.decorators import hall_required

HOME = {"operator": "unit:home", "person": "person:home", "staff": "staff:home"}


def home(request):
    if request.user.is_authenticated:
        return redirect(HOME[request.user.kind])
    return render(request, "halls/home.html")


@hall_required("operator")
def unit_home(request):
    unit = request.user.unit
    summary = registry_selectors.unit_enrolment_summary(unit)
    counts = [(t, InsuranceType(t).label, summary.get(t, 0)) for t in unit.insurance_types]
    recent = unit.filings.order_by("-created_at")[:5]
    return render(
        request, "halls/unit_home.html", {"unit": unit, "counts": counts, "recent": recent}
    )


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
