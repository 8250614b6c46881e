"""The unit's data on the registration form: 单位参保地 by 统筹区, the GB/T 4754 industry and the
work-injury risk class it suggests, the unit's bank; and 获取验证码 on the reopen page with
empty or malformed fields."""

import json

import pytest
from django.test import Client

from shebao.core.models import SmsMessage
from shebao.filings.services import filing_approve
from shebao.registry.forms import CounterUnitForm
from shebao.registry.industries import DIVISIONS, SECTIONS, risk_class_for
from shebao.registry.models import Unit
from shebao.registry.registration.forms import UnitRegistrationForm
from tests.conftest import registration_data, signed_in
from tests.registry.flow import apply_online, form_errors, make_submitted, small_files, uscc

pytestmark = pytest.mark.django_db


# --- 单位参保地 by 统筹区 ---------------------------------------------------------------------


def test_region_select_carries_each_regions_places_for_the_script(region_bj, region_sh):
    form = UnitRegistrationForm()
    attrs = form.fields["region"].widget.attrs
    assert json.loads(attrs["data-places"]) == {
        "110000": ["北京市市本级"],
        "310000": ["上海市市本级"],
    }
    assert attrs["data-places-target"] == "id_insurance_place"
    html = Client().get("/register/").content.decode()
    assert "/static/registry/registration.js" in html


def test_place_of_another_region_is_refused_on_the_form(region_bj, region_sh):
    data = registration_data(region="310000", insurance_place="北京市市本级")
    form = UnitRegistrationForm(data, small_files())
    assert not form.is_valid()
    assert form.errors["insurance_place"] == [
        "单位参保地“北京市市本级”不属于上海市，请选择上海市的单位参保地"
    ]


def test_place_is_asked_for_when_the_region_has_places(region_bj):
    region_bj.insurance_places = ["北京市市本级", "北京市海淀区"]
    region_bj.save()
    form = UnitRegistrationForm(registration_data(insurance_place=""), small_files())
    assert not form.is_valid()
    assert form.errors["insurance_place"] == ["请选择北京市的单位参保地"]


def test_place_is_marked_required_like_the_other_required_fields(client, region_bj):
    html = client.get("/register/").content.decode()
    assert '<label class="form-label required" for="id_insurance_place">' in html
    assert '<label class="form-label required" for="id_region">' in html


def test_the_only_place_of_the_region_is_preselected(client, region_bj):
    form = UnitRegistrationForm(registration_data(insurance_place=""), small_files())
    assert form.is_valid(), form.errors
    assert form.cleaned_data["insurance_place"] == "北京市市本级"
    # Rendered again after a mistake elsewhere: the place is selected.
    response = client.post("/register/", registration_data(insurance_place="", contact_name=""))
    html = response.content.decode()
    assert '<option value="北京市市本级" selected>' in html
    assert "insurance_place" not in form_errors(response)
    # Rendered with a region and no place (a draft): selected too.
    form = UnitRegistrationForm(initial={"region": "110000"})
    assert '<option value="北京市市本级" selected>' in str(form["insurance_place"])


def test_a_region_with_several_places_preselects_none(region_bj):
    region_bj.insurance_places = ["北京市市本级", "北京市海淀区"]
    region_bj.save()
    form = UnitRegistrationForm(initial={"region": "110000"})
    assert " selected>北京" not in str(form["insurance_place"])


# --- industry and risk class -------------------------------------------------------------------


def test_the_industry_list_is_gb_t_4754_2017():
    assert len(SECTIONS) == 20 and next(iter(SECTIONS)) == "A" and list(SECTIONS)[-1] == "T"
    assert list(DIVISIONS) == [f"{n:02d}" for n in range(1, 98)]
    assert {risk for _s, _n, risk in DIVISIONS.values()} == set(range(1, 9))


@pytest.mark.parametrize(
    ("value", "risk"),
    [
        ("65", 1),
        ("65 软件和信息技术服务业", 1),
        ("52", 2),
        ("13", 3),
        ("36", 4),
        ("47", 6),
        ("07", 7),
        ("06", 8),
        ("软件和信息技术服务业", None),  # free text from before the list
        ("", None),
    ],
)
def test_risk_class_follows_the_2015_table(value, risk):
    assert risk_class_for(value) == risk


def test_industry_select_suggests_the_class_to_the_script(region_bj):
    attrs = UnitRegistrationForm().fields["industry"].widget.attrs
    assert json.loads(attrs["data-risk-classes"])["06"] == 8
    assert attrs["data-risk-target"] == "id_injury_risk_class"


def test_empty_risk_class_is_taken_from_the_industry(client, region_bj):
    filing = apply_online(client, industry="06", injury_risk_class="")
    assert filing.payload["industry"] == "06 煤炭开采和洗选业"
    assert filing.payload["injury_risk_class"] == 8


def test_the_user_may_change_the_suggested_class(client, region_bj):
    filing = apply_online(client, industry="06", injury_risk_class="5")
    assert filing.payload["injury_risk_class"] == 5


def test_industry_is_required_and_must_be_on_the_list(client, region_bj):
    response = client.post("/register/", {**registration_data(industry=""), **small_files()})
    assert "industry" in form_errors(response)
    response = client.post("/register/", {**registration_data(industry="软件"), **small_files()})
    assert "industry" in form_errors(response)


def test_editing_shows_the_stored_industry_chosen(client, region_bj):
    filing = apply_online(client)
    html = client.get(f"/register/{filing.serial_no}/edit/").content.decode()
    assert '<option value="65" selected>65 软件和信息技术服务业</option>' in html


def test_a_unit_with_free_text_industry_still_shows_it(admin_client, admin_a):
    Unit.objects.filter(pk=admin_a.unit_id).update(industry="老式自由填写的行业")
    assert "老式自由填写的行业" in admin_client.get("/unit/info/").content.decode()


def test_counter_form_needs_a_class_or_an_industry(region_bj):
    data = registration_data(injury_risk_class="", industry="")
    form = CounterUnitForm(data, regions=[region_bj])
    assert not form.is_valid()
    assert "injury_risk_class" in form.errors


# --- bank --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "请填写银行账号"),
        ("6222-0200", "银行账号只能填写数字"),
        ("1234567", "银行账号应为 8–30 位数字"),
        ("1" * 31, "银行账号应为 8–30 位数字"),
    ],
)
def test_bank_account_is_digits_8_to_30(client, region_bj, value, message):
    response = client.post("/register/", {**registration_data(bank_account=value), **small_files()})
    assert form_errors(response)["bank_account"] == [message]


def test_bank_account_takes_spaces_and_full_width_digits(client, region_bj):
    filing = apply_online(client, bank_account="６２２２ 0200 0450 9012")
    assert filing.payload["bank_account"] == "6222020004509012"


def test_bank_fields_reach_the_unit_on_approval_and_its_pages(staff_bj):
    filing = make_submitted(bank_name="中国银行北京分行", bank_account="1234567890123")
    review = signed_in(staff_bj).get(f"/staff/filings/{filing.serial_no}/").content.decode()
    assert "开户银行" in review and "中国银行北京分行" in review and "1234567890123" in review
    filing_approve(actor=staff_bj, filing_id=filing.pk)
    unit = Unit.objects.get()
    assert (unit.bank_name, unit.bank_account) == ("中国银行北京分行", "1234567890123")
    assert unit.industry == "65 软件和信息技术服务业"


def test_unit_info_page_shows_the_bank(admin_client, admin_a):
    Unit.objects.filter(pk=admin_a.unit_id).update(
        bank_name="招商银行", bank_account="755912345678"
    )
    html = admin_client.get("/unit/info/").content.decode()
    assert "招商银行" in html and "755912345678" in html


# --- reopen: 获取验证码 asks for what is missing -----------------------------------------------


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"serial_no": "", "mobile": "13912345678"}, "serial_no", "请填写申请流水号"),
        ({"serial_no": "2026", "mobile": "13912345678"}, "serial_no", "申请流水号为 14 位数字"),
        ({"serial_no": "20260101000001", "mobile": ""}, "mobile", "请填写"),
    ],
)
def test_reopen_code_asks_for_the_fields_first(region_bj, data, field, message):
    sent = SmsMessage.objects.count()
    html = Client().post("/register/reopen/code/", data).content.decode()
    assert message in html
    assert f'id="id_{field}-code-check" hx-swap-oob="true"><div class="invalid-feedback' in html
    assert "未找到该流水号的申请" not in html
    assert SmsMessage.objects.count() == sent


def test_reopen_code_with_both_empty_names_both(region_bj):
    html = Client().post("/register/reopen/code/", {}).content.decode()
    assert "请填写申请流水号" in html and "请填写" in html.split("请填写申请流水号", 1)[1]


def test_reopen_code_for_a_real_application_clears_the_field_messages(region_bj):
    filing = make_submitted(uscc=uscc(7))
    html = (
        Client()
        .post("/register/reopen/code/", {"serial_no": filing.serial_no, "mobile": "13912345678"})
        .content.decode()
    )
    assert "验证码已发送" in html
    assert '<div id="id_serial_no-code-check" hx-swap-oob="true"></div>' in html


def test_reopen_page_has_an_error_summary(region_bj):
    response = Client().post("/register/reopen/", {"serial_no": "", "mobile": "", "code": ""})
    html = response.content.decode()
    assert "请修改以下 3 处后再提交" in html
    assert 'href="#id_serial_no"' in html
