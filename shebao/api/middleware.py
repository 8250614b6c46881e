"""Errors the API's operations never see still answer as the API does: a path under /api/
that names no operation (404 from the URL resolver) and a method an operation does not offer
(405 from django-ninja, plain text) become JSON with a Chinese `detail`, like every other error
answer of the API (shebao.core.api.ErrorOut)."""

from django.http import HttpRequest, HttpResponse, JsonResponse

API_PREFIX = "/api/"
DETAILS = {
    404: "没有这个接口，可用的接口见 /api/docs",
    405: "该接口不支持 {method} 请求",
}


class ApiErrorsAsJsonMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith(API_PREFIX) or response.status_code not in DETAILS:
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            return response  # the operation's own answer
        detail = DETAILS[response.status_code].format(method=request.method)
        answer = JsonResponse(
            {"detail": detail},
            status=response.status_code,
            json_dumps_params={"ensure_ascii": False},
        )
        if response.has_header("Allow"):
            answer["Allow"] = response["Allow"]
        return answer
