"""The input rules behind the forms: the services (what batch rows and the API call) refuse the
same bad value with the same message as the forms (tests/web/test_input_fields.py), and write
nothing."""

import pytest
from django.core.exceptions import ValidationError

from shebao.core.inputs import normalize_person_name
from shebao.filings.kinds import handler_for
from shebao.filings.models import Filing, FilingKind
from shebao.registry.changes import services as changes
from shebao.registry.enrolment.services import enrolment_save
from shebao.registry.models import Unit
from shebao.registry.services import unit_create
from tests.registry import changes_helpers as h
from tests.registry.changes_helpers import general_change, key_change, licence
from tests.registry.enrolment_helpers import enrol_data

worker = h.worker

INNER_SPACE_ID = "1101051949123100 2X"
INNER_SPACE = "身份证号码只能由数字和末位的X组成，不能有空格或其他符号"
BAD_NAMES = ["<script>alert(1)</script>", '=HYPERLINK("http://x")', "+1-2", "张3"]


def refused(call) -> dict:
    with pytest.raises(ValidationError) as e:
        call()
    return e.value.message_dict


def name_message(value) -> list[str]:
    with pytest.raises(ValidationError) as e:
        normalize_person_name(value)
    return e.value.messages


def test_enrolment_refuses_the_inner_space_id(admin_a):
    errors = refused(lambda: enrolment_save(actor=admin_a, data=enrol_data(INNER_SPACE_ID)))
    assert errors == {"id_number": [INNER_SPACE]}
    assert not Filing.objects.exists()


@pytest.mark.parametrize("name", BAD_NAMES)
def test_enrolment_refuses_a_bad_name(admin_a, name):
    data = enrol_data("11010519491231002x", name=name)
    errors = refused(lambda: enrolment_save(actor=admin_a, data=data))
    assert errors["name"] == name_message(name)
    assert not Filing.objects.exists()


def test_enrolment_normalises_the_id_and_the_name(admin_a):
    data = enrol_data(" 11010519491231002x ", name="阿依古丽•买买提", mobile="138 1111 2222")
    filing = enrolment_save(actor=admin_a, data=data)
    row = filing.rows.get()
    assert row.id_number == "11010519491231002X"
    assert row.name == "阿依古丽·买买提"
    assert row.payload["after"]["mobile"] == "13811112222"


def test_person_key_change_refuses_the_inner_space_id(admin_a, worker):
    errors = refused(lambda: key_change(admin_a, worker, id_number=INNER_SPACE_ID))
    assert errors == {"id_number": [INNER_SPACE]}


@pytest.mark.parametrize("name", BAD_NAMES)
def test_person_key_change_refuses_a_bad_name(admin_a, worker, name):
    assert refused(lambda: key_change(admin_a, worker, name=name)) == {"name": name_message(name)}


def test_person_general_change_refuses_a_formula_address(admin_a, worker):
    errors = refused(lambda: general_change(admin_a, worker, address="+建国路"))
    assert errors == {"address": ["地址不能以 =、+、-、@ 开头"]}


def test_unit_key_change_refuses_the_inner_space_id_and_a_bad_name(admin_a):
    errors = refused(
        lambda: changes.unit_change_save(
            actor=admin_a,
            kind=FilingKind.UNIT_KEY_CHANGE,
            after={"legal_rep_name": "+1-2", "legal_rep_id_number": INNER_SPACE_ID},
            materials=licence(legal_rep=True),
        )
    )
    assert errors["legal_rep_id_number"] == [INNER_SPACE]
    assert errors["legal_rep_name"] == ["姓名不能以 =、+、-、@ 开头"]


def _unit_fields(**overrides) -> dict:
    fields = {
        "name": "规则测试有限公司",
        "uscc": "91350100M000100Y43",
        "unit_type": "10",
        "affiliation": "10",
        "address": "北京市朝阳区建国路1号",
        "legal_rep_name": "王法人",
        "legal_rep_id_number": "11010519491231002X",
        "contact_name": "李联系",
        "contact_mobile": "13800138000",
        "region": "110000",
        "insurance_place": "北京市市本级",
    }
    fields.update(overrides)
    return fields


def test_registration_refuses_the_inner_space_id_and_a_bad_name(region_bj):
    handler = handler_for(FilingKind.UNIT_REGISTRATION)
    payload = _unit_fields(legal_rep_id_number=INNER_SPACE_ID, contact_name="<b>李</b>")
    errors = refused(lambda: handler.clean_payload(payload, filing=None))
    assert errors["legal_rep_id_number"] == [INNER_SPACE]
    assert errors["contact_name"] == ["姓名不能包含 <、> 等符号"]


def test_counter_registration_refuses_the_inner_space_id(staff_bj, region_bj):
    fields = _unit_fields(legal_rep_id_number=INNER_SPACE_ID, contact_mobile="1380013800")
    errors = refused(lambda: unit_create(actor=staff_bj, region=region_bj, fields=fields))
    assert errors["legal_rep_id_number"] == [INNER_SPACE]
    assert errors["contact_mobile"] == ["请填写11位手机号码（以1开头，第二位为3–9）"]
    assert not Unit.objects.filter(name="规则测试有限公司").exists()
