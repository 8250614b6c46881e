"""Error messages written for the user, naming the field, in place of Django's defaults.

Django's own messages (and their zh_Hans translations: "确保该变量至少包含 18 字符",
"不允许是用空字符串", "这个字段是必填项") say nothing about which field is meant and read like
a machine. ``word_field_errors`` rewrites, on one form field, every default message of its type
and of its validators (required, invalid, lengths, ranges, digits, choices, files) into plain
Chinese with the field's label: "请填写统一社会信用代码", "统一社会信用代码应为 18 位，现在是
17 位", "请从列表中选择单位类型", "缴费工资应为数字，如 6500.00". A message the form's author
gave (``error_messages=``) is kept. StyledForm calls it on every field before validating, so a
label set after the form was made (a factor's "短信验证码") is the one named.

The messages of Django's password validators are reworded in ``shebao.core.passwords``.
"""

from django import forms

# the attribute on a field that remembers which codes we wrote (to rewrite them with a new label)
_WORDED = "_shebao_worded_codes"


def _kind(field: forms.Field) -> str:
    """The field's family, which decides the verbs and examples of its messages."""
    if isinstance(field, forms.FileField):
        return "image" if isinstance(field, forms.ImageField) else "file"
    if isinstance(field, forms.BooleanField):
        return "boolean"
    if isinstance(field, forms.MultipleChoiceField | forms.ModelMultipleChoiceField):
        return "multiple"
    if isinstance(field, forms.ChoiceField | forms.ModelChoiceField):
        return "choice"
    if isinstance(field, forms.DecimalField | forms.FloatField):  # both subclass IntegerField
        return "number"
    if isinstance(field, forms.IntegerField):
        return "integer"
    if isinstance(field, forms.DateTimeField):
        return "datetime"
    if isinstance(field, forms.DateField):
        return "date"
    if isinstance(field, forms.TimeField):
        return "time"
    if isinstance(field, forms.DurationField):
        return "duration"
    if isinstance(field, forms.EmailField):
        return "email"
    if isinstance(field, forms.URLField):
        return "url"
    return "text"


def _unit(field: forms.Field) -> str:
    """How a length is counted: digits and codes in 位, text in 个字."""
    if isinstance(field.widget, forms.PasswordInput):
        return "位"
    attrs = field.widget.attrs
    if attrs.get("inputmode") in {"numeric", "tel"}:
        return "位"
    min_length = getattr(field, "min_length", None)
    max_length = getattr(field, "max_length", None)
    if min_length is not None and min_length == max_length:
        return "位"
    return "个字"


REQUIRED = {
    "choice": "请选择{L}",
    "multiple": "请选择{L}",
    "boolean": "请勾选{L}",
    "file": "请上传{L}",
    "image": "请上传{L}",
}

INVALID = {
    "integer": "{L}应为整数，如 12",
    "number": "{L}应为数字，如 6500.00",
    "date": "{L}应为日期，如 2025-01-31",
    "datetime": "{L}应为日期和时间，如 2025-01-31 09:30",
    "time": "{L}应为时间，如 09:30",
    "duration": "{L}应为时长，如 1 00:00:00",
    "email": "{L}应为电子邮箱地址，如 name@example.com",
    "url": "{L}应为网址，如 https://www.example.com",
    "file": "{L}没有上传成功，请重新选择文件",
    "image": "{L}没有上传成功，请重新选择文件",
    "multiple": "请从列表中选择{L}",
}


def messages_for(field: forms.Field, label: str) -> dict[str, str]:
    """Every message this field can give, by error code, worded with ``label``."""
    kind = _kind(field)
    unit = _unit(field)
    min_length = getattr(field, "min_length", None)
    max_length = getattr(field, "max_length", None)
    if min_length is not None and min_length == max_length:
        exact = f"{{L}}应为 {max_length} {unit}，现在是 %(show_value)d {unit}"
        too_long = too_short = exact
    else:
        too_long = f"{{L}}最多 %(limit_value)d {unit}，现在是 %(show_value)d {unit}"
        too_short = f"{{L}}至少 %(limit_value)d {unit}，现在是 %(show_value)d {unit}"
    words = {
        "required": REQUIRED.get(kind, "请填写{L}"),
        "invalid": INVALID.get(kind, "{L}的格式不正确，请检查"),
        "max_length": too_long,
        "min_length": too_short,
        "max_value": "{L}不能大于 %(limit_value)s",
        "min_value": "{L}不能小于 %(limit_value)s",
        "step_size": "{L}应为 %(limit_value)s 的整数倍",
        "max_digits": "{L}最多 %(max)s 位数字",
        "max_decimal_places": "{L}最多保留 %(max)s 位小数",
        "max_whole_digits": "{L}的整数部分最多 %(max)s 位",
        "invalid_choice": "请从列表中选择{L}",
        "invalid_list": "请从列表中选择{L}",
        "invalid_pk_value": "请从列表中选择{L}",
        "null_characters_not_allowed": "{L}里有无法显示的控制字符，请删去后再填",
        "overflow": "{L}超出了可以填写的范围",
        "invalid_date": "{L}的日期应如 2025-01-31",
        "invalid_time": "{L}的时间应如 09:30",
        "incomplete": "请把{L}填写完整",
        "missing": "请上传{L}",
        "empty": "{L}是空文件，请重新选择",
        "contradiction": "{L}：请上传新文件或勾选清除，不能同时选择",
        "invalid_image": "{L}不是可以打开的图片，请上传 JPG 或 PNG 图片",
        "invalid_extension": "{L}的文件类型不能接受，请上传 %(allowed_extensions)s 文件",
    }
    if kind in {"file", "image"}:
        words["max_length"] = "{L}的文件名太长，最多 %(max)d 个字，现在是 %(length)d 个"
    # a label with "%" would break the %-formatting of the messages with parameters
    label = label.replace("%", "％")
    return {code: text.replace("{L}", label) for code, text in words.items()}


def _django_defaults(field: forms.Field) -> dict:
    """The default messages Django's own field classes gave this field, by code."""
    defaults = {}
    for cls in reversed(type(field).__mro__):
        if cls.__module__.startswith("django."):
            defaults.update(getattr(cls, "default_error_messages", {}))
    return defaults


def field_label(field: forms.Field, name: str) -> str:
    return str(field.label).strip().rstrip("：:") if field.label else "此项"


def word_field_errors(field: forms.Field, name: str) -> None:
    """Replace the field's Django default messages (and add the validators' ones) with ours.
    A message the form's author set is kept; ours are rewritten if the label changed."""
    worded = getattr(field, _WORDED, set())
    defaults = _django_defaults(field)
    ours = messages_for(field, field_label(field, name))
    for code, text in ours.items():
        current = field.error_messages.get(code)
        if current is None or code in worded or current is defaults.get(code):
            field.error_messages[code] = text
            worded = worded | {code}
    # a code of Django's we have no words for still names the field
    for code, current in list(field.error_messages.items()):
        if code not in ours and current is defaults.get(code):
            field.error_messages[code] = f"{field_label(field, name)}填写有误，请检查"
            worded = worded | {code}
    setattr(field, _WORDED, worded)
