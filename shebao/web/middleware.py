"""Cross-cutting request handling: audit IP context and no-store for personal data."""

from shebao.core.audit import current_ip


class NoStoreForPersonalDataMiddleware:
    """Signed-in pages and file downloads carry personal data: never cache them. Also makes the
    client IP available to the audit log."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = current_ip.set(request.META.get("REMOTE_ADDR"))
        try:
            response = self.get_response(request)
        finally:
            current_ip.reset(token)
        if getattr(request, "user", None) is not None and request.user.is_authenticated:
            response["Cache-Control"] = "no-store"
        return response
