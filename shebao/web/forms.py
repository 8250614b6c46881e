"""Bootstrap styling for Django forms: classes on widgets, is-invalid on fields with errors,
and every field's error messages written for the user with its label (``wording``)."""

from django import forms

from shebao.web.wording import word_field_errors


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
        """Word the fields' messages just before validating: the labels are final by then."""
        for name, field in self.fields.items():
            word_field_errors(field, name)
        super().full_clean()

    def add_error(self, field, error):
        """Every error on a field outlines it in red, whenever it is added: while validating,
        or afterwards from a service (then Bootstrap would otherwise hide its message)."""
        super().add_error(field, error)
        for name in self._errors or ():
            if name in self.fields:
                attrs = self.fields[name].widget.attrs
                if "is-invalid" not in attrs.get("class", "").split():
                    attrs["class"] = (attrs.get("class", "") + " is-invalid").strip()
                attrs["aria-invalid"] = "true"


class StyledForm(StyledFormMixin, forms.Form):
    pass


def add_service_errors(form: forms.Form, error) -> None:
    """Put a service's ValidationError next to the fields it names (or on top of the form)."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            target = field if field in form.fields else None
            for e in errors:
                form.add_error(target, e.message % e.params if e.params else e.message)
    else:
        for message in error.messages:
            form.add_error(None, message)
