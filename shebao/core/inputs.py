"""One input rule per field: ID numbers by type, person names, mobiles, USCCs, addresses and
other free text.

Pure functions, no ORM. Each rule takes what a user (or a file, or an API client) sent and
returns the canonical value to store, or raises ``django.core.exceptions.ValidationError`` with
ONE Chinese message (``code`` is ``"required"`` for a blank value, else ``"invalid"``).

Every path calls the same function, so the same bad value gets the same message everywhere:

- forms use the fields of ``shebao/web/fields.py`` (``IdNumberField``, ``PersonNameField``,
  ``MobileField``, ``UsccField``, ``AddressField``, ``UnitNameField``), which call these rules;
- services (a filing kind's ``clean_payload``), batch rows and API handlers call the rule
  directly and put the message where their caller shows it::

      try:
          row["id_number"] = normalize_id_number(row["id_type"], row["id_number"])
      except ValidationError as e:
          errors["id_number"] = e.messages[0]      # the one message

Decisions written down here:

- ID numbers: surrounding spaces are trimmed, full-width characters folded (NFKC) and letters
  upper-cased (a lower-case ``x`` becomes ``X``); any character inside that the type's format does
  not use, an inner space included, is refused with one message per type. The resident-ID layout
  (resident IDs, HK/Macao/Taiwan residence permits, foreigner permanent-residence IDs) reuses
  ``shebao.core.ids.normalize_resident_id`` (check digit, birth date, 15 → 18 upgrade) and adds the
  province check of DOMAIN §6. The other formats are data (``ID_FORMATS``). A path that finds a
  person by a typed number without asking the type (sign-in, the search boxes) uses
  ``search_id_number``.
- Person names: Chinese (with ``·`` between the parts of a minority or transliterated name; the
  look-alikes ``•``, ``．``, ``.``, ``・`` … between Chinese characters become ``·``), or Latin
  letters with single spaces, dots, hyphens and apostrophes for foreigners. Never digits, ``<``
  or ``>``, control or invisible characters, or a leading ``= + - @``.
- Mobiles: mainland 11 digits ``1[3-9]…``; spaces and hyphens between the digit groups and a
  leading ``+86`` are accepted and dropped (people copy them so).
- Free text (addresses, unit names): trimmed, inner whitespace collapsed, no control or invisible
  characters, a length limit. Addresses and unit names land in Excel exports (rosters, filing
  lists), so they also refuse a leading ``= + - @`` (``shebao.core.excel`` still neutralises every
  cell; this keeps such values out of the data in the first place). Text shown only on screen
  (reasons, remarks) may be checked with ``formula_guard=False``.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum

from django.core.exceptions import ValidationError

from shebao.core.ids import RESIDENCE_PERMIT_AREAS, normalize_resident_id, normalize_uscc

__all__ = [
    "ADDRESS_MAX",
    "ID_TYPE_NAMES",
    "PERSON_NAME_MAX",
    "RESIDENT_LAYOUT",
    "RESIDENT_LAYOUT_TYPES",
    "UNIT_FIELD_RULES",
    "UNIT_NAME_MAX",
    "IdType",
    "clean_fields",
    "id_type_of",
    "normalize_address",
    "normalize_id_number",
    "normalize_mobile",
    "normalize_person_name",
    "normalize_resident_layout_id",
    "normalize_text",
    "normalize_unit_name",
    "normalize_uscc_input",
    "search_id_number",
]

PERSON_NAME_MAX = 50  # Person.name, FilingRow.name, Unit.legal_rep_name / contact_name
ADDRESS_MAX = 200  # Person.address, Unit.address
UNIT_NAME_MAX = 100  # Unit.name
FORMULA_CHARS = "=+-@"


def _invalid(message: str) -> ValidationError:
    return ValidationError(message, code="invalid")


def _required(message: str) -> ValidationError:
    return ValidationError(message, code="required")


def _is_hidden(ch: str) -> bool:
    """Control (Cc), format/invisible (Cf: zero-width, bidi overrides) and surrogate characters;
    whitespace (tabs, line breaks) is not: it is collapsed like spaces."""
    return unicodedata.category(ch) in {"Cc", "Cf", "Cs"} and not ch.isspace()


# --------------------------------------------------------------------------------------------
# ID numbers
# --------------------------------------------------------------------------------------------


class IdType(StrEnum):
    """ID types. 01–04 are ``registry.models.Person.IdType`` (a test keeps them equal); 05–07 are
    ready for the persons who enrol with them (the model gains the choices with that work)."""

    RESIDENT = "01"
    HMT_PERMIT = "02"
    FOREIGN_PR = "03"
    PASSPORT = "04"
    HM_TRAVEL_PERMIT = "05"
    TW_TRAVEL_PERMIT = "06"
    FOREIGN_PR_CARD = "07"


ID_TYPE_NAMES = {
    IdType.RESIDENT: "居民身份证",
    IdType.HMT_PERMIT: "港澳台居民居住证",
    IdType.FOREIGN_PR: "外国人永久居留身份证",
    IdType.PASSPORT: "护照",
    IdType.HM_TRAVEL_PERMIT: "港澳居民来往内地通行证",
    IdType.TW_TRAVEL_PERMIT: "台湾居民来往大陆通行证",
    IdType.FOREIGN_PR_CARD: "外国人永久居留证（2017年版）",
}
# The types written in the 18-character resident-ID layout with its check digit.
RESIDENT_LAYOUT_TYPES = (IdType.RESIDENT, IdType.HMT_PERMIT, IdType.FOREIGN_PR)
# Pseudo type for paths that take any resident-layout number and derive the type from it
# (enrolment, legal representatives): what those paths accept today.
RESIDENT_LAYOUT = "resident-layout"

# GB/T 2260 province codes (first two digits), DOMAIN §6: 71 (Taiwan) and 81/82 occur in old
# records; 81/82/83 open the HK/Macao/Taiwan residence permits (810000/820000/830000; the other
# 8xxxxx areas are refused by ``shebao.core.ids``).
PROVINCES = frozenset(
    [f"{n}" for n in range(11, 16)]
    + [f"{n}" for n in range(21, 24)]
    + [f"{n}" for n in range(31, 38)]
    + [f"{n}" for n in range(41, 47)]
    + [f"{n}" for n in range(50, 55)]
    + [f"{n}" for n in range(61, 66)]
    + ["71", "81", "82", "83"]
)

# The formats of the other types (DOMAIN §6), upper-case after folding: (pattern, description).
ID_FORMATS: dict[str, tuple[re.Pattern, str]] = {
    IdType.PASSPORT: (re.compile(r"[A-Z0-9]{5,17}"), "应为5–17位字母或数字"),
    IdType.HM_TRAVEL_PERMIT: (
        re.compile(r"[HM]\d{8}(\d{2})?"),
        "应为H或M加8位数字（可再加2位换证次数）",
    ),
    IdType.TW_TRAVEL_PERMIT: (
        re.compile(r"\d{8}|[0-9A-Z]{10}"),
        "应为8位数字（旧版为10位）",
    ),
    IdType.FOREIGN_PR_CARD: (re.compile(r"[A-Z]{3}\d{12}"), "应为3位字母加12位数字"),
}
# Chinese passports (nationality CHN): ordinary E + 8 digits or E + letter + 7 digits, older G + 8
# digits; diplomatic / service / official D, S, P (+ E) with 7–8 digits.
CHINESE_PASSPORT = re.compile(r"E\d{8}|E[A-HJ-NP-Z]\d{7}|G\d{8}|[DSP]E?\d{7,8}")
_NATIONALITY = re.compile(r"[A-Z]{3}")

_RESIDENT_CHARS = frozenset("0123456789X")


def _fold_code(value: object) -> str:
    """Trim, fold full-width characters (NFKC) and upper-case: the canonical code characters."""
    text = "" if value is None else str(value)
    return unicodedata.normalize("NFKC", text).strip().upper()


def _type_name(id_type: str) -> str:
    return "身份证" if id_type in (RESIDENT_LAYOUT, IdType.RESIDENT) else ID_TYPE_NAMES[id_type]


def id_type_of(number: str) -> IdType:
    """The type a canonical resident-layout number belongs to (by its area code)."""
    if number[:6] in RESIDENCE_PERMIT_AREAS:
        return IdType.HMT_PERMIT
    if number.startswith("9"):
        return IdType.FOREIGN_PR
    return IdType.RESIDENT


def normalize_resident_layout_id(value: object) -> str:
    """Any 18-character resident-layout number (resident ID, residence permit, foreigner
    permanent-residence ID) or an old 15-digit resident ID (upgraded); the canonical 18 characters.
    """
    number = _fold_code(value)
    if not number:
        raise _required("请填写身份证号码")
    if any(ch not in _RESIDENT_CHARS for ch in number):
        raise _invalid("身份证号码只能由数字和末位的X组成，不能有空格或其他符号")
    number = normalize_resident_id(number)
    province = number[1:3] if number.startswith("9") else number[:2]
    if province not in PROVINCES:
        where = "第2–3位" if number.startswith("9") else "前两位"
        raise _invalid(f"身份证号码{where}（{province}）不是有效的省级行政区划代码")
    return number


def _normalize_typed_resident(id_type: IdType, value: object) -> str:
    number = normalize_resident_layout_id(value)
    actual = id_type_of(number)
    if actual != id_type:
        raise _invalid(
            f"该号码是{ID_TYPE_NAMES[actual]}号码，与证件类型“{ID_TYPE_NAMES[id_type]}”不符"
        )
    return number


def normalize_id_number(id_type: str, value: object, *, nationality: str = "") -> str:
    """The canonical ID number of ``id_type`` (an ``IdType`` value, or ``RESIDENT_LAYOUT`` for
    paths that take any resident-layout number), or ``ValidationError`` with one message.
    ``nationality`` (ISO 3166 alpha-3, passports only): ``CHN`` checks the Chinese passport
    formats."""
    if id_type == RESIDENT_LAYOUT:
        return normalize_resident_layout_id(value)
    try:
        kind = IdType(id_type)
    except ValueError:
        raise _invalid("请选择证件类型") from None
    if kind in RESIDENT_LAYOUT_TYPES:
        return _normalize_typed_resident(kind, value)
    name = ID_TYPE_NAMES[kind]
    number = _fold_code(value)
    if not number:
        raise _required(f"请填写{name}号码")
    if not number.isascii() or not number.isalnum():
        raise _invalid(f"{name}号码只能由字母和数字组成，不能有空格或其他符号")
    pattern, description = ID_FORMATS[kind]
    if kind == IdType.PASSPORT and _fold_code(nationality) == "CHN":
        pattern, description = CHINESE_PASSPORT, "应为E加8位数字或E加1位字母和7位数字"
    if not pattern.fullmatch(number):
        raise _invalid(f"{name}号码{description}")
    if (
        kind == IdType.PASSPORT
        and nationality
        and not _NATIONALITY.fullmatch(_fold_code(nationality))
    ):
        raise _invalid("国籍应为3位字母代码（ISO 3166），例如 USA")
    return number


def search_id_number(value: object) -> str:
    """An ID number typed to find a person where the path does not ask the ID type (sign-in,
    sign-up, password reset, the search boxes): 15–18 digits (or X) are a resident-layout number
    and get its rule and message; anything else passes if some other type's format takes it (a
    passport holder's number), else it gets the resident rule's message. The canonical number (the
    form stored, so the lookup finds it), or ``ValidationError`` with one message.

    A search box that also takes names or person numbers calls this first and treats a refusal as
    "not an ID number"."""
    try:
        return normalize_resident_layout_id(value)
    except ValidationError:
        folded = _fold_code(value)
        if 15 <= len(folded) <= 18 and set(folded) <= _RESIDENT_CHARS:
            raise
        for id_type in ID_FORMATS:
            try:
                return normalize_id_number(id_type, value)
            except ValidationError:
                continue
        raise


# --------------------------------------------------------------------------------------------
# USCC
# --------------------------------------------------------------------------------------------


def normalize_uscc_input(value: object) -> str:
    """``shebao.core.ids.normalize_uscc`` with the ID numbers' rule for spaces: surrounding ones
    trimmed, an inner one refused."""
    code = _fold_code(value)
    if any(ch.isspace() for ch in code):
        raise _invalid("统一社会信用代码中间不能有空格")
    return normalize_uscc(code)


# --------------------------------------------------------------------------------------------
# Person names
# --------------------------------------------------------------------------------------------

NAME_DOT = "·"  # U+00B7, as GB 18030 and the public security system write it
# Characters people type for the dot between the parts of a name (after the full-width fold).
NAME_DOT_LOOKALIKES = "•.・‧∙⋅･"
NAME_MESSAGE = "姓名只能由中文（少数民族等姓名用“·”分隔）或外文字母、空格、点、连字符组成"


def _fold_ascii_width(text: str) -> str:
    """Full-width ASCII (U+FF01–FF5E) and the ideographic space to ASCII; other characters (rare
    ideographs included) stay as typed."""
    return "".join(
        chr(ord(ch) - 0xFEE0) if "！" <= ch <= "～" else " " if ch == "\u3000" else ch
        for ch in text
    )


def _is_cjk(ch: str) -> bool:
    return ch == "〇" or (
        unicodedata.category(ch) == "Lo"
        and (
            "\u3400" <= ch <= "\u9fff"
            or "\uf900" <= ch <= "\ufaff"
            or "\U00020000" <= ch <= "\U0003134f"
        )
    )


def _is_latin_letter(ch: str) -> bool:
    return ch.isalpha() and unicodedata.name(ch, "").startswith("LATIN")


_LATIN_NAME = re.compile(r"[^\W\d_]+(?:(?:[ \-']|\. ?)[^\W\d_]+)*\.?")


def _chinese_name(name: str) -> str:
    chars = list(name)
    for i, ch in enumerate(chars):
        between = 0 < i < len(chars) - 1 and _is_cjk(chars[i - 1]) and _is_cjk(chars[i + 1])
        if ch in NAME_DOT_LOOKALIKES and between:
            chars[i] = NAME_DOT
    name = "".join(chars)
    if " " in name:
        raise _invalid("中文姓名中间不能有空格")
    parts = name.split(NAME_DOT)
    if not all(part and all(_is_cjk(ch) for ch in part) for part in parts):
        raise _invalid(NAME_MESSAGE)
    return name


def normalize_person_name(value: object) -> str:
    """A person's name (insured persons, legal representatives, contacts, operators)."""
    name = _fold_ascii_width("" if value is None else str(value)).strip()
    if not name:
        raise _required("请填写姓名")
    if any(_is_hidden(ch) for ch in name):
        raise _invalid("姓名不能包含控制字符或不可见字符")
    name = " ".join(name.split())
    if name[0] in FORMULA_CHARS:
        raise _invalid("姓名不能以 =、+、-、@ 开头")
    if "<" in name or ">" in name:
        raise _invalid("姓名不能包含 <、> 等符号")
    if any(unicodedata.category(ch) == "Nd" for ch in name):
        raise _invalid("姓名不能包含数字")
    if len(name) > PERSON_NAME_MAX:
        raise _invalid(f"姓名不能超过{PERSON_NAME_MAX}个字")
    if any(_is_cjk(ch) for ch in name):
        return _chinese_name(name)
    if not all(_is_latin_letter(ch) or ch in " .-'" for ch in name) or not _LATIN_NAME.fullmatch(
        name
    ):
        raise _invalid(NAME_MESSAGE)
    return name


# --------------------------------------------------------------------------------------------
# Mobiles
# --------------------------------------------------------------------------------------------

_MOBILE = re.compile(r"1[3-9]\d{9}")
MOBILE_MESSAGE = "请填写11位手机号码（以1开头，第二位为3–9）"


def normalize_mobile(value: object) -> str:
    """A mainland mobile number: 11 digits. Separating spaces or hyphens and +86 are dropped."""
    text = unicodedata.normalize("NFKC", "" if value is None else str(value)).strip()
    if not text:
        raise _required("请填写手机号码")
    digits = re.sub(r"[\s\-]", "", text)
    if digits.startswith("+86"):
        digits = digits[3:]
    if not _MOBILE.fullmatch(digits) or not digits.isascii():
        raise _invalid(MOBILE_MESSAGE)
    return digits


# --------------------------------------------------------------------------------------------
# Free text
# --------------------------------------------------------------------------------------------


def normalize_text(
    value: object,
    *,
    what: str,
    max_length: int,
    required: bool = True,
    formula_guard: bool = True,
) -> str:
    """One line of free text: trimmed, inner whitespace collapsed to single spaces, no control
    or invisible characters or markup (``<`` ``>``), at most ``max_length`` characters; with
    ``formula_guard`` (text that lands in exports) no leading ``= + - @``. Blank gives "" unless
    ``required``."""
    text = ("" if value is None else str(value)).strip()
    if any(_is_hidden(ch) for ch in text):
        raise _invalid(f"{what}不能包含控制字符或不可见字符")
    text = " ".join(text.split())
    if not text:
        if required:
            raise _required(f"请填写{what}")
        return ""
    if len(text) > max_length:
        raise _invalid(f"{what}不能超过{max_length}个字")
    if formula_guard and text[0] in FORMULA_CHARS:
        raise _invalid(f"{what}不能以 =、+、-、@ 开头")
    if "<" in text or ">" in text:  # no address or unit name holds markup (《》 are fine)
        raise _invalid(f"{what}不能包含 <、> 等符号")
    return text


def normalize_address(value: object, *, required: bool = True) -> str:
    """A unit's or person's address (the same message for both: 地址)."""
    return normalize_text(value, what="地址", max_length=ADDRESS_MAX, required=required)


def normalize_unit_name(value: object) -> str:
    return normalize_text(value, what="单位名称", max_length=UNIT_NAME_MAX)


# --------------------------------------------------------------------------------------------
# Several fields at once (services, batch rows, API bodies)
# --------------------------------------------------------------------------------------------

# The unit's fields that have a rule (registration, counter registration, batch, API).
UNIT_FIELD_RULES = {
    "name": normalize_unit_name,
    "uscc": normalize_uscc_input,
    "address": normalize_address,
    "legal_rep_name": normalize_person_name,
    "legal_rep_id_number": normalize_resident_layout_id,
    "contact_name": normalize_person_name,
    "contact_mobile": normalize_mobile,
}


def clean_fields(data: dict, rules: dict) -> dict[str, str]:
    """Run ``rules`` (field name → rule) over ``data`` in place: each value becomes its canonical
    form; the return value maps each refused field to its one message (empty when all pass)."""
    errors = {}
    for key, rule in rules.items():
        try:
            data[key] = rule(data.get(key))
        except ValidationError as e:
            errors[key] = e.messages[0]
    return errors


# --------------------------------------------------------------------------------------------
# A unit's bank (开户银行, 银行账号): registration, counter registration
# --------------------------------------------------------------------------------------------

BANK_NAME_MAX = 60  # Unit.bank_name
BANK_ACCOUNT_MIN, BANK_ACCOUNT_MAX = 8, 30  # Unit.bank_account


def normalize_bank_name(value: object, *, required: bool = True) -> str:
    return normalize_text(value, what="开户银行", max_length=BANK_NAME_MAX, required=required)


def normalize_bank_account(value: object, *, required: bool = True) -> str:
    """Digits only, 8–30 of them; the spaces and full-width digits people type are taken."""
    text = "".join(unicodedata.normalize("NFKC", "" if value is None else str(value)).split())
    if not text:
        if required:
            raise _required("请填写银行账号")
        return ""
    if not (text.isascii() and text.isdigit()):
        raise _invalid("银行账号只能填写数字")
    if not BANK_ACCOUNT_MIN <= len(text) <= BANK_ACCOUNT_MAX:
        raise _invalid(f"银行账号应为 {BANK_ACCOUNT_MIN}–{BANK_ACCOUNT_MAX} 位数字")
    return text
