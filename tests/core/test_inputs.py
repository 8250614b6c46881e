"""The input rules of shebao.core.inputs: each rule's accepted and refused values, one message."""

import re
from datetime import date
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from shebao.core import inputs as inputs_module
from shebao.core.ids import make_resident_id, make_uscc
from shebao.core.inputs import (
    ID_TYPE_NAMES,
    RESIDENT_LAYOUT,
    UNIT_FIELD_RULES,
    IdType,
    clean_fields,
    id_type_of,
    normalize_address,
    normalize_id_number,
    normalize_mobile,
    normalize_person_name,
    normalize_resident_layout_id,
    normalize_text,
    normalize_unit_name,
    normalize_uscc_input,
)
from shebao.registry.models import Person

RESIDENT = "11010519491231002X"
INNER_SPACE = "身份证号码只能由数字和末位的X组成，不能有空格或其他符号"
HK_PERMIT = make_resident_id("810000", date(1990, 1, 1), 1)
PERMITS = [make_resident_id(area, date(1990, 1, 1), 1) for area in ("810000", "820000", "830000")]
FOREIGN = make_resident_id("911840", date(1990, 1, 1), 1)


def message(rule, *args, **kwargs) -> str:
    with pytest.raises(ValidationError) as e:
        rule(*args, **kwargs)
    assert len(e.value.messages) == 1
    return e.value.messages[0]


def test_id_types_match_the_person_model():
    for value, label in Person.IdType.choices:
        assert ID_TYPE_NAMES[IdType(value)] == label


# --- resident layout --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        RESIDENT,
        "11010519491231002x",
        "  11010519491231002x\t",
        "\u3000１１０１０５１９４９１２３１００２ｘ\u3000",
        "110105491231002",  # 15 digits, upgraded
    ],
)
def test_resident_id_is_trimmed_folded_and_upper_cased(typed):
    assert normalize_id_number(IdType.RESIDENT, typed) == RESIDENT
    assert normalize_resident_layout_id(typed) == RESIDENT


@pytest.mark.parametrize(
    "typed",
    [
        "1101051949123100 2X",
        "110105 19491231002X",
        "110105\u300019491231002X",
        "110105-19491231002X",
        "11010519491231002X.",
        "110105194912310０2X\u200b",
    ],
)
def test_anything_inside_an_id_but_digits_and_x_is_one_message(typed):
    assert message(normalize_resident_layout_id, typed) == INNER_SPACE
    assert message(normalize_id_number, IdType.RESIDENT, typed) == INNER_SPACE


@pytest.mark.parametrize(
    ("typed", "fragment"),
    [
        ("", "请填写身份证号码"),
        ("11010519491231002", "长度应为18位"),
        ("110105194912310021", "校验位错误"),
        ("110105209912310029", "晚于今天"),
        (make_resident_id("191105", date(1990, 1, 1), 1), "前两位（19）不是有效的省级行政区划代码"),
        (make_resident_id("991105", date(1990, 1, 1), 1), "第2–3位（91）"),
    ],
)
def test_bad_resident_ids(typed, fragment):
    assert fragment in message(normalize_resident_layout_id, typed)


@pytest.mark.parametrize("permit", PERMITS, ids=["hongkong", "macao", "taiwan"])
def test_every_residence_permit_area_is_accepted(permit):
    """DOMAIN §6: 810000, 820000 and 830000 (Taiwan) residence permits, on every entry."""
    assert normalize_resident_layout_id(permit.lower()) == permit
    assert normalize_id_number(IdType.HMT_PERMIT, permit) == permit
    assert normalize_id_number(RESIDENT_LAYOUT, permit) == permit
    assert id_type_of(permit) == IdType.HMT_PERMIT
    assert "港澳台居民居住证号码" in message(normalize_id_number, IdType.RESIDENT, permit)


def test_resident_layout_types_are_told_apart():
    assert normalize_id_number(IdType.HMT_PERMIT, HK_PERMIT) == HK_PERMIT
    assert normalize_id_number(IdType.FOREIGN_PR, FOREIGN) == FOREIGN
    assert normalize_id_number(RESIDENT_LAYOUT, FOREIGN) == FOREIGN
    assert id_type_of(HK_PERMIT) == IdType.HMT_PERMIT
    assert id_type_of(FOREIGN) == IdType.FOREIGN_PR
    assert id_type_of(RESIDENT) == IdType.RESIDENT
    assert "港澳台居民居住证号码" in message(normalize_id_number, IdType.RESIDENT, HK_PERMIT)
    assert "与证件类型“港澳台居民居住证”不符" in message(
        normalize_id_number, IdType.HMT_PERMIT, RESIDENT
    )
    assert "外国人永久居留身份证号码" in message(normalize_id_number, IdType.RESIDENT, FOREIGN)


@settings(max_examples=200, deadline=None)
@given(
    area=st.sampled_from(
        ["110105", "310104", "440305", "650102", "810000", "820000", "830000", "931156"]
    ),
    birth=st.dates(min_value=date(1900, 1, 1), max_value=date(2020, 12, 31)),
    order=st.integers(0, 999),
    lower=st.booleans(),
    wide=st.booleans(),
    pad=st.sampled_from(["", " ", "\u3000", "\t"]),
)
def test_any_valid_id_survives_case_width_and_padding(area, birth, order, lower, wide, pad):
    number = make_resident_id(area, birth, order)
    typed = number.lower() if lower else number
    if wide:
        typed = "".join(chr(ord(c) + 0xFEE0) for c in typed)
    assert normalize_resident_layout_id(pad + typed + pad) == number
    assert normalize_id_number(id_type_of(number), typed) == number


@settings(max_examples=200, deadline=None)
@given(number=st.sampled_from([RESIDENT, HK_PERMIT, FOREIGN]), cut=st.integers(1, 17))
def test_an_inner_space_anywhere_is_refused(number, cut):
    assert message(normalize_resident_layout_id, number[:cut] + " " + number[cut:]) == INNER_SPACE


# --- other ID types ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("id_type", "typed", "expected"),
    [
        (IdType.PASSPORT, "e12345678", "E12345678"),
        (IdType.PASSPORT, "ＡＢ１２３４５", "AB12345"),
        (IdType.PASSPORT, "X" * 17, "X" * 17),
        (IdType.HM_TRAVEL_PERMIT, "H12345678", "H12345678"),
        (IdType.HM_TRAVEL_PERMIT, "m1234567801", "M1234567801"),
        (IdType.TW_TRAVEL_PERMIT, "12345678", "12345678"),
        (IdType.TW_TRAVEL_PERMIT, "1234567890", "1234567890"),
        (IdType.FOREIGN_PR_CARD, "usa110090123456", "USA110090123456"),
    ],
)
def test_other_id_types_accept_their_format(id_type, typed, expected):
    assert normalize_id_number(id_type, f" {typed} ") == expected


@pytest.mark.parametrize(
    ("id_type", "typed", "fragment"),
    [
        (IdType.PASSPORT, "E123", "护照号码应为5–17位字母或数字"),
        (IdType.PASSPORT, "X" * 18, "护照号码应为5–17位字母或数字"),
        (IdType.PASSPORT, "E1234 5678", "护照号码只能由字母和数字组成，不能有空格或其他符号"),
        (IdType.PASSPORT, "", "请填写护照号码"),
        (IdType.HM_TRAVEL_PERMIT, "C12345678", "应为H或M加8位数字"),
        (IdType.HM_TRAVEL_PERMIT, "H123456789", "应为H或M加8位数字"),
        (IdType.TW_TRAVEL_PERMIT, "1234567", "应为8位数字"),
        (IdType.FOREIGN_PR_CARD, "US1100901234567", "应为3位字母加12位数字"),
        ("99", "12345678", "请选择证件类型"),
    ],
)
def test_other_id_types_refuse_other_formats(id_type, typed, fragment):
    assert fragment in message(normalize_id_number, id_type, typed)


def test_chinese_passports_have_their_own_format():
    assert normalize_id_number(IdType.PASSPORT, "EA1234567", nationality="CHN") == "EA1234567"
    assert normalize_id_number(IdType.PASSPORT, "G12345678", nationality="chn") == "G12345678"
    assert "E加8位数字" in message(
        normalize_id_number, IdType.PASSPORT, "AB1234567", nationality="CHN"
    )
    assert normalize_id_number(IdType.PASSPORT, "AB1234567", nationality="USA") == "AB1234567"
    assert "3位字母" in message(normalize_id_number, IdType.PASSPORT, "AB1234567", nationality="U")


# --- USCC -------------------------------------------------------------------------------------


def test_uscc_reuses_the_existing_rule_with_the_space_rule():
    assert normalize_uscc_input(" 91350100m000100y43 ") == "91350100M000100Y43"
    assert message(normalize_uscc_input, "91350100M000 100Y43") == "统一社会信用代码中间不能有空格"
    assert "校验位错误" in message(normalize_uscc_input, "91350100M000100Y44")
    assert message(normalize_uscc_input, "") == "请填写统一社会信用代码"
    assert normalize_uscc_input(make_uscc("N2110000MA0000000")).startswith("N2")


# --- names ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("张三", "张三"),
        (" 欧阳娜娜 ", "欧阳娜娜"),
        ("阿依古丽·买买提", "阿依古丽·买买提"),
        ("阿依古丽•买买提", "阿依古丽·买买提"),
        ("阿依古丽．买买提", "阿依古丽·买买提"),
        ("阿依古丽.买买提", "阿依古丽·买买提"),
        ("阿依古丽・买买提", "阿依古丽·买买提"),
        ("李〇", "李〇"),
        ("𠀀𠀁", "𠀀𠀁"),
        ("John Smith", "John Smith"),
        ("John  F.  Kennedy", "John F. Kennedy"),
        ("Jean-Luc Picard", "Jean-Luc Picard"),
        ("O'Brien", "O'Brien"),
        ("José Müller", "José Müller"),
        ("Ｊｏｈｎ", "John"),
        ("A" * 50, "A" * 50),
    ],
)
def test_names_accepted(typed, expected):
    assert normalize_person_name(typed) == expected


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("", "请填写姓名"),
        ("   ", "请填写姓名"),
        ("<script>alert(1)</script>", "姓名不能包含 <、> 等符号"),
        ("张<b>三", "姓名不能包含 <、> 等符号"),
        ('=HYPERLINK("http://x","点我")', "姓名不能以 =、+、-、@ 开头"),
        ("+1-2", "姓名不能以 =、+、-、@ 开头"),
        ("-张三", "姓名不能以 =、+、-、@ 开头"),
        ("@张三", "姓名不能以 =、+、-、@ 开头"),
        ("＝张三", "姓名不能以 =、+、-、@ 开头"),
        ("张3", "姓名不能包含数字"),
        ("张３", "姓名不能包含数字"),
        ("John2", "姓名不能包含数字"),
        ("张\x00三", "姓名不能包含控制字符或不可见字符"),
        ("张\t三", "中文姓名中间不能有空格"),
        ("张\u200b三", "姓名不能包含控制字符或不可见字符"),
        ("张\u202e三", "姓名不能包含控制字符或不可见字符"),
        ("张 三", "中文姓名中间不能有空格"),
        ("A" * 51, "姓名不能超过50个字"),
    ],
)
def test_names_refused_with_one_message(typed, expected):
    assert message(normalize_person_name, typed) == expected


@pytest.mark.parametrize(
    "typed", ["王A", "·张三", "张三·", "张··三", "John_Smith", "John/Smith", "Иван", "J.-", "张三!"]
)
def test_names_of_no_known_form_get_the_general_message(typed):
    assert "姓名只能由中文" in message(normalize_person_name, typed)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_a_name_is_either_refused_or_canonical(text):
    try:
        name = normalize_person_name(text)
    except ValidationError as e:
        assert len(e.messages) == 1
        return
    assert normalize_person_name(name) == name
    assert name == name.strip() and 0 < len(name) <= 50
    assert name[0] not in "=+-@" and "<" not in name and ">" not in name
    assert not any(c.isdigit() for c in name)


# --- mobiles ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "13800138000",
        " 13800138000 ",
        "138 0013 8000",
        "138-0013-8000",
        "+8613800138000",
        "１３８００１３８０００",
    ],
)
def test_mobiles_accepted(typed):
    assert normalize_mobile(typed) == "13800138000"


@pytest.mark.parametrize(
    "typed",
    ["1380013800", "138001380001", "12800138000", "23800138000", "1380013800a", "138.0013.8000"],
)
def test_mobiles_refused_with_one_message(typed):
    assert message(normalize_mobile, typed) == "请填写11位手机号码（以1开头，第二位为3–9）"


def test_blank_mobile():
    assert message(normalize_mobile, " ") == "请填写手机号码"


# --- free text --------------------------------------------------------------------------------


def test_address_rule():
    assert normalize_address("  北京市\n朝阳区   建国路1号 ") == "北京市 朝阳区 建国路1号"
    assert normalize_address("", required=False) == ""
    assert message(normalize_address, "") == "请填写地址"
    assert message(normalize_address, "长" * 201) == "地址不能超过200个字"
    assert normalize_address("长" * 200) == "长" * 200
    assert message(normalize_address, "=cmd|' /C calc'!A0") == "地址不能以 =、+、-、@ 开头"
    assert message(normalize_address, "建国路\x07号") == "地址不能包含控制字符或不可见字符"


def test_unit_name_and_screen_only_text():
    assert normalize_unit_name(" 测试有限公司 ") == "测试有限公司"
    assert message(normalize_unit_name, "长" * 101) == "单位名称不能超过100个字"
    assert message(normalize_unit_name, "@公司") == "单位名称不能以 =、+、-、@ 开头"
    assert message(normalize_unit_name, "<script>alert(1)</script>公司") == (
        "单位名称不能包含 <、> 等符号"
    )
    assert normalize_unit_name("《测试》杂志社") == "《测试》杂志社"
    assert message(normalize_address, "建国路<b>1</b>号") == "地址不能包含 <、> 等符号"
    assert normalize_text("-1 说明", what="说明", max_length=20, formula_guard=False) == "-1 说明"


def test_clean_fields_puts_one_message_per_field():
    data = {
        "name": " 测试有限公司 ",
        "uscc": "91350100M000100Y43",
        "address": "建国路1号",
        "legal_rep_name": "+1-2",
        "legal_rep_id_number": "1101051949123100 2X",
        "contact_name": "李四",
        "contact_mobile": "138 0013 8000",
    }
    errors = clean_fields(data, UNIT_FIELD_RULES)
    assert errors == {
        "legal_rep_name": "姓名不能以 =、+、-、@ 开头",
        "legal_rep_id_number": INNER_SPACE,
    }
    assert data["name"] == "测试有限公司"
    assert data["contact_mobile"] == "13800138000"


def test_the_id_type_groups_are_defined_here_only():
    """One rule: the resident-layout types live in shebao.core.inputs and nowhere else."""
    root = Path(inputs_module.__file__).resolve().parents[1]
    defined = sorted(
        str(p.relative_to(root))
        for p in root.rglob("*.py")
        if re.search(r"^RESIDENT_LAYOUT_TYPES\b.*=", p.read_text(encoding="utf-8"), re.M)
    )
    assert defined == ["core/inputs.py"]
