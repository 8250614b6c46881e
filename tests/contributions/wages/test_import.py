"""年度工资申报 by Excel list: download the roster, fill it in, upload; refused rows listed
with their line numbers and nothing saved."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from python_calamine import CalamineWorkbook

from shebao.contributions.wages.imports import TEMPLATE_HEADER
from shebao.contributions.wages.services import annual_wage_import
from shebao.core.excel import build_xlsx
from shebao.filings.models import Filing, FilingKind
from tests.conftest import signed_in
from tests.contributions.wages_helpers import hold_in_other_filing, wage_unit


def xlsx(rows, header=TEMPLATE_HEADER) -> SimpleUploadedFile:
    return SimpleUploadedFile("名单.xlsx", build_xlsx([("名单", header, rows)]))


@pytest.fixture
def setup(staff_bj, region_bj):
    return wage_unit(staff_bj, region_bj, 91, persons=4)


def do_import(admin, upload, filing=None):
    return annual_wage_import(actor=admin, year=2025, valid_from="", upload=upload, filing=filing)


@pytest.mark.django_db
def test_download_fill_and_upload(setup):
    _unit, admin, persons = setup
    client = signed_in(admin)
    response = client.get(reverse("unit:wages_annual_template"))
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(response.content)).get_sheet_by_index(0)
    rows = [list(r) for r in sheet.iter_rows()]
    assert rows[0] == TEMPLATE_HEADER and len(rows) == 5
    assert persons[0].id_number not in str(rows)  # masked
    by_no = {r[0]: r for r in rows[1:]}
    assert by_no[persons[1].person_no][4] == "12345.67"  # pre-filled with the latest base
    by_no[persons[0].person_no][4] = "8800"
    by_no[persons[3].person_no][4] = ""  # not declared
    filing = do_import(admin, xlsx(rows[1:]))
    wages = {r.person_id: r.payload["after"]["wage"] for r in filing.rows.all()}
    assert wages == {persons[0].pk: "8800.00", persons[1].pk: "12345.67", persons[2].pk: "40000.00"}


@pytest.mark.django_db
def test_refused_rows_are_listed_with_line_numbers(setup, staff_bj, region_bj):
    unit, admin, (p0, p1, p2, p3) = setup
    _, _, (stranger,) = wage_unit(staff_bj, region_bj, 92, persons=1)
    hold_in_other_filing(unit, p3)
    rows = [
        [p0.person_no, p0.name, "", "", "8000"],
        [p1.person_no, p1.name, "", "", -1],  # a number cell, as Excel stores it
        [p2.person_no, "别人", "", "", "8000"],
        [stranger.person_no, stranger.name, "", "", "8000"],
        [p0.person_no, p0.name, "", "", "9000"],
        [p3.person_no, p3.name, "", "", "9000"],
    ]
    with pytest.raises(ValidationError) as e:
        do_import(admin, xlsx(rows))
    text = "\n".join(e.value.messages)
    assert "第4行" in text and "与姓名“别人”不符" in text
    assert "第5行" in text and "不是本单位正常参保人员" in text
    assert "第6行" in text and "重复" in text
    assert not Filing.objects.filter(kind=FilingKind.WAGE_ANNUAL).exists()
    # with the file-level problems fixed, the row checks speak (line numbers kept)
    with pytest.raises(ValidationError) as e:
        do_import(admin, xlsx([rows[0], rows[1], rows[5]]))
    text = "\n".join(e.value.messages)
    assert "第3行" in text and "不能为负数" in text
    assert "第4行" in text and "20990101000001" in text
    assert not Filing.objects.filter(kind=FilingKind.WAGE_ANNUAL).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (SimpleUploadedFile("a.xlsx", b"not excel"), "请上传从本页下载的 Excel 文件"),
        (
            SimpleUploadedFile("a.xlsx", build_xlsx([("x", ["姓名", "工资"], [["a", "1"]])])),
            "表头缺少列：个人编号、上年月平均工资",
        ),
        (SimpleUploadedFile("a.xlsx", build_xlsx([("x", TEMPLATE_HEADER, [])])), "没有人员"),
    ],
)
def test_bad_files_are_refused(setup, upload, message):
    _unit, admin, _ = setup
    with pytest.raises(ValidationError, match=message):
        do_import(admin, upload)


@pytest.mark.django_db
def test_import_through_the_page(setup):
    _unit, admin, (p0, *_) = setup
    client = signed_in(admin)
    upload = xlsx([[p0.person_no, p0.name, "", "", "7777"]])
    response = client.post(
        reverse("unit:wages_annual_new"), {"year": "2025", "import": "1", "file": upload}
    )
    filing = Filing.objects.get(kind=FilingKind.WAGE_ANNUAL)
    assert response.status_code == 302
    assert filing.rows.get().payload["after"]["wage"] == "7777.00"
    bad = client.post(
        reverse("unit:wages_annual_edit", args=[filing.serial_no]),
        {"year": "2025", "import": "1", "file": xlsx([["X1", "", "", "", "1"]])},
    )
    assert bad.status_code == 400 and "第2行" in bad.content.decode()


@pytest.mark.django_db
def test_numeric_cells_and_text_cells(setup):
    _unit, admin, (p0, p1, p2, _) = setup
    from decimal import Decimal as D

    rows = [
        [p0.person_no, p0.name, "", "", 8000],
        [p1.person_no, p1.name, "", "", D("1234.56")],
        [p2.person_no, p2.name, "", "", "-5"],  # text with our formula guard: still negative
    ]
    with pytest.raises(ValidationError, match=r"第4行.*不能为负数"):
        do_import(admin, xlsx(rows))
    rows[2][4] = "9,000.10"
    filing = do_import(admin, xlsx(rows))
    wages = {r.person_id: r.payload["after"]["wage"] for r in filing.rows.all()}
    assert wages == {p0.pk: "8000.00", p1.pk: "1234.56", p2.pk: "9000.10"}
