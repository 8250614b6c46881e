"""The enrolment pages in the unit hall: ID look-up by POST (htmx fragment or whole page), the
person form, saving into a draft, editing and removing persons, the stop/transfer roster pages,
another unit's filing, permission and ID numbers never in URLs."""

import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shebao.core.models import AuditEntry
from shebao.filings.business import BusinessKind
from shebao.filings.models import Filing, FilingRow
from shebao.filings.services import filing_submit
from shebao.registry.enrolment.services import enrolment_save
from tests.conftest import jpeg_bytes, signed_in
from tests.factories import make_operator
from tests.registry.enrolment_helpers import (
    CURRENT,
    TODAY,
    enrol,
    enrol_data,
    ident,
    make_person,
    stop_persons,
)

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


def form_post(id_number: str, **overrides) -> dict:
    data = {
        "action": "save",
        "id_number": id_number,
        "name": "李新员",
        "ethnicity": "汉族",
        "hukou": "11",
        "first_work_date": "2015-07-01",
        "mobile": "13811112222",
        "address": "测试地址",
        "scope": "1",
        "insurance_types": ["110", "210", "310", "410"],
        "start_period": str(CURRENT),
        "wage": "6500",
        "contract_start": "2024-01-01",
        "contract_end": "",
        "employment_registered": "on",
    }
    data.update(overrides)
    return data


def text(response) -> str:
    return response.content.decode()


# --- 人员参保 -----------------------------------------------------------------------------------


def test_enrolment_page_shows_the_id_lookup(admin_client):
    response = admin_client.get("/unit/enrolment/")
    assert response.status_code == 200
    html = text(response)
    assert "人员参保" in html and "身份证号码" in html and 'hx-post="/unit/enrolment/"' in html


def test_htmx_lookup_returns_the_card_with_the_person_form(admin_client):
    response = admin_client.post(
        "/unit/enrolment/", {"action": "lookup", "id_number": ident(11)}, **HX
    )
    assert response.status_code == 200
    html = text(response)
    assert "<html" not in html and 'id="add-card"' in html
    assert "新参保" in html and "1990-03-07" in html and "男" in html
    assert 'name="name"' in html and 'name="start_period"' in html
    assert f'value="{CURRENT}"' in html  # start month defaults to the settlement period
    for code in ("110", "210", "310", "410"):
        assert f'value="{code}"' in html


def test_lookup_without_htmx_renders_the_whole_page(admin_client):
    response = admin_client.post("/unit/enrolment/", {"action": "lookup", "id_number": ident(11)})
    assert "<html" in text(response) and "新参保" in text(response)


def test_invalid_id_number_is_shown_next_to_the_field(admin_client):
    response = admin_client.post(
        "/unit/enrolment/", {"action": "lookup", "id_number": "110105199003071234"}, **HX
    )
    html = text(response)
    assert "校验位错误" in html and "is-invalid" in html
    assert 'name="start_period"' not in html


def test_refusal_is_shown_next_to_the_id_number(admin_client, unit_b):
    person = make_person(23)
    enrol(person, unit_b)
    response = admin_client.post(
        "/unit/enrolment/", {"action": "lookup", "id_number": person.id_number}, **HX
    )
    html = text(response)
    assert "须由原单位先办理停保或转出" in html and 'name="start_period"' not in html


def test_existing_person_shows_kept_data_and_the_lock(admin_client, unit_b):
    person = make_person(27, name="吴锁定", is_locked=True, lock_reason="退休审批中")
    enrol(person, unit_b, ["410"])
    html = text(
        admin_client.post(
            "/unit/enrolment/", {"action": "lookup", "id_number": person.id_number}, **HX
        )
    )
    assert "吴锁定" in html and "信息已锁定" in html and person.person_no in html
    assert 'name="name"' not in html  # key data is not typed again


def test_save_creates_the_draft_and_shows_its_progress_page(admin_client, unit_a):
    photo = SimpleUploadedFile("照片.jpg", jpeg_bytes((400, 500)), "image/jpeg")
    response = admin_client.post("/unit/enrolment/", {**form_post(ident(11)), "photo": photo})
    filing = Filing.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/unit/filings/{filing.serial_no}/"
    assert ident(11) not in response["Location"]
    page = admin_client.get(response["Location"])
    html = text(page)
    assert "李新员" in html and "已保存 李新员（新参保）" in html
    assert f'href="/unit/enrolment/{filing.serial_no}/"' in html  # 修改 leads to the edit page
    assert "1101**********" in html and ident(11) not in html
    assert filing.materials.count() == 1


def test_save_with_errors_shows_them_on_the_fields(admin_client):
    response = admin_client.post(
        "/unit/enrolment/",
        form_post(ident(11), start_period="201001", first_work_date="2015-07-01"),
    )
    assert response.status_code == 200
    html = text(response)
    assert "参保年月不能早于参加工作日期所在月份（2015年07月）" in html
    assert re.search(r'name="start_period"[^>]*is-invalid|is-invalid[^>]*name="start_period"', html)
    assert not Filing.objects.exists()


def test_bad_photo_is_refused_on_its_field(admin_client):
    fake = SimpleUploadedFile("photo.jpg", b"not an image at all", "image/jpeg")
    response = admin_client.post("/unit/enrolment/", {**form_post(ident(11)), "photo": fake})
    assert response.status_code == 200
    assert "文件类型不符" in text(response)
    assert not Filing.objects.exists()


def test_new_page_offers_the_current_draft_and_saves_into_it(admin_client, admin_a):
    draft = enrolment_save(actor=admin_a, data=enrol_data(ident(11), name="甲"))
    html = text(admin_client.post("/unit/enrolment/", {"action": "lookup", "id_number": ident(13)}))
    assert f"待提交业务 {draft.serial_no}" in html and "新建一笔业务" in html
    response = admin_client.post(
        "/unit/enrolment/", form_post(ident(13), name="乙", target=draft.serial_no)
    )
    assert response["Location"] == f"/unit/filings/{draft.serial_no}/"
    assert list(draft.rows.values_list("name", flat=True)) == ["甲", "乙"]
    admin_client.post("/unit/enrolment/", form_post(ident(15), name="丙", target=""))
    assert Filing.objects.count() == 2


def test_edit_page_lists_persons_and_adds_more(admin_client, admin_a):
    draft = enrolment_save(actor=admin_a, data=enrol_data(ident(11), name="甲"))
    url = f"/unit/enrolment/{draft.serial_no}/"
    html = text(admin_client.get(url))
    row = draft.rows.get()
    assert "甲" in html and f"/unit/enrolment/{draft.serial_no}/rows/{row.pk}/" in html
    lookup = text(admin_client.post(url, {"action": "lookup", "id_number": ident(11)}, **HX))
    assert "该人员已在本业务中" in lookup
    response = admin_client.post(url, form_post(ident(13), name="乙"))
    assert response.status_code == 302
    assert draft.rows.count() == 2


def test_edit_one_person_and_remove_another(admin_client, admin_a):
    draft = enrolment_save(actor=admin_a, data=enrol_data(ident(11), name="甲"))
    enrolment_save(actor=admin_a, data=enrol_data(ident(13), name="乙"), filing=draft)
    row = draft.rows.get(name="甲")
    url = f"/unit/enrolment/{draft.serial_no}/rows/{row.pk}/"
    html = text(admin_client.get(url))
    assert "修改人员 甲" in html and 'value="6500.00"' in html and ident(11) not in url
    response = admin_client.post(url, form_post(ident(11), name="甲", wage="9000"))
    assert response.status_code == 302
    assert draft.rows.get(name="甲").payload["after"]["wage"] == "9000.00"

    other = draft.rows.get(name="乙")
    response = admin_client.post(f"/unit/enrolment/{draft.serial_no}/rows/{other.pk}/remove/")
    assert response.status_code == 302
    assert list(draft.rows.values_list("name", flat=True)) == ["甲"]
    last = draft.rows.get()
    admin_client.post(f"/unit/enrolment/{draft.serial_no}/rows/{last.pk}/remove/")
    assert draft.rows.count() == 1


def test_submitted_filing_cannot_be_opened_for_editing(admin_client, admin_a):
    draft = enrolment_save(actor=admin_a, data=enrol_data(ident(11)))
    filing_submit(actor=admin_a, filing=draft)
    response = admin_client.get(f"/unit/enrolment/{draft.serial_no}/")
    assert (
        response.status_code == 302 and response["Location"] == f"/unit/filings/{draft.serial_no}/"
    )


def test_another_units_filing_answers_404(admin_client, admin_b):
    theirs = enrolment_save(actor=admin_b, data=enrol_data(ident(11)))
    row = theirs.rows.get()
    before = list(FilingRow.objects.values_list("pk", "payload"))
    assert admin_client.get(f"/unit/enrolment/{theirs.serial_no}/").status_code == 404
    assert admin_client.get(f"/unit/enrolment/{theirs.serial_no}/rows/{row.pk}/").status_code == 404
    assert (
        admin_client.post(f"/unit/enrolment/{theirs.serial_no}/", form_post(ident(13))).status_code
        == 404
    )
    assert (
        admin_client.post(f"/unit/enrolment/{theirs.serial_no}/rows/{row.pk}/remove/").status_code
        == 404
    )
    assert admin_client.get(f"/unit/stop/{theirs.serial_no}/").status_code == 404
    assert list(FilingRow.objects.values_list("pk", "payload")) == before


def test_row_of_another_filing_answers_404(admin_client, admin_a):
    mine = enrolment_save(actor=admin_a, data=enrol_data(ident(11)))
    other = enrolment_save(actor=admin_a, data=enrol_data(ident(13)))
    row = other.rows.get()
    assert admin_client.get(f"/unit/enrolment/{mine.serial_no}/rows/{row.pk}/").status_code == 404


@pytest.mark.parametrize(
    ("url", "kinds"),
    [
        ("/unit/enrolment/", [BusinessKind.STOP, BusinessKind.TRANSFER]),
        ("/unit/stop/", [BusinessKind.ENROLMENT, BusinessKind.TRANSFER]),
        ("/unit/transfer/", [BusinessKind.ENROLMENT, BusinessKind.STOP]),
        ("/unit/transfer/in/", [BusinessKind.ENROLMENT, BusinessKind.STOP]),
    ],
)
def test_operator_without_the_business_gets_403(admin_a, unit_a, url, kinds):
    client = signed_in(make_operator(unit_a, "clerk", kinds))
    assert client.get(url).status_code == 403
    response = client.post(url, {**form_post(ident(11)), "person": "1", "stop_date": "2025-01-01"})
    assert response.status_code == 403
    assert not Filing.objects.exists()


def test_staff_get_403_and_anonymous_the_sign_in_page(staff_client, client):
    assert staff_client.get("/unit/enrolment/").status_code == 403
    response = client.get("/unit/stop/")
    assert response.status_code == 302 and "/accounts/unit/login/" in response["Location"]


def test_menu_has_the_enrolment_entries(admin_client):
    html = text(admin_client.get("/unit/"))
    for label, url in (
        ("人员参保", "/unit/enrolment/"),
        ("人员停保", "/unit/stop/"),
        ("人员转移", "/unit/transfer/"),
    ):
        assert f'href="{url}">{label}</a>' in html


# --- 人员停保 / 人员转移 --------------------------------------------------------------------------


@pytest.fixture
def roster(unit_a):
    persons = [make_person(40 + i, name=f"职工{i:02d}") for i in range(3)]
    for p in persons:
        enrol(p, unit_a)
    locked = make_person(49, name="锁定者", is_locked=True, lock_reason="退休审批中")
    enrol(locked, unit_a)
    return [*persons, locked]


def test_stop_page_lists_the_roster_masked_with_the_lock(admin_client, roster):
    html = text(admin_client.get("/unit/stop/"))
    for person in roster:
        assert person.name in html and f'value="{person.pk}"' in html
        assert person.id_number not in html and person.masked_id_number in html
    assert "信息已锁定" in html
    searched = text(admin_client.get("/unit/stop/", {"q": "锁定"}))
    assert "锁定者" in searched and "职工00" not in searched


def test_stop_page_saves_the_ticked_persons(admin_client, roster):
    response = admin_client.post(
        "/unit/stop/",
        {
            "insurance_types": ["110", "210"],
            "reason": "11",
            "stop_date": TODAY.isoformat(),
            "person": [roster[0].pk, roster[3].pk],
        },
    )
    filing = Filing.objects.get()
    assert (
        response.status_code == 302 and response["Location"] == f"/unit/filings/{filing.serial_no}/"
    )
    assert filing.kind == "stop"
    assert set(filing.rows.values_list("person_id", flat=True)) == {roster[0].pk, roster[3].pk}
    page = text(admin_client.get(response["Location"]))
    assert "离职" in page and f'href="/unit/stop/{filing.serial_no}/"' in page
    edit = text(admin_client.get(f"/unit/stop/{filing.serial_no}/"))
    assert edit.count(" checked") >= 2 + 2  # two persons and two types ticked


def test_stop_page_errors_are_shown_and_ticks_kept(admin_client, roster):
    response = admin_client.post(
        "/unit/stop/",
        {
            "insurance_types": ["110"],
            "reason": "11",
            "stop_date": "2999-01-01",
            "person": [roster[1].pk],
        },
    )
    html = text(response)
    assert response.status_code == 200 and "停保日期不能晚于今天" in html
    assert (
        f'value="{roster[1].pk}" id="person-{roster[1].pk}" aria-label="选择 {roster[1].name}" checked'
        in html
    )
    response = admin_client.post(
        "/unit/stop/", {"insurance_types": ["110"], "reason": "11", "stop_date": TODAY.isoformat()}
    )
    assert "请至少勾选一名人员" in text(response)
    assert not Filing.objects.exists()


def test_stop_of_another_units_person_answers_404(admin_client, unit_b, roster):
    other = make_person(60)
    enrol(other, unit_b)
    response = admin_client.post(
        "/unit/stop/",
        {
            "insurance_types": ["110"],
            "reason": "11",
            "stop_date": TODAY.isoformat(),
            "person": [other.pk],
        },
    )
    assert response.status_code == 404
    assert not Filing.objects.exists()


def test_transfer_page_is_transfer_out_with_tabs(admin_client, roster):
    html = text(admin_client.get("/unit/transfer/"))
    assert "人员转出" in html and 'href="/unit/transfer/in/"' in html
    assert 'name="reason"' not in html and "转出日期" in html
    response = admin_client.post(
        "/unit/transfer/", {"stop_date": TODAY.isoformat(), "person": [roster[0].pk]}
    )
    filing = Filing.objects.get()
    assert response.status_code == 302 and filing.kind == "transfer_out"
    assert filing.rows.get().payload["after"]["reason"] == "51"
    assert f'href="/unit/transfer/out/{filing.serial_no}/"' in text(
        admin_client.get(response["Location"])
    )


def test_transfer_in_page_looks_up_and_saves(admin_client, admin_b, staff_bj, unit_b):
    person = make_person(31, name="周转移")
    enrol(person, unit_b)
    stop_persons(admin_b, staff_bj, [person], kind="transfer_out")
    html = text(
        admin_client.post(
            "/unit/transfer/in/", {"action": "lookup", "id_number": person.id_number}, **HX
        )
    )
    assert "转入" in html and "周转移" in html and 'name="hukou"' not in html
    response = admin_client.post(
        "/unit/transfer/in/",
        form_post(person.id_number, start_period=str(CURRENT + 1)),
    )
    filing = Filing.objects.get(kind="transfer_in")
    assert response["Location"] == f"/unit/filings/{filing.serial_no}/"
    assert f'href="/unit/transfer/in/{filing.serial_no}/"' in text(
        admin_client.get(response["Location"])
    )


def test_roster_page_runs_a_constant_number_of_queries(admin_client, unit_a, roster):
    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert admin_client.get("/unit/stop/").status_code == 200
        return len(ctx)

    few = count()
    for i in range(20):
        p = make_person(100 + i, name=f"新增{i}")
        enrol(p, unit_a)
    assert count() == few


def test_review_page_shows_the_enrolment_rows(staff_client, admin_a):
    filing = enrolment_save(
        actor=admin_a,
        data=enrol_data(ident(11), wage=Decimal("6500"), start_period=str(CURRENT - 2)),
    )
    filing_submit(actor=admin_a, filing=filing)
    html = text(staff_client.get(f"/staff/filings/{filing.serial_no}/"))
    assert "李新员" in html and "新参保" in html and "6500.00 元" in html
    assert "补收标志" in html and (CURRENT - 2).label in html
    assert ident(11) not in html and "138****2222" in html


def test_typed_lookups_are_audited_masked_and_a_save_once(admin_client):
    admin_client.post("/unit/enrolment/", {"action": "lookup", "id_number": ident(11)}, **HX)
    admin_client.post("/unit/enrolment/", form_post(ident(11)))
    actions = list(AuditEntry.objects.values_list("action", flat=True))
    assert actions.count("enrolment.lookup") == 1
    assert actions.count("filing.create.enrolment") == 1
    for entry in AuditEntry.objects.all():
        assert ident(11) not in f"{entry.object_label} {entry.detail}"
