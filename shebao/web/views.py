"""The site chrome's own endpoints."""

from django.http import HttpResponse, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from shebao.web import csp
from shebao.web.ratelimits import limit


@csrf_exempt  # browsers post reports without our token (and without cookies)
@require_POST
@limit("csp_report_ip")
def csp_report(request):
    """Content-Security-Policy violation reports: logged, answered 204 No Content."""
    try:
        reports = csp.read_reports(request)
    except csp.BadReport as refused:
        return HttpResponse(str(refused), status=refused.status, content_type="text/plain")
    csp.log_violations(reports)
    return HttpResponse(status=204)


def favicon(request):
    """/favicon.ico, which browsers ask for on their own: sent on to the static file."""
    return HttpResponsePermanentRedirect(static("web/favicon.ico"))
