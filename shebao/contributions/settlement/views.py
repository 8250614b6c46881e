"""Settlement pages: the unit's 单位结算 (preview, confirm, progress, notice, detail export,
history) and the back office's 当期缴费核定 (region job, reopen, stopping interrupted work,
next period)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from shebao.contributions.models import (
    ContributionLine,
    ItemType,
    RegionSettlementJob,
    Settlement,
)
from shebao.contributions.settlement import services as svc
from shebao.contributions.settlement.engine import MissingParameters
from shebao.core.audit import audit_record
from shebao.core.excel import build_xlsx, xlsx_response
from shebao.core.ids import mask_id_number
from shebao.core.periods import Period
from shebao.web.decorators import hall_required

ITEM_LABELS = dict(ItemType.choices)
KIND_LABELS = dict(ContributionLine.Kind.choices)


def _label_items(summary: dict) -> dict:
    for row in summary["items"] + summary["back_items"]:
        row["label"] = ITEM_LABELS.get(row["item"], row["item"])
    return summary


def _unit_settlement(actor, settlement_id: int) -> Settlement:
    try:
        settlement = Settlement.objects.select_related("unit", "region").get(
            pk=settlement_id, unit_id=actor.unit_id
        )
    except Settlement.DoesNotExist:
        raise Http404 from None
    settlement.progress = svc.settlement_progress(settlement)  # shown, never saved
    return settlement


@hall_required("operator")
def unit_settlement(request):
    unit = request.user.unit
    period = unit.region.current_period
    current = (
        Settlement.objects.filter(unit=unit, settle_period=period)
        .exclude(state=Settlement.State.WITHDRAWN)
        .first()
    )
    if current is not None:
        current.progress = svc.settlement_progress(current)  # shown, never saved
    history = Paginator(
        Settlement.objects.filter(unit=unit).order_by("-settle_period", "-id"), 12
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "contributions/settlement/unit_home.html",
        {
            "unit": unit,
            "period": period,
            "current": current,
            "blockers": svc.blocking_filings(unit) if current is None else [],
            "page": history,
        },
    )


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
        summary = svc.settlement_preview(actor=request.user, unit=unit)
    except (PermissionDenied, MissingParameters) as e:
        messages.error(request, str(e))
        return redirect("unit:settlement")
    return render(
        request,
        "contributions/settlement/preview.html",
        {"unit": unit, "summary": _label_items(summary), "blockers": svc.blocking_filings(unit)},
    )


@hall_required("operator")
def unit_progress(request, settlement_id: int):
    """htmx fragment polled while a large settlement runs."""
    return _progress_fragment(request, _unit_settlement(request.user, settlement_id))


def _progress_fragment(request, settlement: Settlement):
    response = render(
        request, "contributions/settlement/_progress.html", {"settlement": settlement}
    )
    if settlement.state != Settlement.State.RUNNING:
        response["HX-Refresh"] = "true"
    return response


def notice_context(settlement: Settlement) -> dict:
    lines = settlement.lines.filter(withdrawn=settlement.state == Settlement.State.WITHDRAWN)
    summary = _label_items(svc.notice_summary(svc.line_rows(lines)))
    return {"settlement": settlement, "unit": settlement.unit, "summary": summary}


@hall_required("operator")
def unit_notice(request, settlement_id: int):
    settlement = _unit_settlement(request.user, settlement_id)
    return render(request, "contributions/settlement/notice.html", notice_context(settlement))


def detail_rows(settlement: Settlement):
    lines = (
        settlement.lines.filter(withdrawn=settlement.state == Settlement.State.WITHDRAWN)
        .select_related("person")
        .order_by("person__person_no", "belongs_period", "item")
    )
    for x in lines.iterator(chunk_size=5000):
        yield [
            x.person.person_no,
            x.person.name,
            mask_id_number(x.person.id_number),
            ITEM_LABELS.get(x.item, x.item),
            x.belongs_period,
            KIND_LABELS[x.kind],
            float(x.base),
            float(x.unit_amount),
            float(x.personal_amount),
            float(x.unit_amount + x.personal_amount),
            "是" if x.below_floor else "",
            "是" if x.above_cap else "",
        ]


DETAIL_HEADER = [
    "个人编号",
    "姓名",
    "证件号码",
    "险种",
    "费款所属期",
    "类型",
    "缴费基数",
    "单位应缴",
    "个人应缴",
    "合计",
    "低于下限",
    "高于上限",
]


@hall_required("operator")
def unit_detail_export(request, settlement_id: int):
    """缴费明细 as Excel: the same lines as the notice, so the sums match it to the fen."""
    settlement = _unit_settlement(request.user, settlement_id)
    content = build_xlsx(
        [(f"{settlement.settle_period}缴费明细", DETAIL_HEADER, detail_rows(settlement))]
    )
    audit_record(
        actor=request.user,
        action="settlement.export_detail",
        obj=settlement.unit,
        detail={"period": settlement.settle_period},
    )
    return xlsx_response(
        f"缴费明细_{settlement.unit.unit_no}_{settlement.settle_period}.xlsx", content
    )


# --- back office -------------------------------------------------------------------------------


@hall_required("staff")
def staff_settlements(request):
    regions = list(request.user.regions.all())
    code = request.GET.get("region") or (regions[0].code if regions else "")
    region = next((r for r in regions if r.code == code), None)
    if region is None:
        raise Http404
    try:
        period = int(Period.parse(request.GET.get("period") or region.current_period))
    except ValueError as e:
        messages.error(request, f"结算期有误：{e}（格式 yyyyMM）")
        period = region.current_period
    qs = (
        Settlement.objects.filter(region=region, settle_period=period, unit__isnull=False)
        .select_related("unit")
        .order_by("unit__unit_no", "-id")
    )
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    jobs = (
        RegionSettlementJob.objects.filter(region=region)
        .select_related("region")
        .order_by("-created_at")[:5]
    )
    return render(
        request,
        "contributions/settlement/staff_list.html",
        {
            "regions": regions,
            "region": region,
            "period": period,
            "page": page,
            "jobs": jobs,
            "query": f"region={region.code}&period={period}",
        },
    )


@require_POST
@hall_required("staff")
def staff_region_job(request):
    try:
        job = svc.region_settle_all_start(
            actor=request.user, region_code=request.POST.get("region", "")
        )
    except ValidationError as e:
        messages.error(request, e.messages[0])
        return redirect("staff:settlements")
    messages.success(request, f"已开始核定 {job.region.name} {job.settle_period} 的全部单位")
    return redirect(f"/staff/settlements/?region={job.region_id}")


@hall_required("staff")
def staff_job_progress(request, job_id: int):
    try:
        job = RegionSettlementJob.objects.get(pk=job_id, region__in=request.user.regions.all())
    except RegionSettlementJob.DoesNotExist:
        raise Http404 from None
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
        job = svc.region_job_stop_interrupted(actor=request.user, job_id=job_id)
    except ValidationError as e:
        messages.error(request, e.messages[0])
        return redirect("staff:settlements")
    messages.success(request, f"已中止 {job.region.name} {job.settle_period} 的核定任务")
    return redirect(f"/staff/settlements/?region={job.region_id}")


@require_POST
@hall_required("staff")
def staff_next_period(request):
    code = request.POST.get("region", "")
    period = svc.region_open_next_period(actor=request.user, region_code=code)
    messages.success(request, f"已开启新的结算期 {period}")
    return redirect(f"/staff/settlements/?region={code}")


def _staff_settlement(actor, settlement_id: int) -> Settlement:
    try:
        settlement = Settlement.objects.select_related("unit", "region").get(
            pk=settlement_id, region__in=actor.regions.all()
        )
    except Settlement.DoesNotExist:
        raise Http404 from None
    settlement.progress = svc.settlement_progress(settlement)  # shown, never saved
    return settlement


@hall_required("staff")
def staff_notice(request, settlement_id: int):
    settlement = _staff_settlement(request.user, settlement_id)
    return render(request, "contributions/settlement/notice.html", notice_context(settlement))


@hall_required("staff")
def staff_progress(request, settlement_id: int):
    """htmx fragment the staff notice page polls while the settlement runs."""
    return _progress_fragment(request, _staff_settlement(request.user, settlement_id))
