"""Back office pages for policy parameters (缴费参数) and units' work-injury rates (工伤费率).
Thin: parse, call one service or selector, render. Staff see their own regions only; another
region's set or unit answers 404 like a missing one."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from shebao.contributions.params import selectors, services
from shebao.contributions.params.calc import percent
from shebao.contributions.params.forms import FilterForm, InjuryRateForm, PublishForm
from shebao.core.periods import Period
from shebao.registry.selectors import staff_unit_get
from shebao.web.decorators import hall_required
from shebao.web.forms import add_service_errors


@hall_required("staff")
def parameters(request):
    """History per region × insurance type: every version, validity, status, source, who."""
    regions = list(selectors.staff_regions(request.user))
    form = FilterForm(request.GET or None, regions=regions)
    data = form.cleaned_data if form.is_valid() else {}
    groups = selectors.parameter_overview(
        request.user,
        region=data.get("region", ""),
        insurance_type=data.get("insurance_type", ""),
    )
    return render(
        request,
        "contributions/params/list.html",
        {"form": form, "groups": groups, "regions": regions},
    )


@hall_required("staff")
def parameter_publish(request):
    """Publish a new set; ?from=<id> pre-fills from an existing set (new version: keep the
    month; next period: change it)."""
    regions = list(selectors.staff_regions(request.user))
    base, initial = selectors.parameter_publish_initial(
        request.user, request.GET.get("from", ""), next_period=request.GET.get("next") == "1"
    )
    data = request.POST if request.method == "POST" else None  # an empty POST is still bound
    form = PublishForm(data, initial=initial, regions=regions)
    ps = _publish(request, form) if request.method == "POST" else None
    if ps is not None:
        what = f"第{ps.version}版（更正）" if ps.version > 1 else "新参数"
        messages.success(
            request,
            f"已发布 {ps.region.name} {ps.insurance_type} "
            f"{Period.parse(ps.valid_from).label}起的{what}，状态“{ps.get_status_display()}”。"
            "已结算的缴费明细不会重算。",
        )
        return redirect("staff:parameter_detail", parameter_set_id=ps.pk)
    return render(
        request,
        "contributions/params/publish.html",
        {"form": form, "base": base, "regions": regions},
    )


def _publish(request, form: PublishForm):
    """The published set, or None with the errors on the form."""
    if not form.is_valid():
        form.add_value_errors()
        return None
    try:
        return services.parameter_set_publish(actor=request.user, **form.service_arguments())
    except ValidationError as e:
        add_service_errors(form, e)
        return None


@hall_required("staff")
def parameter_detail(request, parameter_set_id: int):
    page = selectors.parameter_detail(request.user, parameter_set_id)
    return render(request, "contributions/params/detail.html", page)


@require_POST
@hall_required("staff")
def parameter_verify(request, parameter_set_id: int):
    try:
        ps = services.parameter_set_verify(actor=request.user, parameter_set_id=parameter_set_id)
    except ValidationError as e:
        messages.error(request, "；".join(e.messages))
    else:
        messages.success(request, f"已将第{ps.version}版标记为“已核实”")
    return redirect("staff:parameter_detail", parameter_set_id=parameter_set_id)


@hall_required("staff")
def injury_rates(request, unit_no: str):
    """A unit's work-injury rate history, and setting its rate from a month."""
    unit = staff_unit_get(request.user, unit_no)
    state = selectors.injury_rate_state(unit)
    form = InjuryRateForm(
        request.POST or None, state=state, current_period=unit.region.current_period
    )
    row = _set_rate(request, form, unit) if request.method == "POST" else None
    if row is not None:
        messages.success(
            request,
            f"已设置 {unit.name} 自{Period.parse(row.valid_from).label}起的工伤费率 "
            f"{percent(row.rate)}%",
        )
        return redirect("staff:injury_rates", unit_no=unit.unit_no)
    context = {"unit": unit, "form": form, "state": state, "class_label": state["class_label"]}
    context["rows"] = selectors.injury_rate_history(unit)
    return render(request, "contributions/params/injury_rates.html", context)


def _set_rate(request, form: InjuryRateForm, unit):
    """The unit's new rate, or None with the errors on the form."""
    if not form.is_valid():
        return None
    try:
        return services.unit_injury_rate_set(
            actor=request.user,
            unit=unit,
            valid_from=form.cleaned_data["valid_from"],
            factor=form.cleaned_data["factor"],
        )
    except ValidationError as e:
        add_service_errors(form, e)
        return None
