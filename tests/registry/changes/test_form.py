"""The printable change form (人员变更表) as Excel: opens with python-calamine, shows every field
before and after, masks ID numbers unless the ID number itself changes, is audited and never
cached; another unit's filing is 404."""

import io
from datetime import date

import pytest
from django.core.exceptions import ValidationError
from python_calamine import CalamineWorkbook

from shebao.core.ids import make_resident_id
from shebao.core.models import AuditEntry
from shebao.filings import services as filing_services
from shebao.registry.models import Person
from tests.conftest import signed_in
from tests.registry import changes_helpers as h
from tests.registry.changes_helpers import general_change, key_change, person_save

# fixtures
worker, stranger = h.worker, h.stranger

pytestmark = pytest.mark.django_db

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def sheet_rows(content: bytes) -> list[list]:
    book = CalamineWorkbook.from_filelike(io.BytesIO(content))
    assert book.sheet_names == ["人员变更表"]
    return book.get_sheet_by_name("人员变更表").to_python()


def by_label(rows) -> dict[str, list]:
    return {row[0]: row[1:] for row in rows if row and row[0]}


def download(client, filing):
    return client.get(f"/unit/changes/filing/{filing.serial_no}/change-form.xlsx")


def test_key_change_form_shows_before_and_after_with_masked_id(admin_a, worker):
    filing = key_change(admin_a, worker, name="张新名")
    response = download(signed_in(admin_a), filing)

    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert response["Cache-Control"] == "no-store"
    assert "attachment" in response["Content-Disposition"]
    rows = sheet_rows(response.content)
    assert rows[0] == ["人员变更表", "", ""]
    fields = by_label(rows)
    assert fields["流水号"][0] == filing.serial_no
    assert fields["单位名称"][0] == "测试单位1有限公司"
    assert fields["个人编号"][0] == worker.person_no
    assert fields["变更项目"] == ["变更前", "变更后"]
    assert fields["姓名（变更）"] == ["测试人员1", "张新名"]
    assert fields["性别"] == ["男", "男"]
    assert fields["出生日期"] == ["1980-03-15", "1980-03-15"]
    assert fields["证件号码"] == [worker.masked_id_number, worker.masked_id_number]
    assert worker.id_number not in str(rows)
    assert fields["状态"][0] == "待提交"
    entry = AuditEntry.objects.get(action="person.change_form.export")
    assert entry.actor == admin_a and entry.detail == {"full_id": False}


def test_id_number_change_form_shows_both_numbers_in_full(admin_a, staff_bj, worker):
    new_id = make_resident_id("110105", date(1980, 3, 15), 133)
    filing = key_change(admin_a, worker, id_number=new_id)
    filing_services.filing_submit(actor=admin_a, filing=filing)
    filing_services.filing_approve(actor=staff_bj, filing_id=filing.pk)

    fields = by_label(sheet_rows(download(signed_in(admin_a), filing).content))

    assert fields["证件号码（变更）"] == [worker.id_number, new_id]
    assert fields["状态"][0] == "已办结"
    assert fields["办结时间"][0]
    assert AuditEntry.objects.get(action="person.change_form.export").detail == {"full_id": True}


def test_general_change_form(admin_a, worker):
    filing = general_change(admin_a, worker, mobile="13900001111", hukou="22")
    fields = by_label(sheet_rows(download(signed_in(admin_a), filing).content))
    assert fields["手机号码（变更）"] == ["13600000001", "13900001111"]
    assert fields["户口性质（变更）"] == ["本地城镇", "外地农村"]
    assert fields["联系地址"] == ["北京市朝阳区测试路2号", "北京市朝阳区测试路2号"]


def test_text_that_looks_like_a_formula_is_not_run(admin_a, worker):
    # an old stored value (the input rule refuses a new one) is still neutralised in the export
    Person.objects.filter(pk=worker.pk).update(address='=HYPERLINK("http://x")')
    worker.refresh_from_db()
    filing = general_change(admin_a, worker, address="新地址1号")
    fields = by_label(sheet_rows(download(signed_in(admin_a), filing).content))
    assert fields["联系地址（变更）"][0] == '\'=HYPERLINK("http://x")'


def test_new_text_that_looks_like_a_formula_is_refused(admin_a, worker):
    with pytest.raises(ValidationError) as e:
        general_change(admin_a, worker, address='=HYPERLINK("http://x")')
    assert e.value.message_dict == {"address": ["地址不能以 =、+、-、@ 开头"]}


def test_change_form_of_another_unit_or_kind_is_404(admin_a, admin_b, stranger, worker):
    theirs = key_change(admin_b, stranger, name="他人新名")
    assert download(signed_in(admin_a), theirs).status_code == 404
    lock = person_save(admin_a, worker, kind="person_lock", reason="退休")
    assert download(signed_in(admin_a), lock).status_code == 404
    assert not AuditEntry.objects.filter(action="person.change_form.export").exists()


def test_changes_index_links_the_change_form(admin_a, worker):
    filing = key_change(admin_a, worker, name="张新名")
    html = signed_in(admin_a).get("/unit/changes/").content.decode()
    assert f"/unit/changes/filing/{filing.serial_no}/change-form.xlsx" in html
