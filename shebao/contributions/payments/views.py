"""Payment pages. Back office: 到账登记 (post one payment, import the tax bureau's arrival file
with a confirmation step, recent payments) and 欠费查询 (arrears of the staff's regions with a
drill-down to one unit). Unit hall: 社保应付 by 结算期 (seed 004) with the persons' lines, and
the payment history.

The arrival file is checked when uploaded; if every row is good it waits in storage for the
confirmation (only its token is in the session) and is checked again when imported."""

import secrets
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from shebao.contributions.models import ItemType
from shebao.contributions.payments import selectors, services
from shebao.contributions.payments.forms import (
    FilterForm,
    ImportForm,
    PayableForm,
    PaymentForm,
    PaymentsFilterForm,
)
from shebao.contributions.payments.imports import ImportRefused
from shebao.web.decorators import hall_required
from shebao.web.forms import add_service_errors

PREVIEW_ROWS = 200
IMPORT_SESSION_KEY = "payment_import"
IMPORT_DIR = "payment_imports"


def _query(request) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


# --- staff: 到账登记 -------------------------------------------------------------------------


def _payments_page(request, *, post_form=None, import_form=None, refused=None):
    actor = request.user
    filter_form = PaymentsFilterForm(request.GET or None)
    page = selectors.staff_payments_page(
        actor, page=request.GET.get("page"), **filter_form.filters()
    )
    return render(
        request,
        "contributions/payments/staff_payments.html",
        {
            "post_form": post_form or PaymentForm(initial={"paid_on": timezone.localdate()}),
            "import_form": import_form or ImportForm(regions=selectors.access_staff_regions(actor)),
            "filter_form": filter_form,
            "refused": refused,
            "page": page,
            "query": _query(request),
        },
    )


@hall_required("staff")
def staff_payments(request):
    return _payments_page(request)


@hall_required("staff")
@require_POST
def staff_payment_post(request):
    form = PaymentForm(request.POST, actor=request.user)
    if form.is_valid():
        try:
            payment = services.payment_post(actor=request.user, **form.payment_args())
        except ValidationError as e:
            add_service_errors(form, e)
        else:
            payer = payment.unit or payment.person
            messages.success(
                request,
                f"已登记到账：{payer.name} 结算期 {payment.settle_period} "
                f"{payment.get_item_display()} {payment.amount} 元",
            )
            return redirect("staff:payments")
    return _payments_page(request, post_form=form)


def _keep_pending(request, plan, upload) -> str:
    """Keep a checked file in storage until it is confirmed; its token goes to the session."""
    _drop_pending(request)
    upload.seek(0)
    token = secrets.token_urlsafe(24)
    path = default_storage.save(f"{IMPORT_DIR}/{token}", ContentFile(upload.read()))
    request.session[IMPORT_SESSION_KEY] = {
        "token": token,
        "path": path,
        "region": plan.region.pk,
        "name": plan.filename,
    }
    return token


def _pending_upload(request, pending):
    """The kept file of this session's pending import, or None when it has expired."""
    try:
        with default_storage.open(pending["path"], "rb") as f:
            return ContentFile(f.read(), name=pending["name"])
    except FileNotFoundError:
        request.session.pop(IMPORT_SESSION_KEY, None)
        return None


def _drop_pending(request) -> None:
    pending = request.session.pop(IMPORT_SESSION_KEY, None)
    if pending:
        default_storage.delete(pending["path"])


@hall_required("staff")
@require_POST
def staff_payments_import(request):
    """Upload: check the file; refuse with every bad row, or keep it and ask to confirm."""
    actor = request.user
    form = ImportForm(request.POST, request.FILES, regions=selectors.access_staff_regions(actor))
    if not form.is_valid():
        return _payments_page(request, import_form=form)
    upload = form.cleaned_data["file"]
    try:
        plan = services.payments_import_preview(
            actor=actor, region=form.cleaned_data["region"], upload=upload
        )
    except ImportRefused as e:
        return _payments_page(request, import_form=form, refused=e)
    token = _keep_pending(request, plan, upload)
    return render(
        request,
        "contributions/payments/staff_import_confirm.html",
        {"plan": plan, "rows": plan.rows[:PREVIEW_ROWS], "token": token},
    )


@hall_required("staff")
@require_POST
def staff_payments_import_confirm(request):
    """Confirm (or cancel) the pending import of this session."""
    pending = request.session.get(IMPORT_SESSION_KEY)
    if not pending or request.POST.get("token") != pending["token"]:
        messages.error(request, "没有待确认的导入，或导入已过期，请重新上传到账文件")
        return redirect("staff:payments")
    if request.POST.get("action") == "cancel":
        _drop_pending(request)
        messages.info(request, "已取消导入")
        return redirect("staff:payments")
    upload = _pending_upload(request, pending)
    if upload is None:
        messages.error(request, "导入已过期，请重新上传到账文件")
        return redirect("staff:payments")
    try:
        result = services.payments_import(
            actor=request.user, region=pending["region"], upload=upload
        )
    except ImportRefused as e:
        _drop_pending(request)
        return _payments_page(request, refused=e)
    _drop_pending(request)
    done = f"导入成功：{result.count} 笔到账，合计 {result.total} 元，批次 {result.batch}"
    messages.success(request, done)
    return redirect(f"{reverse('staff:payments')}?{urlencode({'batch': result.batch})}")


# --- staff: 欠费查询 -------------------------------------------------------------------------


@hall_required("staff")
def staff_arrears(request):
    form = FilterForm(request.GET or None)
    data = selectors.staff_arrears_page(
        request.user, page=request.GET.get("page"), **form.filters()
    )
    return render(
        request,
        "contributions/payments/staff_arrears.html",
        {"form": form, **data, "query": _query(request)},
    )


@hall_required("staff")
def staff_arrears_unit(request, unit_no: str):
    data = selectors.staff_arrears_unit_page(request.user, unit_no, page=request.GET.get("page"))
    return render(request, "contributions/payments/staff_arrears_unit.html", data)


# --- unit hall: 社保应付 and payment history --------------------------------------------------


@hall_required("operator")
def unit_payable(request):
    form = PayableForm(request.GET or None)
    period = form.cleaned_data.get("period") if form.is_valid() else None
    data = selectors.unit_payable_page(request.user, period=period, latest=not form.errors)
    return render(request, "contributions/payments/unit_payable.html", {"form": form, **data})


@hall_required("operator")
def unit_payable_detail(request, period: int):
    item = request.GET.get("item", "")
    if item not in ItemType.values:
        item = ""
    page = selectors.unit_payable_lines_page(
        request.user, period, item=item, page=request.GET.get("page")
    )
    return render(
        request,
        "contributions/payments/unit_payable_detail.html",
        {
            "period": period,
            "item": item,
            "item_label": dict(ItemType.choices).get(item, ""),
            "items": ItemType.choices,
            "page": page,
            "query": _query(request),
        },
    )


@hall_required("operator")
def unit_payment_history(request):
    page = selectors.unit_payments_page(request.user, page=request.GET.get("page"))
    return render(request, "contributions/payments/unit_payments.html", {"page": page})
