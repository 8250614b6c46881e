"""The unit hall's query pages (seed 004): roster (参保职工名单) with search, filters, sorting,
paging and Excel export; one person's enrolment history; the enrolment list (增员表) export.

A search may be an ID number, so it is always sent by POST and kept in the session, encrypted;
the redirect and every link carry only the filter, sort and page parameters."""

from html import escape
from urllib.parse import quote, urlencode

from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods, require_POST

from shebao.core import crypto
from shebao.core.excel import xlsx_response
from shebao.registry.queries import exports
from shebao.registry.queries import selectors as queries
from shebao.registry.queries.forms import (
    AdditionsForm,
    RosterFilterForm,
    RosterSearchForm,
    filters_from_query,
)
from shebao.web.decorators import hall_required
from shebao.web.forms import add_service_errors

SEARCH_SESSION_KEY = "roster_search"
SEARCH_CONTEXT = "session.roster_search"  # associated data of the encrypted search term
_PERSON_NO_SLOT = "0person0"  # stands for the person number in the reversed detail URL
PARAMS_SESSION_KEY = "roster_params"  # filter and sort of the last roster page, for 返回
SORT_COLUMNS = [  # (label, sort key) of the sortable headers
    ("个人编号", "person_no"),
    ("姓名", "name"),
    ("参保年月", "start"),
    ("缴费工资", "wage"),
]


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


def _stored_search(request) -> str:
    """The search kept in the session, stored encrypted (it may be an ID number, and the session
    table is not encrypted); a value that does not decrypt (an older session) is no search."""
    try:
        return crypto.decrypt(request.session.get(SEARCH_SESSION_KEY, ""), context=SEARCH_CONTEXT)
    except crypto.DecryptionError:
        return ""


def _current_filter(request, data: dict) -> queries.RosterFilter:
    return queries.RosterFilter(
        search=queries.RosterSearch.parse(_stored_search(request)),
        insurance_type=data.get("insurance_type") or "",
        status=data.get("status") or "",
        sort=data.get("sort") or queries.DEFAULT_SORT,
    )


def _search_posted(request):
    """A new search (or 清除条件): the redirect to GET, or None with the invalid form."""
    if request.POST.get("clear"):
        request.session.pop(SEARCH_SESSION_KEY, None)
        return redirect(reverse("unit:roster")), None
    form = RosterSearchForm(request.POST)
    if not form.is_valid():
        return None, form
    term = form.cleaned_data["q"].strip()
    request.session[SEARCH_SESSION_KEY] = crypto.encrypt(term, context=SEARCH_CONTEXT)
    return redirect(_roster_url(_filter_params(form.cleaned_data))), form


def _roster_context(form, page, f: queries.RosterFilter, params: dict) -> dict:
    if form is None:
        shown = f.search.value if f.search.kind in ("name", "person_no") else ""
        form = RosterSearchForm(initial={**params, "q": shown})
    return {
        "form": form,
        "page": page,
        "filter": f,
        "search_label": f.search.label,
        "search_is_id": f.search.kind == "id",
        "query": urlencode(params),
        "sort_links": _sort_links(params, f.sort),
        "rows_html": _rows_html(page, f.stopped),
    }


@require_http_methods(["GET", "POST"])
@hall_required("operator")
def roster(request):
    """GET: the roster for the filter, sort and page in the URL and the search in the session.
    POST: a new search (or 清除条件), then a redirect to GET without the search text."""
    queries.check_query_permission(request.user)
    form = None
    if request.method == "POST":
        response, form = _search_posted(request)
        if response is not None:
            return response
    data = filters_from_query(request.GET)
    f = _current_filter(request, data)
    page = queries.roster_page(request.user, f, request.GET.get("page"))
    params = _filter_params(data)
    request.session[PARAMS_SESSION_KEY] = (
        {**params, "page": page.number} if page.number > 1 else params
    )
    context = _roster_context(form, page, f, params)
    return render(request, "registry/queries/roster.html", context)


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
    """The ``<tr>`` of the page's rows (decorated by ``queries.decorate``), as safe HTML."""
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
    content = exports.roster_export(actor=request.user, f=f, full=full)
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
                content = exports.additions_export(
                    actor=request.user, period=period, full=form.cleaned_data["full"]
                )
            except ValidationError as e:
                add_service_errors(form, e)
            else:
                return xlsx_response(f"增员表_{request.user.unit.unit_no}_{period}.xlsx", content)
    else:
        form = AdditionsForm(initial={"period": timezone.localdate().strftime("%Y%m")})
    return render(request, "registry/queries/additions.html", {"form": form})
