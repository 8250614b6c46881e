"""The unit hall's query pages (seed 004): roster (参保职工名单) with search, filters, sorting,
paging and Excel export; one person's enrolment history; the enrolment list (增员表) export.

A search may be an ID number, so it is always sent by POST and kept in the session; the
redirect and every link carry only the filter, sort and page parameters."""

from html import escape
from urllib.parse import quote, urlencode

from django import forms
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods, require_POST

from shebao.core.excel import xlsx_response
from shebao.registry.models import InsuranceType
from shebao.registry.queries import selectors as queries
from shebao.web.decorators import hall_required
from shebao.web.forms import StyledForm, add_service_errors

SEARCH_SESSION_KEY = "roster_search"
_PERSON_NO_SLOT = "0person0"  # stands for the person number in the reversed detail URL
PARAMS_SESSION_KEY = "roster_params"  # filter and sort of the last roster page, for 返回
TYPE_CHOICES = [("", "全部险种"), *InsuranceType.choices]
SORT_COLUMNS = [  # (label, sort key) of the sortable headers
    ("个人编号", "person_no"),
    ("姓名", "name"),
    ("参保年月", "start"),
    ("缴费工资", "wage"),
]


def _attrs_html(attrs: dict) -> str:
    """HTML attributes as Django's ``django/forms/widgets/attrs.html`` writes them."""
    return "".join(
        f" {key}" if value is True else f' {key}="{escape(str(value))}"'
        for key, value in attrs.items()
        if value is not False and value is not None
    )


class _PlainSelect(forms.Select):
    """The same ``<select>`` as Django's, joined in Python: the roster page renders its form on
    every load, and the template engine's select (one included template per option and per
    attribute list) cost about a millisecond a page, more than the page's 50 rows."""

    def render(self, name, value, attrs=None, renderer=None):
        chosen = set(self.format_value(value))
        options = "".join(
            f'<option value="{escape(str(v))}"{" selected" if str(v) in chosen else ""}>'
            f"{escape(str(label))}</option>"
            for v, label in self.choices
        )
        final = self.build_attrs(self.attrs, attrs)
        return mark_safe(f'<select name="{escape(name)}"{_attrs_html(final)}>{options}</select>')  # noqa: S308


class _PlainTextInput(forms.TextInput):
    """Django's text ``<input>``, joined in Python (see ``_PlainSelect``)."""

    def render(self, name, value, attrs=None, renderer=None):
        value = self.format_value(value)
        shown = "" if value is None else f' value="{escape(str(value))}"'
        final = self.build_attrs(self.attrs, attrs)
        return mark_safe(f'<input type="text" name="{escape(name)}"{shown}{_attrs_html(final)}>')  # noqa: S308


class RosterFilterForm(StyledForm):
    """The GET parameters of the roster: filter, sort and page (never the search)."""

    insurance_type = forms.ChoiceField(
        label="险种", required=False, choices=TYPE_CHOICES, widget=_PlainSelect
    )
    status = forms.ChoiceField(
        label="参保状态",
        required=False,
        choices=queries.RosterStatus.choices,
        widget=_PlainSelect,
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
        widget=_PlainTextInput(
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


def _roster_url(params: dict, url: str | None = None) -> str:
    url = url or reverse("unit:roster")
    return f"{url}?{urlencode(params)}" if params else url


def _current_filter(request, data: dict) -> queries.RosterFilter:
    return queries.RosterFilter(
        search=queries.RosterSearch.parse(request.session.get(SEARCH_SESSION_KEY, "")),
        insurance_type=data.get("insurance_type") or "",
        status=data.get("status") or "",
        sort=data.get("sort") or queries.DEFAULT_SORT,
    )


# The values RosterFilterForm accepts, per field (blank included: none is required).
_FILTER_VALUES = {
    name: {"", *(str(value) for value, _ in field.choices)}
    for name, field in RosterFilterForm.base_fields.items()
}


def _get_filters(request) -> dict:
    """The filter and sort in the URL as RosterFilterForm cleans them (one invalid value: none
    of them), checked against the same choices without building the form on every load."""
    data = {}
    for name, allowed in _FILTER_VALUES.items():
        value = request.GET.get(name, "")
        if value not in allowed:
            return {}
        data[name] = value
    return data


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
            "rows_html": _rows_html(page, f.stopped),
        },
    )


# One table row of the roster. The rows are the page's bulk (50 of them, ten cells each): joined
# here with every text escaped, they cost a small fraction of rendering the same markup through
# the template engine, which resolves and localises each of the 500 values one by one.
_ROW = (
    '<tr>\n  <td><a href="{url}">{person_no}</a></td>\n'
    "  <td>{name}</td><td>{masked_id}</td><td>{sex}</td>\n"
    '  <td class="text-wrap">{types}</td>\n'
    "  <td>{status}</td>\n"
    "  <td>{start}</td>\n"
    "{stop}"
    '  <td class="text-end">{wage}</td>\n</tr>\n'
)
_WARN = '<span class="text-warning-emphasis">{}</span>'


def _rows_html(page, stopped: bool) -> str:
    """The ``<tr>`` of the page's rows (decorated by ``queries._decorate``), as safe HTML."""
    # One reverse for the page's person links instead of one {% url %} per row.
    person_url = reverse("unit:roster_person", args=[_PERSON_NO_SLOT])
    parts = []
    for p in page:
        status = p.status_label
        stop = ""
        if stopped:
            stop = f"  <td>{p.stop_period or ''}</td>\n"
        # Escaped: what was typed in (name, ID number) or stored as text (person number). The
        # labels are our own constants, the numbers digits, the link percent-encoded.
        parts.append(
            _ROW.format(
                url=person_url.replace(_PERSON_NO_SLOT, quote(p.person_no, safe="")),
                person_no=escape(p.person_no),
                name=escape(p.name),
                masked_id=escape(p.masked_id_number),
                sex=p.sex_label,
                types=p.types_label,
                status=status if p.status_ok else _WARN.format(status),
                start=p.start_period,
                stop=stop,
                wage=p.wage_text,
            )
        )
    return mark_safe("".join(parts))  # noqa: S308 (text values escaped above)


def _sort_links(params: dict, current: str) -> list[dict]:
    """Header links: a click sorts by the column, a second click reverses it."""
    links = []
    url = reverse("unit:roster")
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
        links.append({"label": label, "url": _roster_url(p, url), "arrow": arrow})
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
