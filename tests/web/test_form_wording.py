"""No form of ours shows Django's default wording: every form class in the shebao package is
bound with empty data and with wrong values per field, and its errors (str of each, as the
templates print them) are searched for Django's own zh_Hans messages.

The fragments are generated from Django's catalogs (django/conf/locale/zh_Hans and
contrib/auth's): the msgstrs of the msgids that Django's forms, validators, model fields and
password validators use as error messages (found in their source with ``ast``), cut at the
placeholders and punctuation."""

import ast
import importlib
import inspect
import pkgutil
import re
from decimal import Decimal
from functools import cache
from pathlib import Path
from types import SimpleNamespace

import django
import pytest
from django import forms
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.datastructures import MultiValueDict

import shebao
from shebao.filings.models import FilingKind
from shebao.web.forms import StyledForm, StyledFormMixin

DJANGO = Path(django.__file__).parent
CATALOGS = [
    DJANGO / "conf/locale/zh_Hans/LC_MESSAGES/django.po",
    DJANGO / "contrib/auth/locale/zh_Hans/LC_MESSAGES/django.po",
]
ERROR_SOURCES = [
    "forms/*.py",
    "core/validators.py",
    "db/models/fields/*.py",
    "db/models/base.py",
    "contrib/auth/password_validation.py",
    "contrib/auth/forms.py",
]
# where a message of Django's is written: these names assigned, these calls, these methods
MESSAGE_NAMES = {"default_error_messages", "error_messages", "message", "messages"}
MESSAGE_METHODS = {"get_error_message"}
# the examples of the issue, and words no message of ours uses
HAND_FRAGMENTS = ["变量", "确保该值", "确保此值", "输入一个有效的", "字符（目前", "是用空字符串"]
SPLIT = re.compile(r"%\(\w+\)[sdr]|%[sd]|\{\w*\}|[\s。，、：；,.:;!！?？()（）“”\"'《》\[\]/]+")


# --- Django's catalog --------------------------------------------------------------------------


def parse_po(path: Path) -> list[dict[str, str]]:
    entries, entry, key = [], {}, None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            if entry:
                entries.append(entry)
            entry, key = {}, None
            continue
        m = re.match(r'(msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?) (".*")$', line)
        if m:
            key = m.group(1)
            entry[key] = ast.literal_eval(m.group(2))
        elif line.startswith('"') and key:
            entry[key] += ast.literal_eval(line)
    if entry:
        entries.append(entry)
    return entries


def _strings(node) -> set[str]:
    return {
        n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }


def _is_message_target(target) -> bool:
    name = getattr(target, "id", None) or getattr(target, "attr", None)
    return name in MESSAGE_NAMES


@cache
def django_error_msgids() -> frozenset[str]:
    found = set()
    for pattern in ERROR_SOURCES:
        for path in DJANGO.glob(pattern):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    if any(_is_message_target(t) for t in targets):
                        found |= _strings(node.value)
                elif isinstance(node, ast.Call):
                    func = node.func
                    if getattr(func, "id", getattr(func, "attr", "")) == "ValidationError":
                        found |= _strings(node)
                elif isinstance(node, ast.FunctionDef) and node.name in MESSAGE_METHODS:
                    found |= _strings(node)
    return frozenset(found)


@cache
def django_messages() -> tuple[str, ...]:
    """The zh_Hans msgstrs of Django's error messages."""
    msgids = django_error_msgids()
    out = []
    for catalog in CATALOGS:
        for entry in parse_po(catalog):
            if entry.get("msgid") in msgids or entry.get("msgid_plural") in msgids:
                out += [v for k, v in entry.items() if k.startswith("msgstr") and v]
    return tuple(out)


@cache
def django_fragments() -> tuple[str, ...]:
    """Pieces of Django's messages long enough to be recognised (4 characters and more, with a
    Chinese character), plus the issue's examples."""
    pieces = set(HAND_FRAGMENTS)
    for message in django_messages():
        for piece in SPLIT.split(message):
            if len(piece) >= 4 and re.search(r"[\u4e00-\u9fff]", piece):
                pieces.add(piece)
    return tuple(sorted(pieces))


@cache
def django_patterns() -> tuple[re.Pattern, ...]:
    """Each Django message as a pattern: a placeholder matches anything."""
    patterns = []
    for message in django_messages():
        parts = re.split(r"%\(\w+\)[sdr]|%[sd]|\{\w*\}", message.strip())
        patterns.append(re.compile(".*".join(re.escape(p.strip()) for p in parts), re.S))
    return tuple(patterns)


def is_django_wording(message: str) -> bool:
    return any(f in message for f in django_fragments()) or any(
        p.fullmatch(message.strip()) for p in django_patterns()
    )


def test_the_catalog_yields_the_known_default_messages():
    fragments = django_fragments()
    for known in [
        "不允许是用空字符串",
        "这个字段是必填项",
        "选择一个有效的选项",
        "确保该变量至少包含",
    ]:
        assert known in fragments
    assert "这个密码太常见了" in fragments
    assert len(fragments) > 50
    assert is_django_wording("确保该变量至少包含 18 字符(目前字符数 17)。")
    assert not is_django_wording("请填写统一社会信用代码")


# --- every form of ours ------------------------------------------------------------------------


def shebao_form_classes() -> list[type]:
    for module in pkgutil.walk_packages(shebao.__path__, "shebao."):
        if module.name.rsplit(".", 1)[-1].startswith("forms"):
            importlib.import_module(module.name)
    seen, todo = [], [forms.BaseForm]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            todo.append(sub)
            if sub.__module__.startswith("shebao.") and sub not in seen:
                seen.append(sub)
    return sorted(seen, key=lambda c: f"{c.__module__}.{c.__qualname__}")


INJURY_STATE = {"benchmark": Decimal("0.004"), "factors": [Decimal("1.00")], "next_open": None}
LOOKUP = SimpleNamespace(person=None, available=["110", "210"], open_here=[])

# forms built several ways, by their ``kind`` (the fields differ per kind)
KINDS = {
    "BackPayForm": [FilingKind.BACK_PAY, FilingKind.ADJUST_PAY, FilingKind.SUPPLEMENT_PAY],
    "EnrolmentForm": [FilingKind.ENROLMENT, FilingKind.TRANSFER_IN],
    "StopForm": [FilingKind.STOP, FilingKind.TRANSFER_OUT],
}


def arguments(w: SimpleNamespace) -> dict:
    """The small table of constructor arguments, by parameter name."""
    return {
        "regions": [w.region],
        "unit": w.unit,
        "actor": w.staff,
        "before": {},
        "state": INJURY_STATE,
        "current_period": 202601,
        "lookup": LOOKUP,
    }


# a form whose argument of that name takes another shape
OVERRIDES = {"CalculatorForm": lambda w: {"regions": [(w.region.code, w.region.name)]}}


def form_variants(cls, w) -> list[dict]:
    """One set of keyword arguments per way the form is built."""
    table = arguments(w)
    needed = [
        p.name
        for c in cls.__mro__
        if "__init__" in vars(c)
        for p in inspect.signature(c.__init__).parameters.values()
        if p.kind is p.KEYWORD_ONLY and p.default is p.empty
    ]
    kwargs = {}
    for name in needed:
        if name == "kind":
            continue
        assert name in table, f"{cls.__qualname__} needs {name!r}: add it to arguments()"
        kwargs[name] = table[name]
    kwargs.update(OVERRIDES.get(cls.__name__, lambda w: {})(w))
    if "kind" in needed:
        assert cls.__name__ in KINDS, f"{cls.__qualname__} needs a kind: add it to KINDS"
        return [{**kwargs, "kind": kind} for kind in KINDS[cls.__name__]]
    return [kwargs]


def bad_value(field: forms.Field, variant: str):
    """A wrong value for the field: 'long' (too long / not a number / not a choice / not a
    date / an empty file) or 'short' (one character / out of range / a date of 1800)."""
    if isinstance(field, forms.FileField):
        return SimpleUploadedFile("空.pdf", b"", content_type="application/pdf")
    if isinstance(field, forms.MultipleChoiceField):
        return ["没有这一项"]
    if isinstance(field, forms.ChoiceField):
        return "没有这一项"
    if isinstance(field, forms.BooleanField):
        return ""
    if isinstance(field, forms.IntegerField | forms.DecimalField | forms.FloatField):
        return "abc" if variant == "long" else "-123456789012345.6789"
    if isinstance(field, forms.DateField):
        return "2025-13-45" if variant == "long" else "18000101"
    return "字" * 300 if variant == "long" else "1"


def bind(cls, kwargs: dict, variant: str) -> forms.BaseForm:
    probe = cls(**kwargs)
    if variant == "empty":
        return cls(data={}, files={}, **kwargs)
    data, files = {}, {}
    for name, field in probe.fields.items():
        value = bad_value(field, variant)
        if isinstance(field, forms.FileField):
            files[probe.add_prefix(name)] = value
        else:
            data[probe.add_prefix(name)] = value
    multi = MultiValueDict({k: v if isinstance(v, list) else [v] for k, v in data.items()})
    return cls(data=multi, files=MultiValueDict({k: [v] for k, v in files.items()}), **kwargs)


def rendered_errors(form: forms.BaseForm) -> list[tuple[str, str]]:
    """(field name or "", message) as the templates print them."""
    out = []
    for name, errors in form.errors.items():
        for error in errors:
            out.append(("" if name == "__all__" else name, str(error)))
    return out


@pytest.fixture
def world(region_bj, unit_a, staff_bj):
    return SimpleNamespace(region=region_bj, unit=unit_a, staff=staff_bj)


def test_every_form_is_a_styled_form(db):
    classes = shebao_form_classes()
    assert len(classes) > 30
    strays = [f"{c.__module__}.{c.__qualname__}" for c in classes if StyledFormMixin not in c.mro()]
    assert strays == []


@pytest.mark.django_db
@pytest.mark.parametrize("variant", ["empty", "long", "short"])
def test_no_form_shows_djangos_default_wording(world, variant):
    leaks, unnamed, checked = [], [], 0
    for cls in shebao_form_classes():
        for kwargs in form_variants(cls, world):
            form = bind(cls, kwargs, variant)
            for name, message in rendered_errors(form):
                checked += 1
                where = f"{cls.__name__}.{name or '__all__'}: {message}"
                if is_django_wording(message):
                    leaks.append(where)
                if name and name in form.fields:
                    label = str(form.fields[name].label or "")
                    if label not in message and any(
                        p.fullmatch(message) for p in django_patterns()
                    ):
                        unnamed.append(where)
    assert checked > 50
    assert leaks == []
    assert unnamed == []


# --- StyledForm's words, field by field --------------------------------------------------------


class SampleForm(StyledForm):
    uscc = forms.CharField(label="统一社会信用代码", min_length=18, max_length=18)
    remark = forms.CharField(label="备注", max_length=10, required=False)
    unit_type = forms.ChoiceField(label="单位类型", choices=[("", "请选择"), ("10", "企业")])
    kinds = forms.MultipleChoiceField(label="险种", choices=[("110", "养老")], required=False)
    wage = forms.DecimalField(label="缴费工资", max_digits=8, decimal_places=2, min_value=0)
    months = forms.IntegerField(label="月数", max_value=12, required=False)
    start = forms.DateField(label="开始日期", required=False)
    photo = forms.FileField(label="照片", required=False)
    agree = forms.BooleanField(label="同意条款")
    own = forms.CharField(label="自定", error_messages={"required": "作者自己的话"})


def errors_of(data, files=None) -> dict:
    form = SampleForm(data, files or {})
    form.is_valid()
    return {k: list(v) for k, v in form.errors.items()}


def test_required_fields_are_named():
    errors = errors_of({})
    assert errors["uscc"] == ["请填写统一社会信用代码"]
    assert errors["unit_type"] == ["请选择单位类型"]
    assert errors["wage"] == ["请填写缴费工资"]
    assert errors["agree"] == ["请勾选同意条款"]
    assert errors["own"] == ["作者自己的话"]


def test_lengths_choices_numbers_dates_and_files_are_named():
    errors = errors_of(
        {
            "uscc": "1" * 17,
            "remark": "长" * 11,
            "unit_type": "99",
            "kinds": ["999"],
            "wage": "abc",
            "months": "13",
            "start": "2025-13-45",
        },
        {"photo": SimpleUploadedFile("a.jpg", b"")},
    )
    assert errors["uscc"] == ["统一社会信用代码应为 18 位，现在是 17 位"]
    assert errors["remark"] == ["备注最多 10 个字，现在是 11 个字"]
    assert errors["unit_type"] == ["请从列表中选择单位类型"]
    assert errors["kinds"] == ["请从列表中选择险种"]
    assert errors["wage"] == ["缴费工资应为数字，如 6500.00"]
    assert errors["months"] == ["月数不能大于 12"]
    assert errors["start"] == ["开始日期应为日期，如 2025-01-31"]
    assert errors["photo"] == ["照片是空文件，请重新选择"]


def test_digits_and_range_of_decimals():
    assert errors_of({"wage": "1.234"})["wage"] == ["缴费工资最多保留 2 位小数"]
    assert errors_of({"wage": "1234567.0"})["wage"] == ["缴费工资的整数部分最多 6 位"]
    assert errors_of({"wage": "-1"})["wage"] == ["缴费工资不能小于 0"]


def test_a_label_set_after_the_form_was_made_is_the_one_named():
    form = SampleForm({})
    form.fields["uscc"].label = "新代码"
    form.is_valid()
    assert form.errors["uscc"] == ["请填写新代码"]
