"""Settlement pages: the unit's 单位结算 (preview, confirm, progress, notice, detail export,
history) and the back office's 当期缴费核定 (region job, reopen, stopping interrupted work,
next period)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from shebao.contributions.models import Settlement
from shebao.contributions.settlement import selectors as sel
from shebao.contributions.settlement import services as svc
from shebao.contributions.settlement import services_region as region_svc
from shebao.contributions.settlement.engine import MissingParameters
from shebao.core.excel import xlsx_response
from shebao.web.decorators import hall_required


@hall_required("operator")
def unit_settlement(request):
    context = sel.unit_home(actor=request.user, page_number=request.GET.get("page"))
    return render(request, "contributions/settlement/unit_home.html", context)


@hall_required("operator")
def unit_preview(request):
    unit = request.user.unit
    if request.method == "POST":  # settlement_start checks everything the preview would
        try:
            settlement = svc.settlement_start(actor=request.user, unit=unit)
        except (ValidationError, PermissionDenied) as e:
            messages.error(request, "；".join(getattr(e, "messages", [str(e)])))
            return redirect("unit:settlement")
        return redirect("unit:settlement_notice", settlement_id=settlement.pk)
    try:
        context = sel.unit_preview(actor=request.user, unit=unit)
    except (PermissionDenied, MissingParameters) as e:
        messages.error(request, str(e))
        return redirect("unit:settlement")
    return render(request, "contributions/settlement/preview.html", context)


@hall_required("operator")
def unit_progress(request, settlement_id: int):
    """htmx fragment polled while a large settlement runs."""
    settlement = sel.unit_settlement_get(actor=request.user, settlement_id=settlement_id)
    return _progress_fragment(request, settlement)


def _progress_fragment(request, settlement: Settlement):
    response = render(
        request, "contributions/settlement/_progress.html", {"settlement": settlement}
    )
    if settlement.state != Settlement.State.RUNNING:
        response["HX-Refresh"] = "true"
    return response


@hall_required("operator")
def unit_notice(request, settlement_id: int):
    settlement = sel.unit_settlement_get(actor=request.user, settlement_id=settlement_id)
    return render(request, "contributions/settlement/notice.html", sel.notice_context(settlement))


@hall_required("operator")
def unit_detail_export(request, settlement_id: int):
    """缴费明细 as Excel: the same lines as the notice, so the sums match it to the fen."""
    filename, content = svc.settlement_detail_export(
        actor=request.user, settlement_id=settlement_id
    )
    return xlsx_response(filename, content)


# --- back office -------------------------------------------------------------------------------


@hall_required("staff")
def staff_settlements(request):
    context = sel.staff_settlement_list(
        actor=request.user,
        region_code=request.GET.get("region"),
        period_text=request.GET.get("period"),
        page_number=request.GET.get("page"),
    )
    if error := context.pop("period_error"):
        messages.error(request, f"结算期有误：{error}（格式 yyyyMM）")
    return render(request, "contributions/settlement/staff_list.html", context)


@require_POST
@hall_required("staff")
def staff_region_job(request):
    try:
        job = region_svc.region_settle_all_start(
            actor=request.user, region_code=request.POST.get("region", "")
        )
    except ValidationError as e:
        messages.error(request, e.messages[0])
        return redirect("staff:settlements")
    messages.success(request, f"已开始核定 {job.region.name} {job.settle_period} 的全部单位")
    return redirect(f"/staff/settlements/?region={job.region_id}")


@hall_required("staff")
def staff_job_progress(request, job_id: int):
    job = sel.staff_region_job_get(actor=request.user, job_id=job_id)
    return render(request, "contributions/settlement/_job_progress.html", {"job": job})


def _withdraw(request, service, settlement_id: int, done: str):
    """Reopen or stop: the service withdraws the settlement; back to its period's list."""
    try:
        settlement = service(actor=request.user, settlement_id=settlement_id)
    except ValidationError as e:
        messages.error(request, e.messages[0])
        return redirect("staff:settlements")
    payer = settlement.unit.name if settlement.unit_id else settlement.person.name
    messages.success(request, done.format(payer=payer, period=settlement.settle_period))
    return redirect(
        f"/staff/settlements/?region={settlement.region_id}&period={settlement.settle_period}"
    )


@require_POST
@hall_required("staff")
def staff_reopen(request, settlement_id: int):
    return _withdraw(
        request, svc.settlement_reopen, settlement_id, "已撤销 {payer} {period} 的结算"
    )


@require_POST
@hall_required("staff")
def staff_stop_settlement(request, settlement_id: int):
    return _withdraw(
        request,
        svc.settlement_stop_interrupted,
        settlement_id,
        "已中止 {payer} {period} 的结算，可重新结算",
    )


@require_POST
@hall_required("staff")
def staff_stop_job(request, job_id: int):
    try:
        job = region_svc.region_job_stop_interrupted(actor=request.user, job_id=job_id)
    except ValidationError as e:
        messages.error(request, e.messages[0])
        return redirect("staff:settlements")
    messages.success(request, f"已中止 {job.region.name} {job.settle_period} 的核定任务")
    return redirect(f"/staff/settlements/?region={job.region_id}")


@require_POST
@hall_required("staff")
def staff_next_period(request):
    code = request.POST.get("region", "")
    period = region_svc.region_open_next_period(actor=request.user, region_code=code)
    messages.success(request, f"已开启新的结算期 {period}")
    return redirect(f"/staff/settlements/?region={code}")


@hall_required("staff")
def staff_notice(request, settlement_id: int):
    settlement = sel.staff_settlement_get(actor=request.user, settlement_id=settlement_id)
    return render(request, "contributions/settlement/notice.html", sel.notice_context(settlement))


@hall_required("staff")
def staff_progress(request, settlement_id: int):
    """htmx fragment the staff notice page polls while the settlement runs."""
    settlement = sel.staff_settlement_get(actor=request.user, settlement_id=settlement_id)
    return _progress_fragment(request, settlement)
