"""The pure side of payments (payments/calc.py): outstanding from the ledger, rows checked
against the registry lookups and the ledger, and the plan's per-item summary. No database."""

from datetime import date
from decimal import Decimal as D
from types import SimpleNamespace

from shebao.contributions.payments import calc
from shebao.contributions.payments.imports import ParsedRow

DAY = date(2025, 8, 20)
UNIT = SimpleNamespace(pk=1, unit_no="U001", name="甲公司")
PERSON = SimpleNamespace(pk=7, person_no="P007", name="张三")


def row(line, amount, *, unit_no="U001", person_no="", item="110", reasons=()):
    return ParsedRow(line, unit_no, person_no, 202508, item, D(amount), DAY, list(reasons))


def check(parsed, left):
    return calc.check_rows(
        parsed,
        region_name="北京市",
        units={"U001": UNIT},
        persons={"P007": PERSON},
        flexible_here={"P7"},
        left=left,
    )


def test_outstanding_sums_per_payer_period_and_item():
    ledger = [
        ("U1", 202508, "110", D("100.00"), D("40.00")),
        ("U1", 202508, "110", D("50.00"), D("0.00")),
        ("U1", 202508, "210", D("10.00"), D("10.00")),
    ]
    assert calc.outstanding(ledger) == {
        ("U1", 202508, "110"): D("110.00"),
        ("U1", 202508, "210"): D("0.00"),
    }


def test_rows_consume_what_is_outstanding_and_the_rest_is_refused():
    left = {("U1", 202508, "110"): D("100.00"), ("P7", 202508, "110"): D("5.00")}
    parsed = [
        row(2, "60.00"),
        row(3, "50.00"),  # only 40.00 left after line 2
        row(4, "60.00"),  # the same as line 2
        row(5, "5.00", unit_no="", person_no="P007"),
        row(6, "1.00", item="210"),  # no settlement of that item
        row(7, "1.00", unit_no="U999"),
    ]
    rows, errors = check(parsed, left)
    assert [r.line for r in rows] == [2, 5]
    assert [r.payer for r in rows] == ["U1", "P7"]
    assert [e.line for e in errors] == [3, 4, 6, 7]
    assert "尚欠金额 40.00 元" in errors[0].reason
    assert errors[1].reason == "与第 2 行重复"
    assert "没有“210" in errors[2].reason
    assert errors[3].reason.startswith("北京市没有单位编号为“U999”")
    assert left[("U1", 202508, "110")] == D("100.00")  # the caller's ledger is left alone


def test_a_row_with_parse_errors_lists_every_reason():
    rows, errors = check([row(2, "1.00", unit_no="U404", reasons=["金额必须大于 0"])], {})
    assert rows == []
    assert errors[0].message == "第 2 行：北京市没有单位编号为“U404”的单位；金额必须大于 0"


def test_plan_sums_per_item_in_item_order():
    left = {("U1", 202508, "110"): D("100.00"), ("U1", 202508, "210"): D("100.00")}
    rows, _ = check([row(2, "2.50", item="210"), row(3, "1.25"), row(4, "3.00")], left)
    plan = calc.make_plan(SimpleNamespace(pk="110000"), "a.csv", "ab" * 32, rows)
    assert [(x["item"], x["count"], x["amount"]) for x in plan.by_item] == [
        ("110", 2, D("4.25")),
        ("210", 1, D("2.50")),
    ]
    assert plan.total == D("6.75") and plan.payer_count == 1
    assert plan.batch == "110000-" + ("ab" * 12)
