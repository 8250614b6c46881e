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


def _operator_change(request, operator, action: str, form) -> str:
    """Set the operator's business kinds or reset their password; the success message."""
    if action == "kinds":
        services.operator_set_kinds(
            actor=request.user,
            operator_id=operator.pk,
            business_kinds=form.cleaned_data["business_kinds"],
        )
        return "可办理业务已更新"
    services.operator_reset_password(
        actor=request.user,
        operator_id=operator.pk,
        new_password=form.cleaned_data["new_password"],
    )
    return f"已重置 {operator.operator_account} 的密码"


@hall_required("operator", unit_admin=True)
def operator_edit(request, operator_id: int):
    operator = selectors.unit_operator_get(request.user, operator_id)
    action = request.POST.get("action")
    forms = {
        "kinds": OperatorKindsForm(
            request.POST if action == "kinds" else None,
            initial={"business_kinds": operator.business_kinds},
        ),
        "password": OperatorResetPasswordForm(request.POST if action == "password" else None),
    }
    form = forms.get(action)
    if request.method == "POST" and form is not None and form.is_valid():
        try:
            messages.success(request, _operator_change(request, operator, action, form))
        except ValidationError as e:
            add_service_errors(form, e)
        else:
            return redirect("unit:operators")
    context = {
        "operator": operator,
        "kinds_form": forms["kinds"],
        "password_form": forms["password"],
    }
    return render(request, "accounts/operator_edit.html", context)


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
