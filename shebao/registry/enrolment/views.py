"""The unit hall's enrolment pages: 人员参保 (the ID number is looked up by POST, htmx swaps in
the person form; "save" adds the person to a draft), 人员停保 (tick several persons of the
roster), and 人员转移 (转出 like a stop; 转入 like 人员参保). Thin: parse, call one service or
selector, render. After a save the progress page of the filing (unit:filing) takes over."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from shebao.core.ids import mask_id_number
from shebao.core.periods import Period
from shebao.filings.kinds import handler_for
from shebao.filings.materials import MaterialRejected, check_material
from shebao.filings.models import FilingKind
from shebao.registry.enrolment import services
from shebao.registry.models import Enrolment, InsuranceType, Person, Unit
from shebao.web.decorators import hall_required
from shebao.web.forms import StyledForm, add_service_errors

ROSTER_PAGE_SIZE = 50
DATE_WIDGET = {"type": "date"}

PAGES = {
    FilingKind.ENROLMENT: {
        "title": "人员参保",
        "new": "unit:enrolment_new",
        "edit": "unit:enrolment_edit",
        "row": "unit:enrolment_row",
        "remove": "unit:enrolment_row_remove",
        "tab": "",
    },
    FilingKind.TRANSFER_IN: {
        "title": "人员转入",
        "new": "unit:transfer_in_new",
        "edit": "unit:transfer_in_edit",
        "row": "unit:transfer_in_row",
        "remove": "unit:transfer_in_row_remove",
        "tab": "in",
    },
    FilingKind.STOP: {
        "title": "人员停保",
        "new": "unit:stop_new",
        "edit": "unit:stop_edit",
        "tab": "",
    },
    FilingKind.TRANSFER_OUT: {
        "title": "人员转出",
        "new": "unit:transfer",
        "edit": "unit:transfer_out_edit",
        "tab": "out",
    },
}


def _date_field(label: str, *, required=True, help_text="") -> forms.DateField:
    return forms.DateField(
        label=label,
        required=required,
        help_text=help_text,
        widget=forms.DateInput(attrs=DATE_WIDGET, format="%Y-%m-%d"),
        error_messages={"required": f"请填写{label}", "invalid": f"{label}格式应为yyyy-mm-dd"},
    )


class LookupForm(StyledForm):
    id_number = forms.CharField(
        label="身份证号码",
        max_length=32,
        error_messages={"required": "请填写身份证号码"},
        help_text="输入后点“查询”，系统自动判断新参保、续保、险种新增或单位间转移",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


class EnrolmentForm(StyledForm):
    """One person's enrolment (三项协同: enrolment, labour contract, employment registration).
    Fields the lookup makes pointless are removed (an existing person's name, a transfer-in's
    person data)."""

    name = forms.CharField(label="姓名", max_length=50, error_messages={"required": "请填写姓名"})
    ethnicity = forms.CharField(label="民族", max_length=20, required=False, initial="汉族")
    hukou = forms.ChoiceField(
        label="户口性质",
        choices=[("", "请选择"), *Person.Hukou.choices],
        error_messages={"required": "请选择户口性质"},
    )
    first_work_date = _date_field("参加工作日期")
    mobile = forms.CharField(label="手机号", max_length=11, required=False)
    address = forms.CharField(label="联系地址", max_length=200, required=False)
    scope = forms.ChoiceField(
        label="用工形式",
        choices=Enrolment.Scope.choices,
        help_text="农村户口职工可与单位协商参加农民工两险（工伤、医疗）或五险",
    )
    insurance_types = forms.MultipleChoiceField(
        label="参保险种",
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "请至少选择一个险种"},
    )
    start_period = forms.CharField(
        label="参保年月",
        max_length=7,
        error_messages={"required": "请填写参保年月"},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "placeholder": "例如 202503"}),
    )
    wage = forms.DecimalField(
        label="申报工资（元/月）",
        max_digits=12,
        decimal_places=2,
        error_messages={"required": "请填写申报工资"},
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    waive_back_pay = forms.BooleanField(
        label="不补收（参保年月早于当前结算期时默认补收，各险种一致）", required=False
    )
    contract_start = _date_field("劳动合同起始日期")
    contract_end = _date_field("劳动合同终止日期", required=False, help_text="无固定期限合同不填")
    employment_registered = forms.BooleanField(
        label="同时办理就业登记", required=False, initial=True
    )
    photo = forms.FileField(
        label="社保卡照片（可选）",
        required=False,
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png,.jpg,.jpeg,.png"}),
        help_text="JPG 或 PNG；系统自动旋转、去黑边并压缩到 500 KB 以内",
    )
    target = forms.ChoiceField(label="保存到", required=False)

    def __init__(self, *args, lookup, kind, unit, drafts=(), **kwargs):
        super().__init__(*args, **kwargs)
        person = lookup.person
        drop = set()
        if person is not None:
            drop |= {"name", "ethnicity"}
            if person.first_work_date:
                drop.add("first_work_date")
        if kind == FilingKind.TRANSFER_IN:
            drop |= {"name", "ethnicity", "hukou", "first_work_date", "mobile", "address", "photo"}
        for name in drop:
            self.fields.pop(name, None)
        self.fields["insurance_types"].choices = [
            (t, f"{t} {InsuranceType(t).label}") for t in lookup.available
        ]
        if lookup.open_here:
            self.fields["insurance_types"].help_text = "本单位已参保：" + "、".join(
                lookup.open_here
            )
        current = Period.parse(unit.region.current_period)
        self.fields[
            "start_period"
        ].help_text = f"yyyyMM；不能早于参加工作日期所在月份；早于当前结算期（{current}）时自动补收"
        if drafts:
            self.fields["target"].choices = [
                *((f.serial_no, f"待提交业务 {f.serial_no}（{f.title}）") for f in drafts),
                ("", "新建一笔业务"),
            ]
        else:
            self.fields.pop("target")


def _enrolment_initial(lookup, unit, row=None) -> dict:
    if row is not None:
        return dict(row.payload.get("after", {}))
    person = lookup.person
    initial = {
        "insurance_types": list(lookup.available),
        "start_period": str(Period.parse(unit.region.current_period)),
        "employment_registered": True,
        "scope": Enrolment.Scope.REGULAR,
    }
    if person is not None:
        initial.update(hukou=person.hukou, mobile=person.mobile, address=person.address)
    return initial


class StopForm(StyledForm):
    insurance_types = forms.MultipleChoiceField(
        label="停保险种",
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "请至少选择一个险种"},
    )
    reason = forms.ChoiceField(
        label="停保原因",
        choices=[("", "请选择"), *Enrolment.StopReason.choices],
        error_messages={"required": "请选择停保原因"},
    )
    stop_date = _date_field(
        "停保日期",
        help_text="不能晚于今天，不能早于人员上次变更日期；停保日期所在月份为最后缴费月",
    )

    def __init__(self, *args, kind, unit, **kwargs):
        super().__init__(*args, **kwargs)
        if kind == FilingKind.TRANSFER_OUT:
            self.fields.pop("insurance_types")
            self.fields.pop("reason")
            self.fields["stop_date"].label = "转出日期"
        else:
            self.fields["insurance_types"].choices = [
                (t, f"{t} {InsuranceType(t).label}") for t in unit.insurance_types
            ]


def _mark_invalid(*forms_) -> None:
    """Errors added after validation (the services' ones) get the red outline too."""
    for form in forms_:
        if form is None:
            continue
        for name in form.errors:
            if name in form.fields:
                attrs = form.fields[name].widget.attrs
                if "is-invalid" not in attrs.get("class", ""):
                    attrs["class"] = (attrs.get("class", "") + " is-invalid").strip()
                    attrs["aria-invalid"] = "true"


def _require_business(request, kind: str) -> None:
    if not request.user.may_file(handler_for(kind).business_kind):
        raise PermissionDenied("您没有办理此项业务的权限")


def _unit(request) -> Unit:
    return Unit.objects.select_related("region").get(pk=request.user.unit_id)


def _editable_or_redirect(request, filing):
    if filing is not None and not filing.is_editable:
        messages.error(request, f"业务 {filing.serial_no} 已提交或已办结，不能修改")
        return redirect("unit:filing", serial_no=filing.serial_no)
    return None


def _row_items(filing) -> list[dict]:
    items = []
    for row in filing.rows.select_related("person"):
        after = row.payload.get("after", {})
        items.append(
            {
                "row": row,
                "masked_id": mask_id_number(row.id_number),
                "business": services.BUSINESS_LABELS.get(after.get("business"), ""),
                "types": "、".join(after.get("insurance_types", [])),
                "start": services.period_label(after.get("start_period")),
                "stop_date": after.get("stop_date", ""),
                "locked": bool(row.person_id and row.person.is_locked),
            }
        )
    return items


def _photo(request, form):
    upload = request.FILES.get("photo")
    if upload is None or "photo" not in form.fields:
        return None
    try:
        return check_material(upload)
    except MaterialRejected as e:
        form.add_error("photo", str(e))
        return None


def _service_error_on_lookup(lookup_form, error: ValidationError) -> None:
    messages_ = error.message_dict.get("id_number") if hasattr(error, "error_dict") else None
    lookup_form.add_error("id_number", messages_ or error.messages)


def _save_person(request, form, lookup, kind: str, filing):
    """Save the person form into the chosen draft (or a new one); the redirect on success."""
    if not form.is_valid():
        return None
    photo = _photo(request, form)
    if form.errors:
        return None
    target = form.cleaned_data.get("target") or ""
    if target:
        filing = services.own_filing(request.user, target, kind)
    try:
        saved = services.enrolment_save(
            actor=request.user,
            data={**form.cleaned_data, "id_number": lookup.id_number},
            kind=kind,
            filing=filing,
            photo=photo,
        )
    except ValidationError as e:
        add_service_errors(form, e)
        return None
    name = lookup.person.name if lookup.person else form.cleaned_data["name"]
    messages.success(
        request,
        f"已保存 {name}（{lookup.business_label}），流水号 {saved.serial_no}；"
        "可继续添加人员，或提交业务",
    )
    return redirect("unit:filing", serial_no=saved.serial_no)


# --- 人员参保 / 人员转入 ---------------------------------------------------------------------------


@hall_required("operator")
def enrolment_page(request, kind: str, serial_no: str | None = None):
    """Add persons to a new or existing draft: POST action=lookup decides the business (htmx
    swaps the card), action=save stores the person and shows the filing's progress page."""
    _require_business(request, kind)
    page = PAGES[kind]
    filing = services.own_filing(request.user, serial_no, kind) if serial_no else None
    if (response := _editable_or_redirect(request, filing)) is not None:
        return response
    unit = _unit(request)
    drafts = list(services.unit_drafts(request.user, kind)[:5]) if filing is None else []
    lookup_form = LookupForm()
    lookup = form = None
    action = request.POST.get("action") if request.method == "POST" else None
    if action in ("lookup", "save"):
        lookup_form = LookupForm(request.POST)
        if lookup_form.is_valid():
            try:
                lookup = services.enrolment_lookup(
                    actor=request.user,
                    id_number=lookup_form.cleaned_data["id_number"],
                    kind=kind,
                    filing=filing,
                    audit=action == "lookup",
                )
            except ValidationError as e:
                _service_error_on_lookup(lookup_form, e)
        if lookup is not None and not lookup.ok:
            lookup_form.add_error("id_number", lookup.refusal)
        elif lookup is not None:
            form_kwargs = {"lookup": lookup, "kind": kind, "unit": unit, "drafts": drafts}
            if action == "lookup":
                form = EnrolmentForm(initial=_enrolment_initial(lookup, unit), **form_kwargs)
            else:
                form = EnrolmentForm(request.POST, request.FILES, **form_kwargs)
                if (response := _save_person(request, form, lookup, kind, filing)) is not None:
                    return response
    _mark_invalid(lookup_form, form)
    context = {
        "kind": kind,
        "page": page,
        "filing": filing,
        "rows": _row_items(filing) if filing is not None else [],
        "lookup_form": lookup_form,
        "lookup": lookup,
        "form": form,
        "unit": unit,
        "current_period": Period.parse(unit.region.current_period),
    }
    if request.headers.get("HX-Request"):
        return render(request, "registry/enrolment/_add_card.html", context)
    return render(request, "registry/enrolment/enrolment_page.html", context)


@hall_required("operator")
def enrolment_row(request, kind: str, serial_no: str, row_id: int):
    """Edit one person of a draft or returned filing (the ID number stays)."""
    _require_business(request, kind)
    page = PAGES[kind]
    filing = services.own_filing(request.user, serial_no, kind)
    if (response := _editable_or_redirect(request, filing)) is not None:
        return response
    row = filing.rows.filter(pk=row_id).first()
    if row is None:
        raise Http404
    unit = _unit(request)
    lookup = services.enrolment_lookup(
        actor=request.user,
        id_number=row.id_number,
        kind=kind,
        filing=filing,
        row_id=row.pk,
        audit=False,
    )
    form = None
    if lookup.ok:
        form_kwargs = {"lookup": lookup, "kind": kind, "unit": unit}
        if request.method == "POST":
            form = EnrolmentForm(request.POST, request.FILES, **form_kwargs)
            if form.is_valid():
                photo = _photo(request, form)
                if not form.errors:
                    try:
                        services.enrolment_save(
                            actor=request.user,
                            data={**form.cleaned_data, "id_number": row.id_number},
                            kind=kind,
                            filing=filing,
                            row_id=row.pk,
                            photo=photo,
                        )
                    except ValidationError as e:
                        add_service_errors(form, e)
                    else:
                        messages.success(request, f"已保存 {row.name} 的修改")
                        return redirect("unit:filing", serial_no=serial_no)
        else:
            form = EnrolmentForm(initial=_enrolment_initial(lookup, unit, row), **form_kwargs)
    _mark_invalid(form)
    return render(
        request,
        "registry/enrolment/enrolment_row.html",
        {
            "kind": kind,
            "page": page,
            "filing": filing,
            "row": row,
            "masked_id": mask_id_number(row.id_number),
            "lookup": lookup,
            "form": form,
            "current_period": Period.parse(unit.region.current_period),
        },
    )


@require_POST
@hall_required("operator")
def enrolment_row_remove(request, kind: str, serial_no: str, row_id: int):
    _require_business(request, kind)
    filing = services.own_filing(request.user, serial_no, kind)
    try:
        services.filing_row_remove(actor=request.user, filing=filing, row_id=row_id)
    except ValidationError as e:
        messages.error(request, "；".join(e.messages))
    else:
        messages.success(request, "已移除该人员")
    return redirect(PAGES[kind]["edit"], serial_no=serial_no)


# --- 人员停保 / 人员转出 ---------------------------------------------------------------------------


class RosterSearchForm(StyledForm):
    q = forms.CharField(
        label="姓名或个人编号",
        max_length=50,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "按姓名或个人编号查询", "type": "search"}),
    )


@hall_required("operator")
def stop_page(request, kind: str, serial_no: str | None = None):
    """Tick persons of the roster (search by name), choose types, reason and date, save."""
    _require_business(request, kind)
    page_conf = PAGES[kind]
    filing = services.own_filing(request.user, serial_no, kind) if serial_no else None
    if (response := _editable_or_redirect(request, filing)) is not None:
        return response
    unit = _unit(request)
    search = RosterSearchForm(request.GET or None)
    q = search.cleaned_data.get("q", "") if search.is_valid() else ""
    roster = Paginator(services.unit_roster(request.user, q=q), ROSTER_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    initial = {"stop_date": timezone.localdate(), "insurance_types": list(unit.insurance_types)}
    selected: list[int] = []
    if filing is not None:
        rows = list(filing.rows.all())
        selected = [r.person_id for r in rows if r.person_id]
        if rows:
            after = rows[0].payload.get("after", {})
            initial = {
                "stop_date": after.get("stop_date"),
                "reason": after.get("reason"),
                "insurance_types": after.get("insurance_types"),
            }
    form = StopForm(request.POST or None, initial=initial, kind=kind, unit=unit)
    if request.method == "POST":
        selected = [int(p) for p in request.POST.getlist("person") if p.isdigit()]
        if form.is_valid():
            try:
                saved = services.stop_save(
                    actor=request.user,
                    data=form.cleaned_data,
                    person_ids=selected,
                    kind=kind,
                    filing=filing,
                )
            except ValidationError as e:
                add_service_errors(form, e)
            else:
                messages.success(
                    request, f"已保存 {saved.title}，流水号 {saved.serial_no}；请核对后提交"
                )
                return redirect("unit:filing", serial_no=saved.serial_no)
    _mark_invalid(form)
    on_page = {p.pk for p in roster}
    extra = list(services.unit_roster(request.user).filter(pk__in=selected).exclude(pk__in=on_page))
    persons = [*extra, *roster]
    types = services.roster_open_types(unit.pk, [p.pk for p in persons])
    chosen = set(selected)
    entries = [
        {
            "person": p,
            "masked_id": p.masked_id_number,
            "types": "、".join(types.get(p.pk, [])),
            "checked": p.pk in chosen,
        }
        for p in persons
    ]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "registry/enrolment/stop_page.html",
        {
            "kind": kind,
            "page_conf": page_conf,
            "filing": filing,
            "form": form,
            "search": search,
            "page": roster,
            "entries": entries,
            "query": query.urlencode(),
            "q": q,
        },
    )
