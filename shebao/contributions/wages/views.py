"""The unit hall's 缴费基数申报 pages: 年度工资申报 (every unit) and 机关事业月度分项工资申报
(机关 and 事业单位). The roster is paginated (a unit may have thousands of persons) and each page
is saved into the same draft; the filing's progress page (unit:filing) submits it. Thin: parse,
call one service or selector, render."""

from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from shebao.contributions.wages import services as svc
from shebao.core.excel import build_xlsx, xlsx_response
from shebao.core.periods import Period
from shebao.filings.business import BusinessKind
from shebao.filings.kinds import handler_for
from shebao.filings.models import OPEN_STATES, Filing, FilingKind
from shebao.registry.models import Unit
from shebao.web.decorators import hall_required
from shebao.web.forms import StyledForm, add_service_errors

ANNUAL = FilingKind.WAGE_ANNUAL.value
MONTHLY = FilingKind.WAGE_MONTHLY.value
PAGES = {
    ANNUAL: {
        "title": "年度工资申报",
        "new": "unit:wages_annual_new",
        "edit": "unit:wages_annual_edit",
        "template": "contributions/wages/annual.html",
    },
    MONTHLY: {
        "title": "机关事业单位月度分项工资申报",
        "new": "unit:wages_monthly_new",
        "edit": "unit:wages_monthly_edit",
        "template": "contributions/wages/monthly.html",
    },
}
PERIOD_WIDGET = forms.TextInput(attrs={"inputmode": "numeric", "placeholder": "yyyyMM"})


class AnnualHeaderForm(StyledForm):
    year = forms.ChoiceField(label="申报年度", error_messages={"required": "请选择申报年度"})
    valid_from = forms.CharField(
        label="新基数起始年月",
        max_length=8,
        required=False,
        widget=PERIOD_WIDGET,
        help_text="yyyyMM；不填为申报年度的7月",
    )

    def __init__(self, *args, unit, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["year"].choices = [(y, f"{y}年度") for y in svc.annual_years(unit)]


class MonthlyHeaderForm(StyledForm):
    period = forms.CharField(
        label="工资所属年月",
        max_length=8,
        widget=PERIOD_WIDGET,
        error_messages={"required": "请填写工资所属年月"},
        help_text="yyyyMM；分项工资合计即为该月起的缴费基数",
    )


class SearchForm(StyledForm):
    q = forms.CharField(
        label="姓名或个人编号",
        max_length=50,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "按姓名或个人编号查询", "type": "search"}),
    )


def _require_wage(request) -> None:
    if not request.user.may_file(BusinessKind.WAGE):
        raise PermissionDenied("您没有办理此项业务的权限")


def _unit(request) -> Unit:
    return Unit.objects.select_related("region").get(pk=request.user.unit_id)


def _open_filing(unit: Unit, kind: str, payload: dict) -> Filing | None:
    key = handler_for(kind).subject_key({"unit": unit.pk, **payload})
    return Filing.objects.filter(
        unit=unit, kind=kind, subject_key=key, state__in=OPEN_STATES
    ).first()


@hall_required("operator")
def wages_home(request):
    """Both declarations: start or continue one, and the recent ones."""
    _require_wage(request)
    unit = _unit(request)
    current = Period.parse(unit.region.current_period)
    first, last = svc.monthly_bounds(unit)
    annual_form = AnnualHeaderForm(initial={"year": current.year}, unit=unit)
    monthly_form = MonthlyHeaderForm(initial={"period": str(first)})
    recent = svc.unit_wage_filings(request.user).select_related("created_by")[:20]
    return render(
        request,
        "contributions/wages/home.html",
        {
            "unit": unit,
            "annual_form": annual_form,
            "monthly_form": monthly_form,
            "institution": svc.is_institution(unit),
            "monthly_first": first,
            "monthly_last": last,
            "open_filings": svc.unit_wage_filings(request.user, open_only=True),
            "recent": recent,
            "current": current,
        },
    )


def _split_errors(error: ValidationError) -> tuple[dict[str, str], ValidationError | None]:
    """Row errors (keyed p<person id>) apart from the header's and the form's."""
    if not hasattr(error, "error_dict"):
        return {}, error
    rows, rest = {}, {}
    for key, errors in error.message_dict.items():
        if key.startswith("p") and key[1:].isdigit():
            rows[key] = errors[0]
        else:
            rest[key] = errors
    return rows, (ValidationError(rest) if rest else None)


def _entries_from_post(request, kind: str) -> dict[int, object]:
    ids = [int(p) for p in request.POST.getlist("person") if p.isdigit()]
    if kind == ANNUAL:
        return {pid: request.POST.get(f"wage_{pid}", "") for pid in ids}
    return {
        pid: {code: request.POST.get(f"item_{code}_{pid}", "") for code, _ in svc.WAGE_ITEMS}
        for pid in ids
    }


def _header_initial(request, kind: str, unit: Unit, filing: Filing | None) -> dict:
    if filing is not None:
        payload = filing.payload
        if kind == ANNUAL:
            return {"year": payload.get("year"), "valid_from": str(payload.get("valid_from", ""))}
        return {"period": str(payload.get("period", ""))}
    if kind == ANNUAL:
        year = request.GET.get("year") or Period.parse(unit.region.current_period).year
        return {"year": year, "valid_from": request.GET.get("valid_from") or ""}
    first, _ = svc.monthly_bounds(unit)
    return {"period": request.GET.get("period") or str(first)}


def _save(request, kind: str, header_form, filing, entries):
    data = header_form.cleaned_data
    if kind == ANNUAL:
        return svc.annual_wage_save(
            actor=request.user,
            filing=filing,
            year=data["year"],
            valid_from=data["valid_from"],
            entries=entries,
        )
    return svc.monthly_wage_save(
        actor=request.user, filing=filing, period=data["period"], entries=entries
    )


def _declaration_page(request, kind: str, serial_no: str | None):
    _require_wage(request)
    conf = PAGES[kind]
    unit = _unit(request)
    if kind == MONTHLY and not svc.is_institution(unit):
        messages.error(request, "只有机关、事业单位申报月度分项工资")
        return redirect("unit:wages")
    filing = svc.own_filing(request.user, serial_no, kind) if serial_no else None
    if filing is not None and not filing.is_editable:
        messages.error(request, f"业务 {filing.serial_no} 已提交或已办结，不能修改")
        return redirect("unit:filing", serial_no=filing.serial_no)
    header_cls = AnnualHeaderForm if kind == ANNUAL else MonthlyHeaderForm
    header_kwargs = {"unit": unit} if kind == ANNUAL else {}
    initial = _header_initial(request, kind, unit, filing)
    if filing is None and request.method == "GET":
        # An open declaration of the same period: continue it instead of starting another.
        header = (
            svc.clean_annual_header(unit, initial["year"], initial["valid_from"])[0]
            if kind == ANNUAL
            else svc.clean_monthly_header(unit, initial["period"])[0]
        )
        existing = _open_filing(unit, kind, header) if header else None
        if existing is not None:
            messages.info(request, f"该期间已有申报业务 {existing.serial_no}，请继续办理")
            if existing.is_editable:
                return redirect(conf["edit"], serial_no=existing.serial_no)
            return redirect("unit:filing", serial_no=existing.serial_no)
    search = SearchForm(request.GET or None)
    q = search.cleaned_data.get("q", "") if search.is_valid() else ""
    header_form = header_cls(request.POST or None, initial=initial, **header_kwargs)
    posted: dict = {}
    row_errors: dict[str, str] = {}
    importing = kind == ANNUAL and request.method == "POST" and "import" in request.POST
    if importing:
        upload = request.FILES.get("file")
        if upload is None:
            header_form.add_error(None, "请选择要导入的 Excel 文件")
        elif header_form.is_valid():
            try:
                saved = svc.annual_wage_import(
                    actor=request.user,
                    filing=filing,
                    year=header_form.cleaned_data["year"],
                    valid_from=header_form.cleaned_data["valid_from"],
                    upload=upload,
                )
            except ValidationError as e:
                add_service_errors(header_form, e)
            else:
                messages.success(
                    request,
                    f"已导入，流水号 {saved.serial_no}（共 {saved.payload.get('count', 0)} 人）；"
                    "请核对后到办事进度页提交",
                )
                return redirect(conf["edit"], serial_no=saved.serial_no)
    elif request.method == "POST":
        posted = _entries_from_post(request, kind)
        if header_form.is_valid():
            try:
                saved = _save(request, kind, header_form, filing, posted)
            except ValidationError as e:
                row_errors, rest = _split_errors(e)
                if rest is not None:
                    add_service_errors(header_form, rest)
            else:
                page = request.GET.get("page", "1")
                if request.POST.get("next") and page.isdigit():
                    page = str(int(page) + 1)
                query = urlencode({k: v for k, v in {"q": q, "page": page}.items() if v})
                messages.success(
                    request,
                    f"已保存本页，流水号 {saved.serial_no}（共 {saved.payload.get('count', 0)} 人）；"
                    "全部人员保存后请到办事进度页提交",
                )
                url = reverse(conf["edit"], kwargs={"serial_no": saved.serial_no})
                return redirect(f"{url}?{query}" if query else url)
    page, entries = svc.page_entries(
        request.user, filing=filing, q=q, page_number=request.GET.get("page")
    )
    shown = {e.person.pk for e in entries}
    stray = [msg for key, msg in row_errors.items() if int(key[1:]) not in shown]
    rows = []
    for e in entries:
        pid = e.person.pk
        if kind == ANNUAL:
            value = posted.get(pid, e.initial_wage()) if posted else e.initial_wage()
        else:
            value = posted.get(pid, e.initial_items()) if posted else e.initial_items()
            value = [(code, label, value.get(code, "")) for code, label in svc.WAGE_ITEMS]
        rows.append({"entry": e, "value": value, "error": row_errors.get(svc.row_key(pid), "")})
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        conf["template"],
        {
            "kind": kind,
            "conf": conf,
            "unit": unit,
            "filing": filing,
            "header_form": header_form,
            "search": search,
            "q": q,
            "page": page,
            "rows": rows,
            "row_errors": bool(row_errors),
            "stray_errors": stray,
            "items": svc.WAGE_ITEMS,
            "stale": svc.stale_rows(filing) if filing is not None else [],
            "query": query.urlencode(),
            "import_open": importing,
        },
        status=400 if row_errors or (request.method == "POST" and header_form.errors) else 200,
    )


@hall_required("operator")
def annual_page(request, serial_no: str | None = None):
    return _declaration_page(request, ANNUAL, serial_no)


@hall_required("operator")
def monthly_page(request, serial_no: str | None = None):
    return _declaration_page(request, MONTHLY, serial_no)


@hall_required("operator")
def annual_template(request):
    """The roster as an Excel list to fill in (?serial_no= pre-fills a draft's values)."""
    _require_wage(request)
    serial_no = request.GET.get("serial_no", "")
    filing = svc.own_filing(request.user, serial_no, ANNUAL) if serial_no else None
    content = build_xlsx(
        [
            (
                "年度工资申报",
                svc.TEMPLATE_HEADER,
                svc.annual_template_rows(request.user, filing),
            ),
            ("填写说明", ["说明"], [[svc.TEMPLATE_NOTE]]),
        ]
    )
    unit = _unit(request)
    return xlsx_response(f"年度工资申报-{unit.unit_no}.xlsx", content)


@require_POST
@hall_required("operator")
def row_remove(request, serial_no: str, row_id: int):
    _require_wage(request)
    filing = Filing.objects.filter(
        serial_no=serial_no, unit_id=request.user.unit_id, kind__in=svc.WAGE_KINDS
    ).first()
    if filing is None:
        raise Http404
    try:
        svc.wage_row_remove(actor=request.user, filing=filing, row_id=row_id)
    except ValidationError as e:
        messages.error(request, "；".join(e.messages))
    else:
        messages.success(request, "已移除该人员")
    return redirect(PAGES[filing.kind]["edit"], serial_no=serial_no)
