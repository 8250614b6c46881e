"""Forms of the unit hall's query pages: the roster's filter (GET) and search (POST) with their
light widgets, and the 增员表 export form."""

import unicodedata
from html import escape

from django import forms
from django.utils.safestring import mark_safe

from shebao.core.inputs import search_id_number
from shebao.registry.models import InsuranceType
from shebao.registry.queries import selectors as queries
from shebao.web.forms import StyledForm

TYPE_CHOICES = [("", "全部险种"), *InsuranceType.choices]


def _attrs_html(attrs: dict) -> str:
    """HTML attributes as Django's ``django/forms/widgets/attrs.html`` writes them."""
    return "".join(
        f" {key}" if value is True else f' {key}="{escape(str(value))}"'
        for key, value in attrs.items()
        if value is not False and value is not None
    )


class _PlainSelect(forms.Select):
    """The same ``<select>`` as Django's, joined in Python: the roster page renders its form on
    every load, and the template engine's select (one included template per option and per
    attribute list) cost about a millisecond a page, more than the page's 50 rows."""

    def render(self, name, value, attrs=None, renderer=None):
        chosen = set(self.format_value(value))
        options = "".join(
            f'<option value="{escape(str(v))}"{" selected" if str(v) in chosen else ""}>'
            f"{escape(str(label))}</option>"
            for v, label in self.choices
        )
        final = self.build_attrs(self.attrs, attrs)
        return mark_safe(f'<select name="{escape(name)}"{_attrs_html(final)}>{options}</select>')  # noqa: S308


class _PlainTextInput(forms.TextInput):
    """Django's text ``<input>``, joined in Python (see ``_PlainSelect``)."""

    def render(self, name, value, attrs=None, renderer=None):
        value = self.format_value(value)
        shown = "" if value is None else f' value="{escape(str(value))}"'
        final = self.build_attrs(self.attrs, attrs)
        return mark_safe(f'<input type="text" name="{escape(name)}"{shown}{_attrs_html(final)}>')  # noqa: S308


class RosterFilterForm(StyledForm):
    """The GET parameters of the roster: filter, sort and page (never the search)."""

    insurance_type = forms.ChoiceField(
        label="险种", required=False, choices=TYPE_CHOICES, widget=_PlainSelect
    )
    status = forms.ChoiceField(
        label="参保状态",
        required=False,
        choices=queries.RosterStatus.choices,
        widget=_PlainSelect,
    )
    sort = forms.ChoiceField(
        label="排序", required=False, choices=[(k, k) for k in queries.ROSTER_SORTS]
    )


class RosterSearchForm(RosterFilterForm):
    """The POSTed query form: the search text with the filter."""

    q = forms.CharField(
        label="姓名、证件号码或个人编号",
        required=False,
        max_length=50,
        widget=_PlainTextInput(
            attrs={"autocomplete": "off", "placeholder": "姓名、证件号码或个人编号"}
        ),
    )
    field_order = ["q", "insurance_type", "status", "sort"]

    def clean_q(self):
        """An ID number typed with an inner space gets the ID rule's message (it is no name or
        person number either, so it would silently find nobody)."""
        q = self.cleaned_data["q"]
        words = unicodedata.normalize("NFKC", q).split()
        if len(words) > 1 and queries.RosterSearch.parse("".join(words)).kind == "id":
            search_id_number(q)  # raises the rule's message
        return q


# The values RosterFilterForm accepts, per field (blank included: none is required).
FILTER_VALUES = {
    name: {"", *(str(value) for value, _ in field.choices)}
    for name, field in RosterFilterForm.base_fields.items()
}


def filters_from_query(query) -> dict:
    """The filter and sort in the URL as RosterFilterForm cleans them (one invalid value: none
    of them), checked against the same choices without building the form on every load."""
    data = {}
    for name, allowed in FILTER_VALUES.items():
        value = query.get(name, "")
        if value not in allowed:
            return {}
        data[name] = value
    return data


class AdditionsForm(StyledForm):
    period = forms.CharField(
        label="参保年月", max_length=20, help_text="格式为 yyyyMM，例如 202408"
    )
    full = forms.BooleanField(label="完整导出（导出完整证件号码，将记入审计日志）", required=False)

    def clean_period(self):
        return queries.parse_period(self.cleaned_data["period"])
