"""The person hall's 灵活就业 pages (registration, monthly assessment, 回退, 退单) and the back
office page of 灵活人员缴费核定 (a region's flexible workers for its current 结算期, and 回退).
Thin: parse, call one service or selector of this package, render."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from shebao.contributions.flexible import selectors, services
from shebao.contributions.flexible.forms import RegistrationForm
from shebao.filings.models import FilingState
from shebao.web.decorators import hall_required
from shebao.web.forms import add_service_errors


def _error_text(e: Exception) -> str:
    return "；".join(getattr(e, "messages", None) or [str(e)])


# --- the person hall: 灵活就业 ---------------------------------------------------------------


def _registration_form(request, page: selectors.PersonFlexiblePage) -> RegistrationForm:
    regions = selectors.enrolment_regions()
    initial = selectors.registration_initial(page.returned, regions)
    if request.method == "POST":
        data = request.POST
    elif "region" in request.GET:
        data = request.GET
    else:
        data = None
    return RegistrationForm(data, regions=regions, initial=initial)


def _register(request, form: RegistrationForm, returned) -> bool:
    """File the registration; True when filed (a success message set), False with the
    service's errors on the form."""
    try:
        filing = services.flexible_register(
            actor=request.user,
            data=form.service_data(),
            serial_no=returned.serial_no if returned else "",
        )
    except ValidationError as e:
        add_service_errors(form, e)
        return False
    if filing.state == FilingState.APPROVED:
        messages.success(request, f"灵活就业参保登记已办结（流水号 {filing.serial_no}）")
    else:
        messages.success(
            request, f"灵活就业参保登记已提交，等待经办机构审核（流水号 {filing.serial_no}）"
        )
    return True


@hall_required("person")
def flexible_page(request):
    page = selectors.person_flexible_page(request.user)
    context, status = {"form": None}, 200
    if page.may_register:
        form = _registration_form(request, page)
        if request.method == "POST" and form.is_valid() and _register(request, form, page.returned):
            return redirect("person:flexible")
        source = form.level_source()
        context = selectors.registration_levels(page.status.person, **source)
        context["form"] = form
    elif request.method == "POST":  # not offered: the service refuses (audited) with the reasons
        try:
            services.flexible_register(actor=request.user, data=request.POST)
        except ValidationError as e:
            messages.error(request, "不能提交灵活就业参保登记：" + _error_text(e))
            status = 400
        else:  # the reasons went away meanwhile (rare): filed after all
            return redirect("person:flexible")
    context.update(page.context())
    return render(request, "contributions/person/flexible.html", context, status=status)


@hall_required("person")
def flexible_levels(request):
    """htmx fragment: the level table for the region and start month being chosen."""
    context = selectors.levels_offer(
        request.GET.get("region", ""), request.GET.get("start_period", "")
    )
    context["chosen_level"] = request.GET.get("base_level", "")
    return render(request, "contributions/person/_levels.html", context)


@require_POST
@hall_required("person")
def flexible_assess(request):
    try:
        settlement = services.flexible_assess(actor=request.user)
    except (ValidationError, PermissionDenied) as e:
        messages.error(request, _error_text(e))
    else:
        messages.success(
            request,
            f"{settlement.settle_period} 缴费已核定，应缴合计 {settlement.total} 元，请按期缴纳",
        )
    return redirect("person:flexible")


@require_POST
@hall_required("person")
def flexible_rollback(request, settlement_id: int):
    try:
        settlement = services.flexible_rollback(actor=request.user, settlement_id=settlement_id)
    except ValidationError as e:
        messages.error(request, _error_text(e))
    else:
        messages.success(request, f"{settlement.settle_period} 的缴费核定已回退")
    return redirect("person:flexible")


@require_POST
@hall_required("person")
def flexible_cancel(request, serial_no: str):
    try:
        services.flexible_filing_cancel(actor=request.user, serial_no=serial_no)
    except ValidationError as e:
        messages.error(request, _error_text(e))
    else:
        messages.success(request, f"业务 {serial_no} 已退单")
    return redirect("person:flexible")


# --- back office: 灵活人员缴费核定 ---------------------------------------------------------------


@hall_required("staff")
def staff_flexible(request):
    context = selectors.staff_flexible_page(
        request.user,
        region_code=request.GET.get("region", ""),
        page_number=request.GET.get("page"),
    )
    return render(request, "contributions/person/staff_flexible.html", context)


def _back_to_region(code: str):
    return redirect(f"{reverse('staff:flexible')}?region={code}")


@require_POST
@hall_required("staff")
def staff_flexible_assess_all(request):
    code = request.POST.get("region", "")
    try:
        report = services.flexible_assess_region(actor=request.user, region_code=code)
    except ValidationError as e:
        messages.error(request, _error_text(e))
    else:
        messages.success(
            request,
            f"{report.region.name} {report.period}：本次核定 {report.assessed} 人，"
            f"此前已核定 {report.already} 人",
        )
    return _back_to_region(code)


@require_POST
@hall_required("staff")
def staff_flexible_assess(request):
    code = request.POST.get("region", "")
    try:
        settlement = services.flexible_assess(
            actor=request.user, person_no=request.POST.get("person_no", "")
        )
    except ValidationError as e:
        messages.error(request, _error_text(e))
    else:
        messages.success(
            request,
            f"{settlement.person.name} {settlement.settle_period} 已核定，应缴 {settlement.total} 元",
        )
    return _back_to_region(code)


@require_POST
@hall_required("staff")
def staff_flexible_rollback(request, settlement_id: int):
    try:
        settlement = services.flexible_rollback(actor=request.user, settlement_id=settlement_id)
    except ValidationError as e:
        messages.error(request, _error_text(e))
        return _back_to_region(request.POST.get("region", ""))
    messages.success(
        request, f"已回退 {settlement.person.name} {settlement.settle_period} 的缴费核定"
    )
    return _back_to_region(settlement.region_id)
