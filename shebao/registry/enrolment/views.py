"""The unit hall's enrolment pages: 人员参保 (the ID number is looked up by POST, htmx swaps in
the person form; "save" adds the person to a draft), 人员停保 (tick several persons of the
roster), and 人员转移 (转出 like a stop; 转入 like 人员参保). Thin: parse, call one service or
selector, render. After a save the progress page of the filing (unit:filing) takes over."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from shebao.filings.materials import MaterialRejected, check_material
from shebao.filings.models import FilingKind
from shebao.registry.access import access_unit_filing
from shebao.registry.enrolment import selectors, services
from shebao.registry.enrolment.forms import (
    EnrolmentForm,
    LookupForm,
    RosterSearchForm,
    StopForm,
    enrolment_initial,
)
from shebao.web.decorators import hall_required
from shebao.web.forms import add_service_errors

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


def _editable_or_redirect(request, filing):
    if filing is not None and not filing.is_editable:
        messages.error(request, f"业务 {filing.serial_no} 已提交或已办结，不能修改")
        return redirect("unit:filing", serial_no=filing.serial_no)
    return None


def _photo(request, form):
    upload = request.FILES.get("photo")
    if upload is None or "photo" not in form.fields:
        return None
    try:
        return check_material(upload)
    except MaterialRejected as e:
        form.add_error("photo", str(e))
        return None


def _lookup(request, page, *, audit: bool):
    """The look-up form as posted and what its ID number decides (None when it is invalid)."""
    lookup_form, lookup = LookupForm(request.POST), None
    if lookup_form.is_valid():
        try:
            lookup = selectors.enrolment_lookup(
                actor=request.user,
                id_number=lookup_form.cleaned_data["id_number"],
                kind=page.kind,
                filing=page.filing,
                audit=audit,
            )
        except ValidationError as e:
            errors = e.message_dict.get("id_number") if hasattr(e, "error_dict") else None
            lookup_form.add_error("id_number", errors or e.messages)
    if lookup is not None and not lookup.ok:
        lookup_form.add_error("id_number", lookup.refusal)
    return lookup_form, lookup


def _person_form(request, page, lookup, *, bound: bool, row=None) -> EnrolmentForm:
    kwargs = {"lookup": lookup, "kind": page.kind, "unit": page.unit, "drafts": page.drafts}
    kwargs["bounds"] = page.wage_bounds
    if bound:
        return EnrolmentForm(request.POST, request.FILES, **kwargs)
    return EnrolmentForm(initial=enrolment_initial(lookup, page.unit, row), **kwargs)


def _save(request, form, page, *, id_number: str, row_id: int | None = None):
    """Save the person form into the chosen draft (else the page's filing, else a new one):
    the saved filing, or None with the errors on the form."""
    if not form.is_valid():
        return None
    photo = _photo(request, form)
    if form.errors:
        return None
    # without drafts the form has no choice: a posted serial number is still checked (404)
    target = form.cleaned_data.get("target", request.POST.get("target")) or ""
    filing = (
        access_unit_filing(request.user, serial_no=target, kind=page.kind)
        if target
        else page.filing
    )
    data = {**form.cleaned_data, "id_number": id_number}
    try:
        return services.enrolment_save(
            actor=request.user, data=data, kind=page.kind, filing=filing, row_id=row_id, photo=photo
        )
    except ValidationError as e:
        add_service_errors(form, e)
        return None


def _saved_message(kind: str, saved, name: str, lookup):
    """The save message, linking to the draft and to adding the next person to it."""
    return format_html(
        '已保存 {}（{}），流水号 <a href="{}">{}</a>；可<a href="{}">继续添加人员</a>，或提交业务',
        name,
        lookup.business_label,
        reverse("unit:filing", kwargs={"serial_no": saved.serial_no}),
        saved.serial_no,
        reverse(PAGES[kind]["edit"], kwargs={"serial_no": saved.serial_no}) + "#add-card",
    )


# --- 人员参保 / 人员转入 ---------------------------------------------------------------------------


@hall_required("operator")
def enrolment_page(request, kind: str, serial_no: str | None = None):
    """Add persons to a new or existing draft: POST action=lookup decides the business (htmx
    swaps the card), action=save stores the person and shows the filing's progress page."""
    page = selectors.filing_page(request.user, kind=kind, serial_no=serial_no)
    if (response := _editable_or_redirect(request, page.filing)) is not None:
        return response
    action = request.POST.get("action") if request.method == "POST" else None
    lookup_form, lookup, form = LookupForm(), None, None
    if action in ("lookup", "save"):
        lookup_form, lookup = _lookup(request, page, audit=action == "lookup")
    if lookup is not None and lookup.ok:
        form = _person_form(request, page, lookup, bound=action == "save")
        if action == "save" and (saved := _save(request, form, page, id_number=lookup.id_number)):
            name = lookup.person.name if lookup.person else form.cleaned_data["name"]
            messages.success(request, _saved_message(page.kind, saved, name, lookup))
            return redirect("unit:filing", serial_no=saved.serial_no)
    context = {"kind": kind, "page": PAGES[kind], "filing": page.filing, "rows": page.rows}
    context |= {"lookup_form": lookup_form, "lookup": lookup, "form": form, "unit": page.unit}
    context["current_period"] = page.current_period
    template = "_add_card" if request.headers.get("HX-Request") else "enrolment_page"
    return render(request, f"registry/enrolment/{template}.html", context)


@hall_required("operator")
def enrolment_row(request, kind: str, serial_no: str, row_id: int):
    """Edit one person of a draft or returned filing (the ID number stays)."""
    found = selectors.enrolment_row_page(
        request.user, kind=kind, serial_no=serial_no, row_id=row_id
    )
    page, row, lookup = found.page, found.row, found.lookup
    if (response := _editable_or_redirect(request, page.filing)) is not None:
        return response
    form = None
    if lookup.ok:
        posted = request.method == "POST"
        form = _person_form(request, page, lookup, bound=posted, row=row)
        if posted and _save(request, form, page, id_number=row.id_number, row_id=row.pk):
            messages.success(request, f"已保存 {row.name} 的修改")
            return redirect("unit:filing", serial_no=serial_no)
    context = {"kind": kind, "page": PAGES[kind], "filing": page.filing, "row": row}
    context |= {"masked_id": row.id_number_masked, "lookup": lookup, "form": form}
    context["current_period"] = page.current_period
    return render(request, "registry/enrolment/enrolment_row.html", context)


@require_POST
@hall_required("operator")
def enrolment_row_remove(request, kind: str, serial_no: str, row_id: int):
    filing = selectors.filing_page(request.user, kind=kind, serial_no=serial_no).filing
    try:
        services.filing_row_remove(actor=request.user, filing=filing, row_id=row_id)
    except ValidationError as e:
        messages.error(request, "；".join(e.messages))
    else:
        messages.success(request, "已移除该人员")
    return redirect(PAGES[kind]["edit"], serial_no=serial_no)


# --- 人员停保 / 人员转出 ---------------------------------------------------------------------------


def _save_stop(request, form, page, selected: list[int]):
    """Save the ticked persons' stop; the redirect to the filing, or None with the errors."""
    if not form.is_valid():
        return None
    try:
        saved = services.stop_save(
            actor=request.user,
            data=form.cleaned_data,
            person_ids=selected,
            kind=page.kind,
            filing=page.filing,
        )
    except ValidationError as e:
        add_service_errors(form, e)
        return None
    messages.success(request, f"已保存 {saved.title}，流水号 {saved.serial_no}；请核对后提交")
    return redirect("unit:filing", serial_no=saved.serial_no)


@hall_required("operator")
def stop_page(request, kind: str, serial_no: str | None = None):
    """Tick persons of the roster (search by name), choose types, reason and date, save."""
    page = selectors.filing_page(request.user, kind=kind, serial_no=serial_no)
    if (response := _editable_or_redirect(request, page.filing)) is not None:
        return response
    search = RosterSearchForm(request.GET or None)
    initial, selected = selectors.stop_initial(page)
    form = StopForm(request.POST or None, initial=initial, kind=kind, unit=page.unit)
    if request.method == "POST":
        selected = [int(p) for p in request.POST.getlist("person") if p.isdigit()]
        if (response := _save_stop(request, form, page, selected)) is not None:
            return response
    roster, entries = selectors.stop_roster_entries(
        request.user,
        unit=page.unit,
        q=search.query(),
        page_number=request.GET.get("page"),
        selected=selected,
    )
    query = request.GET.copy()
    query.pop("page", None)
    context = {"kind": kind, "page_conf": PAGES[kind], "filing": page.filing, "form": form}
    context |= {"search": search, "page": roster, "entries": entries, "q": search.query()}
    context["query"] = query.urlencode()
    return render(request, "registry/enrolment/stop_page.html", context)
