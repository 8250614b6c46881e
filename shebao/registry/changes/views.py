"""Pages of information changes and locks: the unit hall's 信息变更 (person key / general
change, lock request, unit general / key change, the printable 人员变更表) and the back office's
人员锁定. Thin: parse the form, check the uploads, call one service, render."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render

from shebao.core.excel import xlsx_response
from shebao.filings.business import BusinessKind
from shebao.filings.kinds import ReviewPolicy, handler_for
from shebao.filings.models import FilingKind, FilingState
from shebao.filings.services import filing_submit
from shebao.registry.changes import calc, selectors, services
from shebao.registry.changes.forms import (
    LockForm,
    PersonSearchForm,
    UnlockForm,
    change_form,
    checked_materials,
)
from shebao.registry.models import Person
from shebao.web.decorators import hall_required
from shebao.web.forms import add_service_errors

PAGE_SIZE = 20
# Change kinds named in URLs
URL_KINDS = {
    "key": FilingKind.PERSON_KEY_CHANGE,
    "general": FilingKind.PERSON_GENERAL_CHANGE,
    "lock": FilingKind.PERSON_LOCK,
}
UNIT_URL_KINDS = {"general": FilingKind.UNIT_GENERAL_CHANGE, "key": FilingKind.UNIT_KEY_CHANGE}
POLICY_NOTES = {
    ReviewPolicy.AUTO: "提交后自动办结，变更立即生效。",
    ReviewPolicy.ALWAYS: "提交后由经办机构审核（VIP单位同样需要审核），审核通过后生效。",
}
REGION_POLICY_NOTE = "提交后由经办机构审核（VIP单位及本统筹区设为免审的，提交即办结）。"


def _form_context(kind: str, form, filing) -> dict:
    handler = handler_for(kind)
    return {
        "kind_label": FilingKind(kind).label,
        "kind": kind,
        "form": form,
        "filing": filing,
        "policy_note": POLICY_NOTES.get(handler.review_policy, REGION_POLICY_NOTE),
        "auto": handler.review_policy == ReviewPolicy.AUTO,
        "stored_materials": filing.materials.all() if filing else [],
    }


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


def _save(request, form, kind: str, save, **kwargs):
    """Check the uploads, then call ``save`` (a service); the saved filing, or None with the
    errors on the form."""
    materials = checked_materials(request.FILES, form, kind)
    if form.errors:
        return None
    data = form.cleaned_data
    after = {k: data.get(k) for k in handler_for(kind).labels}
    try:
        return save(actor=request.user, kind=kind, after=after, materials=materials, **kwargs)
    except ValidationError as e:
        add_service_errors(form, e)
    return None


# --- unit hall ---------------------------------------------------------------------------------


@hall_required("operator")
def changes_index(request):
    """信息变更: pick a person of the unit (searched by POST: ID numbers never go in URLs)
    or a unit change."""
    form = PersonSearchForm(request.POST or None)
    persons = None
    if request.method == "POST" and form.is_valid():
        persons = selectors.unit_person_search(request.user, form.cleaned_data["q"])
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
            "recent": selectors.unit_change_filings(user),
            "form_kinds": calc.CHANGE_FORM_KINDS,
        },
    )


def _person_page(request, kind: str, person: Person, filing=None):
    selectors.change_unit(request.user, kind)
    locks = kind == FilingKind.PERSON_LOCK
    before = {} if locks else calc.person_snapshot(person, handler_for(kind).labels)
    form = change_form(
        kind, before, filing, request.POST or None, request.FILES or None, id_type=person.id_type
    )
    if request.method == "POST" and form.is_valid():
        extra = {"reason": form.cleaned_data.get("reason", "")}
        saved = _save(
            request, form, kind, services.person_change_save, person=person, filing=filing, **extra
        )
        if saved is not None:
            return _after_save(request, saved)
    blocked = ""
    if person.is_locked and kind != FilingKind.PERSON_GENERAL_CHANGE:
        blocked = calc.locked_message(person)
    context = {**_form_context(kind, form, filing), "person": person, "blocked": blocked}
    return render(request, "registry/changes/person_form.html", context)


@hall_required("operator")
def person_change_new(request, person_no: str, what: str):
    kind = URL_KINDS[what]
    person = selectors.unit_person_get(request.user, person_no)
    return _person_page(request, kind, person)


def _unit_page(request, kind: str, filing=None):
    unit = selectors.change_unit(request.user, kind)
    handler = handler_for(kind)
    before = calc.unit_snapshot(unit, handler.labels)
    form = change_form(kind, before, filing, request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        saved = _save(request, form, kind, services.unit_change_save, filing=filing)
        if saved is not None:
            return _after_save(request, saved)
    context = {**_form_context(kind, form, filing), "unit": unit}
    return render(request, "registry/changes/unit_form.html", context)


@hall_required("operator")
def unit_change_new(request, what: str):
    return _unit_page(request, UNIT_URL_KINDS[what])


@hall_required("operator")
def change_edit(request, serial_no: str):
    """Edit a draft or returned change (the progress page links here)."""
    filing = selectors.unit_change_filing_get(request.user, serial_no)
    if not filing.is_editable:
        messages.error(request, "该业务已提交或已办结，不能修改")
        return redirect("unit:filing", serial_no=serial_no)
    if filing.kind in calc.PERSON_KINDS:
        person = selectors.unit_person_get(request.user, filing.person.person_no)
        return _person_page(request, filing.kind, person, filing)
    return _unit_page(request, filing.kind, filing)


@hall_required("operator")
def change_form_xlsx(request, serial_no: str):
    """人员变更表 (Excel) of a person key / general change."""
    filing = selectors.unit_change_filing_get(request.user, serial_no, kinds=calc.CHANGE_FORM_KINDS)
    content = services.person_change_form_xlsx(actor=request.user, filing=filing)
    return xlsx_response(f"人员变更表-{filing.serial_no}.xlsx", content)


# --- back office: person lock ------------------------------------------------------------------


@hall_required("staff")
def staff_person_lock(request):
    """人员锁定: find a person of my regions (by POST) or pick one of the locked persons."""
    form = PersonSearchForm(request.POST or None)
    found = None
    if request.method == "POST" and form.is_valid():
        found = selectors.staff_person_search(request.user, form.cleaned_data["q"])
    page = Paginator(selectors.staff_locked_persons(request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "registry/changes/staff_lock.html",
        {"form": form, "found": found, "page": page, "query": ""},
    )


def _lock_action(request, person: Person, action: str, form) -> str:
    """Lock or unlock; the success message, or "" with the errors on the form."""
    try:
        if action == "lock":
            services.person_lock(
                actor=request.user, person=person, reason=form.cleaned_data["reason"]
            )
            return f"已锁定 {person.name} 的关键信息"
        services.person_unlock(actor=request.user, person=person, note=form.cleaned_data["note"])
        return f"已解除 {person.name} 的信息锁定"
    except ValidationError as e:
        add_service_errors(form, e)
    return ""


@hall_required("staff")
def staff_person_lock_detail(request, person_no: str):
    person = selectors.staff_person_get(request.user, person_no)
    action = request.POST.get("action")
    forms = {
        "lock": LockForm(request.POST if action == "lock" else None),
        "unlock": UnlockForm(request.POST if action == "unlock" else None),
    }
    form = forms.get(action)
    if request.method == "POST" and form is not None and form.is_valid():
        done = _lock_action(request, person, action, form)
        if done:
            messages.success(request, done)
            return redirect("staff:person_lock_detail", person_no=person_no)
    context = {
        "person": person,
        "masked_id": person.masked_id_number,
        "units": selectors.person_units(person),
        "lock_form": forms["lock"],
        "unlock_form": forms["unlock"],
    }
    return render(request, "registry/changes/staff_lock_person.html", context)
