"""One input rule per field, on every path: the same bad value is refused with the same message
by every form that takes the field (and by the services behind them, in
tests/registry/test_input_rules.py); good values come out canonical everywhere."""

from datetime import date
from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError

from shebao.accounts.forms import (
    ForgotIdentifyForm,
    OperatorCreateForm,
    PersonLoginForm,
    PersonSignupIdentifyForm,
    UnitBindForm,
)
from shebao.contributions.backpay.forms import BackPayForm
from shebao.core import inputs
from shebao.core.ids import make_resident_id
from shebao.filings.models import FilingKind
from shebao.registry.changes.forms import (
    PersonGeneralChangeForm,
    PersonKeyChangeForm,
    UnitGeneralChangeForm,
    UnitKeyChangeForm,
)
from shebao.registry.enrolment.forms import EnrolmentForm, LookupForm
from shebao.registry.forms import CounterUnitForm
from shebao.registry.registration.forms import ReopenForm, UnitRegistrationForm
from shebao.web.fields import IdNumberField

RESIDENT = "11010519491231002X"


def _enrolment(data):
    lookup = SimpleNamespace(person=None, available=["110", "310"], open_here=[])
    unit = SimpleNamespace(region=SimpleNamespace(current_period=202506))
    return EnrolmentForm(data, lookup=lookup, kind=FilingKind.ENROLMENT, unit=unit)


FORMS = {
    "registration": lambda d: UnitRegistrationForm(d, regions=[]),
    "counter": lambda d: CounterUnitForm(d, regions=[]),
    "reopen": ReopenForm,
    "enrolment_lookup": LookupForm,
    "enrolment": _enrolment,
    "person_key_change": lambda d: PersonKeyChangeForm(d, before={}, id_type="01"),
    "person_general_change": lambda d: PersonGeneralChangeForm(d, before={}),
    "unit_general_change": lambda d: UnitGeneralChangeForm(d, before={}),
    "unit_key_change": lambda d: UnitKeyChangeForm(d, before={}),
    "back_pay": lambda d: BackPayForm(
        d, kind=FilingKind.BACK_PAY, unit=SimpleNamespace(insurance_types=["110"])
    ),
    "person_login": PersonLoginForm,
    "forgot_password": ForgotIdentifyForm,
    "person_signup": PersonSignupIdentifyForm,
    "unit_bind": UnitBindForm,
    "operator_create": OperatorCreateForm,
}

# Every (form, field) that takes each kind of value: a new form with such a field belongs here.
ID_FIELDS = [
    ("registration", "legal_rep_id_number"),
    ("counter", "legal_rep_id_number"),
    ("unit_key_change", "legal_rep_id_number"),
    ("enrolment_lookup", "id_number"),
    ("person_key_change", "id_number"),
    ("back_pay", "id_number"),
    ("person_login", "id_number"),
    ("forgot_password", "id_number"),
    ("person_signup", "id_number"),
]
NAME_FIELDS = [
    ("registration", "legal_rep_name"),
    ("registration", "contact_name"),
    ("counter", "legal_rep_name"),
    ("enrolment", "name"),
    ("person_key_change", "name"),
    ("unit_general_change", "contact_name"),
    ("unit_key_change", "legal_rep_name"),
    ("person_signup", "name"),
    ("unit_bind", "display_name"),
    ("operator_create", "display_name"),
]
MOBILE_FIELDS = [
    ("registration", "contact_mobile"),
    ("counter", "contact_mobile"),
    ("reopen", "mobile"),
    ("enrolment", "mobile"),
    ("person_general_change", "mobile"),
    ("unit_general_change", "contact_mobile"),
    ("unit_bind", "mobile"),
    ("operator_create", "mobile"),
]
USCC_FIELDS = [
    ("registration", "uscc"),
    ("counter", "uscc"),
    ("unit_key_change", "uscc"),
]
ADDRESS_FIELDS = [
    ("registration", "address"),
    ("counter", "address"),
    ("enrolment", "address"),
    ("person_general_change", "address"),
    ("unit_general_change", "address"),
]


def rule_message(rule, value) -> str:
    with pytest.raises(ValidationError) as e:
        rule(value)
    return e.value.messages[0]


def form_errors(form_name: str, field: str, value: str) -> list[str]:
    form = FORMS[form_name]({field: value})
    form.is_valid()
    return form.errors.get(field, [])


def cleaned(form_name: str, field: str, value: str):
    form = FORMS[form_name]({field: value})
    form.is_valid()
    assert field not in form.errors, form.errors[field]
    return form.cleaned_data[field]


def cases(fields, values):
    return [
        pytest.param(form, field, value, id=f"{form}.{field}-{i}")
        for form, field in fields
        for i, value in enumerate(values)
    ]


# --- ID numbers -------------------------------------------------------------------------------

BAD_IDS = [
    "1101051949123100 2X",  # the inner space
    "110105194912310021",  # check digit
    "1101051949123100",  # length
    "110105209912310029",  # born in the future
]


@pytest.mark.parametrize(("form", "field", "value"), cases(ID_FIELDS, BAD_IDS))
def test_a_bad_id_number_gets_the_same_message_on_every_form(form, field, value):
    expected = rule_message(inputs.normalize_resident_layout_id, value)
    assert form_errors(form, field, value) == [expected]


@pytest.mark.parametrize(
    ("form", "field", "value"),
    cases(
        ID_FIELDS,
        [" 11010519491231002x ", "１１０１０５１９４９１２３１００２ｘ", "110105491231002"],
    ),
)
def test_an_id_number_is_normalised_on_every_form(form, field, value):
    assert cleaned(form, field, value) == RESIDENT


# Residence permits of Hong Kong, Macao and Taiwan residents (DOMAIN §6).
PERMITS = [make_resident_id(area, date(1990, 1, 1), 1) for area in ("810000", "820000", "830000")]


@pytest.mark.parametrize(("form", "field", "value"), cases(ID_FIELDS, PERMITS))
def test_a_residence_permit_is_accepted_on_every_form(form, field, value):
    if form == "person_key_change":  # checks the person's own type: a permit holder's
        form_obj = PersonKeyChangeForm({field: value.lower()}, before={}, id_type="02")
        assert form_obj.is_valid(), form_obj.errors
        assert form_obj.cleaned_data[field] == value
        return
    assert cleaned(form, field, value.lower()) == value


def test_the_inner_space_message_is_the_one_message():
    for form, field in ID_FIELDS:
        assert form_errors(form, field, "1101051949123100 2X") == [
            "身份证号码只能由数字和末位的X组成，不能有空格或其他符号"
        ], form


def test_the_person_key_change_checks_the_persons_own_type():
    form = PersonKeyChangeForm({"id_number": "e12345678"}, before={}, id_type="04")
    assert form.is_valid(), form.errors
    assert form.cleaned_data["id_number"] == "E12345678"
    form = PersonKeyChangeForm({"id_number": "E1234 5678"}, before={}, id_type="04")
    assert not form.is_valid()
    assert form.errors["id_number"] == ["护照号码只能由字母和数字组成，不能有空格或其他符号"]
    form = PersonKeyChangeForm({"id_number": RESIDENT}, before={}, id_type="04")
    assert not form.is_valid()  # 18 characters are no passport


def test_a_form_that_takes_the_type_checks_the_number_against_it():
    field = IdNumberField(id_type=inputs.IdType.HM_TRAVEL_PERMIT)
    assert field.clean(" h12345678 ") == "H12345678"
    with pytest.raises(ValidationError) as e:
        field.clean(RESIDENT)
    assert e.value.messages == ["港澳居民来往内地通行证号码应为H或M加8位数字（可再加2位换证次数）"]


def test_sign_in_takes_a_passport_holders_number():
    form = PersonLoginForm({"id_number": "e12345678", "password": "x"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["id_number"] == "E12345678"


# --- names ------------------------------------------------------------------------------------

BAD_NAMES = [
    "<script>alert(1)</script>",
    '=HYPERLINK("http://x","点我")',
    "+1-2",
    "@张三",
    "张3",
    "张\u200b三",
    "王A",
    "A" * 51,
]


@pytest.mark.parametrize(("form", "field", "value"), cases(NAME_FIELDS, BAD_NAMES))
def test_a_bad_name_gets_the_same_message_on_every_form(form, field, value):
    expected = rule_message(inputs.normalize_person_name, value)
    assert form_errors(form, field, value) == [expected]


@pytest.mark.parametrize(
    ("form", "field", "value"),
    cases(NAME_FIELDS, ["阿依古丽•买买提", " 阿依古丽．买买提 ", "阿依古丽·买买提"]),
)
def test_a_name_is_normalised_on_every_form(form, field, value):
    assert cleaned(form, field, value) == "阿依古丽·买买提"


# --- mobiles, USCC, addresses -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("form", "field", "value"), cases(MOBILE_FIELDS, ["1380013800", "12800138000", "1380013800a"])
)
def test_a_bad_mobile_gets_the_same_message_on_every_form(form, field, value):
    assert form_errors(form, field, value) == ["请填写11位手机号码（以1开头，第二位为3–9）"]


@pytest.mark.parametrize(
    ("form", "field", "value"), cases(MOBILE_FIELDS, ["138 0013 8000", "１３８００１３８０００"])
)
def test_a_mobile_is_normalised_on_every_form(form, field, value):
    assert cleaned(form, field, value) == "13800138000"


@pytest.mark.parametrize(
    ("form", "field", "value"),
    cases(USCC_FIELDS, ["91350100M000 100Y43", "91350100M000100Y44", "91350100M000100Y4"]),
)
def test_a_bad_uscc_gets_the_same_message_on_every_form(form, field, value):
    expected = rule_message(inputs.normalize_uscc_input, value)
    assert form_errors(form, field, value) == [expected]


@pytest.mark.parametrize(("form", "field", "value"), cases(USCC_FIELDS, [" 91350100m000100y43 "]))
def test_a_uscc_is_normalised_on_every_form(form, field, value):
    assert cleaned(form, field, value) == "91350100M000100Y43"


@pytest.mark.parametrize(
    ("form", "field", "value"),
    cases(ADDRESS_FIELDS, ["=cmd|' /C calc'!A0", "-建国路", "建国路\x07号", "长" * 201]),
)
def test_a_bad_address_gets_the_same_message_on_every_form(form, field, value):
    expected = rule_message(inputs.normalize_address, value)
    assert form_errors(form, field, value) == [expected]


@pytest.mark.parametrize(
    ("form", "field", "value"), cases(ADDRESS_FIELDS, ["  北京市\n朝阳区  建国路1号 "])
)
def test_an_address_is_normalised_on_every_form(form, field, value):
    assert cleaned(form, field, value) == "北京市 朝阳区 建国路1号"


def test_a_blank_required_field_gets_the_rules_message():
    form = UnitRegistrationForm({}, regions=[])
    form.is_valid()
    assert form.errors["legal_rep_id_number"] == ["请填写身份证号码"]
    assert form.errors["legal_rep_name"] == ["请填写姓名"]
    assert form.errors["contact_mobile"] == ["请填写手机号码"]
    assert form.errors["uscc"] == ["请填写统一社会信用代码"]
    assert form.errors["address"] == ["请填写地址"]


def test_a_change_form_keeps_an_old_style_stored_value_sent_back_unchanged():
    before = {"contact_name": "张 三", "contact_mobile": "13800138000", "address": "-"}
    form = UnitGeneralChangeForm(dict(before), before=before)
    assert form.is_valid(), form.errors
    form = UnitGeneralChangeForm({**before, "address": "-新"}, before=before)
    assert not form.is_valid()
    assert form.errors["address"] == ["地址不能以 =、+、-、@ 开头"]
