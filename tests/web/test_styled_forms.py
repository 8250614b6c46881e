"""An error a service adds after validation is as visible as a validation error: the field is
outlined (is-invalid) and its message shown."""

from django import forms
from django.template.loader import render_to_string

from shebao.web.forms import StyledForm, add_service_errors


class CodeForm(StyledForm):
    code = forms.CharField(label="验证码")
    note = forms.CharField(label="备注", required=False)


def test_an_error_added_after_validation_outlines_its_field():
    form = CodeForm({"code": "123456"})
    assert form.is_valid()
    form.add_error("code", "验证码错误，还可尝试 4 次")
    assert "is-invalid" in form.fields["code"].widget.attrs["class"].split()
    assert "is-invalid" not in form.fields["note"].widget.attrs["class"].split()
    html = render_to_string("web/form_fields.html", {"form": form})
    assert 'class="invalid-feedback d-block">验证码错误，还可尝试 4 次' in html


def test_a_service_error_naming_a_field_lands_next_to_it():
    from django.core.exceptions import ValidationError

    form = CodeForm({"code": "1"})
    assert form.is_valid()
    add_service_errors(form, ValidationError({"note": "备注过长", "other": "另一个问题"}))
    assert form.errors["note"] == ["备注过长"]
    assert form.non_field_errors() == ["另一个问题"]
    assert "is-invalid" in form.fields["note"].widget.attrs["class"].split()
