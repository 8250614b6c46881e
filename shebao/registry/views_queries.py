"""The unit hall's query pages (seed 004): roster (参保职工名单) with search, filters, sorting,
paging and Excel export; one person's enrolment history; the enrolment list (增员表) export.

A search may be an ID number, so it is always sent by POST and kept in the session; the
redirect and every link carry only the filter, sort and page parameters."""

from urllib.parse import urlencode

from django import forms
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from shebao.core.excel import xlsx_response
from shebao.registry import queries
from shebao.registry.models import InsuranceType
from shebao.web.decorators import hall_required
from shebao.web.forms import StyledForm, add_service_errors

SEARCH_SESSION_KEY = "roster_search"
PARAMS_SESSION_KEY = "roster_params"  # filter and sort of the last roster page, for 返回
TYPE_CHOICES = [("", "全部险种"), *InsuranceType.choices]
SORT_COLUMNS = [  # (label, sort key) of the sortable headers
    ("个人编号", "person_no"),
    ("姓名", "name"),
    ("参保年月", "start"),
    ("缴费工资", "wage"),
]


class RosterFilterForm(StyledForm):
    """The GET parameters of the roster: filter, sort and page (never the search)."""

    insurance_type = forms.ChoiceField(label="险种", required=False, choices=TYPE_CHOICES)
    status = forms.ChoiceField(
        label="参保状态", required=False, choices=queries.RosterStatus.choices
    )
    sort = forms.ChoiceField(
        label="排序", required=False, choices=[(k, k) for k in queries.ROSTER_SORTS]
    )


class RosterSearchForm(RosterFilterForm):
    """The POSTed query form: the search text with the filter."""

    q = forms.CharField(
        label="姓名、证件号码或个人编号",
        required=False,
        max_length=50,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "placeholder": "姓名、证件号码或个人编号"}
        ),
    )
    field_order = ["q", "insurance_type", "status", "sort"]


def _filter_params(data: dict) -> dict:
    """The non-empty filter and sort parameters, for URLs (defaults left out)."""
    params = {}
    if data.get("insurance_type"):
        params["insurance_type"] = data["insurance_type"]
    if data.get("status"):
        params["status"] = data["status"]
    if data.get("sort") and data["sort"] != queries.DEFAULT_SORT:
        params["sort"] = data["sort"]
    return params


def _roster_url(params: dict) -> str:
    url = reverse("unit:roster")
    return f"{url}?{urlencode(params)}" if params else url


def _current_filter(request, data: dict) -> queries.RosterFilter:
    return queries.RosterFilter(
        search=queries.RosterSearch.parse(request.session.get(SEARCH_SESSION_KEY, "")),
        insurance_type=data.get("insurance_type") or "",
        status=data.get("status") or "",
        sort=data.get("sort") or queries.DEFAULT_SORT,
    )


def _get_filters(request) -> dict:
    form = RosterFilterForm(request.GET)
    return form.cleaned_data if form.is_valid() else {}


@require_http_methods(["GET", "POST"])
@hall_required("operator")
def roster(request):
    """GET: the roster for the filter, sort and page in the URL and the search in the session.
    POST: a new search (or 清除条件), then a redirect to GET without the search text."""
    queries.check_query_permission(request.user)
    form = None
    data = _get_filters(request)
    if request.method == "POST":
        if request.POST.get("clear"):
            request.session.pop(SEARCH_SESSION_KEY, None)
            return redirect(reverse("unit:roster"))
        form = RosterSearchForm(request.POST)
        if form.is_valid():
            request.session[SEARCH_SESSION_KEY] = form.cleaned_data["q"].strip()
            return redirect(_roster_url(_filter_params(form.cleaned_data)))
    f = _current_filter(request, data)
    page = queries.roster_page(request.user, f, request.GET.get("page"))
    params = _filter_params(data)
    request.session[PARAMS_SESSION_KEY] = (
        {**params, "page": page.number} if page.number > 1 else params
    )
    if form is None:
        shown = f.search.value if f.search.kind in ("name", "person_no") else ""
        form = RosterSearchForm(initial={**params, "q": shown})
    return render(
        request,
        "registry/queries/roster.html",
        {
            "form": form,
            "page": page,
            "filter": f,
            "search_label": f.search.label,
            "search_is_id": f.search.kind == "id",
            "query": urlencode(params),
            "sort_links": _sort_links(params, f.sort),
        },
    )


def _sort_links(params: dict, current: str) -> list[dict]:
    """Header links: a click sorts by the column, a second click reverses it."""
    links = []
    for label, key in SORT_COLUMNS:
        if current == key:
            target, arrow = f"-{key}", "▲"
        elif current == f"-{key}":
            target, arrow = key, "▼"
        else:
            target, arrow = key, ""
        p = {k: v for k, v in params.items() if k != "sort"}
        if target != queries.DEFAULT_SORT:
            p["sort"] = target
        links.append({"label": label, "url": _roster_url(p), "arrow": arrow})
    return links


@require_POST
@hall_required("operator")
def roster_export(request):
    """Excel of the current filter and search; 完整导出 writes full ID numbers (audited)."""
    form = RosterFilterForm(request.POST)
    data = form.cleaned_data if form.is_valid() else {}
    f = _current_filter(request, data)
    full = request.POST.get("full") == "1"
    content = queries.roster_export(actor=request.user, f=f, full=full)
    today = timezone.localdate().strftime("%Y%m%d")
    return xlsx_response(f"参保职工名单_{request.user.unit.unit_no}_{today}.xlsx", content)


@hall_required("operator")
def roster_person(request, person_no: str):
    person = queries.roster_person_get(request.user, person_no)
    return render(
        request,
        "registry/queries/person.html",
        {
            "person": person,
            "history": queries.roster_person_history(request.user, person),
            "filings": queries.roster_person_filings(request.user, person),
            "back_url": _roster_url(request.session.get(PARAMS_SESSION_KEY, {})),
        },
    )


class AdditionsForm(StyledForm):
    period = forms.CharField(
        label="参保年月", max_length=20, help_text="格式为 yyyyMM，例如 202408"
    )
    full = forms.BooleanField(label="完整导出（导出完整证件号码，将记入审计日志）", required=False)

    def clean_period(self):
        return queries.parse_period(self.cleaned_data["period"])


def _mark_invalid(form) -> None:
    """Errors added after validation get the same styling as the form's own."""
    for name in form.errors:
        if name in form.fields:
            attrs = form.fields[name].widget.attrs
            if "is-invalid" not in attrs.get("class", ""):
                attrs["class"] = attrs.get("class", "") + " is-invalid"
                attrs["aria-invalid"] = "true"


@require_http_methods(["GET", "POST"])
@hall_required("operator")
def roster_additions(request):
    """增员表: the persons whose enrolment here started in a chosen month, as Excel."""
    queries.check_query_permission(request.user)
    if request.method == "POST":
        form = AdditionsForm(request.POST)
        if form.is_valid():
            period = form.cleaned_data["period"]
            try:
                content = queries.additions_export(
                    actor=request.user, period=period, full=form.cleaned_data["full"]
                )
            except ValidationError as e:
                add_service_errors(form, e)
                _mark_invalid(form)
            else:
                return xlsx_response(f"增员表_{request.user.unit.unit_no}_{period}.xlsx", content)
    else:
        form = AdditionsForm(initial={"period": timezone.localdate().strftime("%Y%m")})
    return render(request, "registry/queries/additions.html", {"form": form})
