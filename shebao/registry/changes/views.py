"""Pages of information changes and locks: the unit hall's 信息变更 (person key / general
change, lock request, unit general / key change, the printable 人员变更表) and the back office's
人员锁定. Thin: parse the form, check the uploads, call one service, render."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render

from shebao.core.ids import mask_id_number
from shebao.filings.business import BusinessKind
from shebao.filings.kinds import ReviewPolicy, handler_for
from shebao.filings.materials import MaterialRejected, check_material
from shebao.filings.models import FilingKind, FilingState
from shebao.filings.services import filing_submit
from shebao.registry.changes import services as changes
from shebao.registry.forms import ACCEPT
from shebao.registry.models import Person, UnitType
from shebao.web.decorators import hall_required
from shebao.web.forms import StyledForm, add_service_errors

PAGE_SIZE = 20
UNCHANGED = "不变更请留空"


def _file_field(label: str, required_hint: str) -> forms.FileField:
    return forms.FileField(
        label=label,
        required=False,
        widget=forms.FileInput(attrs={"accept": ACCEPT}),
        help_text=f"{required_hint}JPG、PNG 或 PDF；图片自动旋转、去黑边并压缩到 500 KB 以内",
    )


# --- forms -------------------------------------------------------------------------------------


class PersonSearchForm(StyledForm):
    q = forms.CharField(
        label="证件号码、个人编号或姓名",
        max_length=50,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


class PersonKeyChangeForm(StyledForm):
    name = forms.CharField(label="姓名（变更后）", required=False, max_length=50)
    id_number = forms.CharField(label="证件号码（变更后）", required=False, max_length=32)
    birth_date = forms.DateField(
        label="出生日期（变更后）",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": "请按“年-月-日”填写出生日期"},
    )
    sex = forms.ChoiceField(
        label="性别（变更后）", required=False, choices=[("", "不变更"), *Person.Sex.choices]
    )
    proof = _file_field(changes.PERSON_KEY_MATERIALS["proof"], "必须上传。")

    def __init__(self, *args, before: dict, **kwargs):
        super().__init__(*args, **kwargs)
        for key in changes.PERSON_KEY_LABELS:
            shown = changes.shown_value(key, before.get(key)) or "（空）"
            self.fields[key].help_text = f"变更前：{shown}；{UNCHANGED}"
        self.fields["id_number"].help_text += "。居民身份证变更后，出生日期和性别随号码自动更正"
        self.fields["id_number"].widget.attrs["autocomplete"] = "off"


class PersonGeneralChangeForm(StyledForm):
    mobile = forms.CharField(label="手机号码", required=False, max_length=11)
    address = forms.CharField(label="联系地址", required=False, max_length=200)
    hukou = forms.ChoiceField(
        label="户口性质", required=False, choices=[("", "未填写"), *Person.Hukou.choices]
    )

    def __init__(self, *args, before: dict, **kwargs):
        super().__init__(*args, **kwargs)
        for key in changes.PERSON_GENERAL_LABELS:
            shown = changes.shown_value(key, before.get(key)) or "（空）"
            self.fields[key].help_text = f"变更前：{shown}"
        self.fields["mobile"].widget.attrs.update({"inputmode": "numeric", "autocomplete": "off"})


class PersonLockForm(StyledForm):
    reason = forms.CharField(
        label="锁定原因",
        max_length=changes.LOCK_REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="例如：正在办理退休手续。锁定后姓名、证件号码、出生日期、性别不能变更，"
        "解锁须由经办机构办理",
    )


class UnitGeneralChangeForm(StyledForm):
    contact_name = forms.CharField(label="联系人", max_length=50)
    contact_mobile = forms.CharField(label="联系人手机", max_length=11)
    address = forms.CharField(label="单位地址", max_length=200)

    def __init__(self, *args, before: dict, **kwargs):
        super().__init__(*args, **kwargs)
        for key in changes.UNIT_GENERAL_LABELS:
            shown = changes.shown_value(key, before.get(key)) or "（空）"
            self.fields[key].help_text = f"变更前：{shown}"
        self.fields["contact_mobile"].widget.attrs["inputmode"] = "numeric"


class UnitKeyChangeForm(StyledForm):
    name = forms.CharField(label="单位名称（变更后）", required=False, max_length=100)
    uscc = forms.CharField(label="统一社会信用代码（变更后）", required=False, max_length=18)
    legal_rep_name = forms.CharField(label="法定代表人（变更后）", required=False, max_length=50)
    legal_rep_id_number = forms.CharField(
        label="法定代表人身份证号（变更后）", required=False, max_length=18
    )
    unit_type = forms.ChoiceField(
        label="单位类型（变更后）", required=False, choices=[("", "不变更"), *UnitType.choices]
    )
    licence = _file_field(changes.UNIT_KEY_MATERIALS["licence"], "必须上传。")
    legal_rep_id = _file_field(changes.LEGAL_REP_ID_LABEL, "更换法定代表人时必须上传。")

    def __init__(self, *args, before: dict, **kwargs):
        super().__init__(*args, **kwargs)
        for key in changes.UNIT_KEY_LABELS:
            shown = changes.shown_value(key, before.get(key)) or "（空）"
            self.fields[key].help_text = f"变更前：{shown}；{UNCHANGED}"
        self.fields["uscc"].help_text += "。变更后可用单位编号或新代码登录"
        self.fields["unit_type"].help_text += "。参保险种不随单位类型自动调整"
        self.fields["legal_rep_id_number"].widget.attrs["autocomplete"] = "off"


PERSON_FORMS = {
    FilingKind.PERSON_KEY_CHANGE: PersonKeyChangeForm,
    FilingKind.PERSON_GENERAL_CHANGE: PersonGeneralChangeForm,
    FilingKind.PERSON_LOCK: PersonLockForm,
}
UNIT_FORMS = {
    FilingKind.UNIT_GENERAL_CHANGE: UnitGeneralChangeForm,
    FilingKind.UNIT_KEY_CHANGE: UnitKeyChangeForm,
}
MATERIAL_SLOTS = {
    FilingKind.PERSON_KEY_CHANGE: list(changes.PERSON_KEY_MATERIALS),
    FilingKind.UNIT_KEY_CHANGE: [*changes.UNIT_KEY_MATERIALS, changes.LEGAL_REP_ID_SLOT],
}
# Change kinds named in URLs
URL_KINDS = {
    "key": FilingKind.PERSON_KEY_CHANGE,
    "general": FilingKind.PERSON_GENERAL_CHANGE,
    "lock": FilingKind.PERSON_LOCK,
}
UNIT_URL_KINDS = {"general": FilingKind.UNIT_GENERAL_CHANGE, "key": FilingKind.UNIT_KEY_CHANGE}


# --- helpers -----------------------------------------------------------------------------------


def _check_may_file(request, kind: str) -> None:
    handler_for(kind).check_permission(actor=request.user, unit=request.user.unit)


def _checked_materials(request, form, kind: str) -> dict:
    checked = {}
    for slot in MATERIAL_SLOTS.get(kind, []):
        upload = request.FILES.get(slot)
        if upload is None:
            continue
        try:
            checked[slot] = check_material(upload)
        except MaterialRejected as e:
            form.add_error(slot, str(e))
    return checked


def _policy_note(kind: str) -> str:
    policy = handler_for(kind).review_policy
    if policy == ReviewPolicy.AUTO:
        return "提交后自动办结，变更立即生效。"
    if policy == ReviewPolicy.ALWAYS:
        return "提交后由经办机构审核（VIP单位同样需要审核），审核通过后生效。"
    return "提交后由经办机构审核（VIP单位及本统筹区设为免审的，提交即办结）。"


def _after_save(request, filing):
    """Redirect to the progress page; "保存并提交" also submits."""
    if "then_submit" not in request.POST:
        messages.success(request, f"已保存，流水号 {filing.serial_no}。请核对后提交。")
        return redirect("unit:filing", serial_no=filing.serial_no)
    try:
        filing = filing_submit(actor=request.user, filing=filing)
    except ValidationError as e:
        messages.error(
            request, f"已保存（流水号 {filing.serial_no}），但未能提交：{'；'.join(e.messages)}"
        )
    else:
        if filing.state == FilingState.APPROVED:
            messages.success(request, f"业务 {filing.serial_no} 已提交并自动办结，变更已生效")
        else:
            messages.success(request, f"业务 {filing.serial_no} 已提交，请等待经办机构审核")
    return redirect("unit:filing", serial_no=filing.serial_no)


# --- unit hall ---------------------------------------------------------------------------------


@hall_required("operator")
def changes_index(request):
    """信息变更: pick a person of the unit (searched by POST: ID numbers never go in URLs)
    or a unit change."""
    form = PersonSearchForm(request.POST or None)
    persons = None
    if request.method == "POST" and form.is_valid():
        persons = changes.unit_person_search(request.user, form.cleaned_data["q"])
    user = request.user
    return render(
        request,
        "registry/changes/index.html",
        {
            "form": form,
            "persons": persons,
            "may_person": user.may_file(BusinessKind.PERSON_CHANGE),
            "may_lock": user.may_file(BusinessKind.PERSON_LOCK),
            "may_unit": user.may_file(BusinessKind.UNIT_CHANGE),
            "recent": changes.unit_change_filings(user),
            "form_kinds": changes.CHANGE_FORM_KINDS,
        },
    )


def _person_page(request, kind: str, person: Person, filing=None):
    _check_may_file(request, kind)
    handler = handler_for(kind)
    before = (
        changes.person_snapshot(person, handler.labels) if kind != FilingKind.PERSON_LOCK else {}
    )
    form_class = PERSON_FORMS[kind]
    kwargs = {} if kind == FilingKind.PERSON_LOCK else {"before": before}
    initial = _person_initial(kind, before, filing)
    form = form_class(request.POST or None, request.FILES or None, initial=initial, **kwargs)
    blocked = ""
    if person.is_locked and kind != FilingKind.PERSON_GENERAL_CHANGE:
        blocked = changes.locked_message(person)
    if request.method == "POST" and form.is_valid():
        materials = _checked_materials(request, form, kind)
        if not form.errors:
            data = form.cleaned_data
            try:
                saved = changes.person_change_save(
                    actor=request.user,
                    kind=kind,
                    person=person,
                    after={k: data.get(k) for k in handler.labels},
                    reason=data.get("reason", ""),
                    materials=materials,
                    filing=filing,
                )
            except ValidationError as e:
                add_service_errors(form, e)
            else:
                return _after_save(request, saved)
    return render(
        request,
        "registry/changes/person_form.html",
        {
            "kind_label": FilingKind(kind).label,
            "kind": kind,
            "person": person,
            "form": form,
            "filing": filing,
            "blocked": blocked,
            "policy_note": _policy_note(kind),
            "auto": handler.review_policy == ReviewPolicy.AUTO,
            "stored_materials": filing.materials.all() if filing else [],
        },
    )


def _person_initial(kind: str, before: dict, filing) -> dict:
    if filing is None:
        return before if kind == FilingKind.PERSON_GENERAL_CHANGE else {}
    payload = filing.payload
    if kind == FilingKind.PERSON_LOCK:
        return {"reason": payload.get("reason", "")}
    after = payload.get("after", {})
    if kind == FilingKind.PERSON_GENERAL_CHANGE:
        return after
    # key change: only what changes (blank = unchanged)
    return {k: v for k, v in after.items() if v != payload.get("before", {}).get(k)}


@hall_required("operator")
def person_change_new(request, person_no: str, what: str):
    kind = URL_KINDS[what]
    person = changes.unit_person_get(request.user, person_no)
    return _person_page(request, kind, person)


def _unit_page(request, kind: str, filing=None):
    _check_may_file(request, kind)
    unit = request.user.unit
    handler = handler_for(kind)
    before = changes.unit_snapshot(unit, handler.labels)
    if filing is not None:
        after = filing.payload.get("after", {})
        if kind == FilingKind.UNIT_KEY_CHANGE:
            initial = {k: v for k, v in after.items() if v != filing.payload["before"].get(k)}
        else:
            initial = after
    else:
        initial = before if kind == FilingKind.UNIT_GENERAL_CHANGE else {}
    form = UNIT_FORMS[kind](
        request.POST or None, request.FILES or None, initial=initial, before=before
    )
    if request.method == "POST" and form.is_valid():
        materials = _checked_materials(request, form, kind)
        if not form.errors:
            try:
                saved = changes.unit_change_save(
                    actor=request.user,
                    kind=kind,
                    after={k: form.cleaned_data.get(k) for k in handler.labels},
                    materials=materials,
                    filing=filing,
                )
            except ValidationError as e:
                add_service_errors(form, e)
            else:
                return _after_save(request, saved)
    return render(
        request,
        "registry/changes/unit_form.html",
        {
            "kind_label": FilingKind(kind).label,
            "kind": kind,
            "unit": unit,
            "form": form,
            "filing": filing,
            "policy_note": _policy_note(kind),
            "auto": handler.review_policy == ReviewPolicy.AUTO,
            "stored_materials": filing.materials.all() if filing else [],
        },
    )


@hall_required("operator")
def unit_change_new(request, what: str):
    return _unit_page(request, UNIT_URL_KINDS[what])


@hall_required("operator")
def change_edit(request, serial_no: str):
    """Edit a draft or returned change (the progress page links here)."""
    filing = changes.unit_change_filing_get(request.user, serial_no)
    if not filing.is_editable:
        messages.error(request, "该业务已提交或已办结，不能修改")
        return redirect("unit:filing", serial_no=serial_no)
    if filing.kind in changes.PERSON_KINDS:
        person = changes.unit_person_get(request.user, filing.person.person_no)
        return _person_page(request, filing.kind, person, filing)
    return _unit_page(request, filing.kind, filing)


@hall_required("operator")
def change_form_xlsx(request, serial_no: str):
    """人员变更表 (Excel) of a person key / general change."""
    from shebao.core.excel import xlsx_response

    filing = changes.unit_change_filing_get(
        request.user, serial_no, kinds=changes.CHANGE_FORM_KINDS
    )
    content = changes.person_change_form_xlsx(actor=request.user, filing=filing)
    return xlsx_response(f"人员变更表-{filing.serial_no}.xlsx", content)


# --- back office: person lock ------------------------------------------------------------------


class LockForm(StyledForm):
    reason = forms.CharField(
        label="锁定原因",
        max_length=changes.LOCK_REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="例如：正在办理退休审批",
    )


class UnlockForm(StyledForm):
    note = forms.CharField(label="解锁说明（可选）", required=False, max_length=200)


@hall_required("staff")
def staff_person_lock(request):
    """人员锁定: find a person of my regions (by POST) or pick one of the locked persons."""
    form = PersonSearchForm(request.POST or None)
    found = None
    if request.method == "POST" and form.is_valid():
        found = changes.staff_person_search(request.user, form.cleaned_data["q"])
    page = Paginator(changes.staff_locked_persons(request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "registry/changes/staff_lock.html",
        {"form": form, "found": found, "page": page, "query": ""},
    )


@hall_required("staff")
def staff_person_lock_detail(request, person_no: str):
    person = changes.staff_person_get(request.user, person_no)
    lock_form = LockForm(request.POST if request.POST.get("action") == "lock" else None)
    unlock_form = UnlockForm(request.POST if request.POST.get("action") == "unlock" else None)
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "lock" and lock_form.is_valid():
                changes.person_lock(
                    actor=request.user, person=person, reason=lock_form.cleaned_data["reason"]
                )
                messages.success(request, f"已锁定 {person.name} 的关键信息")
                return redirect("staff:person_lock_detail", person_no=person_no)
            if action == "unlock" and unlock_form.is_valid():
                changes.person_unlock(
                    actor=request.user, person=person, note=unlock_form.cleaned_data["note"]
                )
                messages.success(request, f"已解除 {person.name} 的信息锁定")
                return redirect("staff:person_lock_detail", person_no=person_no)
        except ValidationError as e:
            if action == "lock":
                add_service_errors(lock_form, e)
            else:
                add_service_errors(unlock_form, e)
    return render(
        request,
        "registry/changes/staff_lock_person.html",
        {
            "person": person,
            "masked_id": mask_id_number(person.id_number),
            "units": changes.person_units(person),
            "lock_form": lock_form,
            "unlock_form": unlock_form,
        },
    )
