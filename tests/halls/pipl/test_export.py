"""个人信息导出: staff of the person's region export everything held on them and who saw it;
others are refused with nothing exported; every export and every display is recorded."""

import io
import re

import pytest
from django.test import Client
from python_calamine import CalamineWorkbook

from shebao.accounts.models import User
from shebao.core.audit import audit_record
from shebao.core.models import AuditEntry, SmsMessage
from shebao.core.verification import mask_sms_code, verification_code_send
from shebao.filings.materials import check_material
from shebao.filings.models import FilingMaterial
from shebao.halls.pipl.selectors import NOT_FOUND
from shebao.halls.pipl.services import person_data_export
from shebao.registry.changes import services as changes
from shebao.registry.enrolment.services import enrolment_save
from shebao.registry.models import Person
from tests.conftest import jpeg_bytes, signed_in
from tests.factories import PASSWORD
from tests.registry.changes_helpers import proof
from tests.registry.enrolment_helpers import (
    enrol,
    enrol_data,
    enrol_new,
    ident,
    submit_and_approve,
)

pytestmark = pytest.mark.django_db

ID = ident(1)


@pytest.fixture
def worker(admin_a, staff_bj) -> Person:
    """Enrolled end to end: a filing row, enrolments, a wage base, the SMS of the flow."""
    return enrol_new(admin_a, staff_bj, ID)


def export_url(person) -> str:
    return f"/staff/pipl/{person.person_no}/export/"


def sheets_of(content: bytes) -> dict[str, list[list]]:
    book = CalamineWorkbook.from_filelike(io.BytesIO(content))
    return {name: book.get_sheet_by_name(name).to_python() for name in book.sheet_names}


def cells(sheet: list[list]) -> list[str]:
    return [str(v) for row in sheet for v in row]


def exports():
    return AuditEntry.objects.filter(action="person.export", outcome="ok")


def test_search_by_id_number_then_export_everything(staff_client, staff_bj, worker):
    page = staff_client.post("/staff/pipl/", {"q": ID.lower()})
    html = page.content.decode()
    assert page.status_code == 200
    assert worker.person_no in html and worker.masked_id_number in html
    assert "记入审计日志" in html

    response = staff_client.post(export_url(worker))

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert "attachment" in response["Content-Disposition"]
    sheets = sheets_of(response.content)
    assert {
        "人员信息",
        "网厅账户",
        "参保关系",
        "申报记录",
        "缴费基数",
        "缴费明细",
        "补缴明细",
    } <= set(sheets)
    assert {"个人到账", "灵活就业登记", "短信", "短信验证码", "申报材料", "访问记录"} <= set(sheets)
    person_info = dict(map(tuple, sheets["人员信息"][1:]))
    assert person_info["证件号码"] == ID and person_info["姓名"] == worker.name
    assert len(sheets["参保关系"]) - 1 == 4
    assert any(worker.id_number in c for c in cells(sheets["申报记录"]))
    assert {row[7] for row in sheets["参保关系"][1:]} == {6500.0}
    entry = exports().get()
    assert entry.actor == staff_bj and entry.object_id == str(worker.pk)
    assert entry.region_id == "110000"


def test_access_list_shows_prior_views_by_the_unit_and_staff(
    admin_client, admin_a, staff_client, staff_bj, worker
):
    assert admin_client.get(f"/unit/roster/{worker.person_no}/").status_code == 200
    filing = worker.enrolments.first().start_filing
    assert staff_client.get(f"/staff/filings/{filing.serial_no}/").status_code == 200

    _, content = person_data_export(actor=staff_bj, person_no=worker.person_no)

    access = sheets_of(content)["访问记录"]
    header, rows = access[0], access[1:]
    by = [dict(zip(header, row, strict=True)) for row in rows]
    unit_views = [r for r in by if r["途径"] == "单位网厅·参保职工详情"]
    assert len(unit_views) == 1
    assert unit_views[0]["操作"] == "查看人员信息"
    unit = admin_a.unit
    assert unit_views[0]["操作人"] == f"{admin_a.audit_label()}·{unit.unit_no} {unit.name}"
    assert unit_views[0]["IP"] == "127.0.0.1"
    review = [r for r in by if r["途径"] == "经办后台·业务审核"]
    assert review and review[0]["业务流水号"] == filing.serial_no
    assert by[-1]["操作"] == "导出个人信息"
    assert ID not in " ".join(cells(access))


def test_no_password_hash_and_masked_mobiles_in_sms(staff_bj, worker):
    account = User(username="pworker", kind=User.Kind.PERSON, person=worker)
    account.set_password(PASSWORD)
    account.save()

    _, content = person_data_export(actor=staff_bj, person_no=worker.person_no)
    everything = " ".join(" ".join(cells(s)) for s in sheets_of(content).values())
    assert account.password not in everything
    assert "md5$" not in everything and "argon2" not in everything
    assert dict(map(tuple, sheets_of(content)["网厅账户"][1:]))["账户"] == "pworker"
    sms = sheets_of(content)["短信"]
    assert all(worker.mobile not in c for c in cells(sms))


def test_the_persons_sms_and_codes_are_listed_masked(staff_bj, person, person_user, region_bj):
    enrol(person, None, types=("110",), region=region_bj)
    Client().post("/accounts/person/login/", {"id_number": person.id_number, "password": "x"})
    verification_code_send(mobile=person.mobile, purpose="login")

    _, content = person_data_export(actor=staff_bj, person_no=person.person_no)

    sheets = sheets_of(content)
    assert sheets["短信验证码"][1][1] == "138****0001"
    assert sheets["短信"][1][1] == "138****0001"
    assert "13800000001" not in " ".join(cells(sheets["短信"]))
    account = dict(map(tuple, sheets["网厅账户"][1:]))
    assert account["账户"] == "pperson"


def test_sms_codes_are_masked_and_purposes_named(staff_bj, person, person_user, region_bj):
    enrol(person, None, types=("110",), region=region_bj)
    verification_code_send(mobile=person.mobile, purpose="login")
    sent = SmsMessage.objects.filter(purpose="login").get()
    code = re.search(r"验证码 ([0-9]{6})", sent.text).group(1)

    _, content = person_data_export(actor=staff_bj, person_no=person.person_no)

    sheets = sheets_of(content)
    sms = [dict(zip(sheets["短信"][0], row, strict=True)) for row in sheets["短信"][1:]]
    assert code not in " ".join(cells(sheets["短信"]))
    assert sms[-1]["用途"] == "登录" and "验证码 ******" in sms[-1]["内容"]
    codes = sheets["短信验证码"]
    assert dict(zip(codes[0], codes[-1], strict=True))["用途"] == "登录"


def test_a_notification_sms_keeps_its_serial_number():
    text = "【社保网厅】您的单位参保登记申请（流水号 20261204000001）已被退回：材料不清。"
    assert mask_sms_code(text) == text
    assert mask_sms_code("验证码 123456，10分钟内有效") == "验证码 ******，10分钟内有效"


def test_access_list_names_actions_in_chinese_with_the_reason(admin_a, staff_bj, worker):
    audit_record(
        actor=admin_a, action="enrolment.lookup", obj=worker, detail={"reason": "核对证件影像"}
    )

    rows = access_rows(staff_bj, worker)

    lookup = next(r for r in rows if r["操作代码"] == "enrolment.lookup")
    assert lookup["操作"] == "人员参保·查询人员"
    assert lookup["事由"] == "核对证件影像"
    assert lookup["操作人"].endswith(f"·{admin_a.unit.unit_no} {admin_a.unit.name}")
    assert all(r["操作"] != r["操作代码"] for r in rows)


def test_staff_of_another_region_get_404_and_nothing_is_exported(staff_sh, worker):
    response = signed_in(staff_sh).post(export_url(worker))

    assert response.status_code == 404
    assert not exports().exists()
    assert AuditEntry.objects.filter(action="person.export", outcome="denied").exists()
    page = signed_in(staff_sh).post("/staff/pipl/", {"q": ID})
    assert NOT_FOUND in page.content.decode()
    assert worker.person_no not in page.content.decode()


def test_operators_persons_and_anonymous_are_refused(admin_client, person_user, staff_bj):
    worker = person_user.person
    assert admin_client.post(export_url(worker)).status_code == 403
    assert admin_client.get("/staff/pipl/").status_code == 403
    assert signed_in(person_user).post(export_url(worker)).status_code == 403
    assert Client().post(export_url(worker)).status_code == 302
    assert not exports().exists()


def test_unknown_person_gets_a_clear_message(staff_client, worker):
    for q in ["110105199003079999", "999999999999", "张三"]:
        page = staff_client.post("/staff/pipl/", {"q": q})
        assert page.status_code == 200
        assert NOT_FOUND in page.content.decode()
    assert staff_client.post("/staff/pipl/", {"q": ""}).status_code == 200
    assert staff_client.post("/staff/pipl/999999999999/export/").status_code == 404
    assert not exports().exists()


def test_search_by_person_number(staff_client, worker):
    page = staff_client.post("/staff/pipl/", {"q": worker.person_no})
    assert f"/staff/pipl/{worker.person_no}/export/" in page.content.decode()


def test_get_of_the_export_is_not_allowed(staff_client, worker):
    assert staff_client.get(export_url(worker)).status_code == 405
    assert not exports().exists()


# --- full displays outside the person's pages, and the materials listed ------------------------


def access_rows(staff, person) -> list[dict]:
    _, content = person_data_export(actor=staff, person_no=person.person_no)
    access = sheets_of(content)["访问记录"]
    return [dict(zip(access[0], row, strict=True)) for row in access[1:]]


def test_a_full_roster_export_is_in_each_listed_persons_access_list(
    admin_client, admin_a, staff_bj, worker
):
    other = enrol_new(admin_a, staff_bj, ident(3), name="赵另一")
    assert admin_client.post("/unit/roster/export/", {}).status_code == 200  # masked: not listed
    assert all(r["操作"] != "完整显示证件号码" for r in access_rows(staff_bj, worker))

    assert admin_client.post("/unit/roster/export/", {"full": "1"}).status_code == 200

    for person in (worker, other):
        full = [r for r in access_rows(staff_bj, person) if r["操作"] == "完整显示证件号码"]
        assert len(full) == 1
        assert full[0]["途径"] == "单位网厅·参保职工名单完整导出"
        assert full[0]["导出"] == "参保职工名单（完整证件号码）"
        assert full[0]["操作人"].startswith(admin_a.audit_label())
        assert full[0]["统筹区"] == worker.enrolments.first().region.name


def test_the_change_form_export_is_in_the_persons_access_list(
    admin_client, admin_a, staff_bj, worker
):
    filing = changes.person_change_save(
        actor=admin_a,
        kind="person_key_change",
        person=worker,
        after={"id_number": ident(5)},
        materials=proof(),
    )
    response = admin_client.get(f"/unit/changes/filing/{filing.serial_no}/change-form.xlsx")
    assert response.status_code == 200

    shown = [r for r in access_rows(staff_bj, worker) if r["导出"] == "人员变更表"]
    assert len(shown) == 1
    assert shown[0]["操作"] == "完整显示证件号码"  # the ID number changes: shown in full
    assert shown[0]["途径"] == "单位网厅·人员变更表导出"
    assert shown[0]["业务流水号"] == filing.serial_no


def test_materials_list_the_persons_own_photo_and_filing_level_ones_only(admin_a, staff_bj):
    own = check_material(jpeg_bytes((400, 500)), name="王本人照片.jpg")
    theirs = check_material(jpeg_bytes((400, 500)), name="李他人照片.jpg")
    filing = enrolment_save(actor=admin_a, data=enrol_data(ident(7), name="王本人"), photo=own)
    filing = enrolment_save(
        actor=admin_a, data=enrol_data(ident(9), name="李他人"), filing=filing, photo=theirs
    )
    FilingMaterial.objects.create(
        filing=filing,
        slot="contract",
        file="materials/contract.pdf",
        original_name="劳动合同汇总.pdf",
        content_type="application/pdf",
        size=10,
        sha256="0" * 64,
    )
    submit_and_approve(admin_a, staff_bj, filing)
    person = Person.objects.get(Person.id_number.q(ident(7)))

    _, content = person_data_export(actor=staff_bj, person_no=person.person_no)

    names = {row[3] for row in sheets_of(content)["申报材料"][1:]}
    assert names == {"王本人照片.jpg", "劳动合同汇总.pdf"}
