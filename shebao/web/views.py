"""The site chrome's own endpoints."""

from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.templatetags.static import static
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from shebao.web import csp, guides
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


def guide_list(request):
    """业务流程说明: the list of every business's guide (public)."""
    return render(request, "web/guides/list.html", {"groups": guides.by_hall()})


def guide_all(request):
    """Every guide on one page, each printed on its own sheet."""
    return render(request, "web/guides/all.html", {"guides": guides.GUIDES})


def guide_detail(request, slug):
    """One business's printable guide."""
    found = guides.guide(slug)
    if found is None:
        raise Http404("没有这份业务流程说明")
    return render(request, "web/guides/detail.html", {"guide": found})


def favicon(request):
    """/favicon.ico, which browsers ask for on their own: sent on to the static file (302: the
    static name may change with a hashed storage, so browsers must not keep the redirect)."""
    return HttpResponseRedirect(static("web/favicon.ico"))
