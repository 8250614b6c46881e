"""Unit first registration, the public form (/register/): the draft with its materials, and every
kind of bad input answered next to its field without writing a filing or a material file."""

import io
import random
import re

import pytest
from django.test import Client
from django.utils.html import escape
from PIL import Image

from shebao.core.models import AuditEntry
from shebao.filings.models import Filing, FilingMaterial, FilingState, FilingStep
from shebao.filings.services import filing_approve
from shebao.registry.models import Unit, UnitType, UnitTypeDefault
from shebao.registry.registration.services import registration_submit
from shebao.registry.services import unit_create
from tests.conftest import VALID_USCC, jpeg_bytes, registration_data, registration_files
from tests.factories import PASSWORD
from tests.registry.flow import (
    apply_online,
    bomb_png,
    form_errors,
    make_draft,
    material_files,
    media_files,
    small_files,
    upload,
    uscc,
)

pytestmark = pytest.mark.django_db

JPEG_MAGIC = b"\xff\xd8\xff"
ENTERPRISE_DEFAULTS = ["110", "210", "310", "410"]


def noisy_jpeg(size=(1200, 900)) -> bytes:
    """A photo-like JPEG well over 500 KB (random pixels do not compress)."""
    pixels = random.Random(0).randbytes(size[0] * size[1] * 3)
    buf = io.BytesIO()
    Image.frombytes("RGB", size, pixels).save(buf, "JPEG", quality=95)
    return buf.getvalue()


def gif_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (800, 600), (200, 200, 200)).save(buf, "GIF")
    return buf.getvalue()


# --- success -----------------------------------------------------------------------------------


def test_registration_saves_draft_with_reencoded_materials(client, region_bj):
    big = noisy_jpeg()
    assert len(big) > 500 * 1024
    files = registration_files()
    files["legal_rep_id_back"] = upload("身份证反面.jpg", big)

    response = client.post("/register/", {**registration_data(), **files})

    filing = Filing.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/register/{filing.serial_no}/submit/"
    assert re.fullmatch(r"\d{14}", filing.serial_no)
    assert filing.state == FilingState.DRAFT
    assert filing.region == region_bj
    assert filing.contact_mobile == "13912345678"
    assert filing.subject_key == VALID_USCC
    # The password is kept only as a hash.
    assert filing.payload["admin_account"] == "zhaoadmin"
    assert filing.payload["admin_password_hash"].startswith(("md5$", "argon2"))
    assert PASSWORD not in str(filing.payload)

    materials = {m.slot: m for m in filing.materials.all()}
    assert set(materials) == {"licence", "legal_rep_id_front", "legal_rep_id_back"}
    assert materials["licence"].original_name == "营业执照.jpg"
    assert materials["legal_rep_id_back"].original_name == "身份证反面.jpg"
    for material in materials.values():
        with material.file.open("rb") as f:
            stored = f.read()
        assert stored.startswith(JPEG_MAGIC)  # the PNG too: everything is re-encoded as JPEG
        assert material.content_type == "image/jpeg"
        assert material.size == len(stored) <= 500 * 1024
        assert material.width and material.height
    assert len(media_files()) == 3

    step = FilingStep.objects.get(filing=filing)
    assert (step.action, step.to_state, step.actor_label) == ("create", "draft", "申请人")
    entry = AuditEntry.objects.get(action="filing.create.unit_registration")
    assert entry.region_id == region_bj.pk and entry.object_id == str(filing.pk)

    # The applicant's session sees the application and its materials; the JPEG is served.
    assert client.get(f"/register/{filing.serial_no}/").status_code == 200
    served = client.get(f"/materials/{materials['legal_rep_id_front'].pk}/")
    assert served.status_code == 200
    assert served["Content-Type"] == "image/jpeg"
    assert b"".join(served.streaming_content).startswith(JPEG_MAGIC)


def test_material_is_hidden_from_another_browser(client, region_bj):
    filing = apply_online(client)
    material = filing.materials.first()
    assert Client().get(f"/materials/{material.pk}/").status_code == 404


# --- bad input: a message next to the field, nothing written ----------------------------------


def assert_refused(response, field: str, *fragments: str) -> None:
    assert response.status_code == 200
    errors = form_errors(response)
    assert field in errors, errors
    message = " ".join(errors[field])
    for fragment in fragments:
        assert fragment in message, message
    html = response.content.decode()
    # Shown on the page, in the field's feedback block (not only in a generic banner).
    for e in errors[field]:
        assert re.search(r'class="invalid-feedback[^"]*">' + re.escape(escape(e)), html), e
    assert Filing.objects.count() == 0
    assert FilingMaterial.objects.count() == 0
    assert material_files() == []  # (good uploads are kept for the form: test_kept.py)


BAD_FIELDS = [
    pytest.param({"uscc": VALID_USCC[:-1] + "4"}, "uscc", "校验位错误", id="uscc-checksum"),
    pytest.param({"uscc": "91350100M000100Y4"}, "uscc", "", id="uscc-short"),
    pytest.param(
        {"legal_rep_id_number": "110105194912310021"},
        "legal_rep_id_number",
        "身份证号码校验位错误",
        id="legal-rep-id-checksum",
    ),
    pytest.param(
        {"legal_rep_id_number": "11010519491331002X"},
        "legal_rep_id_number",
        "不是有效日期",
        id="legal-rep-id-date",
    ),
    pytest.param(
        {"contact_mobile": "1391234567"}, "contact_mobile", "请填写11位手机号码", id="mobile-10"
    ),
    pytest.param(
        {"contact_mobile": "23912345678"}, "contact_mobile", "请填写11位手机号码", id="mobile-2"
    ),
    pytest.param(
        {"contact_mobile": "1391234567a"}, "contact_mobile", "请填写11位手机号码", id="mobile-a"
    ),
    pytest.param(
        {"password": "password1", "password2": "password1"},
        "password",
        "至少三类",
        id="password-weak",
    ),
    pytest.param(
        {"password": "Ab1!", "password2": "Ab1!"}, "password", "密码至少 8 位", id="password-short"
    ),
    pytest.param(
        {"password": "Zhaoadmin1!", "password2": "Zhaoadmin1!"},
        "password",
        "不能包含账号名",
        id="password-has-account",
    ),
    pytest.param({"password2": "Other0rd!x"}, "password2", "两次输入的密码不一致", id="confirm"),
    pytest.param(
        {"admin_account": "赵管理员"}, "admin_account", "字母、数字或下划线", id="account"
    ),
    pytest.param({"name": ""}, "name", "请填写单位名称", id="name-missing"),
]


@pytest.mark.parametrize(("overrides", "field", "fragment"), BAD_FIELDS)
def test_bad_field_is_refused_next_to_it(client, region_bj, overrides, field, fragment):
    response = client.post("/register/", {**registration_data(**overrides), **small_files()})
    assert_refused(response, field, fragment)


def test_missing_material_is_refused(client, region_bj):
    files = small_files()
    del files["legal_rep_id_back"]
    response = client.post("/register/", {**registration_data(), **files})
    assert_refused(response, "legal_rep_id_back", "请上传法定代表人身份证")


BAD_FILES = [
    pytest.param(
        lambda: upload("伪装执照.jpg", gif_bytes()), ("伪装执照.jpg", "文件类型"), id="gif"
    ),
    pytest.param(
        lambda: upload("说明.jpg", "这不是图片，只是一段文字。".encode() * 20),
        ("说明.jpg", "文件类型"),
        id="text",
    ),
    pytest.param(
        lambda: upload("bomb.png", bomb_png(), "image/png"), ("bomb.png", "图片尺寸过大"), id="bomb"
    ),
    pytest.param(
        lambda: upload("tiny.jpg", jpeg_bytes((100, 80))),
        ("tiny.jpg", "图片过小（100×80"),
        id="small",
    ),
    pytest.param(lambda: upload("empty.jpg", b""), (), id="empty"),
    pytest.param(
        lambda: upload("cut.jpg", jpeg_bytes()[:600]), ("cut.jpg", "图片已损坏"), id="truncated"
    ),
]


@pytest.mark.parametrize(("make_file", "fragments"), BAD_FILES)
def test_bad_material_is_refused_with_file_name(client, region_bj, make_file, fragments):
    files = small_files(licence=make_file())
    response = client.post("/register/", {**registration_data(), **files})
    assert_refused(response, "licence", *fragments)


def test_one_bad_material_stores_none_of_the_good_ones(client, region_bj):
    files = small_files(legal_rep_id_front=upload("front.jpg", gif_bytes()))
    response = client.post("/register/", {**registration_data(), **files})
    assert_refused(response, "legal_rep_id_front", "front.jpg", "文件类型")
    assert "licence" not in form_errors(response)


def test_uscc_of_a_registered_unit_is_refused(client, staff_bj, region_bj):
    unit_create(
        actor=staff_bj,
        region=region_bj,
        fields={**registration_data(), "injury_risk_class": 1},
    )
    response = client.post("/register/", {**registration_data(), **small_files()})
    assert_refused(response, "uscc", "已登记参保，不能重复登记")


def test_uscc_with_an_open_application_is_refused(client, region_bj):
    pending = make_draft()
    files_before = material_files()

    response = client.post("/register/", {**registration_data(name="另一家公司"), **small_files()})

    assert response.status_code == 200
    assert form_errors(response)["uscc"] == [
        "该统一社会信用代码已有参保登记申请正在办理，不能重复申请"
    ]
    assert list(Filing.objects.all()) == [pending]
    assert FilingMaterial.objects.count() == 3
    assert material_files() == files_before


def test_lowercase_uscc_counts_as_the_same_application(client, region_bj):
    make_draft()
    response = client.post(
        "/register/", {**registration_data(uscc=VALID_USCC.lower()), **small_files()}
    )
    assert "uscc" in form_errors(response)
    assert Filing.objects.count() == 1


# --- insurance types and insurance place --------------------------------------------------------


def test_enterprise_gets_default_insurance_types_whatever_is_posted(client, staff_bj, region_bj):
    filing = apply_online(client, insurance_types=["120", "510"], unit_type=UnitType.ENTERPRISE)
    assert filing.payload["insurance_types"] == ENTERPRISE_DEFAULTS

    registration_submit(filing=filing)
    filing_approve(actor=staff_bj, filing_id=filing.pk)
    assert Unit.objects.get(uscc=VALID_USCC).insurance_types == ENTERPRISE_DEFAULTS


def test_enterprise_defaults_follow_the_region_setting(client, region_bj):
    UnitTypeDefault.objects.create(
        region=region_bj, unit_type=UnitType.ENTERPRISE, insurance_types=["110", "310"]
    )
    filing = apply_online(client, insurance_types=["210"])
    assert filing.payload["insurance_types"] == ["110", "310"]


@pytest.mark.parametrize("unit_type", [UnitType.GOVERNMENT, UnitType.INSTITUTION])
def test_government_and_institution_choose_their_insurance_types(client, region_bj, unit_type):
    filing = apply_online(client, unit_type=unit_type, insurance_types=["310", "120"])
    assert filing.payload["insurance_types"] == ["120", "310"]


def test_government_must_choose_at_least_one_insurance_type(client, region_bj):
    response = client.post(
        "/register/", {**registration_data(unit_type=UnitType.GOVERNMENT), **small_files()}
    )
    assert_refused(response, "insurance_types", "请至少选择一个险种")


def test_insurance_place_of_another_region_is_refused(client, region_bj, region_sh):
    response = client.post(
        "/register/",
        {**registration_data(region="110000", insurance_place="上海市市本级"), **small_files()},
    )
    assert_refused(response, "insurance_place", "请选择北京市的单位参保地")


def test_insurance_place_of_the_chosen_region_is_accepted(client, region_bj, region_sh):
    filing = apply_online(client, region="310000", insurance_place="上海市市本级", uscc=uscc(1))
    assert filing.region == region_sh
    assert filing.payload["insurance_place"] == "上海市市本级"


def test_unknown_region_is_refused(client, region_bj):
    response = client.post("/register/", {**registration_data(region="999999"), **small_files()})
    assert_refused(response, "region")
