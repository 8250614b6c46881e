"""The unit administrator manages the unit's operators (seed 001 操作员信息, seed 004 权限)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from shebao.accounts import selectors, services
from shebao.accounts.forms import OperatorCreateForm, OperatorKindsForm, OperatorResetPasswordForm
from shebao.web.decorators import hall_required
from shebao.web.forms import add_service_errors


@hall_required("operator", unit_admin=True)
def operators(request):
    form = OperatorCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.operator_create(actor=request.user, **form.cleaned_data)
        except ValidationError as e:
            add_service_errors(form, e)
        else:
            messages.success(request, f"已添加操作员 {user.operator_account}")
            return redirect("unit:operators")
    return render(
        request,
        "accounts/operators.html",
        {"operators": selectors.unit_operators(request.user), "form": form},
    )


@hall_required("operator", unit_admin=True)
def operator_edit(request, operator_id: int):
    operator = selectors.unit_operator_get(request.user, operator_id)
    kinds_form = OperatorKindsForm(
        request.POST if request.POST.get("action") == "kinds" else None,
        initial={"business_kinds": operator.business_kinds},
    )
    password_form = OperatorResetPasswordForm(
        request.POST if request.POST.get("action") == "password" else None
    )
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "kinds" and kinds_form.is_valid():
                services.operator_set_kinds(
                    actor=request.user,
                    operator_id=operator.pk,
                    business_kinds=kinds_form.cleaned_data["business_kinds"],
                )
                messages.success(request, "可办理业务已更新")
                return redirect("unit:operators")
            if action == "password" and password_form.is_valid():
                services.operator_reset_password(
                    actor=request.user,
                    operator_id=operator.pk,
                    new_password=password_form.cleaned_data["new_password"],
                )
                messages.success(request, f"已重置 {operator.operator_account} 的密码")
                return redirect("unit:operators")
        except ValidationError as e:
            add_service_errors(password_form if action == "password" else kinds_form, e)
    return render(
        request,
        "accounts/operator_edit.html",
        {"operator": operator, "kinds_form": kinds_form, "password_form": password_form},
    )


@require_POST
@hall_required("operator", unit_admin=True)
def operator_toggle(request, operator_id: int):
    operator = selectors.unit_operator_get(request.user, operator_id)
    try:
        services.operator_set_active(
            actor=request.user, operator_id=operator.pk, active=not operator.is_active
        )
    except ValidationError as e:
        messages.error(request, e.messages[0])
    else:
        messages.success(
            request,
            f"已{'停用' if operator.is_active else '启用'}操作员 {operator.operator_account}",
        )
    return redirect("unit:operators")
