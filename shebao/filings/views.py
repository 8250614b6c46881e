"""Staff review queue and review page; material downloads; the regions' review rules."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from shebao.filings import selectors, services
from shebao.filings.forms import QueueFilterForm, ReturnForm
from shebao.filings.models import FilingState
from shebao.web.decorators import hall_required

PAGE_SIZE = 20


@hall_required("staff")
def queue(request):
    form = QueueFilterForm(request.GET or None, actor=request.user)
    filters = form.cleaned_data if form.is_valid() else {"state": FilingState.SUBMITTED}
    qs = selectors.review_queue(request.user, **filters)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "filings/queue.html",
        {"form": form, "page": page, "query": query.urlencode()},
    )


def _refused_rows(post) -> dict[int, str]:
    """Row id -> reason of each row the reviewer refuses (the ``refuse_<id>`` inputs)."""
    return {
        int(key.removeprefix("refuse_")): value.strip()
        for key, value in post.items()
        if key.startswith("refuse_") and key[7:].isdigit() and value.strip()
    }


def _decide(request, filing, return_form) -> str:
    """Approve or return; the success message, or "" when nothing was decided."""
    action = request.POST.get("action")
    if action == "approve":
        services.filing_approve(
            actor=request.user,
            filing_id=filing.pk,
            note=request.POST.get("note", ""),
            refused=_refused_rows(request.POST),
        )
        refused = selectors.refused_rows_summary(filing)
        if refused:
            return f"业务 {filing.serial_no} 已审核通过；不通过 {len(refused)} 人：" + "；".join(
                refused
            )
        return f"业务 {filing.serial_no} 已审核通过"
    if action == "return" and return_form.is_valid():
        reason = return_form.cleaned_data["reason"]
        services.filing_return(actor=request.user, filing_id=filing.pk, reason=reason)
        return f"业务 {filing.serial_no} 已回退"
    return ""


@hall_required("staff")
def review(request, serial_no: str):
    filing = selectors.staff_filing_get(request.user, serial_no)
    return_form = ReturnForm(request.POST or None)
    if request.method == "POST":
        try:
            done = _decide(request, filing, return_form)
        except ValidationError as e:
            messages.error(request, "；".join(e.messages))
            filing.refresh_from_db()
        else:
            if done:
                messages.success(request, done)
                return redirect("staff:queue")
    context = {**selectors.review_page(request.user, filing), "return_form": return_form}
    return render(request, "filings/review.html", context)


def material_file(request, material_id: int):
    material = selectors.material_for_request(request, material_id)
    response = FileResponse(material.file.open("rb"), content_type=material.content_type)
    response["Content-Disposition"] = (
        f'inline; filename="material-{material.pk}{material.file.name[-4:]}"'
    )
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_POST
@hall_required("staff")
def approve_many(request):
    done, failed = 0, []
    # Resolve every serial first: one that is not the reviewer's answers 404 before anything
    # is approved.
    filings = [
        selectors.staff_filing_get(request.user, serial_no)
        for serial_no in request.POST.getlist("serial_no")
    ]
    for filing in filings:
        serial_no = filing.serial_no
        try:
            services.filing_approve(actor=request.user, filing_id=filing.pk)
            done += 1
        except ValidationError as e:
            failed.append(f"{serial_no}：{e.messages[0]}")
    if done:
        messages.success(request, f"已审核通过 {done} 笔业务")
    for line in failed:
        messages.error(request, line)
    return redirect("staff:queue")


@hall_required("staff")
def region_rules(request):
    """Per region: which kinds of the REGION policy normal units get approved on submit."""
    kinds = selectors.region_rule_kinds()
    regions = list(request.user.regions.all())
    if request.method == "POST":
        wanted = set(request.POST.getlist("auto"))
        services.region_rules_set(
            actor=request.user,
            rules={(r.code, k): f"{r.code}:{k}" in wanted for r in regions for k, _ in kinds},
        )
        messages.success(request, "审核规则已保存")
        return redirect("staff:region_rules")
    grid = selectors.region_rules_grid(regions, kinds)
    return render(request, "filings/region_rules.html", {"kinds": kinds, "grid": grid})
