"""django-ninja API, OpenAPI 3 at /api/docs."""

from ninja import NinjaAPI
from ninja.renderers import JSONRenderer

from shebao.contributions.calculator.api import router as contributions_router


class ChineseJSONRenderer(JSONRenderer):
    """Chinese messages readable in the raw JSON (no unicode escapes)."""

    json_dumps_params = {"ensure_ascii": False}


api = NinjaAPI(
    title="社保网上经办平台 API",
    version="1",
    urls_namespace="api",
    docs_url="/docs",
    renderer=ChineseJSONRenderer(),
)
api.add_router("/v1", contributions_router)
