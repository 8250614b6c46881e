"""Staff review queue and review page; material downloads."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from shebao.filings import selectors, services
from shebao.filings.kinds import handler_for
from shebao.filings.models import FilingKind, FilingState, RegionFilingRule
from shebao.web.decorators import hall_required
from shebao.web.forms import StyledForm

PAGE_SIZE = 20


class QueueFilterForm(StyledForm):
    region = forms.ChoiceField(label="统筹区", required=False)
    kind = forms.ChoiceField(
        label="业务类型", required=False, choices=[("", "全部")] + FilingKind.choices
    )
    unit = forms.CharField(label="单位/流水号", required=False, max_length=50)
    waiting_days = forms.ChoiceField(
        label="等待时间", required=False, choices=list(selectors.WAITING_CHOICES.items())
    )
    state = forms.ChoiceField(
        label="状态",
        required=False,
        choices=[("submitted", "待审核"), ("", "全部")] + FilingState.choices[2:],
    )

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = [("", "全部")] + [
            (r.code, r.name) for r in actor.regions.all()
        ]


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


class ReturnForm(StyledForm):
    reason = forms.CharField(
        label="回退原因", max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )


@hall_required("staff")
def review(request, serial_no: str):
    filing = selectors.staff_filing_get(request.user, serial_no)
    return_form = ReturnForm(request.POST or None)
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "approve":
                refused = {
                    int(key.removeprefix("refuse_")): value.strip()
                    for key, value in request.POST.items()
                    if key.startswith("refuse_") and key[7:].isdigit() and value.strip()
                }
                services.filing_approve(
                    actor=request.user,
                    filing_id=filing.pk,
                    note=request.POST.get("note", ""),
                    refused=refused,
                )
                messages.success(request, f"业务 {serial_no} 已审核通过")
                return redirect("staff:queue")
            if action == "return" and return_form.is_valid():
                services.filing_return(
                    actor=request.user,
                    filing_id=filing.pk,
                    reason=return_form.cleaned_data["reason"],
                )
                messages.success(request, f"业务 {serial_no} 已回退")
                return redirect("staff:queue")
        except ValidationError as e:
            messages.error(request, "；".join(e.messages))
            filing.refresh_from_db()
    handler = handler_for(filing.kind)
    return render(
        request,
        "filings/review.html",
        {
            "filing": filing,
            "rows": [{"row": r, "fields": handler.row_display(r)} for r in filing.rows.all()],
            "refuse_inputs": filing.state == FilingState.SUBMITTED,
            "payload_rows": handler.display_rows(filing.payload) if not handler.uses_rows else [],
            "materials": filing.materials.all(),
            "steps": selectors.filing_progress(filing),
            "return_form": return_form,
        },
    )


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
    from shebao.filings.kinds import HANDLERS, ReviewPolicy

    kinds = [
        (k, FilingKind(k).label)
        for k in HANDLERS
        if handler_for(k).review_policy == ReviewPolicy.REGION
    ]
    regions = list(request.user.regions.all())
    if request.method == "POST":
        wanted = set(request.POST.getlist("auto"))
        services.region_rules_set(
            actor=request.user,
            rules={(r.code, k): f"{r.code}:{k}" in wanted for r in regions for k, _ in kinds},
        )
        messages.success(request, "审核规则已保存")
        return redirect("staff:region_rules")
    current = {
        (rule.region_id, rule.kind): rule.auto_approve
        for rule in RegionFilingRule.objects.filter(region__in=regions)
    }
    grid = [(r, [(k, current.get((r.code, k), False)) for k, _ in kinds]) for r in regions]
    return render(request, "filings/region_rules.html", {"kinds": kinds, "grid": grid})
