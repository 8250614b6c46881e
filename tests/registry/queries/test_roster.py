"""参保职工名单 (seed 004): one row per person with the insurance types folded in, masked ID
numbers, search by POST (never in a URL), filters, sorting, paging, tenancy and permission."""

import re

import pytest

from shebao.registry.models import Enrolment
from shebao.registry.queries import selectors as queries
from tests.conftest import signed_in
from tests.registry.queries_helpers import enrol, make_clerk, make_person, staff_people

URL = "/unit/roster/"


def person_nos(response) -> list[str]:
    return re.findall(r'href="/unit/roster/(\d+)/"', response.content.decode())


def hrefs(response) -> list[str]:
    return re.findall(r'(?:href|action)="([^"]*)"', response.content.decode())


@pytest.fixture
def people(unit_a):
    return staff_people(unit_a, 3)


def test_roster_lists_one_row_per_person_with_types_masked_id(admin_client, people):
    r = admin_client.get(URL)
    assert r.status_code == 200
    html = r.content.decode()
    assert person_nos(r) == [p.person_no for p in people]
    assert "企业养老、失业、医疗、工伤" in html
    for p in people:
        assert p.id_number not in html
        assert p.masked_id_number in html
    assert "6000.00" in html and "202401" in html and "正常参保" in html
    assert "共 3 人" in html


def test_roster_shows_only_the_operators_unit(admin_client, people, unit_b):
    other = make_person(50)
    enrol(other, unit_b)
    assert other.person_no not in person_nos(admin_client.get(URL))


def test_roster_hides_stopped_persons_by_default_and_lists_them_by_filter(
    admin_client, unit_a, people
):
    gone = make_person(40)
    enrol(gone, unit_a, ("110", "310"), start=202001, stop=202312)
    # stopped one type here, still open in another: on the open roster, not the stopped one
    partly = make_person(41)
    enrol(partly, unit_a, ("110",), start=202001, stop=202212)
    enrol(partly, unit_a, ("310",), start=202001)
    r = admin_client.get(URL)
    assert gone.person_no not in person_nos(r)
    assert partly.person_no in person_nos(r)
    r = admin_client.get(URL, {"status": "stopped"})
    assert person_nos(r) == [gone.person_no]
    html = r.content.decode()
    assert "已停保" in html and "202312" in html and "企业养老、医疗" in html


def test_status_filter_active_and_suspended(admin_client, unit_a, people):
    paused = make_person(42)
    enrol(paused, unit_a, ("110",), status=Enrolment.Status.SUSPENDED)
    enrol(paused, unit_a, ("310",))
    r = admin_client.get(URL, {"status": Enrolment.Status.SUSPENDED})
    assert person_nos(r) == [paused.person_no]
    assert "部分险种暂停缴费" in r.content.decode()
    r = admin_client.get(URL, {"status": Enrolment.Status.ACTIVE})
    assert paused.person_no in person_nos(r)  # its medical enrolment is paying
    assert len(person_nos(r)) == 4


def test_type_filter_keeps_all_types_of_the_row(admin_client, unit_a, people):
    medical_only = make_person(43)
    enrol(medical_only, unit_a, ("310",))
    r = admin_client.get(URL, {"insurance_type": "110"})
    assert medical_only.person_no not in person_nos(r)
    assert len(person_nos(r)) == 3
    assert "企业养老、失业、医疗、工伤" in r.content.decode()
    r = admin_client.get(URL, {"insurance_type": "310"})
    assert medical_only.person_no in person_nos(r)
    assert "共 4 人" in r.content.decode()


def test_bad_filter_values_are_ignored(admin_client, people):
    r = admin_client.get(URL, {"status": "x", "insurance_type": "999", "sort": "id_number"})
    assert r.status_code == 200
    assert len(person_nos(r)) == 3


# --- search ------------------------------------------------------------------------------------


def test_id_search_is_posted_and_never_in_a_url(admin_client, people):
    target = people[1]
    r = admin_client.post(URL, {"q": target.id_number, "insurance_type": "310"})
    assert r.status_code == 302
    assert target.id_number not in r["Location"]
    assert r["Location"] == "/unit/roster/?insurance_type=310"
    r = admin_client.get(r["Location"])
    assert person_nos(r) == [target.person_no]
    html = r.content.decode()
    assert target.id_number not in html  # not in links, not in the search box
    assert target.masked_id_number in html
    for link in hrefs(r):
        assert target.id_number not in link
        assert target.id_number[-6:] not in link


def test_an_id_search_is_not_kept_in_clear_in_the_session_table(admin_client, people):
    from django.contrib.sessions.models import Session

    target = people[1]
    admin_client.post(URL, {"q": target.id_number})
    assert person_nos(admin_client.get(URL)) == [target.person_no]  # read back from the session
    stored = Session.objects.get(session_key=admin_client.session.session_key)
    assert target.id_number not in stored.session_data
    decoded = repr(stored.get_decoded())
    assert target.id_number not in decoded and target.id_number[-6:] not in decoded


def test_id_search_accepts_lower_case_x_and_surrounding_spaces(admin_client, unit_a, person):
    enrol(person, unit_a)  # 11010519491231002X
    r = admin_client.post(URL, {"q": " 11010519491231002x "}, follow=True)
    assert person_nos(r) == [person.person_no]


def test_id_search_with_an_inner_space_gets_the_id_rules_message(admin_client, unit_a, person):
    enrol(person, unit_a)
    r = admin_client.post(URL, {"q": " 110105 19491231 002x "})
    assert r.status_code == 200  # the form again, no search stored
    assert "身份证号码只能由数字和末位的X组成，不能有空格或其他符号" in r.content.decode()


def test_old_fifteen_digit_id_finds_the_person(admin_client, unit_a, person):
    enrol(person, unit_a)
    r = admin_client.post(URL, {"q": "110105491231002"})
    assert "110105491231002" not in r["Location"]
    assert person_nos(admin_client.get(r["Location"])) == [person.person_no]


def test_search_parsing():
    parse = queries.RosterSearch.parse
    assert parse("  ") == queries.NO_SEARCH
    assert parse("１１０１０５１９４９１２３１００２ｘ").value == "11010519491231002X"  # full-width
    assert parse("110000000001").kind == "person_no"
    assert parse(" John  Smith ").value == "John Smith"
    assert parse("王").label == "王"
    assert parse("11010519491231002X").label == "1101**********002X"


def test_name_and_person_number_search(admin_client, unit_a, people):
    wang = make_person(44, name="王小明")
    enrol(wang, unit_a)
    r = admin_client.post(URL, {"q": "小明"}, follow=True)
    assert person_nos(r) == [wang.person_no]
    assert 'value="小明"' in r.content.decode()
    r = admin_client.post(URL, {"q": people[0].person_no}, follow=True)
    assert person_nos(r) == [people[0].person_no]


def test_search_stays_for_paging_and_sorting_until_cleared(admin_client, unit_a, people):
    admin_client.post(URL, {"q": "职工"})
    r = admin_client.get(URL, {"sort": "-person_no"})
    assert person_nos(r) == [p.person_no for p in reversed(people)]
    admin_client.post(URL, {"q": "没有这个人"})
    assert person_nos(admin_client.get(URL)) == []
    r = admin_client.post(URL, {"q": "没有这个人", "clear": "1"})
    assert r["Location"] == URL
    assert len(person_nos(admin_client.get(URL))) == 3


def test_search_in_the_query_string_is_ignored(admin_client, people):
    r = admin_client.get(URL, {"q": people[0].id_number})
    assert len(person_nos(r)) == 3


def test_too_long_search_is_a_field_error(admin_client, people):
    r = admin_client.post(URL, {"q": "张" * 60})
    assert r.status_code == 200
    assert "50" in r.content.decode() and "is-invalid" in r.content.decode()


# --- sorting and paging ------------------------------------------------------------------------


def test_sorting_by_each_column(admin_client, unit_a):
    a = make_person(1, name="乙")
    enrol(a, unit_a, start=202301, wage="8000")
    b = make_person(2, name="甲")
    enrol(b, unit_a, start=202105, wage="5000")
    c = make_person(3, name="丙")
    enrol(c, unit_a, start=202212, wage="9000")
    expected = {
        "person_no": [a, b, c],
        "-person_no": [c, b, a],
        "name": sorted([a, b, c], key=lambda p: p.name),
        "-name": sorted([a, b, c], key=lambda p: p.name, reverse=True),
        "start": [b, c, a],
        "-start": [a, c, b],
        "wage": [b, a, c],
        "-wage": [c, a, b],
    }
    for sort, order in expected.items():
        r = admin_client.get(URL, {"sort": sort})
        assert person_nos(r) == [p.person_no for p in order], sort


def test_sort_header_links_toggle_and_keep_filters(admin_client, people):
    r = admin_client.get(URL, {"insurance_type": "310", "sort": "wage"})
    html = r.content.decode()
    assert 'href="/unit/roster/?insurance_type=310&amp;sort=-wage"' in html
    assert 'href="/unit/roster/?insurance_type=310&amp;sort=name"' in html


def test_paging_fifty_a_page(admin_client, unit_a):
    people = staff_people(unit_a, 53)
    r = admin_client.get(URL)
    assert person_nos(r) == [p.person_no for p in people[:50]]
    html = r.content.decode()
    assert "共 53 条" in html and "1 / 2" in html
    assert 'href="?page=2"' in html
    r = admin_client.get(URL, {"page": 2})
    assert person_nos(r) == [p.person_no for p in people[50:]]
    r = admin_client.get(URL, {"page": 99})  # past the end: the last page
    assert person_nos(r) == [p.person_no for p in people[50:]]
    r = admin_client.get(URL, {"page": "x"})
    assert len(person_nos(r)) == 50


def test_paging_links_keep_filter_and_sort(admin_client, unit_a):
    staff_people(unit_a, 51)
    html = admin_client.get(URL, {"insurance_type": "110", "sort": "-wage"}).content.decode()
    assert 'href="?insurance_type=110&amp;sort=-wage&page=2"' in html


def test_count_agrees_with_rows_for_every_filter(admin_a, unit_a, unit_b):
    staff_people(unit_a, 4)
    p = make_person(60, name="王停")
    enrol(p, unit_a, ("110", "310"), start=202001, stop=202006)
    enrol(p, unit_a, ("110",), start=202101, stop=202112)  # enrolled twice, stopped twice
    q = make_person(61, name="王暂")
    enrol(q, unit_a, ("410",), status=Enrolment.Status.SUSPENDED)
    enrol(make_person(62), unit_b)
    for search in ("", "王", "职工0001", "110000000060"):
        for status, _ in queries.RosterStatus.choices:
            for insurance_type in ("", "110", "310", "410"):
                f = queries.RosterFilter(
                    search=queries.RosterSearch.parse(search),
                    insurance_type=insurance_type,
                    status=status,
                )
                rows = list(queries.roster_queryset(admin_a, f))
                assert queries.roster_count(admin_a, f) == len(rows), f
                assert len({r.pk for r in rows}) == len(rows)


def test_stopped_person_enrolled_twice_shows_each_type_once(admin_a, unit_a):
    p = make_person(60)
    enrol(p, unit_a, ("110", "310"), start=202001, stop=202006)
    enrol(p, unit_a, ("110",), start=202101, stop=202112)
    f = queries.RosterFilter(status=queries.RosterStatus.STOPPED)
    (row,) = queries.roster_page(admin_a, f, 1)
    assert row.types_label == "企业养老、医疗"
    assert row.start_period_min == 202001 and row.stop_period_max == 202112


# --- access ------------------------------------------------------------------------------------


def test_operator_with_query_permission_sees_the_roster(admin_a, people):
    clerk = make_clerk(admin_a, kinds=["query"])
    assert signed_in(clerk).get(URL).status_code == 200


def test_operator_without_query_permission_is_refused(admin_a, people):
    clerk = make_clerk(admin_a, kinds=["enrolment"])
    client = signed_in(clerk)
    assert client.get(URL).status_code == 403
    assert client.post(URL, {"q": "x"}).status_code == 403
    assert client.get(f"{URL}{people[0].person_no}/").status_code == 403
    assert client.post("/unit/roster/export/").status_code == 403
    assert client.get("/unit/roster/additions/").status_code == 403


def test_staff_and_anonymous_are_kept_out(staff_client, client, people):
    assert staff_client.get(URL).status_code == 403
    r = client.get(URL)
    assert r.status_code == 302 and "/accounts/unit/login/" in r["Location"]


def test_menu_links_to_the_roster(admin_client, people):
    assert 'href="/unit/roster/"' in admin_client.get("/unit/").content.decode()


def test_rows_are_escaped(admin_client, unit_a):
    """The rows are joined in Python (registry/queries/views.py _rows_html): text is escaped there."""
    evil = make_person(45, name='<b>王"&</b>')
    enrol(evil, unit_a)
    html = admin_client.get(URL).content.decode()
    assert "&lt;b&gt;王&quot;&amp;&lt;/b&gt;" in html and "<b>王" not in html
    assert person_nos(admin_client.get(URL)) == [evil.person_no]
