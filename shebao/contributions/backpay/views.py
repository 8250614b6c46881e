"""补缴 pages. Unit hall: the three kinds (核定基数补缴, 调整基数补缴, 个人补收) — the operator
types the person's ID number, the months and the wage, previews the lines per month and type
with totals, then saves the person into a draft (the filing's progress page, unit:filing,
submits it) — the back-pay lines waiting for the next settlement, and 滞纳金试算 for the unit's
unpaid lines. Back office: 滞纳金试算 for any unit of the staff member's regions. Thin: parse,
call one service or selector, render."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from shebao.contributions.backpay import selectors, selectors_latefee, services
from shebao.contributions.backpay.calc import BACKPAY_KINDS
from shebao.contributions.backpay.forms import BackPayForm, LateFeeForm, StaffLateFeeForm
from shebao.filings.business import BusinessKind
from shebao.filings.models import FilingKind
from shebao.web.decorators import hall_required
from shebao.web.forms import add_service_errors

PAGES = {
    FilingKind.BACK_PAY.value: {
        "title": "核定基数补缴",
        "new": "unit:back_pay_new",
        "edit": "unit:back_pay_edit",
        "intro": "为本单位职工补缴当前结算期之前、尚未核定的月份（例如只补缴2月份：起始、终止年月都选2月）。"
        "按各月当时的缴费基数上下限、费率和本单位当时的工伤费率逐月核定。首次在本单位参保的职工请先办理人员参保。",
    },
    FilingKind.ADJUST_PAY.value: {
        "title": "调整基数补缴",
        "new": "unit:adjust_pay_new",
        "edit": "unit:adjust_pay_edit",
        "intro": "已核定缴费的月份按新的缴费工资重新核定，补缴新旧基数之间的差额；新基数不高于已核定基数的月份不产生补缴。",
    },
    FilingKind.SUPPLEMENT_PAY.value: {
        "title": "个人补收",
        "new": "unit:supplement_pay_new",
        "edit": "unit:supplement_pay_edit",
        "intro": "单独补收某一职工某一险种尚未核定的月份（例如参保时未补收、事后只补某个险种）。",
    },
}
NOT_ENROLLED = "未找到该职工在本单位的参保记录；首次在本单位参保的职工请先办理人员参保"


@hall_required("operator")
def home(request):
    """The three kinds with links, the open ones, the lines waiting for the next settlement."""
    context = selectors.backpay_home(request.user)
    pages = [(k, PAGES[k]) for k in BACKPAY_KINDS]
    return render(request, "contributions/backpay/home.html", {**context, "pages": pages})


def _kind_page(request, kind: str, serial_no: str | None):
    page = selectors.backpay_kind_page(
        request.user, kind=kind, serial_no=serial_no, row=request.GET.get("row", "")
    )
    filing = page.filing
    if filing is not None and not filing.is_editable:
        messages.error(request, f"业务 {filing.serial_no} 已提交或已办结，不能修改")
        return redirect("unit:filing", serial_no=filing.serial_no)
    form = BackPayForm(request.POST or None, initial=page.initial, kind=kind, unit=page.unit)
    checked = person = None
    if request.method == "POST" and form.is_valid():
        person = selectors.unit_person_by_id_number(request.user, form.cleaned_data["id_number"])
        if person is None:
            form.add_error("id_number", NOT_ENROLLED)
        else:
            saved, checked = _save_or_preview(request, form, kind, filing, person)
            if saved is not None:
                return redirect(PAGES[kind]["edit"], serial_no=saved.serial_no)
    context = {"kind": kind, "conf": PAGES[kind], "unit": page.unit, "current": page.current}
    context |= {"filing": filing, "form": form, "checked": checked, "person": person}
    status = 400 if request.method == "POST" and form.errors else 200
    return render(
        request, "contributions/backpay/form.html", {**context, "rows": page.rows}, status=status
    )


def _save_or_preview(request, form, kind: str, filing, person):
    """(the saved filing, None) after a save; else (None, the preview or None)."""
    data = form.service_data(person.pk)
    digest = request.POST.get("digest", "")
    saving = request.POST.get("action") == "save"
    args = {"actor": request.user, "kind": kind, "data": data, "filing": filing}
    try:
        if saving and digest:
            saved = services.backpay_save(**args, expected_digest=digest)
            messages.success(
                request,
                f"已保存{person.name}的{PAGES[kind]['title']}，流水号 {saved.serial_no}"
                f"（共 {saved.payload.get('count', 0)} 人）；全部人员保存后请到办事进度页提交",
            )
            return saved, None
        return None, selectors.backpay_preview(**args)
    except ValidationError as e:
        add_service_errors(form, e)
    if not saving:
        return None, None
    try:  # show what saving would write now
        return None, selectors.backpay_preview(**args)
    except ValidationError:
        return None, None


@hall_required("operator")
def back_pay_page(request, serial_no: str | None = None):
    return _kind_page(request, FilingKind.BACK_PAY.value, serial_no)


@hall_required("operator")
def adjust_pay_page(request, serial_no: str | None = None):
    return _kind_page(request, FilingKind.ADJUST_PAY.value, serial_no)


@hall_required("operator")
def supplement_pay_page(request, serial_no: str | None = None):
    return _kind_page(request, FilingKind.SUPPLEMENT_PAY.value, serial_no)


@require_POST
@hall_required("operator")
def row_remove(request, serial_no: str, row_id: int):
    filing = selectors.unit_backpay_filing(
        request.user, serial_no=serial_no, action="backpay.remove_row"
    )
    try:
        services.backpay_row_remove(actor=request.user, filing=filing, row_id=row_id)
    except ValidationError as e:
        messages.error(request, "；".join(e.messages))
    else:
        messages.success(request, "已移除该人员")
    return redirect(PAGES[filing.kind]["edit"], serial_no=serial_no)


# --- 滞纳金试算 --------------------------------------------------------------------------------


def _fee_context(request, report) -> dict:
    page = selectors_latefee.late_fee_page(report, request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return {"report": report, "page": page, "query": query.urlencode()}


@hall_required("operator")
def unit_late_fee(request):
    may_back_pay = request.user.may_file(BusinessKind.BACK_PAY)
    form = LateFeeForm(request.GET or None)
    pay_date = form.cleaned_data["pay_date"] if form.is_valid() else timezone.localdate()
    if form.is_bound and form.errors:
        return render(
            request,
            "contributions/backpay/late_fee.html",
            {"form": form, "hall_kind": "unit", "may_back_pay": may_back_pay},
            status=400,
        )
    report = selectors_latefee.unit_late_fees(request.user, pay_date=pay_date)
    if not form.is_bound:
        form = LateFeeForm(initial={"pay_date": pay_date})
    return render(
        request,
        "contributions/backpay/late_fee.html",
        {
            "form": form,
            "hall_kind": "unit",
            "may_back_pay": may_back_pay,
            **_fee_context(request, report),
        },
    )


@hall_required("staff")
def staff_late_fee(request):
    form = StaffLateFeeForm(request.GET or None)
    context = {"form": form, "hall_kind": "staff"}
    if not form.is_bound:
        form.initial = {"pay_date": timezone.localdate()}
        return render(request, "contributions/backpay/late_fee.html", context)
    if not form.is_valid():
        return render(request, "contributions/backpay/late_fee.html", context, status=400)
    report = selectors_latefee.staff_late_fees(
        request.user, unit_no=form.cleaned_data["unit_no"], pay_date=form.cleaned_data["pay_date"]
    )
    return render(
        request,
        "contributions/backpay/late_fee.html",
        {**context, **_fee_context(request, report)},
    )
