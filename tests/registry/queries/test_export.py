"""Excel exports of the roster and the 增员表: ID numbers masked unless 完整导出 is ticked,
every export audited, formulas escaped, never cached; bad periods answered next to the field."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shebao.core.audit import PERSON_VIEW_FULL
from shebao.core.ids import mask_id_number
from shebao.core.models import AuditEntry
from shebao.registry.models import Enrolment
from tests.conftest import signed_in
from tests.registry.queries_helpers import (
    enrol,
    make_clerk,
    make_person,
    staff_people,
    xlsx_rows,
)

EXPORT = "/unit/roster/export/"
ADDITIONS = "/unit/roster/additions/"


@pytest.fixture
def people(unit_a):
    return staff_people(unit_a, 3)


def test_export_masks_id_numbers_and_is_audited(admin_client, admin_a, people):
    r = admin_client.post(EXPORT)
    assert r.status_code == 200
    assert r["Cache-Control"] == "no-store"
    assert r["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = xlsx_rows(r.content)
    assert rows[0][:3] == ["个人编号", "姓名", "证件号码"]
    assert [row[0] for row in rows[1:]] == [p.person_no for p in people]
    for row, p in zip(rows[1:], people, strict=True):
        assert row[2] == mask_id_number(p.id_number)
        assert row[2].startswith(p.id_number[:4]) and "**********" in row[2]
        assert row[4] == "企业养老、失业、医疗、工伤"
        assert row[8] == 6000.0
    entry = AuditEntry.objects.get(action="roster.export")
    assert entry.actor == admin_a
    assert entry.detail["rows"] == 3 and entry.detail["full"] is False
    assert not AuditEntry.objects.filter(action="roster.export_full").exists()


def test_full_export_has_whole_id_numbers_and_its_own_audit_action(admin_client, admin_a, people):
    r = admin_client.post(EXPORT, {"full": "1"})
    rows = xlsx_rows(r.content)
    assert [row[2] for row in rows[1:]] == [p.id_number for p in people]
    entry = AuditEntry.objects.get(action="roster.export_full")
    assert entry.actor == admin_a and entry.detail["full"] is True
    assert entry.region_id == admin_a.unit.region_id


def test_a_full_export_records_each_person_listed_in_one_insert(admin_client, admin_a, unit_a):
    people = staff_people(unit_a, 40)
    with CaptureQueriesContext(connection) as queries:
        assert admin_client.post(EXPORT, {"full": "1"}).status_code == 200
    inserts = [q["sql"] for q in queries if q["sql"].startswith('INSERT INTO "core_auditentry"')]
    assert len(inserts) == 2  # the export's own row, then all the persons' rows at once
    views = AuditEntry.objects.filter(action=PERSON_VIEW_FULL)
    assert sorted(int(e.object_id) for e in views) == sorted(p.pk for p in people)
    entry = views.get(object_id=str(people[0].pk))
    assert entry.object_type == "person" and entry.actor == admin_a
    assert entry.object_label == str(people[0])
    assert entry.detail["export"] == "roster.export_full"
    assert entry.region_id == unit_a.region_id
    assert all(p.id_number not in str(e.detail) for e in views for p in people)


def test_a_masked_export_records_no_person(admin_client, people):
    admin_client.post(EXPORT)
    assert not AuditEntry.objects.filter(object_type="person").exists()


def test_export_follows_filter_and_search_and_masks_the_audited_search(
    admin_client, unit_a, people
):
    medical_only = make_person(30)
    enrol(medical_only, unit_a, ("310",))
    admin_client.post("/unit/roster/", {"q": medical_only.id_number})
    rows = xlsx_rows(admin_client.post(EXPORT, {"insurance_type": "310"}).content)
    assert [row[0] for row in rows[1:]] == [medical_only.person_no]
    entry = AuditEntry.objects.get(action="roster.export")
    assert entry.detail["search"] == medical_only.masked_id_number
    assert medical_only.id_number not in str(entry.detail)


def test_export_of_stopped_persons_has_the_stop_month(admin_client, unit_a, people):
    gone = make_person(31)
    enrol(gone, unit_a, ("110",), start=202001, stop=202306)
    rows = xlsx_rows(admin_client.post(EXPORT, {"status": "stopped"}).content)
    assert len(rows) == 2
    assert rows[1][0] == gone.person_no and rows[1][5] == "已停保" and rows[1][7] == "202306"


def test_export_escapes_formulas(admin_client, unit_a):
    evil = make_person(32, name="=cmd")
    enrol(evil, unit_a)
    rows = xlsx_rows(admin_client.post(EXPORT).content)
    assert rows[1][1] == "'=cmd"


def test_export_is_post_only(admin_client, people):
    assert admin_client.get(EXPORT).status_code == 405
    assert not AuditEntry.objects.filter(action__startswith="roster.").exists()


def test_export_is_scoped_to_the_unit(admin_client, unit_b, people):
    other = make_person(33)
    enrol(other, unit_b)
    rows = xlsx_rows(admin_client.post(EXPORT).content)
    assert other.person_no not in [row[0] for row in rows]


def test_clerk_with_query_permission_may_export(admin_a, people):
    clerk = make_clerk(admin_a, kinds=["query"])
    r = signed_in(clerk).post(EXPORT, {"full": "1"})
    assert r.status_code == 200
    assert AuditEntry.objects.get(action="roster.export_full").actor == clerk


# --- 增员表 --------------------------------------------------------------------------------------


@pytest.fixture
def additions(unit_a, unit_b):
    """Two persons added at unit A in 202405 (one with back pay), one in 202404, one at B."""
    a = make_person(21, name="=SUM(A1)")
    enrol(a, unit_a, ("110", "310"), start=202405, wage="5000", back_pay=True)
    enrol(a, unit_a, ("410",), start=202406, wage="5000")
    b = make_person(22)
    enrol(
        b,
        unit_a,
        ("110",),
        start=202405,
        stop=202409,
        wage="7000",
        scope=Enrolment.Scope.MIGRANT_FIVE,
    )
    c = make_person(23)
    enrol(c, unit_a, start=202404)
    d = make_person(24)
    enrol(d, unit_b, start=202405)
    return a, b, c, d


def test_additions_page_offers_the_current_month(admin_client):
    r = admin_client.get(ADDITIONS)
    assert r.status_code == 200
    assert "参保年月" in r.content.decode()


def test_additions_export_lists_the_period_masked_and_audited(admin_client, admin_a, additions):
    a, b, *_ = additions
    r = admin_client.post(ADDITIONS, {"period": "202405"})
    assert r.status_code == 200
    assert r["Cache-Control"] == "no-store"
    rows = xlsx_rows(r.content)
    assert rows[0][:5] == ["序号", "个人编号", "姓名", "证件类型", "证件号码"]
    # not the person added in April, nor the one added at unit B
    assert [row[1] for row in rows[1:]] == [a.person_no, b.person_no]
    first, second = rows[1], rows[2]
    assert first[2] == "'=SUM(A1)"  # formula escaped
    assert first[4] == a.masked_id_number
    assert first[7] == "企业养老、医疗"  # 工伤 started the month after
    assert first[8] == "202405" and first[9] == 5000.0 and first[11] == "是"
    assert second[7] == "企业养老" and second[10] == "农民工（五险）" and second[11] == "否"
    entry = AuditEntry.objects.get(action="roster_additions.export")
    assert entry.actor == admin_a and entry.detail == {"period": "202405", "rows": 2, "full": False}


def test_additions_full_export(admin_client, additions):
    a, b, *_ = additions
    rows = xlsx_rows(admin_client.post(ADDITIONS, {"period": "2024-05", "full": "on"}).content)
    assert [row[4] for row in rows[1:]] == [a.id_number, b.id_number]
    assert AuditEntry.objects.filter(action="roster_additions.export_full").count() == 1
    views = AuditEntry.objects.filter(action=PERSON_VIEW_FULL)
    assert sorted(e.object_id for e in views) == sorted([str(a.pk), str(b.pk)])
    assert {e.detail["export"] for e in views} == {"roster_additions.export_full"}


@pytest.mark.parametrize(
    ("period", "message"),
    [
        ("", "请填写参保年月"),
        ("2024", "格式应为yyyyMM"),
        ("202413", "月份应在01–12之间"),
        ("abcdef", "格式应为yyyyMM"),
        ("202301", "2023年01月没有增员人员"),
    ],
)
def test_bad_period_is_answered_next_to_the_field(admin_client, additions, period, message):
    r = admin_client.post(ADDITIONS, {"period": period})
    assert r.status_code == 200
    html = r.content.decode()
    assert message in html
    assert 'class="invalid-feedback d-block"' in html and "is-invalid" in html
    assert not AuditEntry.objects.filter(action__startswith="roster_additions").exists()
