"""The halls' home pages and the back office's audit log: each hall for its own kind of user, the
site root sending a signed-in user to their hall, the audit log scoped to the staff's regions."""

import pytest
from django.test import Client

from shebao.core.audit import audit_record
from shebao.core.models import AuditEntry
from shebao.registry.models import Enrolment
from tests.conftest import signed_in
from tests.registry.enrolment_helpers import enrol

pytestmark = pytest.mark.django_db


def test_the_site_root_sends_each_user_to_their_hall(admin_a, person_user, staff_bj):
    assert Client().get("/").status_code == 200
    for user, hall in ((admin_a, "/unit/"), (person_user, "/person/"), (staff_bj, "/staff/")):
        response = signed_in(user).get("/")
        assert response.status_code == 302 and response["Location"] == hall


def test_each_hall_home_is_for_its_own_kind_only(admin_a, person_user, staff_bj):
    assert signed_in(admin_a).get("/unit/").context["unit"] == admin_a.unit
    assert signed_in(person_user).get("/person/").context["person"] == person_user.person
    assert signed_in(staff_bj).get("/staff/").context["waiting"] == 0
    assert signed_in(admin_a).get("/staff/").status_code == 403
    assert signed_in(staff_bj).get("/person/").status_code == 403
    response = Client().get("/unit/")
    assert (
        response.status_code == 302
        and response["Location"] == "/accounts/unit/login/?next=%2Funit%2F"
    )


def test_each_hall_home_names_its_hall_once_in_the_title(admin_a, person_user, staff_bj):
    for user, path, name in [
        (admin_a, "/unit/", "单位网厅"),
        (person_user, "/person/", "个人网厅"),
        (staff_bj, "/staff/", "经办后台"),
    ]:
        html = signed_in(user).get(path).content.decode()
        title = html[html.index("<title>") + 7 : html.index("</title>")]
        assert title == f"首页 · {name} · 社保网上经办平台", title


def test_the_audit_log_shows_the_staffs_regions_and_filters(staff_bj, region_bj, region_sh):
    audit_record(actor=staff_bj, action="demo.bj", region=region_bj)
    audit_record(actor=staff_bj, action="demo.sh", region=region_sh)
    audit_record(actor=staff_bj, action="demo.refused", outcome=AuditEntry.Outcome.DENIED)
    client = signed_in(staff_bj)

    shown = {e.action for e in client.get("/staff/audit/").context["page"]}
    assert {"demo.bj", "demo.refused"} <= shown and "demo.sh" not in shown
    refused = client.get("/staff/audit/", {"outcome": "denied"}).context["page"]
    assert [e.action for e in refused] == ["demo.refused"]


def test_the_audit_log_is_for_staff_only(admin_a):
    assert signed_in(admin_a).get("/staff/audit/").status_code == 403


def test_the_audit_log_names_actions_operator_units_and_reasons(admin_a, staff_bj, region_bj):
    audit_record(actor=admin_a, action="enrolment.lookup", region=region_bj)
    audit_record(
        actor=staff_bj,
        action="registration.legal_rep_id_reveal",
        region=region_bj,
        detail={"reason": "核对证件影像"},
    )

    html = signed_in(staff_bj).get("/staff/audit/").content.decode()

    assert "人员参保·查询人员" in html and "完整显示法定代表人证件号码" in html
    assert f"{admin_a.unit.unit_no} {admin_a.unit.name}" in html
    assert "<th>事由</th>" in html and "核对证件影像" in html


def test_home_offers_businesses_to_pick_before_signing_in(client, db):
    html = client.get("/").content.decode()
    for label, link in [
        ("人员参保", "/accounts/unit/login/?next=%2Funit%2Fenrolment%2F"),
        ("人员停保", "/accounts/unit/login/?next=%2Funit%2Fstop%2F"),
        ("缴费基数申报", "/accounts/unit/login/?next=%2Funit%2Fwages%2F"),
        ("单位结算", "/accounts/unit/login/?next=%2Funit%2Fsettlement%2F"),
        ("参保职工名单", "/accounts/unit/login/?next=%2Funit%2Froster%2F"),
        ("缴费记录", "/accounts/person/login/?next=%2Fperson%2Fcontributions%2F"),
        ("个人账户", "/accounts/person/login/?next=%2Fperson%2Faccount%2F"),
        ("灵活就业", "/accounts/person/login/?next=%2Fperson%2Fflexible%2F"),
    ]:
        assert f'<a href="{link}">{label}</a>' in html, label


def test_a_business_picked_on_home_is_reached_after_signing_in(client, admin_a):
    from tests.accounts.helpers import verify_sms
    from tests.factories import PASSWORD

    link = "/accounts/unit/login/?next=%2Funit%2Fenrolment%2F"
    assert 'name="next" value="/unit/enrolment/"' in client.get(link).content.decode()
    data = {"unit_key": admin_a.unit.unit_no, "account": "admin", "password": PASSWORD}
    client.post(link, data)
    assert verify_sms(client, admin_a.mobile)["Location"] == "/unit/enrolment/"


def test_the_person_home_says_why_an_enrolment_ended(person_user, unit_a):
    rows = enrol(person_user.person, unit_a, types=("110",))
    Enrolment.objects.filter(pk__in=[r.pk for r in rows]).update(
        status=Enrolment.Status.ENDED, stop_period=202408, stop_reason=Enrolment.StopReason.RETIRED
    )
    page = signed_in(person_user).get("/person/").content.decode()
    assert "（退休）" in page


def test_the_unit_home_points_at_returned_filings_and_arrears(staff_bj, region_bj):
    from shebao.contributions.payments.selectors import unit_home_arrears
    from shebao.filings.services import filing_return, filing_submit
    from shebao.registry.enrolment.services import enrolment_save
    from tests.contributions.payments_helpers import PERIOD, settled_unit
    from tests.factories import make_operator
    from tests.registry.enrolment_helpers import enrol_data, ident

    unit, admin, _people, settlement = settled_unit(staff_bj, region_bj, 41)
    filing = enrolment_save(actor=admin, data=enrol_data(ident(61), start_period=str(PERIOD)))
    filing_submit(actor=admin, filing=filing)
    filing_return(actor=staff_bj, filing_id=filing.pk, reason="材料不全")

    page = signed_in(admin).get("/unit/").content.decode()
    assert "有 1 笔业务已回退" in page and 'href="/unit/filings/todo/"' in page
    owed = unit_home_arrears(admin)["outstanding"]
    assert owed == settlement.total
    assert (
        f"尚有欠缴社会保险费 <strong>{owed:,.2f}</strong> 元（结算期 {settlement.settle_period}）"
        in page
    )
    assert f'href="/unit/filings/{filing.serial_no}/"' in page  # recent filings are links

    # An operator who may neither settle nor query is not told the unit's debts.
    clerk = make_operator(unit, "clerk", kinds=("enrolment",))
    assert "欠缴" not in signed_in(clerk).get("/unit/").content.decode()


def test_a_unit_with_nothing_pending_gets_no_hints(admin_a, django_assert_max_num_queries):
    client = signed_in(admin_a)
    with django_assert_max_num_queries(12):
        page = client.get("/unit/").content.decode()
    assert "已回退" not in page and "欠缴" not in page
