"""The back office's unit pages: search, counter registration (柜台登记), a unit's online
registration with its operators, issuing a 网报注册码 and revoking the registration."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from shebao.accounts.forms import UnitSearchForm
from shebao.accounts.selectors import active_online_registration, registration_operators
from shebao.accounts.services import online_registration_revoke, registration_code_issue
from shebao.registry import selectors
from shebao.registry.forms import CounterUnitForm
from shebao.registry.services import unit_create
from shebao.web.decorators import hall_required
from shebao.web.forms import add_service_errors

PAGE_SIZE = 20


@hall_required("staff")
def staff_units(request):
    form = UnitSearchForm(request.GET or None)
    q = form.cleaned_data.get("q", "") if form.is_valid() else ""
    page = Paginator(selectors.staff_units(request.user, q=q), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "registry/staff_units.html", {"form": form, "page": page, "q": q})


@hall_required("staff")
def staff_unit_new(request):
    regions = request.user.regions.all()
    form = CounterUnitForm(request.POST or None, regions=regions)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        region = regions.get(code=data["region"])
        try:
            unit = unit_create(actor=request.user, region=region, fields=data)
        except ValidationError as e:
            add_service_errors(form, e)
        else:
            messages.success(request, f"单位已登记，单位编号 {unit.unit_no}")
            return redirect("staff:unit", unit_no=unit.unit_no)
    return render(request, "registry/staff_unit_new.html", {"form": form})


@hall_required("staff")
def staff_unit(request, unit_no: str):
    unit = selectors.staff_unit_get(request.user, unit_no)
    registration = active_online_registration(unit)
    operators = registration_operators(registration)
    return render(
        request,
        "registry/staff_unit.html",
        {
            "unit": unit,
            "registration": registration,
            "operators": operators,
            "new_code": request.session.pop("new_registration_code", None),
        },
    )


@require_POST
@hall_required("staff")
def staff_unit_issue_code(request, unit_no: str):
    unit = selectors.staff_unit_get(request.user, unit_no)
    try:
        code = registration_code_issue(actor=request.user, unit=unit)
    except ValidationError as e:
        messages.error(request, e.messages[0])
    else:
        # Shown once on the next page (to print for the unit); only its hash is stored.
        request.session["new_registration_code"] = code
    return redirect("staff:unit", unit_no=unit_no)


@require_POST
@hall_required("staff")
def staff_unit_revoke(request, unit_no: str):
    unit = selectors.staff_unit_get(request.user, unit_no)
    try:
        online_registration_revoke(actor=request.user, unit=unit)
    except ValidationError as e:
        messages.error(request, e.messages[0])
    else:
        messages.success(request, "已注销该单位的网上注册，其操作员不能再登录")
    return redirect("staff:unit", unit_no=unit_no)
