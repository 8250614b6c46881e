"""django-ninja API, OpenAPI 3 at /api/openapi.json, Swagger UI at /api/docs (served from our
own static files: "ninja" is in INSTALLED_APPS).

The contract every operation keeps (see `shebao/core/api.py`): an error answers `ErrorOut`, a
JSON body with a Chinese `detail` — 400 for an invalid or missing parameter (never pydantic's
English 422), 404 for what does not exist, 429 when rate limited."""

from django.http import HttpRequest, HttpResponse
from django_ratelimit.exceptions import Ratelimited
from ninja import NinjaAPI, Swagger
from ninja.errors import ValidationError
from ninja.renderers import JSONRenderer

from shebao.contributions.calculator import api as calculator_api
from shebao.core.api import STATUS_DESCRIPTIONS, validation_detail

# Query parameter name -> what it should be, for the 400 messages (one sentence per name).
PARAM_RULES = {**calculator_api.PARAM_RULES}

RATE_LIMITED = "请求过于频繁，请稍后再试"


class ChineseJSONRenderer(JSONRenderer):
    """Chinese messages readable in the raw JSON (no unicode escapes)."""

    json_dumps_params = {"ensure_ascii": False}


class ContractAPI(NinjaAPI):
    """The schema describes each documented answer in Chinese."""

    def get_openapi_schema(self, **kwargs):
        schema = super().get_openapi_schema(**kwargs)
        for operations in schema["paths"].values():
            for operation in operations.values():
                for status, answer in operation.get("responses", {}).items():
                    if int(status) in STATUS_DESCRIPTIONS:
                        answer["description"] = STATUS_DESCRIPTIONS[int(status)]
        return schema


api = ContractAPI(
    title="社保网上经办平台 API",
    version="1",
    description='错误均以 JSON `{"detail": "中文说明"}` 答复：400 参数无效或缺少参数，'
    "404 资源不存在（如未知的统筹区），429 请求过于频繁。",
    urls_namespace="api",
    docs_url="/docs",
    # No validator badge: Swagger UI would fetch it from validator.swagger.io.
    docs=Swagger(settings={"validatorUrl": None}),
    renderer=ChineseJSONRenderer(),
)
api.add_router("/v1", calculator_api.router)


@api.exception_handler(ValidationError)
def invalid_parameter(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    """400 with one Chinese sentence naming the parameter, instead of pydantic's 422."""
    return api.create_response(
        request, {"detail": validation_detail(exc.errors, PARAM_RULES)}, status=400
    )


@api.exception_handler(Ratelimited)
def rate_limited(request: HttpRequest, exc: Ratelimited) -> HttpResponse:
    """django-ratelimit's refusal (a PermissionDenied) as 429 with a Chinese detail."""
    return api.create_response(request, {"detail": RATE_LIMITED}, status=429)
