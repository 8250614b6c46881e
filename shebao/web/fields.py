"""Form fields for the input rules of ``shebao.core.inputs``: a form shows the rule's own message,
the same one the services, batch rows and the API give for the same value.

The fields set no ``max_length`` validator (the rule checks the length with its own message);
the widget's ``maxlength`` is generous so that a pasted value is not cut silently.
"""

from django import forms

from shebao.core import inputs


class RuleField(forms.CharField):
    """A text field whose value is cleaned by one rule of ``shebao.core.inputs``.
    A blank optional field gives "". A form showing a stored value (a change form) sets
    ``unchanged`` to it: that value sent back as it is passes, never refused for being old-style.
    """

    widget_maxlength = 64
    unchanged: str | None = None

    def __init__(self, *, required=True, error_messages=None, **kwargs):
        kwargs.pop("max_length", None)
        kwargs.pop("min_length", None)
        # a blank required field gets the rule's own message unless the form gives one
        self.own_required_message = bool(error_messages and "required" in error_messages)
        super().__init__(required=required, error_messages=error_messages, **kwargs)
        self.widget.attrs.setdefault("maxlength", str(self.widget_maxlength))

    def validate(self, value):
        if value in self.empty_values and self.required and not self.own_required_message:
            self.rule("")  # raises the rule's "请填写…"
        super().validate(value)

    def rule(self, value: str) -> str:
        raise NotImplementedError

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return ""
        if self.unchanged and value == self.unchanged:
            return value
        return self.rule(value)


class IdNumberField(RuleField):
    """An ID number checked against ``id_type`` (an ``inputs.IdType`` value, or
    ``inputs.RESIDENT_LAYOUT``: any resident-layout number, what most forms take today). A form
    that takes the type sets ``field.id_type`` from it before validation (see ``id_type_from``)."""

    widget_maxlength = 40

    def __init__(self, *, id_type=inputs.RESIDENT_LAYOUT, **kwargs):
        self.id_type = id_type
        kwargs.setdefault("label", "身份证号码")
        super().__init__(**kwargs)
        self.widget.attrs.setdefault("autocomplete", "off")
        self.widget.attrs.setdefault("spellcheck", "false")

    def rule(self, value):
        return inputs.normalize_id_number(self.id_type, value)


class SignInIdNumberField(IdNumberField):
    """Sign-in, sign-up and password reset by ID number, where the account decides the type:
    ``inputs.search_id_number`` (a resident-layout number gets its rule and message; another
    type's number passes if its format takes it)."""

    def rule(self, value):
        return inputs.search_id_number(value)


class PersonNameField(RuleField):
    widget_maxlength = 60

    def __init__(self, **kwargs):
        kwargs.setdefault("label", "姓名")
        super().__init__(**kwargs)

    def rule(self, value):
        return inputs.normalize_person_name(value)


class MobileField(RuleField):
    widget_maxlength = 20

    def __init__(self, **kwargs):
        kwargs.setdefault("label", "手机号码")
        super().__init__(**kwargs)
        self.widget.attrs.setdefault("inputmode", "tel")

    def rule(self, value):
        return inputs.normalize_mobile(value)


class UsccField(RuleField):
    widget_maxlength = 30

    def __init__(self, **kwargs):
        kwargs.setdefault("label", "统一社会信用代码")
        super().__init__(**kwargs)
        self.widget.attrs.setdefault("autocomplete", "off")

    def rule(self, value):
        return inputs.normalize_uscc_input(value)


class AddressField(RuleField):
    widget_maxlength = inputs.ADDRESS_MAX + 20

    def __init__(self, **kwargs):
        kwargs.setdefault("label", "地址")
        super().__init__(**kwargs)

    def rule(self, value):
        return inputs.normalize_address(value, required=self.required)


class UnitNameField(RuleField):
    widget_maxlength = inputs.UNIT_NAME_MAX + 20

    def __init__(self, **kwargs):
        kwargs.setdefault("label", "单位名称")
        super().__init__(**kwargs)

    def rule(self, value):
        return inputs.normalize_unit_name(value)
