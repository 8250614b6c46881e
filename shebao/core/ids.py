"""Chinese identifiers: resident ID numbers, unified social credit codes, organisation codes.

Pure functions, no ORM. The normalizers return the canonical stored form or raise
``django.core.exceptions.ValidationError`` (code ``"invalid"``) with a Chinese message that says
what is wrong.

python-stdnum's ``cn.ric`` / ``cn.uscc`` check-digit routines are correct and reused, but their
``validate`` functions are not: ``cn.ric`` accepts future birth dates, rejects Hong Kong / Macao /
Taiwan residence permits and foreigner permanent-residence IDs (and rejects real IDs whose area code
its place database dates differently), and has no 15 → 18 upgrade; ``cn.uscc`` rejects
registration authorities A, N and Y. The rules here follow GB 11643-1999, GB 32100-2015 and
GB 11714-1997 directly.
"""

from __future__ import annotations

import unicodedata
from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from stdnum.cn import ric as _stdnum_ric
from stdnum.cn import uscc as _stdnum_uscc

__all__ = [
    "make_resident_id",
    "make_uscc",
    "mask_id_number",
    "mask_mobile",
    "normalize_org_code",
    "normalize_resident_id",
    "normalize_uscc",
    "resident_id_birth_date",
    "resident_id_sex",
    "uscc_org_code",
    "validate_resident_id",
    "validate_uscc",
]

# --------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------

_DIGITS = frozenset("0123456789")


def _clean(value: object) -> str:
    """Fold full-width characters (NFKC), drop all whitespace and upper-case."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFKC", str(value))
    return "".join(text.split()).upper()


def _invalid(message: str) -> ValidationError:
    return ValidationError(message, code="invalid")


def _is_digits(text: str) -> bool:
    return bool(text) and all(c in _DIGITS for c in text)


def _today(today: date | None) -> date:
    """Today in the project's time zone when Django is configured, else the system date."""
    if today is not None:
        return today
    if settings.configured:
        return timezone.localdate()
    return date.today()


# --------------------------------------------------------------------------------------------
# Resident ID (GB 11643-1999)
# --------------------------------------------------------------------------------------------

RESIDENCE_PERMIT_AREAS = {
    "810000": "香港居民居住证",
    "820000": "澳门居民居住证",
    "830000": "台湾居民居住证",
}
_EARLIEST_BIRTH_YEAR = 1800
_ID_NAME = "身份证号码"


def _resident_check_char(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character of 17 digits (python-stdnum's implementation)."""
    return _stdnum_ric.calc_check_digit(first17 + "0")


def _check_area(area: str, *, allow_permits: bool) -> None:
    """Validate the 6-digit area part of an ID (digits already checked).

    Ordinary IDs start with 1–6; with ``allow_permits`` (18-character numbers) also the HK/Macao/
    Taiwan residence permits 810000/820000/830000 and foreigner IDs (9 + province + nationality).
    """
    first = area[0]
    if "1" <= first <= "6":
        return
    if not allow_permits:
        raise _invalid(f"15位{_ID_NAME}地区码无效：首位应为1–6")
    if first == "9" or area in RESIDENCE_PERMIT_AREAS:
        return
    if first == "8":
        raise _invalid(
            f"{_ID_NAME}地区码无效：港澳台居民居住证的地区码应为810000、820000或830000，"
            f"而不是{area}"
        )
    raise _invalid(
        f"{_ID_NAME}地区码无效：首位应为1–6"
        "（港澳台居民居住证为810000/820000/830000，外国人永久居留身份证以9开头）"
    )


def _check_birth_date(year: int, month: int, day: int, today: date) -> date:
    label = f"{year:04d}{month:02d}{day:02d}"
    try:
        birth = date(year, month, day)
    except ValueError:
        raise _invalid(f"{_ID_NAME}中的出生日期{label}不是有效日期") from None
    if birth.year < _EARLIEST_BIRTH_YEAR:
        raise _invalid(f"{_ID_NAME}中的出生日期{label}早于{_EARLIEST_BIRTH_YEAR}年，不合理")
    if birth > today:
        raise _invalid(f"{_ID_NAME}中的出生日期{label}晚于今天")
    return birth


def _normalize_18(value: str, today: date) -> str:
    body, check = value[:17], value[17]
    if not _is_digits(body):
        raise _invalid(f"{_ID_NAME}前17位应全部为数字")
    if check not in _DIGITS and check != "X":
        raise _invalid(f"{_ID_NAME}最后一位（校验位）应为数字或X")
    _check_area(body[:6], allow_permits=True)
    _check_birth_date(int(body[6:10]), int(body[10:12]), int(body[12:14]), today)
    if _resident_check_char(body) != check:
        raise _invalid(f"{_ID_NAME}校验位错误，请逐位核对号码")
    return value


def _upgrade_15(value: str, today: date) -> str:
    """Upgrade an old 15-digit ID: insert the century, append the check character."""
    if not _is_digits(value):
        raise _invalid(f"15位{_ID_NAME}应全部为数字")
    area, yymmdd, order = value[:6], value[6:12], value[12:15]
    _check_area(area, allow_permits=False)
    century = "18" if order in {"996", "997", "998", "999"} else "19"
    birth = century + yymmdd
    _check_birth_date(int(birth[:4]), int(birth[4:6]), int(birth[6:8]), today)
    body = area + birth + order
    return body + _resident_check_char(body)


def normalize_resident_id(value: str, *, today: date | None = None) -> str:
    """Return the canonical 18-character resident ID, or raise ``ValidationError``.

    Accepts resident IDs, HK/Macao/Taiwan residence permits (810000/820000/830000), foreigner
    permanent-residence IDs (first digit 9) and old 15-digit IDs (upgraded to 18). Spaces and
    full-width characters are folded; a lower-case ``x`` becomes ``X``. ``today`` bounds the
    birth date (defaults to the current local date).
    """
    cleaned = _clean(value)
    if not cleaned:
        raise _invalid(f"请填写{_ID_NAME}")
    if len(cleaned) == 18:
        return _normalize_18(cleaned, _today(today))
    if len(cleaned) == 15:
        return _upgrade_15(cleaned, _today(today))
    raise _invalid(f"{_ID_NAME}长度应为18位（旧号码为15位），实际为{len(cleaned)}位")


def resident_id_birth_date(id18: str) -> date:
    """Birth date encoded in a resident ID (any form ``normalize_resident_id`` accepts)."""
    number = normalize_resident_id(id18)
    return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def resident_id_sex(id18: str) -> str:
    """Sex per GB/T 2261.1: ``"1"`` male (odd order code), ``"2"`` female (even)."""
    number = normalize_resident_id(id18)
    return "1" if int(number[16]) % 2 else "2"


def validate_resident_id(value: str) -> None:
    """Form-field / model-field validator for resident IDs."""
    normalize_resident_id(value)


def make_resident_id(area: str, birth: date, order: int) -> str:
    """Build a valid 18-character ID from its parts (tests and demo data)."""
    if len(area) != 6 or not _is_digits(area):
        raise ValueError(f"地区码应为6位数字：{area!r}")
    if not 0 <= order <= 999:
        raise ValueError(f"顺序码应在0–999之间：{order}")
    body = f"{area}{birth.year:04d}{birth.month:02d}{birth.day:02d}{order:03d}"
    return body + _resident_check_char(body)


# --------------------------------------------------------------------------------------------
# Masking
# --------------------------------------------------------------------------------------------


def _mask_middle(text: str, head: int, tail: int) -> str:
    return text[:head] + "*" * (len(text) - head - tail) + text[len(text) - tail :]


def _mask_generic(text: str, head_max: int, tail_max: int) -> str:
    """Keep at most ``head_max`` / ``tail_max`` characters, never more than half in total."""
    keep = len(text) // 4
    return _mask_middle(text, min(head_max, keep), min(tail_max, keep))


def mask_id_number(value: str | None) -> str:
    """``1101**********002X``: first 4 and last 4 kept; shorter values reveal at most half."""
    text = _clean(value)
    return _mask_generic(text, 4, 4)


def mask_mobile(value: str | None) -> str:
    """``138****5678`` for 11-digit mobiles; other values reveal at most half."""
    text = _clean(value)
    if len(text) == 11:
        return _mask_middle(text, 3, 4)
    return _mask_generic(text, 3, 4)


# --------------------------------------------------------------------------------------------
# Unified social credit code (GB 32100-2015)
# --------------------------------------------------------------------------------------------

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_AUTHORITIES = {
    "1": "机构编制",
    "2": "外交",
    "3": "司法行政",
    "4": "文化",
    "5": "民政",
    "6": "旅游",
    "7": "宗教",
    "8": "工会",
    "9": "工商（市场监管）",
    "A": "中央军委改革和编制办公室",
    "N": "农业（农村集体经济组织）",
    "Y": "其他",
}
_USCC_TYPES = frozenset("123456789")
_USCC_NAME = "统一社会信用代码"


def _uscc_check_char(first17: str) -> str:
    """GB 32100 check character (python-stdnum's implementation, weights 3^i mod 31)."""
    return _stdnum_uscc.calc_check_digit(first17)


def normalize_uscc(value: str) -> str:
    """Return the canonical 18-character USCC, or raise ``ValidationError``."""
    code = _clean(value)
    if not code:
        raise _invalid(f"请填写{_USCC_NAME}")
    if len(code) != 18:
        raise _invalid(f"{_USCC_NAME}长度应为18位，实际为{len(code)}位")
    bad = sorted({c for c in code if c not in USCC_ALPHABET})
    if bad:
        raise _invalid(f"{_USCC_NAME}含有无效字符：{'、'.join(bad)}（不使用字母I、O、S、V、Z）")
    if code[0] not in USCC_AUTHORITIES:
        raise _invalid(f"{_USCC_NAME}第1位（登记管理部门码）无效：{code[0]}")
    if code[1] not in _USCC_TYPES:
        raise _invalid(f"{_USCC_NAME}第2位（机构类别码）无效：{code[1]}")
    if not _is_digits(code[2:8]):
        raise _invalid(f"{_USCC_NAME}第3–8位（登记管理机关行政区划码）应为数字")
    if _uscc_check_char(code[:17]) != code[17]:
        raise _invalid(f"{_USCC_NAME}校验位错误，请逐位核对代码")
    return code


def validate_uscc(value: str) -> None:
    """Form-field / model-field validator for unified social credit codes."""
    normalize_uscc(value)


def uscc_org_code(uscc: str) -> str:
    """The organisation code embedded in a USCC (characters 9–17)."""
    return normalize_uscc(uscc)[8:17]


def make_uscc(prefix17: str) -> str:
    """Append the check character to 17 USCC characters (tests and demo data)."""
    prefix = prefix17.upper()
    if len(prefix) != 17 or any(c not in USCC_ALPHABET for c in prefix):
        raise ValueError(f"应为17位统一社会信用代码字符：{prefix17!r}")
    return prefix + _uscc_check_char(prefix)


# --------------------------------------------------------------------------------------------
# Organisation code (GB 11714-1997)
# --------------------------------------------------------------------------------------------

_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_BODY_CHARS = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_ORG_NAME = "组织机构代码"


def _org_check_char(body: str) -> str:
    total = sum(int(c, 36) * w for c, w in zip(body, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def normalize_org_code(value: str) -> str:
    """Return the 9-character organisation code without hyphen, or raise ``ValidationError``."""
    code = _clean(value)
    if not code:
        raise _invalid(f"请填写{_ORG_NAME}")
    if len(code) == 10 and code[8] == "-":
        code = code[:8] + code[9]
    if len(code) != 9:
        raise _invalid(f"{_ORG_NAME}应为9位（可写作XXXXXXXX-X），实际为{len(code)}位")
    body, check = code[:8], code[8]
    if any(c not in _ORG_BODY_CHARS for c in body):
        raise _invalid(f"{_ORG_NAME}前8位应为数字或大写字母")
    if check not in _DIGITS and check != "X":
        raise _invalid(f"{_ORG_NAME}最后一位（校验位）应为数字或X")
    if _org_check_char(body) != check:
        raise _invalid(f"{_ORG_NAME}校验位错误，请逐位核对代码")
    return code
