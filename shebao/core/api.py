"""The API's shared contract: every error answer is an `ErrorOut` with a Chinese `detail`, and
every operation declares the error statuses it may answer, so the OpenAPI schema documents
them. Routers on any floor import these; the NinjaAPI (`shebao/api/`) registers the handlers
that produce the 400 (invalid or missing parameter) and 429 (rate limited) bodies."""

from typing import Any

from ninja import Schema
from pydantic import ConfigDict, Field


class ErrorOut(Schema):
    """The body of every error answer."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"description": "错误答复"})

    detail: str = Field(min_length=1, description="错误说明（中文）")


ERROR_STATUSES = (400, 404, 429)
# The schema's description of each answer (django-ninja writes the English reason phrase).
STATUS_DESCRIPTIONS = {
    200: "成功",
    400: "参数无效或缺少参数",
    404: "资源不存在",
    429: "请求过于频繁",
}


def responses(ok: Any) -> dict[int, Any]:
    """`response=` for an operation: its 200 schema and the documented error answers
    (400 invalid or missing parameter, 404 not found, 429 too many requests)."""
    return {200: ok, **dict.fromkeys(ERROR_STATUSES, ErrorOut)}


def validation_detail(errors: list[dict], rules: dict[str, str]) -> str:
    """Chinese sentences for django-ninja's validation errors (pydantic's, with the parameter's
    location first in `loc`), one per parameter in the order declared, joined by "；": a missing
    parameter is named, an invalid one is named with what it should be (from `rules`, parameter
    name -> rule)."""
    sentences = [_sentence(error, rules) for error in errors]
    return "；".join(dict.fromkeys(sentences)) or "请求参数无效"


def _sentence(error: dict, rules: dict[str, str]) -> str:
    loc = [str(part) for part in error.get("loc", ())[1:]]
    name = ".".join(loc) or "请求"
    if error.get("type") == "missing":
        return f"缺少参数 {name}"
    rule = rules.get(loc[-1] if loc else "")
    return f"参数 {name} 应为{rule}" if rule else f"参数 {name} 无效"
