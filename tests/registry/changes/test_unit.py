"""Unit general information change (contacts, address: approved on submit) and key information
change (name, USCC, legal representative, unit type: materials, always reviewed)."""

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from shebao.core.ids import make_resident_id
from shebao.core.models import AuditEntry
from shebao.filings import services as filing_services
from shebao.filings.kinds import handler_for
from shebao.filings.models import Filing, FilingKind, FilingState
from shebao.registry.changes import services as changes
from shebao.registry.models import Unit, UnitType
from tests.conftest import VALID_USCC, signed_in
from tests.registry import changes_helpers as h
from tests.registry.changes_helpers import NEW_USCC, licence, unit_general_after, upload

# fixtures
clerk = h.clerk
unit_vip, admin_vip = h.unit_vip, h.admin_vip

pytestmark = pytest.mark.django_db

NEW_REP_ID = make_resident_id("110101", date(1970, 1, 2), 33)


def general(actor, **after) -> Filing:
    return changes.unit_change_save(
        actor=actor,
        kind=FilingKind.UNIT_GENERAL_CHANGE,
        after=unit_general_after(actor.unit, **after),
    )


def key(actor, materials=None, **after) -> Filing:
    return changes.unit_change_save(
        actor=actor,
        kind=FilingKind.UNIT_KEY_CHANGE,
        after=after,
        materials=licence() if materials is None else materials,
    )


def unit_of(actor) -> Unit:
    return Unit.objects.get(pk=actor.unit_id)


def errors_of(exc: ValidationError) -> dict:
    return exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}


# --- general -----------------------------------------------------------------------------------


def test_general_change_is_applied_on_submit(admin_a):
    filing = general(admin_a, contact_name="钱新联系", contact_mobile="13711112222")
    assert filing.payload["before"]["contact_name"] == "王联系"
    assert filing.payload["after"]["contact_mobile"] == "13711112222"
    assert filing.title == "单位一般信息变更：联系人、联系人手机"
    assert unit_of(admin_a).contact_name == "王联系"

    filing = filing_services.filing_submit(actor=admin_a, filing=filing)

    assert filing.state == FilingState.APPROVED
    unit = unit_of(admin_a)
    assert (unit.contact_name, unit.contact_mobile) == ("钱新联系", "13711112222")
    entry = AuditEntry.objects.get(action="unit.unit_general_change")
    assert entry.actor == admin_a and "contact_name" in entry.detail["changed"]


def test_general_change_at_a_vip_unit_is_applied_on_submit(admin_vip):
    filing = filing_services.filing_submit(
        actor=admin_vip, filing=general(admin_vip, address="新地址1号")
    )
    assert filing.state == FilingState.APPROVED
    assert unit_of(admin_vip).address == "新地址1号"


@pytest.mark.parametrize(
    ("after", "field"),
    [
        ({"contact_mobile": "1371111222"}, "contact_mobile"),
        ({"contact_name": ""}, "contact_name"),
        ({"address": ""}, "address"),
        ({"address": "长" * 201}, "address"),
    ],
)
def test_general_change_bad_input(admin_a, after, field):
    with pytest.raises(ValidationError) as caught:
        general(admin_a, **after)
    assert field in errors_of(caught.value)
    assert not Filing.objects.exists()


def test_general_change_without_change_is_refused(admin_a):
    with pytest.raises(ValidationError, match="没有需要变更的内容"):
        general(admin_a)


def test_one_open_general_change_per_unit(admin_a):
    general(admin_a, address="新地址1号")
    with pytest.raises(ValidationError, match="本单位已有一笔单位一般信息变更正在办理"):
        general(admin_a, address="新地址2号")


def test_clerk_without_unit_change_is_denied(clerk):
    with pytest.raises(PermissionDenied):
        general(clerk, address="新地址1号")
    with pytest.raises(PermissionDenied):
        key(clerk, name="新名称有限公司")
    assert not Filing.objects.exists()


def test_general_change_display_shows_before_and_after(admin_a):
    filing = general(admin_a, address="新地址1号", contact_mobile="13711112222")
    rows = handler_for(filing.kind).display_rows(filing.payload)
    assert ("联系人手机", "139****0001 → 137****2222") in rows
    assert ("单位地址", "测试路1号 → 新地址1号") in rows
    assert all(label != "联系人" for label, _ in rows)  # unchanged fields are left out


# --- key ---------------------------------------------------------------------------------------


def test_key_change_waits_for_review_then_applies(admin_a, staff_bj):
    filing = key(admin_a, name="测试单位一新名称有限公司", uscc=NEW_USCC.lower())
    assert filing.payload["after"]["uscc"] == NEW_USCC
    assert filing.materials.get().slot == "licence"
    filing = filing_services.filing_submit(actor=admin_a, filing=filing)
    assert filing.state == FilingState.SUBMITTED
    assert unit_of(admin_a).uscc != NEW_USCC

    filing_services.filing_approve(actor=staff_bj, filing_id=filing.pk)

    unit = unit_of(admin_a)
    assert (unit.name, unit.uscc) == ("测试单位一新名称有限公司", NEW_USCC)
    entry = AuditEntry.objects.get(action="unit.unit_key_change")
    assert entry.actor == staff_bj


def test_key_change_at_a_vip_unit_is_still_reviewed(admin_vip):
    filing = filing_services.filing_submit(actor=admin_vip, filing=key(admin_vip, name="VIP新名称"))
    assert filing.state == FilingState.SUBMITTED
    assert unit_of(admin_vip).name != "VIP新名称"


def test_legal_representative_change_needs_a_valid_id_and_its_image(admin_a, staff_bj):
    with pytest.raises(ValidationError) as caught:
        key(admin_a, legal_rep_name="赵新法人")
    assert "请填写新法定代表人的身份证号" in errors_of(caught.value)["legal_rep_id_number"][0]

    with pytest.raises(ValidationError) as caught:
        key(admin_a, legal_rep_name="赵新法人", legal_rep_id_number=NEW_REP_ID[:-1] + "0")
    assert "校验位错误" in errors_of(caught.value)["legal_rep_id_number"][0]

    with pytest.raises(ValidationError) as caught:
        key(admin_a, legal_rep_name="赵新法人", legal_rep_id_number=NEW_REP_ID)
    assert "新法定代表人身份证" in errors_of(caught.value)["legal_rep_id"][0]
    assert not Filing.objects.exists()

    filing = key(
        admin_a,
        legal_rep_name="赵新法人",
        legal_rep_id_number=NEW_REP_ID,
        materials=licence(legal_rep=True),
    )
    filing_services.filing_submit(actor=admin_a, filing=filing)
    filing_services.filing_approve(actor=staff_bj, filing_id=filing.pk)
    unit = unit_of(admin_a)
    assert (unit.legal_rep_name, unit.legal_rep_id_number) == ("赵新法人", NEW_REP_ID)
    # never in clear in the audit log
    assert NEW_REP_ID not in str(AuditEntry.objects.get(action="unit.unit_key_change").detail)


def test_unit_type_change(admin_a, staff_bj):
    filing = key(admin_a, unit_type=UnitType.PRIVATE_NON_ENTERPRISE)
    filing_services.filing_submit(actor=admin_a, filing=filing)
    filing_services.filing_approve(actor=staff_bj, filing_id=filing.pk)
    assert unit_of(admin_a).unit_type == UnitType.PRIVATE_NON_ENTERPRISE


@pytest.mark.parametrize(
    ("after", "field", "message"),
    [
        ({"uscc": "91350100M000100Y44"}, "uscc", "校验位错误"),
        ({"uscc": "9135"}, "uscc", "长度应为18位"),
        ({"unit_type": "99"}, "unit_type", "请选择单位类型"),
        ({"name": "长" * 101}, "name", "单位名称不能超过100个字"),
        ({}, "__all__", "没有需要变更的内容"),
    ],
)
def test_key_change_bad_input(admin_a, after, field, message):
    with pytest.raises(ValidationError) as caught:
        key(admin_a, **after)
    assert any(message in m for m in errors_of(caught.value)[field])
    assert not Filing.objects.exists()


def test_uscc_of_another_unit_is_refused(admin_a, unit_b):
    with pytest.raises(ValidationError) as caught:
        key(admin_a, uscc=unit_b.uscc)
    assert "已被其他参保单位使用" in errors_of(caught.value)["uscc"][0]


def test_uscc_in_another_open_filing_is_refused(admin_a, admin_b, region_bj):
    key(admin_b, uscc=NEW_USCC)
    with pytest.raises(ValidationError) as caught:
        key(admin_a, uscc=NEW_USCC)
    assert "其他正在办理的业务" in errors_of(caught.value)["uscc"][0]
    # and one in a pending first registration
    from tests.registry.flow import make_draft

    make_draft()
    with pytest.raises(ValidationError) as caught:
        key(admin_a, uscc=VALID_USCC)
    assert "其他正在办理的业务" in errors_of(caught.value)["uscc"][0]


def test_uscc_taken_between_submit_and_approval_is_refused_on_approval(admin_a, staff_bj, unit_b):
    filing = filing_services.filing_submit(actor=admin_a, filing=key(admin_a, uscc=NEW_USCC))
    Unit.objects.filter(pk=unit_b.pk).update(uscc=NEW_USCC)  # e.g. registered at the counter

    with pytest.raises(ValidationError, match="已被其他单位使用"):
        filing_services.filing_approve(actor=staff_bj, filing_id=filing.pk)

    filing.refresh_from_db()
    assert filing.state == FilingState.SUBMITTED
    assert unit_of(admin_a).uscc != NEW_USCC


def test_key_change_needs_the_licence(admin_a):
    with pytest.raises(ValidationError) as caught:
        key(admin_a, materials={}, name="新名称有限公司")
    assert "营业执照" in errors_of(caught.value)["licence"][0]
    assert not Filing.objects.exists()


def test_key_change_display_masks_the_legal_rep_id(admin_a):
    filing = key(
        admin_a,
        legal_rep_name="赵新法人",
        legal_rep_id_number=NEW_REP_ID,
        materials=licence(legal_rep=True),
    )
    rows = dict(handler_for(filing.kind).display_rows(filing.payload))
    assert rows["法定代表人"] == "李法人 → 赵新法人"
    assert rows["法定代表人身份证号"].endswith("→ 1101**********" + NEW_REP_ID[-4:])
    assert NEW_REP_ID not in str(rows)


def test_returned_key_change_is_edited_and_resubmitted(admin_a, staff_bj):
    filing = filing_services.filing_submit(actor=admin_a, filing=key(admin_a, name="错名称"))
    filing_services.filing_return(actor=staff_bj, filing_id=filing.pk, reason="名称与执照不符")
    filing = Filing.objects.get(pk=filing.pk)
    changes.unit_change_save(
        actor=admin_a,
        kind=FilingKind.UNIT_KEY_CHANGE,
        after={"name": "正确名称有限公司"},
        filing=filing,
    )
    filing_services.filing_submit(actor=admin_a, filing=filing)
    filing_services.filing_approve(actor=staff_bj, filing_id=filing.pk)
    assert unit_of(admin_a).name == "正确名称有限公司"


def test_another_units_filing_cannot_be_edited(admin_a, admin_b):
    theirs = key(admin_b, name="他们的新名称")
    with pytest.raises(Exception) as caught:
        changes.unit_change_save(
            actor=admin_a, kind=FilingKind.UNIT_KEY_CHANGE, after={"name": "x"}, filing=theirs
        )
    assert caught.type.__name__ == "Http404"
    client = signed_in(admin_a)
    assert client.get(f"/unit/changes/filing/{theirs.serial_no}/edit/").status_code == 404
    assert Filing.objects.get(pk=theirs.pk).payload["after"]["name"] == "他们的新名称"


# --- pages -------------------------------------------------------------------------------------


def test_unit_general_change_page(admin_a):
    client = signed_in(admin_a)
    page = client.get("/unit/changes/unit/general/").content.decode()
    assert 'value="王联系"' in page and "变更前：王联系" in page
    response = client.post(
        "/unit/changes/unit/general/",
        {"contact_name": "钱新联系", "contact_mobile": "137", "address": "测试路1号"},
    )
    assert "contact_mobile" in response.context["form"].errors
    response = client.post(
        "/unit/changes/unit/general/",
        {
            "contact_name": "钱新联系",
            "contact_mobile": "13711112222",
            "address": "测试路1号",
            "then_submit": "1",
        },
        follow=True,
    )
    assert "已提交并自动办结" in response.content.decode()
    assert unit_of(admin_a).contact_name == "钱新联系"


def test_unit_key_change_page(admin_a):
    client = signed_in(admin_a)
    page = client.get("/unit/changes/unit/key/").content.decode()
    assert "1101**********" in page and admin_a.unit.legal_rep_id_number not in page
    response = client.post("/unit/changes/unit/key/", {"uscc": "91350100M000100Y44"})
    assert "校验位错误" in response.context["form"].errors["uscc"][0]
    response = client.post("/unit/changes/unit/key/", {"name": "新名称有限公司"})
    assert "营业执照" in response.context["form"].errors["licence"][0]
    response = client.post(
        "/unit/changes/unit/key/", {"name": "新名称有限公司", "licence": upload()}
    )
    filing = Filing.objects.get()
    assert response["Location"] == f"/unit/filings/{filing.serial_no}/"
    progress = client.get(response["Location"]).content.decode()
    assert "测试单位1有限公司 → 新名称有限公司" in progress
    assert f"/unit/changes/filing/{filing.serial_no}/edit/" in progress
    edit = client.get(f"/unit/changes/filing/{filing.serial_no}/edit/").content.decode()
    assert 'value="新名称有限公司"' in edit


def test_changes_index_lists_the_unit_businesses(admin_a):
    html = signed_in(admin_a).get("/unit/changes/").content.decode()
    assert "/unit/changes/unit/general/" in html and "/unit/changes/unit/key/" in html
