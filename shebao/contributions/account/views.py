"""The person hall's contribution pages: 缴费记录 and 个人账户. Thin: parse, call one selector,
render. (The 灵活就业 pages are in ``contributions/flexible/views.py``.)"""

from django.shortcuts import render

from shebao.contributions.account import selectors
from shebao.web.decorators import hall_required


@hall_required("person")
def contributions(request):
    context = selectors.person_contributions_page(
        request.user, year=request.GET.get("year", ""), page_number=request.GET.get("page")
    )
    return render(request, "contributions/person/contributions.html", context)


@hall_required("person")
def account_statement(request):
    year = request.GET.get("year", "")
    data = selectors.person_account(request.user, int(year) if year.isdigit() else None)
    return render(request, "contributions/person/account.html", {"account": data})
