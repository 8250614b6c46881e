"""Payment pages. Back office: 到账登记 (post one payment, import the tax bureau's arrival file
with a confirmation step, recent payments) and 欠费查询 (arrears of the staff's regions with a
drill-down to one unit). Unit hall: 社保应付 by 结算期 (seed 004) with the persons' lines, and
the payment history.

The arrival file is checked when uploaded; if every row is good it waits in storage for the
confirmation (only its token is in the session) and is checked again when imported."""

import secrets
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from shebao.contributions.models import ItemType
from shebao.contributions.payments import selectors
from shebao.contributions.payments import services as payments
from shebao.core.periods import Period
from shebao.registry.models import Unit
from shebao.web.decorators import hall_required
from shebao.web.forms import StyledForm, add_service_errors

PAGE_SIZE = 20
LINES_PAGE_SIZE = 50
PREVIEW_ROWS = 200
IMPORT_SESSION_KEY = "payment_import"
IMPORT_DIR = "payment_imports"
ITEM_FILTER = [("", "全部险种"), *ItemType.choices]


def _period_or_error(value: str) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return int(Period.parse(value))
    except ValueError:
        raise ValidationError("结算期格式应为 yyyyMM，例如 202508") from None


class FilterForm(StyledForm):
    """The GET filter of the staff lists."""

    unit_no = forms.CharField(label="单位编号或个人编号", required=False, max_length=20)
    settle_period = forms.CharField(
        label="结算期",
        required=False,
        max_length=8,
        widget=forms.TextInput(attrs={"placeholder": "yyyyMM", "inputmode": "numeric"}),
    )
    item = forms.ChoiceField(label="险种", required=False, choices=ITEM_FILTER)

    def clean_unit_no(self):
        return self.cleaned_data["unit_no"].strip()

    def clean_settle_period(self):
        return _period_or_error(self.cleaned_data["settle_period"])


class PaymentsFilterForm(FilterForm):
    batch = forms.CharField(label="导入批次", required=False, max_length=40)


class PaymentForm(StyledForm):
    unit_no = forms.CharField(label="单位编号", required=False, max_length=20)
    person_no = forms.CharField(
        label="个人编号（灵活就业人员）",
        required=False,
        max_length=20,
        help_text="单位缴费填写单位编号；灵活就业人员个人缴费只填个人编号",
    )
    settle_period = forms.CharField(
        label="结算期",
        max_length=8,
        widget=forms.TextInput(attrs={"placeholder": "yyyyMM", "inputmode": "numeric"}),
    )
    item = forms.ChoiceField(label="险种", choices=ItemType.choices)
    # text, parsed by the service (Decimal, at most two decimals, Chinese messages)
    amount = forms.CharField(
        label="到账金额（元）",
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    paid_on = forms.DateField(
        label="到账日期",
        input_formats=["%Y-%m-%d", "%Y%m%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def clean(self):
        data = super().clean()
        unit_no = (data.get("unit_no") or "").strip()
        person_no = (data.get("person_no") or "").strip()
        if unit_no and person_no:
            self.add_error("person_no", "单位编号和个人编号只能填写一项")
        elif not unit_no and not person_no:
            self.add_error("unit_no", "请填写单位编号（灵活就业人员填写个人编号）")
        data["unit_no"], data["person_no"] = unit_no, person_no
        return data


class ImportForm(StyledForm):
    region = forms.ChoiceField(label="统筹区")
    file = forms.FileField(
        label="到账文件",
        help_text=(
            "CSV（UTF-8 或 GBK 编码）或 Excel（.xlsx），第一行为表头：单位编号、结算期、险种、"
            "金额、到账日期；灵活就业人员以“个人编号”列代替单位编号。"
            f"不超过 {payments.MAX_FILE_BYTES // (1024 * 1024)} MB。"
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,.xls,.txt"}),
    )

    def __init__(self, *args, regions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = [(r.pk, r.name) for r in regions]


def _query(request) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _filters(form) -> dict:
    if not form.is_valid():
        return {}
    return {k: v for k, v in form.cleaned_data.items() if v}


# --- staff: 到账登记 -------------------------------------------------------------------------


def _payments_page(request, *, post_form=None, import_form=None, refused=None):
    actor = request.user
    regions = list(actor.regions.all())
    filter_form = PaymentsFilterForm(request.GET or None)
    page = Paginator(selectors.staff_payments(actor, **_filters(filter_form)), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "contributions/payments/staff_payments.html",
        {
            "post_form": post_form or PaymentForm(initial={"paid_on": timezone.localdate()}),
            "import_form": import_form or ImportForm(regions=regions),
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
    actor = request.user
    form = PaymentForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        payer = selectors.staff_payer(actor, unit_no=data["unit_no"], person_no=data["person_no"])
        if payer is None:
            if data["unit_no"]:
                form.add_error("unit_no", "您经办的统筹区没有该单位编号")
            else:
                form.add_error("person_no", "您经办的统筹区没有该个人编号的灵活就业缴费记录")
        else:
            is_unit = isinstance(payer, Unit)
            try:
                payment = payments.payment_post(
                    actor=actor,
                    unit=payer if is_unit else None,
                    person=None if is_unit else payer,
                    settle_period=data["settle_period"],
                    item=data["item"],
                    amount=data["amount"],
                    paid_on=data["paid_on"],
                )
            except ValidationError as e:
                add_service_errors(form, e)
            else:
                messages.success(
                    request,
                    f"已登记到账：{payer.name} 结算期 {payment.settle_period} "
                    f"{payment.get_item_display()} {payment.amount} 元",
                )
                return redirect("staff:payments")
    return _payments_page(request, post_form=form)


def _drop_pending(request) -> None:
    pending = request.session.pop(IMPORT_SESSION_KEY, None)
    if pending:
        default_storage.delete(pending["path"])


@hall_required("staff")
@require_POST
def staff_payments_import(request):
    """Upload: check the file; refuse with every bad row, or keep it and ask to confirm."""
    actor = request.user
    form = ImportForm(request.POST, request.FILES, regions=actor.regions.all())
    if not form.is_valid():
        return _payments_page(request, import_form=form)
    upload = form.cleaned_data["file"]
    try:
        plan = payments.payments_import_preview(
            actor=actor, region=form.cleaned_data["region"], upload=upload
        )
    except payments.ImportRefused as e:
        return _payments_page(request, import_form=form, refused=e)
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
    try:
        with default_storage.open(pending["path"], "rb") as f:
            upload = ContentFile(f.read(), name=pending["name"])
    except FileNotFoundError:
        request.session.pop(IMPORT_SESSION_KEY, None)
        messages.error(request, "导入已过期，请重新上传到账文件")
        return redirect("staff:payments")
    try:
        result = payments.payments_import(
            actor=request.user, region=pending["region"], upload=upload
        )
    except payments.ImportRefused as e:
        _drop_pending(request)
        return _payments_page(request, refused=e)
    _drop_pending(request)
    messages.success(
        request,
        f"导入成功：{result.count} 笔到账，合计 {result.total} 元，批次 {result.batch}",
    )
    return redirect(f"{reverse('staff:payments')}?{urlencode({'batch': result.batch})}")


# --- staff: 欠费查询 -------------------------------------------------------------------------


@hall_required("staff")
def staff_arrears(request):
    form = FilterForm(request.GET or None)
    qs = selectors.staff_arrears(request.user, **_filters(form))
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "contributions/payments/staff_arrears.html",
        {
            "form": form,
            "page": page,
            "totals": selectors.arrears_totals(qs),
            "query": _query(request),
        },
    )


@hall_required("staff")
def staff_arrears_unit(request, unit_no: str):
    unit = selectors.staff_arrears_unit(request.user, unit_no)
    arrears = selectors.unit_arrears(unit)
    page = Paginator(selectors.unpaid_persons(unit), LINES_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "contributions/payments/staff_arrears_unit.html",
        {
            "unit": unit,
            "arrears": arrears,
            "outstanding": sum((a.outstanding for a in arrears), payments.ZERO),
            "page": page,
            "persons": selectors.unpaid_by_person(unit, page.object_list),
            "recent_payments": selectors.unit_payment_history(unit)[:PAGE_SIZE],
        },
    )


# --- unit hall: 社保应付 and payment history --------------------------------------------------


class PayableForm(StyledForm):
    period = forms.CharField(
        label="结算期",
        required=False,
        max_length=8,
        widget=forms.TextInput(attrs={"placeholder": "yyyyMM", "inputmode": "numeric"}),
    )

    def clean_period(self):
        return _period_or_error(self.cleaned_data["period"])


@hall_required("operator")
def unit_payable(request):
    actor = request.user
    periods = selectors.unit_settle_periods(actor)
    form = PayableForm(request.GET or None)
    period = form.cleaned_data.get("period") if form.is_valid() else None
    if period is None and not form.errors:
        period = periods[0] if periods else None
    payable = selectors.unit_payable(actor, period) if period else None
    return render(
        request,
        "contributions/payments/unit_payable.html",
        {"form": form, "periods": periods, "period": period, "payable": payable},
    )


@hall_required("operator")
def unit_payable_detail(request, period: int):
    item = request.GET.get("item", "")
    if item not in ItemType.values:
        item = ""
    lines = selectors.unit_payable_lines(request.user, period, item=item)
    page = Paginator(lines, LINES_PAGE_SIZE).get_page(request.GET.get("page"))
    for line in page:
        line.total = line.unit_amount + line.personal_amount
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
    page = Paginator(selectors.unit_payments(request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "contributions/payments/unit_payments.html",
        {"page": page},
    )
