"""补缴 pages. Unit hall: the three kinds (核定基数补缴, 调整基数补缴, 个人补收) — the operator
types the person's ID number, the months and the wage, previews the lines per month and type
with totals, then saves the person into a draft (the filing's progress page, unit:filing,
submits it) — the back-pay lines waiting for the next settlement, and 滞纳金试算 for the unit's
unpaid lines. Back office: 滞纳金试算 for any unit of the staff member's regions. Thin: parse,
call one service or selector, render."""

from datetime import date, timedelta

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from shebao.contributions.backpay import latefee
from shebao.contributions.backpay import services as svc
from shebao.core.ids import mask_id_number
from shebao.core.periods import Period
from shebao.filings.business import BusinessKind
from shebao.filings.kinds import handler_for
from shebao.filings.models import FilingKind
from shebao.registry.models import InsuranceType, Unit
from shebao.web.decorators import hall_required
from shebao.web.forms import StyledForm, add_service_errors

PERIOD_WIDGET = {"inputmode": "numeric", "placeholder": "yyyyMM", "autocomplete": "off"}
FEE_PAGE_SIZE = 50
EARLIEST_PAY_DATE = date(1990, 1, 1)

PAGES = {
    FilingKind.BACK_PAY.value: {
        "title": "核定基数补缴",
        "new": "unit:back_pay_new",
        "edit": "unit:back_pay_edit",
        "intro": "为本单位职工补缴当前结算期之前、尚未核定的月份（例如只补缴2月份：起始、终止年月都选2月）。"
        "按各月当时的缴费基数上下限、费率和本单位当时的工伤费率逐月核定。首次在本单位参保的职工请先办理人员参保。",
        "wage_label": "缴费工资（元/月）",
    },
    FilingKind.ADJUST_PAY.value: {
        "title": "调整基数补缴",
        "new": "unit:adjust_pay_new",
        "edit": "unit:adjust_pay_edit",
        "intro": "已核定缴费的月份按新的缴费工资重新核定，补缴新旧基数之间的差额；新基数不高于已核定基数的月份不产生补缴。",
        "wage_label": "新缴费工资（元/月）",
    },
    FilingKind.SUPPLEMENT_PAY.value: {
        "title": "个人补收",
        "new": "unit:supplement_pay_new",
        "edit": "unit:supplement_pay_edit",
        "intro": "单独补收某一职工某一险种尚未核定的月份（例如参保时未补收、事后只补某个险种）。",
        "wage_label": "缴费工资（元/月）",
    },
}


def _require_back_pay(request) -> None:
    if not request.user.may_file(BusinessKind.BACK_PAY):
        raise PermissionDenied("您没有办理补缴业务的权限")


def _unit(request) -> Unit:
    return Unit.objects.select_related("region").get(pk=request.user.unit_id)


class BackPayForm(StyledForm):
    id_number = forms.CharField(
        label="证件号码",
        max_length=32,
        error_messages={"required": "请填写职工的证件号码"},
        help_text="末尾为字母的请输入大写X",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    month_from = forms.CharField(
        label="补缴起始年月",
        max_length=8,
        error_messages={"required": "请填写补缴起始年月"},
        widget=forms.TextInput(attrs=PERIOD_WIDGET),
    )
    month_to = forms.CharField(
        label="补缴终止年月",
        max_length=8,
        required=False,
        help_text="只补一个月时与起始年月相同或不填",
        widget=forms.TextInput(attrs=PERIOD_WIDGET),
    )
    wage = forms.CharField(
        label="缴费工资（元/月）",
        max_length=20,
        error_messages={"required": "请填写缴费工资"},
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )

    def __init__(self, *args, kind: str, unit: Unit, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["wage"].label = PAGES[kind]["wage_label"]
        choices = [
            (t, f"{t} {InsuranceType(t).label}")
            for t in svc.ordered_types(unit.insurance_types)
            if t in InsuranceType.values
        ]
        if kind == FilingKind.SUPPLEMENT_PAY:
            field = forms.ChoiceField(
                label="补收险种",
                choices=choices,
                widget=forms.RadioSelect,
                error_messages={"required": "请选择补收险种", "invalid_choice": "请选择补收险种"},
            )
        else:
            field = forms.MultipleChoiceField(
                label="险种",
                choices=choices,
                required=False,
                widget=forms.CheckboxSelectMultiple,
                help_text="不选为该职工在本单位参加的全部险种",
                error_messages={"invalid_choice": "险种选择有误，请重新选择"},
            )
        self.fields["insurance_types"] = field
        # the class names were set before the field was added
        css = "form-check-input"
        field.widget.attrs["class"] = (field.widget.attrs.get("class", "") + " " + css).strip()

    def service_data(self, person_id: int) -> dict:
        data = self.cleaned_data
        types = data.get("insurance_types") or []
        return {
            "person": person_id,
            "month_from": data["month_from"],
            "month_to": data.get("month_to", ""),
            "wage": data["wage"],
            "insurance_types": [types] if isinstance(types, str) else list(types),
        }


@hall_required("operator")
def home(request):
    """The three kinds with links, the open ones, the lines waiting for the next settlement."""
    _require_back_pay(request)
    unit = _unit(request)
    pending = svc.unit_pending_back_pay(request.user)
    return render(
        request,
        "contributions/backpay/home.html",
        {
            "unit": unit,
            "current": Period.parse(unit.region.current_period),
            "pages": [(k, PAGES[k]) for k in svc.BACKPAY_KINDS],
            "open_filings": svc.unit_backpay_filings(request.user, open_only=True),
            "recent": svc.unit_backpay_filings(request.user).select_related("created_by")[:20],
            "pending": pending,
            "pending_total": sum((r.total for r in pending), svc.ZERO),
        },
    )


def _row_initial(filing, row_id: str) -> dict:
    if filing is None or not row_id.isdigit():
        return {}
    row = filing.rows.filter(pk=int(row_id)).first()
    if row is None:
        return {}
    after = row.payload.get("after", {})
    types = after.get("insurance_types", [])
    return {
        "id_number": row.id_number,
        "month_from": str(after.get("month_from", "")),
        "month_to": str(after.get("month_to", "")),
        "wage": after.get("wage", ""),
        "insurance_types": types[0]
        if filing.kind == FilingKind.SUPPLEMENT_PAY and types
        else types,
    }


def _kind_page(request, kind: str, serial_no: str | None):
    _require_back_pay(request)
    conf = PAGES[kind]
    unit = _unit(request)
    filing = svc.own_filing(request.user, serial_no, kind) if serial_no else None
    if filing is not None and not filing.is_editable:
        messages.error(request, f"业务 {filing.serial_no} 已提交或已办结，不能修改")
        return redirect("unit:filing", serial_no=filing.serial_no)
    form = BackPayForm(
        request.POST or None,
        initial=_row_initial(filing, request.GET.get("row", "")),
        kind=kind,
        unit=unit,
    )
    checked = person = None
    if request.method == "POST" and form.is_valid():
        person = svc.unit_person_by_id_number(request.user, form.cleaned_data["id_number"])
        if person is None:
            form.add_error(
                "id_number",
                "未找到该职工在本单位的参保记录；首次在本单位参保的职工请先办理人员参保",
            )
        else:
            data = form.service_data(person.pk)
            digest = request.POST.get("digest", "")
            try:
                if request.POST.get("action") == "save" and digest:
                    saved = svc.backpay_save(
                        actor=request.user,
                        kind=kind,
                        data=data,
                        filing=filing,
                        expected_digest=digest,
                    )
                    messages.success(
                        request,
                        f"已保存{person.name}的{conf['title']}，流水号 {saved.serial_no}"
                        f"（共 {saved.payload.get('count', 0)} 人）；全部人员保存后请到办事进度页提交",
                    )
                    return redirect(conf["edit"], serial_no=saved.serial_no)
                checked = svc.backpay_preview(
                    actor=request.user, kind=kind, data=data, filing=filing
                )
            except ValidationError as e:
                add_service_errors(form, e)
                if request.POST.get("action") == "save":
                    try:  # show what saving would write now
                        checked = svc.backpay_preview(
                            actor=request.user, kind=kind, data=data, filing=filing
                        )
                    except ValidationError:
                        checked = None
    handler = handler_for(kind)
    rows = []
    if filing is not None:
        rows = [
            {"row": r, "masked": mask_id_number(r.id_number), "fields": handler.row_display(r)}
            for r in filing.rows.all()
        ]
    return render(
        request,
        "contributions/backpay/form.html",
        {
            "kind": kind,
            "conf": conf,
            "unit": unit,
            "current": Period.parse(unit.region.current_period),
            "filing": filing,
            "form": form,
            "checked": checked,
            "person": person,
            "rows": rows,
        },
        status=400 if request.method == "POST" and form.errors else 200,
    )


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
    _require_back_pay(request)
    filing = svc.unit_backpay_filings(request.user).filter(serial_no=serial_no).first()
    if filing is None:
        raise Http404
    try:
        svc.backpay_row_remove(actor=request.user, filing=filing, row_id=row_id)
    except ValidationError as e:
        messages.error(request, "；".join(e.messages))
    else:
        messages.success(request, "已移除该人员")
    return redirect(PAGES[filing.kind]["edit"], serial_no=serial_no)


# --- 滞纳金试算 --------------------------------------------------------------------------------


def _pay_date_field() -> forms.DateField:
    return forms.DateField(
        label="缴费日期",
        required=False,
        help_text="不填为今天；按该日缴纳计算滞纳金",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": "缴费日期格式应为yyyy-mm-dd"},
    )


class LateFeeForm(StyledForm):
    pay_date = _pay_date_field()

    def clean_pay_date(self):
        value = self.cleaned_data.get("pay_date") or timezone.localdate()
        latest = timezone.localdate() + timedelta(days=366)
        if value < EARLIEST_PAY_DATE:
            raise ValidationError("缴费日期不能早于1990年1月1日")
        if value > latest:
            raise ValidationError(f"缴费日期不能晚于{latest.isoformat()}")
        return value


class StaffLateFeeForm(LateFeeForm):
    unit_no = forms.CharField(
        label="单位编号",
        max_length=20,
        error_messages={"required": "请填写单位编号"},
    )
    pay_date = _pay_date_field()

    field_order = ["unit_no", "pay_date"]


def _fee_context(request, report) -> dict:
    page = Paginator(report.lines, FEE_PAGE_SIZE).get_page(request.GET.get("page"))
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
    report = latefee.unit_late_fees(request.user, pay_date=pay_date)
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
    report = latefee.staff_late_fees(
        request.user, unit_no=form.cleaned_data["unit_no"], pay_date=form.cleaned_data["pay_date"]
    )
    return render(
        request,
        "contributions/backpay/late_fee.html",
        {**context, **_fee_context(request, report)},
    )
