"""The items of the error summary on top of a form (web/error_summary.html)."""

from django import forms, template

register = template.Library()


def _anchor(bound: forms.BoundField) -> str:
    """The id of the field's first input: what its label points at, or the first box of a
    group of check boxes or radio buttons (whose label points at none)."""
    if bound.id_for_label:
        return bound.id_for_label
    return f"{bound.auto_id}_0" if bound.auto_id else ""


@register.simple_tag
def error_items(form=None, forms_list=None) -> list[dict]:
    """Every error of ``form`` (or of each form in ``forms_list``): the forms' non-field errors
    first, then each field's in the form's order, each with the anchor of its field."""
    all_forms = [f for f in [form, *(forms_list or [])] if f is not None]
    items = []
    for f in all_forms:
        items += [{"href": "", "label": "", "message": e} for e in f.non_field_errors()]
    for f in all_forms:
        for bound in f:
            anchor = _anchor(bound)
            for e in bound.errors:
                href = f"#{anchor}" if anchor else ""
                items.append({"href": href, "label": bound.label, "message": e})
    return items
