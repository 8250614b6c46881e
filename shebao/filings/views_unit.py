"""The unit hall's filing pages: 待办 (to do), 已办 (done), the progress page of one filing
(办事进度) and submitting / deleting several at once (seed 001 申报业务提交)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_POST

from shebao.filings import selectors, services
from shebao.filings.forms import UnitFilingFilter
from shebao.filings.kinds import handler_for
from shebao.filings.models import FilingState
from shebao.web.decorators import hall_required

PAGE_SIZE = 20


def _list(request, qs, template, form):
    page = Paginator(selectors.with_row_counts(qs), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, template, {"page": page, "form": form, "query": query.urlencode()})


@hall_required("operator")
def todo(request):
    form = UnitFilingFilter(request.GET or None)
    form.fields.pop("state")
    kind = form.cleaned_data.get("kind", "") if form.is_valid() else ""
    return _list(
        request, selectors.unit_todo(request.user, kind=kind), "filings/unit_todo.html", form
    )


@hall_required("operator")
def done(request):
    form = UnitFilingFilter(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    qs = selectors.unit_done(request.user, kind=data.get("kind", ""), state=data.get("state", ""))
    return _list(request, qs, "filings/unit_done.html", form)


def edit_url(filing) -> str:
    name = handler_for(filing.kind).edit_url_name
    if not name or not filing.is_editable:
        return ""
    try:
        return reverse(name, kwargs={"serial_no": filing.serial_no})
    except NoReverseMatch:
        return ""


@hall_required("operator")
def detail(request, serial_no: str):
    filing = selectors.unit_filing_get(request.user, serial_no)
    page = selectors.unit_filing_page(request.user, filing)
    url = edit_url(filing)
    context = {
        **page,
        "edit_url": url,
        "add_url": f"{url}#add-card" if url and handler_for(filing.kind).adds_persons else "",
        "may_file": request.user.may_file(page["business_kind"]),
    }
    return render(request, "filings/unit_filing.html", context)


ACTIONS = {
    "submit": (services.filing_submit, "已提交"),
    "cancel": (services.filing_cancel, "已退单"),
    "delete": (services.filing_delete, "已删除"),
}


def _run(request, filing, action: str) -> str | None:
    """Run one action; return an error message or None."""
    service, _ = ACTIONS[action]
    try:
        service(actor=request.user, filing=filing)
    except ValidationError as e:
        return "；".join(e.messages)
    except PermissionDenied as e:
        return str(e) or "您没有办理此项业务的权限"
    return None


@require_POST
@hall_required("operator")
def action(request, serial_no: str):
    filing = selectors.unit_filing_get(request.user, serial_no)
    name = request.POST.get("action")
    if name not in ACTIONS:
        raise Http404
    error = _run(request, filing, name)
    if error:
        messages.error(request, f"{serial_no}：{error}")
        return redirect("unit:filing", serial_no=serial_no)
    if name == "delete":
        messages.success(request, f"业务 {serial_no} 已删除")
        return redirect("unit:todo")
    filing.refresh_from_db()
    label = ACTIONS[name][1]
    if name == "submit" and filing.state == FilingState.APPROVED:
        label = "已提交并自动审核通过"
    messages.success(request, f"业务 {serial_no} {label}")
    return redirect("unit:filing", serial_no=serial_no)


@require_POST
@hall_required("operator")
def batch(request):
    """Tick rows in 待办 and submit or delete them together."""
    name = request.POST.get("action")
    serials = request.POST.getlist("serial_no")
    if name not in ("submit", "delete") or not serials:
        messages.error(request, "请先勾选业务")
        return redirect("unit:todo")
    ok = 0
    for serial_no in serials:
        filing = selectors.unit_filing_get(request.user, serial_no)
        error = _run(request, filing, name)
        if error:
            messages.error(request, f"{serial_no}：{error}")
        else:
            ok += 1
    if ok:
        messages.success(request, f"{ok} 笔业务{ACTIONS[name][1]}")
    return redirect("unit:todo")
