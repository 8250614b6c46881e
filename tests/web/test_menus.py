"""The halls' grouped menus: every entry in a group, the permission filter, the current page
marked (its own URL, a sub-page under the longest matching entry, the hall's home only
exactly), and the favicon's URL."""

import pytest
from django.test import RequestFactory

from shebao.web.context_processors import hall
from shebao.web.menus import PERSON_MENU, STAFF_MENU, UNIT_MENU
from tests.factories import make_operator

pytestmark = pytest.mark.django_db


def menu_for(user, path):
    request = RequestFactory().get(path)
    request.user = user
    return hall(request)["menu"]


def current(menu):
    return [i["label"] for g in menu for i in g["items"] if i["active"]]


def labels(menu):
    return [(g["label"], [i["label"] for i in g["items"]]) for g in menu]


def test_the_unit_menu_is_grouped_as_the_real_halls(admin_a):
    menu = menu_for(admin_a, "/unit/")
    assert [g for g, _ in labels(menu)] == [
        None,
        "单位信息",
        "人员参保",
        "工资申报",
        "结算缴费",
        "查询打印",
        "业务管理",
    ]
    assert labels(menu)[0] == (None, ["首页"])
    assert current(menu) == ["首页"]


@pytest.mark.parametrize(
    ("path", "marked"),
    [
        ("/unit/filings/todo/", ["待办业务"]),
        ("/unit/filings/done/", ["已办业务"]),
        ("/unit/filings/20250101000001/", ["待办业务"]),  # a filing's page: under 待办业务
        ("/unit/roster/P0000001/", ["参保职工名单"]),
        ("/unit/settlement/12/", ["单位结算"]),
        ("/unit/enrolment/20250101000001/", ["人员参保"]),
        ("/unit/nowhere/", []),  # the hall's home counts only exactly
    ],
)
def test_the_current_page_is_marked(admin_a, path, marked):
    assert current(menu_for(admin_a, path)) == marked


def test_operator_management_only_for_the_administrator(admin_a, unit_a):
    clerk = make_operator(unit_a, "clerk1")
    entries = lambda user: [i for _, items in labels(menu_for(user, "/unit/")) for i in items]  # noqa: E731
    assert "操作员管理" in entries(admin_a)
    assert "操作员管理" not in entries(clerk)


def test_staff_and_person_menus(staff_bj, person_user):
    staff = menu_for(staff_bj, "/staff/filings/20250101000001/")
    assert [g for g, _ in labels(staff)][1:] == [g for g, _ in STAFF_MENU][1:]
    assert current(staff) == ["待审核业务"]
    person = menu_for(person_user, "/person/contributions/")
    assert current(person) == ["缴费记录"]
    assert len(labels(person)) == len(PERSON_MENU)


def test_every_menu_has_its_home_alone_on_top():
    for menu in (UNIT_MENU, PERSON_MENU, STAFF_MENU):
        assert menu[0][0] is None and [e[0] for e in menu[0][1]] == ["首页"]
        assert all(group for group, _ in menu[1:])


def test_the_page_shows_the_marked_entry(admin_client):
    body = admin_client.get("/unit/filings/todo/").content.decode()
    assert 'href="/unit/filings/todo/" aria-current="page"' in body
    assert body.count('aria-current="page"') == 1
    assert '{% include "web/guide_link.html" %}' not in body


def test_favicon_redirects_to_the_static_file(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 302  # temporary: browsers keep no stale permanent redirect
    assert response["Location"].endswith("web/favicon.ico")
