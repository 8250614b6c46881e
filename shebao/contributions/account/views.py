"""The person hall's contribution pages (缴费记录, 个人账户, 灵活就业) and the back office page of
灵活人员缴费核定 (a region's flexible workers for its current 结算期, and 回退). Thin: parse, call
one service or selector of ``flexible.py`` / ``account.py``, render."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from shebao.contributions.account import selectors as account
from shebao.contributions.flexible import services as flexible
from shebao.contributions.models import ContributionLine, ItemType
from shebao.core.models import Region
from shebao.core.periods import Period
from shebao.filings.models import FilingState
from shebao.web.decorators import hall_required
from shebao.web.forms import StyledForm, add_service_errors

ITEM_LABELS = dict(ItemType.choices)
KIND_LABELS = dict(ContributionLine.Kind.choices)
OTHER = "other"


def _error_text(e: Exception) -> str:
    return "；".join(getattr(e, "messages", None) or [str(e)])


# --- 缴费记录 ------------------------------------------------------------------------------------


@hall_required("person")
def contributions(request):
    years = account.person_line_years(request.user)
    year = request.GET.get("year", "")
    year = int(year) if year.isdigit() and int(year) in years else None
    page = Paginator(account.person_lines(request.user, year=year), 60).get_page(
        request.GET.get("page")
    )
    groups: list[dict] = []
    for line in page:
        if not groups or groups[-1]["period"] != line.belongs_period:
            groups.append({"period": line.belongs_period, "lines": []})
        groups[-1]["lines"].append(
            {
                "line": line,
                "item_label": ITEM_LABELS.get(line.item, line.item),
                "kind_label": KIND_LABELS.get(line.kind, line.kind),
                "total": line.unit_amount + line.personal_amount,
            }
        )
    return render(
        request,
        "contributions/person/contributions.html",
        {
            "page": page,
            "groups": groups,
            "years": years,
            "year": year,
            "query": f"year={year}" if year else "",
        },
    )


# --- 个人账户 ------------------------------------------------------------------------------------


@hall_required("person")
def account_statement(request):
    year = request.GET.get("year", "")
    data = account.person_account(request.user, int(year) if year.isdigit() else None)
    return render(request, "contributions/person/account.html", {"account": data})


# --- 灵活就业 ------------------------------------------------------------------------------------


def _regions() -> list[Region]:
    """Regions where a flexible worker can enrol now (110 and 310 parameters in force)."""
    out = []
    for region in Region.objects.order_by("code"):
        try:
            flexible.flexible_sets(region.pk, region.current_period)
        except ValidationError:
            continue
        out.append(region)
    return out


class RegistrationForm(StyledForm):
    region = forms.ChoiceField(label="参保统筹区")
    start_period = forms.CharField(
        label="参保年月", max_length=8, help_text="格式 yyyyMM，不早于该统筹区当前结算期"
    )
    base_level = forms.CharField(label="缴费档次", required=False, max_length=10)
    other_level = forms.CharField(label="其他档次（基数下限的倍数）", required=False, max_length=10)

    def __init__(self, *args, regions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = [("", "请选择")] + [
            (r.code, f"{r.name}（当前结算期 {r.current_period}）") for r in regions
        ]
        self.fields["other_level"].widget.attrs.update(
            {"inputmode": "decimal", "placeholder": "例如 1.80"}
        )

    def service_data(self) -> dict:
        data = self.cleaned_data
        level = data.get("base_level") or ""
        if level == OTHER:
            level = data.get("other_level") or ""
        return {
            "region": data.get("region"),
            "start_period": data.get("start_period"),
            "base_level": level,
        }


def _levels_context(region_code: str, start: str) -> dict:
    """The levels offered for a region and start month, each with its monthly amounts."""
    region = Region.objects.filter(pk=region_code).first() if region_code else None
    if region is None:
        return {"levels": [], "levels_note": "请选择参保统筹区和参保年月，查看各档次每月缴费额"}
    try:
        period = int(Period.parse(start)) if start else region.current_period
    except ValueError:
        return {"levels": [], "levels_note": "参保年月格式应为 yyyyMM"}
    try:
        params = flexible.flexible_params(region.pk, period)
    except ValidationError as e:
        return {"levels": [], "levels_note": e.messages[0]}
    return {
        "levels": flexible.level_choices(params),
        "levels_period": period,
        "levels_region": region,
        "floor": params[flexible.PENSION].floor,
        "cap": params[flexible.PENSION].cap,
        "pension_rate": flexible.FLEXIBLE_PENSION_RATE * 100,
        "account_rate": params[flexible.PENSION].personal_rate * 100,
    }


@hall_required("person")
def flexible_page(request):
    actor = request.user
    status = flexible.person_flexible_status(actor)
    returned = flexible.returned_registration(actor)
    in_review = flexible.open_registration(actor)
    may_register = status.enrolment is None and (in_review is None or returned is not None)
    form = None
    context: dict = {}
    if may_register:
        regions = _regions()
        initial = {}
        if returned is not None:
            initial = {
                "region": returned.payload.get("region"),
                "start_period": returned.payload.get("start_period"),
                "base_level": returned.payload.get("base_level"),
            }
        elif regions:
            initial = {"start_period": max(r.current_period for r in regions)}
            if len(regions) == 1:
                initial["region"] = regions[0].code
        if request.method == "POST":
            data = request.POST
        elif "region" in request.GET:
            data = request.GET
        else:
            data = None
        form = RegistrationForm(data, regions=regions, initial=initial)
        if request.method == "POST" and form.is_valid():
            try:
                filing = flexible.flexible_register(
                    actor=actor,
                    data=form.service_data(),
                    serial_no=returned.serial_no if returned else "",
                )
            except ValidationError as e:
                add_service_errors(form, e)
            else:
                if filing.state == FilingState.APPROVED:
                    messages.success(
                        request, f"灵活就业参保登记已办结（流水号 {filing.serial_no}）"
                    )
                else:
                    messages.success(
                        request,
                        f"灵活就业参保登记已提交，等待经办机构审核（流水号 {filing.serial_no}）",
                    )
                return redirect("person:flexible")
        source = form.data if form.is_bound else initial
        chosen_level = str(source.get("base_level") or "")
        context.update(
            _levels_context(str(source.get("region") or ""), str(source.get("start_period") or ""))
        )
        context["chosen_level"] = chosen_level
        context["blockers"] = flexible.enrolment_blockers(status.person)
        context["other_chosen"] = chosen_level == OTHER or (
            chosen_level and chosen_level not in {f"{x.level}" for x in context["levels"]}
        )
    assessments = flexible.assessment_views(list(flexible.person_assessments(actor)[:24]))
    filing = status.filing
    context.update(
        {
            "status": status,
            "form": form,
            "returned": returned,
            "in_review": in_review,
            "filing": filing,
            "steps": filing.steps.all() if filing else [],
            "assessments": assessments,
        }
    )
    return render(request, "contributions/person/flexible.html", context)


@hall_required("person")
def flexible_levels(request):
    """htmx fragment: the level table for the region and start month being chosen."""
    context = _levels_context(request.GET.get("region", ""), request.GET.get("start_period", ""))
    context["chosen_level"] = request.GET.get("base_level", "")
    return render(request, "contributions/person/_levels.html", context)


@require_POST
@hall_required("person")
def flexible_assess(request):
    try:
        settlement = flexible.flexible_assess(actor=request.user)
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
        settlement = flexible.flexible_rollback(actor=request.user, settlement_id=settlement_id)
    except ValidationError as e:
        messages.error(request, _error_text(e))
    else:
        messages.success(request, f"{settlement.settle_period} 的缴费核定已回退")
    return redirect("person:flexible")


@require_POST
@hall_required("person")
def flexible_cancel(request, serial_no: str):
    try:
        flexible.flexible_filing_cancel(actor=request.user, serial_no=serial_no)
    except ValidationError as e:
        messages.error(request, _error_text(e))
    else:
        messages.success(request, f"业务 {serial_no} 已退单")
    return redirect("person:flexible")


# --- back office: 灵活人员缴费核定 ---------------------------------------------------------------


@hall_required("staff")
def staff_flexible(request):
    overview = flexible.staff_flexible_overview(request.user, request.GET.get("region", ""))
    page = Paginator(overview["assessments"], 50).get_page(request.GET.get("page"))
    return render(
        request,
        "contributions/person/staff_flexible.html",
        {
            **overview,
            "page": page,
            "rows": flexible.assessment_views(list(page.object_list)),
            "query": f"region={overview['region'].pk}",
        },
    )


def _back_to_region(code: str):
    return redirect(f"{reverse('staff:flexible')}?region={code}")


@require_POST
@hall_required("staff")
def staff_flexible_assess_all(request):
    code = request.POST.get("region", "")
    try:
        report = flexible.flexible_assess_region(actor=request.user, region_code=code)
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
        settlement = flexible.flexible_assess(
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
        settlement = flexible.flexible_rollback(actor=request.user, settlement_id=settlement_id)
    except ValidationError as e:
        messages.error(request, _error_text(e))
        return _back_to_region(request.POST.get("region", ""))
    messages.success(
        request, f"已回退 {settlement.person.name} {settlement.settle_period} 的缴费核定"
    )
    return _back_to_region(settlement.region_id)
