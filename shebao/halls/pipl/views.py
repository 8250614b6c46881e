"""个人信息导出 in the back office: find the person (by POST), download the workbook."""

from django.shortcuts import render
from django.views.decorators.http import require_POST

from shebao.core.excel import xlsx_response
from shebao.halls.forms import PiplSearchForm
from shebao.halls.pipl import selectors, services
from shebao.web.decorators import hall_required


@hall_required("staff")
def pipl_search(request):
    form = PiplSearchForm(request.POST or None)
    found = None
    if request.method == "POST" and form.is_valid():
        found = selectors.pipl_person_search(request.user, form.cleaned_data["q"])
        if not found:
            form.add_error("q", selectors.NOT_FOUND)
    return render(request, "halls/pipl.html", {"form": form, "found": found})


@require_POST
@hall_required("staff")
def pipl_export(request, person_no: str):
    filename, content = services.person_data_export(actor=request.user, person_no=person_no)
    return xlsx_response(filename, content)
