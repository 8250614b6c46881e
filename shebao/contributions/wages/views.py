"""The unit hall's 缴费基数申报 pages: 年度工资申报 (every unit) and 机关事业月度分项工资申报
(机关 and 事业单位). The roster is paginated (a unit may have thousands of persons) and each page
is saved into the same draft; the filing's progress page (unit:filing) submits it. Thin: parse,
call one service or selector, render."""

from dataclasses import dataclass
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from shebao.contributions.wages import selectors as sel
from shebao.contributions.wages import services as svc
from shebao.contributions.wages.calc import WAGE_ITEMS, split_row_errors
from shebao.contributions.wages.forms import AnnualHeaderForm, MonthlyHeaderForm, SearchForm
from shebao.contributions.wages.imports import TEMPLATE_HEADER, TEMPLATE_NOTE
from shebao.contributions.wages.selectors import ANNUAL, MONTHLY, DeclarationStart
from shebao.core.excel import build_xlsx, xlsx_response
from shebao.web.decorators import hall_required
from shebao.web.forms import add_service_errors

PAGES = {
    ANNUAL: {
        "title": "年度工资申报",
        "new": "unit:wages_annual_new",
        "edit": "unit:wages_annual_edit",
        "template": "contributions/wages/annual.html",
    },
    MONTHLY: {
        "title": "机关事业单位月度分项工资申报",
        "new": "unit:wages_monthly_new",
        "edit": "unit:wages_monthly_edit",
        "template": "contributions/wages/monthly.html",
    },
}


@dataclass
class _Page:
    """What every step of a declaration page needs."""

    kind: str
    start: DeclarationStart
    header_form: forms.Form
    search: forms.Form
    q: str


@hall_required("operator")
def wages_home(request):
    """Both declarations: start or continue one, and the recent ones."""
    data = sel.wages_home(request.user)
    annual_form = AnnualHeaderForm(initial={"year": data["current"].year}, unit=data["unit"])
    monthly_form = MonthlyHeaderForm(initial={"period": str(data["monthly_first"])})
    context = {**data, "annual_form": annual_form, "monthly_form": monthly_form}
    return render(request, "contributions/wages/home.html", context)


def _entries_from_post(request, kind: str) -> dict[int, object]:
    ids = [int(p) for p in request.POST.getlist("person") if p.isdigit()]
    if kind == ANNUAL:
        return {pid: request.POST.get(f"wage_{pid}", "") for pid in ids}
    return {
        pid: {code: request.POST.get(f"item_{code}_{pid}", "") for code, _ in WAGE_ITEMS}
        for pid in ids
    }


def _detour(request, kind: str, start: DeclarationStart):
    """Where the page sends the operator instead, if anywhere."""
    if start.not_institution:
        messages.error(request, "只有机关、事业单位申报月度分项工资")
        return redirect("unit:wages")
    filing = start.filing
    if filing is not None and not filing.is_editable:
        messages.error(request, f"业务 {filing.serial_no} 已提交或已办结，不能修改")
        return redirect("unit:filing", serial_no=filing.serial_no)
    existing = start.existing  # an open declaration of the same period: continue it
    if existing is not None:
        messages.info(request, f"该期间已有申报业务 {existing.serial_no}，请继续办理")
        if existing.is_editable:
            return redirect(PAGES[kind]["edit"], serial_no=existing.serial_no)
        return redirect("unit:filing", serial_no=existing.serial_no)
    return None


def _declaration_page(request, kind: str, serial_no: str | None):
    start = sel.declaration_start(
        request.user,
        kind=kind,
        serial_no=serial_no,
        params=request.GET,
        fresh=request.method == "GET",
    )
    detour = _detour(request, kind, start)
    if detour is not None:
        return detour
    search = SearchForm(request.GET or None)
    q = search.cleaned_data.get("q", "") if search.is_valid() else ""
    if kind == ANNUAL:
        header_form = AnnualHeaderForm(request.POST or None, initial=start.initial, unit=start.unit)
    else:
        header_form = MonthlyHeaderForm(request.POST or None, initial=start.initial)
    decl = _Page(kind=kind, start=start, header_form=header_form, search=search, q=q)
    if request.method == "POST" and kind == ANNUAL and "import" in request.POST:
        return _import(request, decl)
    if request.method == "POST":
        return _save(request, decl)
    return _render(request, decl)


def _import(request, decl: _Page):
    form, upload = decl.header_form, request.FILES.get("file")
    if upload is None:
        form.add_error(None, "请选择要导入的 Excel 文件")
    elif form.is_valid():
        data = form.cleaned_data
        try:
            saved = svc.annual_wage_import(
                actor=request.user,
                filing=decl.start.filing,
                year=data["year"],
                valid_from=data["valid_from"],
                upload=upload,
            )
        except ValidationError as e:
            add_service_errors(form, e)
        else:
            count = saved.payload.get("count", 0)
            messages.success(
                request,
                f"已导入，流水号 {saved.serial_no}（共 {count} 人）；请核对后到办事进度页提交",
            )
            return redirect(PAGES[ANNUAL]["edit"], serial_no=saved.serial_no)
    return _render(request, decl, importing=True)


def _save(request, decl: _Page):
    posted = _entries_from_post(request, decl.kind)
    row_errors: dict[str, str] = {}
    if decl.header_form.is_valid():
        data, filing = decl.header_form.cleaned_data, decl.start.filing
        try:
            if decl.kind == ANNUAL:
                saved = svc.annual_wage_save(
                    actor=request.user,
                    filing=filing,
                    year=data["year"],
                    valid_from=data["valid_from"],
                    entries=posted,
                )
            else:
                saved = svc.monthly_wage_save(
                    actor=request.user, filing=filing, period=data["period"], entries=posted
                )
        except ValidationError as e:
            row_errors, rest = split_row_errors(e)
            if rest is not None:
                add_service_errors(decl.header_form, rest)
        else:
            return _saved(request, decl, saved)
    return _render(request, decl, posted=posted, row_errors=row_errors)


def _saved(request, decl: _Page, saved):
    """After a saved page: back to the draft, on the next page when asked."""
    number = request.GET.get("page", "1")
    if request.POST.get("next") and number.isdigit():
        number = str(int(number) + 1)
    query = urlencode({k: v for k, v in {"q": decl.q, "page": number}.items() if v})
    count = saved.payload.get("count", 0)
    messages.success(
        request,
        f"已保存本页，流水号 {saved.serial_no}（共 {count} 人）；全部人员保存后请到办事进度页提交",
    )
    url = reverse(PAGES[decl.kind]["edit"], kwargs={"serial_no": saved.serial_no})
    return redirect(f"{url}?{query}" if query else url)


def _render(request, decl: _Page, *, posted=None, row_errors=None, importing=False):
    row_errors = row_errors or {}
    filing = decl.start.filing
    data = sel.declaration_rows(
        request.user,
        kind=decl.kind,
        filing=filing,
        q=decl.q,
        page_number=request.GET.get("page"),
        posted=posted or {},
        row_errors=row_errors,
        bounds=sel.declaration_bounds(decl.start.unit, filing, decl.start.initial),
    )
    query = request.GET.copy()
    query.pop("page", None)
    refused = row_errors or (request.method == "POST" and decl.header_form.errors)
    context = {
        **vars(decl),
        **vars(data),
        "conf": PAGES[decl.kind],
        "unit": decl.start.unit,
        "filing": filing,
        "row_errors": bool(row_errors),
        "items": WAGE_ITEMS,
        "query": query.urlencode(),
        "import_open": importing,
    }
    return render(request, PAGES[decl.kind]["template"], context, status=400 if refused else 200)


@hall_required("operator")
def annual_page(request, serial_no: str | None = None):
    return _declaration_page(request, ANNUAL, serial_no)


@hall_required("operator")
def monthly_page(request, serial_no: str | None = None):
    return _declaration_page(request, MONTHLY, serial_no)


@hall_required("operator")
def annual_template(request):
    """The roster as an Excel list to fill in (?serial_no= pre-fills a draft's values)."""
    unit, rows = sel.annual_template(request.user, serial_no=request.GET.get("serial_no", ""))
    content = build_xlsx(
        [
            ("年度工资申报", TEMPLATE_HEADER, rows),
            ("填写说明", ["说明"], [[TEMPLATE_NOTE]]),
        ]
    )
    return xlsx_response(f"年度工资申报-{unit.unit_no}.xlsx", content)


@require_POST
@hall_required("operator")
def row_remove(request, serial_no: str, row_id: int):
    filing = sel.wage_filing(request.user, serial_no=serial_no, action="wage.row_remove")
    try:
        svc.wage_row_remove(actor=request.user, filing=filing, row_id=row_id)
    except ValidationError as e:
        messages.error(request, "；".join(e.messages))
    else:
        messages.success(request, "已移除该人员")
    return redirect(PAGES[filing.kind]["edit"], serial_no=serial_no)
