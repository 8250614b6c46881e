"""URL patterns of the person hall's 缴费记录 and 个人账户, included into the person hall's
namespace by config/urls.py (person_patterns). The 灵活就业 pages are in
``contributions/flexible/urls.py``."""

from django.urls import path

from shebao.contributions.account import views as v

person_patterns = [
    path("contributions/", v.contributions, name="contributions"),
    path("account/", v.account_statement, name="account"),
]
