"""Issue 12: a second person lands in the open draft (添加人员 on its page, 保存到 defaults to
the actor's newest draft of the same kind, else the unit's newest, the save message links to
it)."""

import pytest

from shebao.filings.models import Filing, FilingRow
from shebao.filings.services import filing_return, filing_submit
from shebao.registry.enrolment.services import enrolment_save, stop_save
from tests.conftest import signed_in
from tests.factories import make_operator
from tests.registry.enrolment.test_views import form_post, text
from tests.registry.enrolment_helpers import enrol, enrol_data, ident, make_person, stop_data

pytestmark = pytest.mark.django_db


def test_second_person_lands_in_the_open_draft_by_default(admin_client):
    first = admin_client.post("/unit/enrolment/", form_post(ident(11), name="甲"))
    draft = Filing.objects.get()
    assert first["Location"] == f"/unit/filings/{draft.serial_no}/"
    page = text(admin_client.get(first["Location"]))
    assert f'href="/unit/enrolment/{draft.serial_no}/#add-card">继续添加人员</a>' in page
    assert f'href="/unit/filings/{draft.serial_no}/">{draft.serial_no}</a>' in page
    # the new-enrolment page preselects the draft
    html = text(admin_client.post("/unit/enrolment/", {"action": "lookup", "id_number": ident(13)}))
    assert f'<option value="{draft.serial_no}" selected>' in html
    # a post without the choice goes there too
    response = admin_client.post("/unit/enrolment/", form_post(ident(13), name="乙"))
    assert response["Location"] == f"/unit/filings/{draft.serial_no}/"
    assert Filing.objects.count() == 1
    assert list(draft.rows.values_list("name", flat=True)) == ["甲", "乙"]


def test_default_is_the_newest_of_several_drafts(admin_client, admin_a):
    enrolment_save(actor=admin_a, data=enrol_data(ident(11), name="甲"))
    newest = enrolment_save(actor=admin_a, data=enrol_data(ident(13), name="乙"))
    html = text(admin_client.post("/unit/enrolment/", {"action": "lookup", "id_number": ident(15)}))
    assert f'<option value="{newest.serial_no}" selected>' in html
    admin_client.post("/unit/enrolment/", form_post(ident(15), name="丙"))
    assert newest.rows.filter(name="丙").exists()


def test_new_filing_when_there_is_no_draft_or_when_chosen(admin_client, admin_a):
    html = text(admin_client.post("/unit/enrolment/", {"action": "lookup", "id_number": ident(11)}))
    assert "保存到" not in html
    draft = enrolment_save(actor=admin_a, data=enrol_data(ident(11), name="甲"))
    filing_submit(actor=admin_a, filing=draft)  # a submitted filing is no draft
    admin_client.post("/unit/enrolment/", form_post(ident(13), name="乙"))
    assert Filing.objects.count() == 2
    admin_client.post("/unit/enrolment/", form_post(ident(15), name="丙", target=""))
    assert Filing.objects.count() == 3


def test_add_persons_link_on_a_draft_not_on_a_submitted_filing(admin_client, admin_a):
    draft = enrolment_save(actor=admin_a, data=enrol_data(ident(11), name="甲"))
    html = text(admin_client.get(f"/unit/filings/{draft.serial_no}/"))
    assert f'href="/unit/enrolment/{draft.serial_no}/#add-card" id="add-persons">添加人员' in html
    filing_submit(actor=admin_a, filing=draft)
    html = text(admin_client.get(f"/unit/filings/{draft.serial_no}/"))
    assert 'id="add-persons"' not in html and "添加人员" not in html


def test_add_persons_link_on_a_stop_draft(admin_client, admin_a, unit_a):
    person = make_person(21)
    enrol(person, unit_a)
    draft = stop_save(actor=admin_a, data=stop_data(), person_ids=[person.pk])
    html = text(admin_client.get(f"/unit/filings/{draft.serial_no}/"))
    assert f'href="/unit/stop/{draft.serial_no}/#add-card" id="add-persons"' in html


def test_another_units_draft_in_the_form_is_refused(admin_client, admin_a, admin_b):
    theirs = enrolment_save(actor=admin_b, data=enrol_data(ident(11), name="甲"))
    before = list(FilingRow.objects.values_list("pk", "filing_id", "payload"))
    post = form_post(ident(13), name="乙", target=theirs.serial_no)
    # no draft of our own: the form has no choice, the serial number answers 404
    assert admin_client.post("/unit/enrolment/", post).status_code == 404
    assert Filing.objects.count() == 1
    assert list(FilingRow.objects.values_list("pk", "filing_id", "payload")) == before
    # with a draft of our own: not one of the choices, refused on the field
    mine = enrolment_save(actor=admin_a, data=enrol_data(ident(15), name="丙"))
    before = list(FilingRow.objects.values_list("pk", "filing_id", "payload"))
    response = admin_client.post("/unit/enrolment/", post)
    assert response.status_code == 200
    assert "is-invalid" in text(response) and 'name="target"' in text(response)
    assert Filing.objects.count() == 2 and mine.rows.count() == 1
    assert list(FilingRow.objects.values_list("pk", "filing_id", "payload")) == before
    assert admin_client.get(f"/unit/filings/{theirs.serial_no}/").status_code == 404


def test_default_is_the_actors_own_draft_before_a_colleagues_newer_one(admin_a, unit_a):
    clerk = make_operator(unit_a, "qian", ["enrolment"])
    clerk.display_name = "钱联系"
    clerk.save(update_fields=["display_name"])
    own = enrolment_save(actor=admin_a, data=enrol_data(ident(11), name="甲"))
    theirs = enrolment_save(actor=clerk, data=enrol_data(ident(13), name="乙"))
    enrolment_save(actor=clerk, data=enrol_data(ident(15), name="丙"), filing=theirs)
    # the administrator's own draft is the default, though the clerk's is newer
    html = text(
        signed_in(admin_a).post("/unit/enrolment/", {"action": "lookup", "id_number": ident(17)})
    )
    assert f'<option value="{own.serial_no}" selected>' in html
    theirs.refresh_from_db()
    assert f"待提交业务 {theirs.serial_no}（钱联系 保存，{theirs.title}）" in html
    assert f"待提交业务 {own.serial_no}（王联系 保存，" in html
    # someone with no draft of their own gets the unit's newest
    third = make_operator(unit_a, "sun", ["enrolment"], mobile="13600000001")
    html = text(
        signed_in(third).post("/unit/enrolment/", {"action": "lookup", "id_number": ident(17)})
    )
    assert f'<option value="{theirs.serial_no}" selected>' in html
    signed_in(third).post("/unit/enrolment/", form_post(ident(17), name="丁"))
    assert theirs.rows.filter(name="丁").exists() and not own.rows.filter(name="丁").exists()


def test_rows_of_a_draft_say_not_yet_submitted_not_pending_review(admin_client, admin_a, staff_bj):
    draft = enrolment_save(actor=admin_a, data=enrol_data(ident(11), name="甲"))
    html = text(admin_client.get(f"/unit/filings/{draft.serial_no}/"))
    assert "<td>待提交</td>" in html and "待审核" not in html
    filing_submit(actor=admin_a, filing=draft)
    html = text(admin_client.get(f"/unit/filings/{draft.serial_no}/"))
    assert "<td>待审核</td>" in html and "<td>待提交</td>" not in html
    filing_return(actor=staff_bj, filing_id=draft.pk, reason="材料不全")
    html = text(admin_client.get(f"/unit/filings/{draft.serial_no}/"))
    assert "<td>待提交</td>" in html and "<td>待审核</td>" not in html
