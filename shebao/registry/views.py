"""The unit hall's 单位信息 page."""

from django.shortcuts import render

from shebao.web.decorators import hall_required


@hall_required("operator")
def unit_info(request):
    return render(request, "registry/unit_info.html", {"unit": request.user.unit})
