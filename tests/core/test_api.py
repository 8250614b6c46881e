"""The API's shared error contract (shebao/core/api.py)."""

from shebao.core.api import ErrorOut, responses, validation_detail

RULES = {"wage": "金额，例如 5000"}


def test_responses_declare_the_error_answers():
    assert responses(dict) == {200: dict, 400: ErrorOut, 404: ErrorOut, 429: ErrorOut}


def test_a_missing_parameter_is_named():
    errors = [{"type": "missing", "loc": ("query", "wage"), "msg": "Field required"}]
    assert validation_detail(errors, RULES) == "缺少参数 wage"


def test_an_invalid_parameter_says_what_it_should_be():
    errors = [{"type": "string_pattern_mismatch", "loc": ("query", "wage"), "msg": "String..."}]
    assert validation_detail(errors, RULES) == "参数 wage 应为金额，例如 5000"


def test_a_parameter_without_a_rule_is_still_named_in_chinese():
    errors = [{"type": "int_parsing", "loc": ("query", "page"), "msg": "Input should be..."}]
    assert validation_detail(errors, RULES) == "参数 page 无效"


def test_no_errors_still_answers_chinese():
    assert validation_detail([], RULES) == "请求参数无效"


def test_every_parameter_is_named_once_in_order():
    errors = [
        {"type": "string_pattern_mismatch", "loc": ("query", "wage")},
        {"type": "string_too_long", "loc": ("query", "wage")},
        {"type": "missing", "loc": ("query", "period")},
    ]
    assert validation_detail(errors, RULES) == "参数 wage 应为金额，例如 5000；缺少参数 period"
