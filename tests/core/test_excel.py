import io

from python_calamine import CalamineWorkbook

from shebao.core.excel import build_xlsx, safe_cell


def test_formula_prefixes_are_neutralised():
    assert safe_cell("=1+1") == "'=1+1"
    assert safe_cell("+86") == "'+86"
    assert safe_cell("-2") == "'-2"
    assert safe_cell("@SUM(A1)") == "'@SUM(A1)"
    assert safe_cell("张三") == "张三"
    assert safe_cell(5) == 5


def test_workbook_keeps_text_and_escapes_formulas():
    content = build_xlsx(
        [("名单", ["姓名", "证件号码"], [['=HYPERLINK("x")', "011010519491231002"]])]
    )
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_name("名单")
    rows = sheet.to_python()
    assert rows[0] == ["姓名", "证件号码"]
    assert rows[1][0] == '\'=HYPERLINK("x")'
    assert rows[1][1] == "011010519491231002"


def test_money_is_a_number_with_two_decimals_written_from_decimal():
    from decimal import Decimal
    from zipfile import ZipFile

    content = build_xlsx([("明细", ["金额"], [[Decimal("1010.01")], [Decimal("0.10")]])])
    rows = CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_name("明细")
    assert rows.to_python()[1:] == [[1010.01], [0.1]]
    styles = ZipFile(io.BytesIO(content)).read("xl/styles.xml").decode()
    assert 'formatCode="0.00"' in styles
