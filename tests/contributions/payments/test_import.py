"""payments_import: the tax bureau's arrival file (CSV in UTF-8 or GBK, Excel), all rows or
none, every bad row listed with its row number and a Chinese reason."""

import io
import zipfile
from datetime import date, timedelta
from decimal import Decimal as D

import pytest
import xlsxwriter
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone

from shebao.contributions.models import Arrear, ContributionLine, Payment
from shebao.contributions.payments.imports import MAX_FILE_BYTES, ImportRefused
from shebao.contributions.payments.services import (
    payment_post,
    payments_import,
    payments_import_preview,
)
from shebao.core.models import AuditEntry
from tests.conftest import png_bytes
from tests.contributions.payments_helpers import (
    HEADER,
    PAID_ON,
    PERIOD,
    add_back_pay,
    arrear,
    csv_bytes,
    flexible_worker,
    lines_due,
    settled_unit,
    upload,
    xlsx_bytes,
)
from tests.factories import make_unit


@pytest.fixture
def two_units(region_bj, staff_bj):
    a, _, people, settlement = settled_unit(staff_bj, region_bj, 7)
    add_back_pay(settlement, people[0], "110", 202506, "800.00", "400.00")
    b, *_ = settled_unit(staff_bj, region_bj, 8, persons=2)
    return a, b


def refused(actor, region, data, name="到账.csv") -> list[tuple[int, str]]:
    with pytest.raises(ImportRefused) as e:
        payments_import(actor=actor, region=region, upload=upload(data, name))
    return [(x.line, x.reason) for x in e.value.row_errors]


def snapshot():
    return (
        list(Arrear.objects.order_by("pk").values_list("payer", "item", "belongs_period", "paid")),
        list(ContributionLine.objects.order_by("pk").values_list("paid", flat=True)),
    )


def test_import_posts_every_row_rebuilds_arrears_and_audits_once(two_units, staff_bj, region_bj):
    a, b = two_units
    data = csv_bytes(
        [
            [a.unit_no, PERIOD, "110", "1500.00", "20250820"],
            [a.unit_no, PERIOD, "310", "100.00", "2025-08-21"],
            [b.unit_no, "202508", "企业职工基本养老保险", lines_due(b, "110"), "2025-08-22"],
        ]
    )
    result = payments_import(actor=staff_bj, region=region_bj, upload=upload(data))
    assert result.count == 3 and result.total == D("1600.00") + lines_due(b, "110")
    assert result.rebuilt == 2
    payments = Payment.objects.order_by("pk")
    assert {p.batch for p in payments} == {result.batch}
    assert {p.source for p in payments} == {Payment.Source.IMPORT}
    assert payments[1].paid_on == date(2025, 8, 21)
    # oldest 费款所属期 first within 110
    assert arrear(a, "110", 202506).paid == D("1200.00")
    assert arrear(a, "110", PERIOD).paid == D("300.00")
    assert arrear(a, "310").paid == D("100.00")
    assert not ContributionLine.objects.filter(unit=b, item="110", paid=False).exists()
    audit = AuditEntry.objects.filter(action="payment.import")
    assert audit.count() == 1
    assert audit.get().detail["rows"] == 3 and audit.get().detail["batch"] == result.batch


def test_one_bad_row_and_nothing_is_written(two_units, staff_bj, region_bj):
    a, b = two_units
    before = snapshot()
    data = csv_bytes(
        [
            [a.unit_no, PERIOD, "110", "1500.00", "20250820"],
            [b.unit_no, PERIOD, "110", "-3", "20250820"],
        ]
    )
    assert refused(staff_bj, region_bj, data) == [(3, "金额必须大于 0")]
    assert not Payment.objects.exists()
    assert snapshot() == before
    assert not AuditEntry.objects.filter(action="payment.import").exists()


def test_every_bad_row_is_listed_with_its_number_and_reason(
    two_units, staff_bj, region_bj, region_sh, staff_sh
):
    a, b = two_units
    shanghai = make_unit(staff_sh, region_sh, 9)
    future = (timezone.localdate() + timedelta(days=3)).strftime("%Y%m%d")
    data = csv_bytes(
        [
            [a.unit_no, PERIOD, "110", "100.00", "20250820"],  # 2 good
            ["11009999999", PERIOD, "110", "abc", "20250820"],  # 3 unknown unit, bad amount
            [shanghai.unit_no, PERIOD, "110", "100.00", "20250820"],  # 4 other region
            [b.unit_no, PERIOD, "110", "12,3x", "20250820"],  # 5 bad amount
            [b.unit_no, 202507, "110", "100.00", "20250820"],  # 6 no settlement that period
            [b.unit_no, PERIOD, "510", "100.00", "20250820"],  # 7 no lines of that item
            [a.unit_no, PERIOD, "110", "100.00", "20250820"],  # 8 duplicate of row 2
            [b.unit_no, "2025-8x", "养老", "100.001", "20250231"],  # 9 several reasons
            [b.unit_no, PERIOD, "210", "100.00", future],  # 10 future date
            ["", "", "", "", ""],  # blank row: skipped, not an error
            [b.unit_no, PERIOD, "310", lines_due(b, "310") + D("0.01"), "20250820"],  # 12
        ]
    )
    errors = dict(refused(staff_bj, region_bj, data))
    assert sorted(errors) == [3, 4, 5, 6, 7, 8, 9, 10, 12]
    assert errors[3].startswith("北京市没有单位编号为“11009999999”的单位；")
    assert "不是有效的数字" in errors[3]
    assert f"没有单位编号为“{shanghai.unit_no}”的单位" in errors[4]  # same as missing
    assert "不是有效的数字" in errors[5]
    assert "202507" in errors[6] and "没有" in errors[6]
    assert "510" in errors[7]
    assert errors[8] == "与第 2 行重复"
    assert "结算期" in errors[9] and "险种" in errors[9] and "两位小数" in errors[9]
    assert "到账日期" in errors[9]
    assert "晚于今天" in errors[10]
    assert "尚欠金额" in errors[12]
    assert not Payment.objects.exists()


def test_rows_of_one_item_together_may_not_exceed_what_is_outstanding(
    two_units, staff_bj, region_bj
):
    _, b = two_units
    due = lines_due(b, "210")
    data = csv_bytes(
        [
            [b.unit_no, PERIOD, "210", due - D("1.00"), "20250820"],
            [b.unit_no, PERIOD, "210", "1.00", "20250821"],
            [b.unit_no, PERIOD, "210", "0.01", "20250822"],
        ]
    )
    errors = refused(staff_bj, region_bj, data)
    assert [line for line, _ in errors] == [4]
    assert "已足额到账" in errors[0][1]


def test_gbk_csv_with_a_title_row_and_extra_columns(two_units, staff_bj, region_bj):
    a, _ = two_units
    text = (
        "北京市税务局社保费到账明细\r\n"
        "序号,单位名称,单位编号,结算期,险种,金额,到账日期\r\n"
        f'1,测试单位七,{a.unit_no},202508,110 企业职工基本养老保险,"1,000.50",2025/08/20\r\n'
    )
    data = text.encode("gbk")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    result = payments_import(actor=staff_bj, region=region_bj, upload=upload(data))
    assert result.count == 1
    payment = Payment.objects.get()
    assert payment.amount == D("1000.50") and payment.paid_on == PAID_ON


def test_utf8_bom_and_semicolons(two_units, staff_bj, region_bj):
    a, _ = two_units
    text = f"\ufeff单位编号;结算期;险种;金额;到账日期\n{a.unit_no};202508;310;12.30;20250820\n"
    result = payments_import(actor=staff_bj, region=region_bj, upload=upload(text.encode("utf-8")))
    assert result.count == 1 and Payment.objects.get().item == "310"


def test_xlsx_with_text_cells(two_units, staff_bj, region_bj):
    a, b = two_units
    data = xlsx_bytes(
        [
            [a.unit_no, "202508", "110", "50.00", "2025-08-20"],
            [b.unit_no, "202508", "210", "20.10", "20250820"],
        ]
    )
    result = payments_import(
        actor=staff_bj, region=region_bj, upload=upload(data, "到账.xlsx", "application/zip")
    )
    assert result.count == 2
    assert sorted(Payment.objects.values_list("amount", flat=True)) == [D("20.10"), D("50.00")]


def test_xlsx_with_number_and_date_cells(two_units, staff_bj, region_bj):
    a, _ = two_units
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, HEADER)
    sheet.write_row(1, 0, [a.unit_no, 202508, 110, 1091.36])
    sheet.write_datetime(1, 4, PAID_ON, book.add_format({"num_format": "yyyy-mm-dd"}))
    sheet.write_row(2, 0, [a.unit_no, 202508, 310, 0.1 + 0.2, 20250821])  # 0.30000000000000004
    book.close()
    result = payments_import(
        actor=staff_bj, region=region_bj, upload=upload(buf.getvalue(), "到账.xlsx")
    )
    assert result.count == 2
    first, second = Payment.objects.order_by("pk")
    assert first.amount == D("1091.36") and first.item == "110" and first.paid_on == PAID_ON
    assert second.amount == D("0.30") and second.paid_on == date(2025, 8, 21)


@pytest.mark.parametrize(
    ("data", "name", "reason"),
    [
        (b"", "a.csv", "文件为空"),
        (png_bytes((40, 40)), "到账.csv", "文件类型不符"),
        (b"%PDF-1.4 whatever", "到账.pdf", "文件类型不符"),
        (b"\x00\x01\x02binary", "到账.csv", "文件类型不符"),
        ("单位编号,结算期\n1,2\n".encode("utf-16"), "到账.csv", "文件类型不符"),
        (b"PK\x03\x04broken zip", "到账.xlsx", "Excel 文件已损坏"),
        (b"a,b,c\n1,2,3\n", "到账.csv", "表头缺少列"),
        (csv_bytes([]), "到账.csv", "没有到账数据"),
        (b"x" * (MAX_FILE_BYTES + 1), "big.csv", "文件超过 5 MB"),
    ],
)
def test_file_level_refusals(two_units, staff_bj, region_bj, data, name, reason):
    errors = refused(staff_bj, region_bj, data, name)
    assert len(errors) == 1 and reason in errors[0][1]
    assert not Payment.objects.exists()


def test_a_word_document_is_not_an_excel_file(two_units, staff_bj, region_bj):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("word/document.xml", "<w:document/>")
    errors = refused(staff_bj, region_bj, buf.getvalue(), "到账.xlsx")
    assert "文件类型不符" in errors[0][1]


def test_missing_columns_are_named(two_units, staff_bj, region_bj):
    data = csv_bytes([["1", "202508", "100"]], header=["单位编号", "结算期", "金额"])
    [(line, reason)] = refused(staff_bj, region_bj, data)
    assert line == 1 and "险种" in reason and "到账日期" in reason


def test_the_same_file_cannot_be_imported_twice(two_units, staff_bj, region_bj):
    a, _ = two_units
    data = csv_bytes([[a.unit_no, PERIOD, "110", "10.00", "20250820"]])
    payments_import(actor=staff_bj, region=region_bj, upload=upload(data))
    errors = refused(staff_bj, region_bj, data)
    assert "不能重复导入" in errors[0][1]
    assert Payment.objects.count() == 1


def test_outstanding_counts_payments_posted_before(two_units, staff_bj, region_bj):
    _, b = two_units
    due = lines_due(b, "410")
    payment_post(
        actor=staff_bj,
        unit=b,
        settle_period=PERIOD,
        item="410",
        amount=due - D("1.00"),
        paid_on=PAID_ON,
    )
    data = csv_bytes([[b.unit_no, PERIOD, "410", "1.01", "20250821"]])
    errors = refused(staff_bj, region_bj, data)
    assert "尚欠金额 1.00" in errors[0][1]


def test_preview_checks_without_writing(two_units, staff_bj, region_bj):
    a, b = two_units
    data = csv_bytes(
        [
            [a.unit_no, PERIOD, "110", "10.00", "20250820"],
            [b.unit_no, PERIOD, "110", "5.00", "20250820"],
            [b.unit_no, PERIOD, "210", "1.00", "20250820"],
        ]
    )
    plan = payments_import_preview(actor=staff_bj, region=region_bj, upload=upload(data))
    assert len(plan.rows) == 3 and plan.total == D("16.00") and plan.payer_count == 2
    assert [(x["item"], x["count"], x["amount"]) for x in plan.by_item] == [
        ("110", 2, D("15.00")),
        ("210", 1, D("1.00")),
    ]
    assert not Payment.objects.exists()


def test_operator_may_not_import(two_units, region_bj, admin_a):
    a, _ = two_units
    data = csv_bytes([[a.unit_no, PERIOD, "110", "10.00", "20250820"]])
    with pytest.raises(PermissionDenied):
        payments_import(actor=admin_a, region=region_bj, upload=upload(data))
    assert not Payment.objects.exists()
    assert AuditEntry.objects.get(action="payment.import").outcome == AuditEntry.Outcome.DENIED


def test_staff_may_not_import_into_another_region(two_units, region_bj, staff_sh):
    a, _ = two_units
    data = csv_bytes([[a.unit_no, PERIOD, "110", "10.00", "20250820"]])
    with pytest.raises(Http404):
        payments_import(actor=staff_sh, region=region_bj, upload=upload(data))
    with pytest.raises(Http404):
        payments_import(actor=staff_sh, region="110000", upload=upload(data))
    assert not Payment.objects.exists()


def test_unit_file_for_a_region_sends_other_regions_units_back(two_units, region_sh, staff_sh):
    a, _ = two_units  # a Beijing unit in a file imported into Shanghai
    data = csv_bytes([[a.unit_no, PERIOD, "110", "10.00", "20250820"]])
    errors = refused(staff_sh, region_sh, data)
    assert errors == [(2, f"上海市没有单位编号为“{a.unit_no}”的单位")]


def test_flexible_worker_rows_by_person_number(two_units, staff_bj, region_bj, person):
    a, _ = two_units
    settlement = a.settlements.get()
    flexible_worker(settlement, person)
    header = ["单位编号", "个人编号", "结算期", "险种", "金额", "到账日期"]
    data = csv_bytes(
        [
            ["", person.person_no, PERIOD, "110", "1432.40", "20250820"],
            [a.unit_no, "", PERIOD, "110", "1.00", "20250820"],
            ["", "999999", PERIOD, "110", "1.00", "20250820"],
            [a.unit_no, person.person_no, PERIOD, "110", "1.00", "20250820"],
        ],
        header=header,
    )
    errors = dict(refused(staff_bj, region_bj, data))
    assert sorted(errors) == [4, 5]
    assert "999999" in errors[4] and "只能填写一项" in errors[5]
    good = csv_bytes([["", person.person_no, PERIOD, "110", "1432.40", "20250820"]], header=header)
    result = payments_import(actor=staff_bj, region=region_bj, upload=upload(good))
    assert result.count == 1
    payment = Payment.objects.get()
    assert payment.unit is None and payment.person == person
    paid = Arrear.objects.get(payer=f"P{person.pk}", belongs_period=202507)
    assert paid.outstanding == 0
