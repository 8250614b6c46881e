from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import ric as stdnum_ric
from stdnum.cn import uscc as stdnum_uscc

from shebao.core.ids import (
    USCC_ALPHABET,
    make_resident_id,
    make_uscc,
    mask_id_number,
    mask_mobile,
    normalize_org_code,
    normalize_resident_id,
    normalize_uscc,
    resident_id_birth_date,
    resident_id_sex,
    uscc_org_code,
    validate_resident_id,
    validate_uscc,
)

TODAY = date(2025, 6, 15)
AREAS = [
    "110105",  # Beijing Chaoyang
    "310104",  # Shanghai Xuhui
    "360426",  # Jiangxi De'an
    "440305",  # Shenzhen Nanshan
    "510107",  # Chengdu Wuhou
    "650102",  # Urumqi Tianshan
    "810000",  # Hong Kong residence permit
    "820000",  # Macao residence permit
    "830000",  # Taiwan residence permit
    "911840",  # foreigner permanent residence (9 + province 11 + nationality 840)
    "931156",
]

areas = st.sampled_from(AREAS)
births = st.dates(min_value=date(1900, 1, 1), max_value=TODAY)
orders = st.integers(min_value=0, max_value=999)
quick = settings(max_examples=60, deadline=None)


def _messages(exc: pytest.ExceptionInfo[ValidationError]) -> str:
    return " ".join(exc.value.messages)


# -- resident ID: examples -------------------------------------------------------------------


@pytest.mark.parametrize("value", ["11010519491231002X", "360426199101010071"])
def test_documented_examples_are_valid(value: str) -> None:
    assert normalize_resident_id(value, today=TODAY) == value
    validate_resident_id(value)


def test_lower_case_x_and_spaces_are_normalised() -> None:
    assert normalize_resident_id(" 110105 19491231 002x ", today=TODAY) == "11010519491231002X"
    assert normalize_resident_id("１１０１０５１９４９１２３１００２ｘ") == "11010519491231002X"


def test_birth_date_and_sex() -> None:
    assert resident_id_birth_date("11010519491231002X") == date(1949, 12, 31)
    assert resident_id_sex("11010519491231002X") == "2"
    assert resident_id_birth_date("360426199101010071") == date(1991, 1, 1)
    assert resident_id_sex("360426199101010071") == "1"


def test_future_birth_date_is_rejected() -> None:
    # stdnum.cn.ric accepts this one; we must not.
    assert stdnum_ric.is_valid("110105209912310029")
    with pytest.raises(ValidationError, match="出生日期") as exc:
        normalize_resident_id("110105209912310029")
    assert exc.value.code == "invalid"


def test_birth_date_today_is_accepted_tomorrow_rejected() -> None:
    assert normalize_resident_id(make_resident_id("110105", TODAY, 1), today=TODAY)
    tomorrow = make_resident_id("110105", TODAY + timedelta(days=1), 1)
    with pytest.raises(ValidationError, match="晚于今天"):
        normalize_resident_id(tomorrow, today=TODAY)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "请填写"),
        ("1101051949123100", "长度"),
        ("1101051949123100211", "长度"),
        ("11010519491231002Y", "校验位"),
        ("11010519491231002A", "校验位"),
        ("1101051949123A002X", "前17位"),
        ("11010519491231002Z", "校验位"),
        ("110105194902300020", "出生日期"),  # 30 February
        ("110105194913010020", "出生日期"),  # month 13
        ("11010517991231002X", "出生日期"),  # before 1800 (checked before the check char)
        ("11010519491231003X", "校验位"),
        ("010105194912310020", "地区码"),
        ("710105194912310020", "地区码"),
        ("840000199001010010", "地区码"),
        ("11010549123100A", "15位"),
        ("810105491231002", "地区码"),  # 15-digit IDs are never residence permits
    ],
)
def test_invalid_ids_say_what_is_wrong(value: str, reason: str) -> None:
    with pytest.raises(ValidationError) as exc:
        normalize_resident_id(value, today=TODAY)
    assert reason in _messages(exc)
    assert exc.value.code == "invalid"


def test_residence_permits_and_foreigner_ids() -> None:
    for area in ("810000", "820000", "830000", "911840"):
        number = make_resident_id(area, date(1990, 1, 1), 1)
        assert normalize_resident_id(number, today=TODAY) == number
        assert not stdnum_ric.is_valid(number)  # the gap we cover


def test_invalid_permit_area_message() -> None:
    with pytest.raises(ValidationError, match="810000"):
        normalize_resident_id(make_resident_id("810100", date(1990, 1, 1), 1), today=TODAY)


# -- resident ID: 15 -> 18 upgrade -----------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("110105491231002", "11010519491231002X"),
        ("360426910101007", "360426199101010071"),
        ("110105991231996", make_resident_id("110105", date(1899, 12, 31), 996)),
        ("110105000101999", make_resident_id("110105", date(1800, 1, 1), 999)),
        ("110105000101995", make_resident_id("110105", date(1900, 1, 1), 995)),
    ],
)
def test_fifteen_digit_upgrade(old: str, new: str) -> None:
    assert normalize_resident_id(old, today=TODAY) == new


def test_fifteen_digit_upgrade_checks_the_date() -> None:
    with pytest.raises(ValidationError, match="19000229"):  # 1900 is not a leap year
        normalize_resident_id("110105000229995", today=TODAY)


@quick
@given(area=st.sampled_from(AREAS[:6]), birth=births, order=orders)
def test_fifteen_digit_upgrade_property(area: str, birth: date, order: int) -> None:
    if not 1900 <= birth.year <= 1999 or order >= 996:
        birth = birth.replace(year=1900 + birth.year % 100, day=min(birth.day, 28))
        order %= 996
    old = f"{area}{birth:%y%m%d}{order:03d}"
    assert normalize_resident_id(old, today=TODAY) == make_resident_id(area, birth, order)


# -- resident ID: properties -----------------------------------------------------------------


@quick
@given(area=areas, birth=births, order=orders)
def test_generated_ids_round_trip(area: str, birth: date, order: int) -> None:
    number = make_resident_id(area, birth, order)
    assert len(number) == 18
    assert normalize_resident_id(number, today=TODAY) == number
    assert normalize_resident_id(number.lower(), today=TODAY) == number
    assert resident_id_birth_date(number) == birth
    assert resident_id_sex(number) == ("1" if order % 2 else "2")
    # Our check character agrees with python-stdnum's.
    assert stdnum_ric.calc_check_digit(number) == number[-1]


@quick
@given(
    area=areas,
    birth=births,
    order=orders,
    position=st.integers(min_value=0, max_value=17),
    replacement=st.sampled_from("0123456789X"),
)
def test_single_character_corruption_is_rejected(
    area: str, birth: date, order: int, position: int, replacement: str
) -> None:
    number = make_resident_id(area, birth, order)
    if number[position] == replacement:
        return
    corrupted = number[:position] + replacement + number[position + 1 :]
    with pytest.raises(ValidationError):
        normalize_resident_id(corrupted, today=TODAY)


@quick
@given(area=areas, days=st.integers(min_value=1, max_value=365 * 80), order=orders)
def test_future_birth_dates_rejected(area: str, days: int, order: int) -> None:
    number = make_resident_id(area, TODAY + timedelta(days=days), order)
    with pytest.raises(ValidationError, match="出生日期"):
        normalize_resident_id(number, today=TODAY)


def test_make_resident_id_rejects_bad_parts() -> None:
    with pytest.raises(ValueError, match="地区码"):
        make_resident_id("11010", date(1990, 1, 1), 1)
    with pytest.raises(ValueError, match="顺序码"):
        make_resident_id("110105", date(1990, 1, 1), 1000)


# -- masking ---------------------------------------------------------------------------------


def test_mask_id_number() -> None:
    assert mask_id_number("11010519491231002X") == "1101**********002X"
    assert mask_id_number("11010519491231002x") == "1101**********002X"
    assert mask_id_number("110105491231002") == "110*********002"
    assert mask_id_number("E12345678") == "E1*****78"
    assert mask_id_number("") == ""
    assert mask_id_number(None) == ""
    assert mask_id_number("123") == "***"


@given(st.text(alphabet="0123456789X", max_size=30))
@settings(max_examples=80)
def test_masks_never_reveal_more_than_half(value: str) -> None:
    masks = [mask_id_number(value)]
    if len(value) != 11:  # 11-digit mobiles use the customary 138****5678
        masks.append(mask_mobile(value))
    for masked in masks:
        assert len(masked) == len(value)
        assert masked.count("*") * 2 >= len(value)


def test_mask_mobile() -> None:
    assert mask_mobile("13812345678") == "138****5678"
    assert mask_mobile("138 1234 5678") == "138****5678"
    assert mask_mobile("") == ""
    assert mask_mobile("12345") == "1***5"


# -- USCC ------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["91350100M000100Y43", "91110000600037341L"])
def test_documented_usccs_are_valid(value: str) -> None:
    assert normalize_uscc(value) == value
    assert normalize_uscc(value.lower()) == value
    assert normalize_uscc(f" {value[:9]} {value[9:]} ") == value
    validate_uscc(value)


def test_uscc_org_code() -> None:
    assert uscc_org_code("91110000600037341L") == "600037341"
    assert uscc_org_code("91350100M000100Y43") == "M000100Y4"


@pytest.mark.parametrize("authority", ["N", "Y", "A"])
def test_uscc_authorities_rejected_by_stdnum_are_accepted(authority: str) -> None:
    code = make_uscc(f"{authority}2110105MA0000001")
    assert not stdnum_uscc.is_valid(code)
    assert normalize_uscc(code) == code


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "请填写"),
        ("91110000600037341", "长度"),
        ("91110000600037341LL", "长度"),
        ("91110000600037341M", "校验位"),
        ("9111000060003734IL", "无效字符"),
        ("91110000600O37341L", "无效字符"),
        ("B1110000600037341L", "登记管理部门"),
        ("90110000600037341L", "机构类别"),
        ("911100A0600037341L", "行政区划"),
    ],
)
def test_invalid_usccs_say_what_is_wrong(value: str, reason: str) -> None:
    with pytest.raises(ValidationError) as exc:
        normalize_uscc(value)
    assert reason in _messages(exc)
    assert exc.value.code == "invalid"


uscc_prefixes = st.builds(
    lambda a, t, area, org: a + t + area + org,
    st.sampled_from("123456789ANY"),
    st.sampled_from("1239"),
    st.sampled_from(AREAS[:6]),
    st.text(alphabet=USCC_ALPHABET, min_size=9, max_size=9),
)


@quick
@given(prefix=uscc_prefixes)
def test_generated_usccs_are_valid(prefix: str) -> None:
    code = make_uscc(prefix)
    assert normalize_uscc(code) == code
    assert normalize_uscc(code.lower()) == code
    assert stdnum_uscc.calc_check_digit(code) == code[-1]
    if prefix[0].isdigit():
        assert stdnum_uscc.is_valid(code)


@quick
@given(
    prefix=uscc_prefixes,
    position=st.integers(min_value=0, max_value=17),
    replacement=st.sampled_from(USCC_ALPHABET),
)
def test_uscc_single_corruption_is_rejected(prefix: str, position: int, replacement: str) -> None:
    code = make_uscc(prefix)
    if code[position] == replacement:
        return
    corrupted = code[:position] + replacement + code[position + 1 :]
    with pytest.raises(ValidationError):
        normalize_uscc(corrupted)


def test_make_uscc_rejects_bad_prefix() -> None:
    with pytest.raises(ValueError, match="17"):
        make_uscc("9111000060003734")
    with pytest.raises(ValueError, match="17"):
        make_uscc("9111000060003734I")


# -- organisation code -----------------------------------------------------------------------


@pytest.mark.parametrize("value", ["60003734-1", "600037341", " 60003734 - 1 ", "M000100Y4"])
def test_org_code_valid(value: str) -> None:
    assert normalize_org_code(value) == value.replace("-", "").replace(" ", "")


def test_org_code_check_x_and_zero() -> None:
    # Weights 3 7 9 10 5 8 4 2; check = 11 - sum % 11, 10 -> X, 11 -> 0.
    assert normalize_org_code("00000006-X") == "00000006X"  # 6*2 = 12 -> 11 - 1 = 10
    assert normalize_org_code("00000019-0") == "000000190"  # 1*4 + 9*2 = 22 -> 11 - 0 = 11
    assert normalize_org_code("d2143569-x") == "D2143569X"  # the GB 11714 example


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "请填写"),
        ("6000373", "9位"),
        ("60003734-2", "校验位"),
        ("6000373#-1", "前8位"),
        ("60003734-A", "最后一位"),
        ("6000-37341", "9位"),
    ],
)
def test_org_code_invalid(value: str, reason: str) -> None:
    with pytest.raises(ValidationError) as exc:
        normalize_org_code(value)
    assert reason in _messages(exc)
