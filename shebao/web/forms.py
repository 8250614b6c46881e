"""Bootstrap styling for Django forms: classes on widgets, is-invalid on fields with errors."""

from django import forms


class StyledFormMixin:
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(
                widget, forms.CheckboxSelectMultiple | forms.RadioSelect | forms.CheckboxInput
            ):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = (widget.attrs.get("class", "") + " " + css).strip()

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                widget.attrs["class"] = widget.attrs.get("class", "") + " is-invalid"
                widget.attrs["aria-invalid"] = "true"


class StyledForm(StyledFormMixin, forms.Form):
    pass


def add_service_errors(form: forms.Form, error) -> None:
    """Put a service's ValidationError next to the fields it names (or on top of the form)."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            target = field if field in form.fields else None
            if target is not None:
                attrs = form.fields[target].widget.attrs
                if "is-invalid" not in attrs.get("class", ""):
                    attrs["class"] = attrs.get("class", "") + " is-invalid"
                attrs["aria-invalid"] = "true"
            for e in errors:
                form.add_error(target, e.message % e.params if e.params else e.message)
    else:
        for message in error.messages:
            form.add_error(None, message)


def mark_invalid(*forms_) -> None:
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
