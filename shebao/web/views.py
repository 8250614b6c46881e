from django.shortcuts import redirect, render

from shebao.filings.selectors import review_queue
from shebao.web.decorators import hall_required

HOME = {"operator": "unit:home", "person": "person:home", "staff": "staff:home"}


def home(request):
    if request.user.is_authenticated:
        return redirect(HOME[request.user.kind])
    return render(request, "web/home.html")


@hall_required("staff")
def staff_home(request):
    waiting = review_queue(request.user).count()
    return render(request, "web/staff_home.html", {"waiting": waiting})
