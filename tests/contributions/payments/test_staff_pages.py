"""Back office pages: 到账登记 (post, import with confirmation, list) and 欠费查询 (list,
drill-down to a unit); permission, other region, constant query counts."""

from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shebao.contributions.models import Payment
from shebao.contributions.payments.services import payment_post
from tests.conftest import signed_in
from tests.contributions.payments_helpers import (
    PAID_ON,
    PERIOD,
    add_back_pay,
    csv_bytes,
    lines_due,
    settled_unit,
    upload,
    xlsx_bytes,
)

PAYMENTS = "/staff/payments/"
ARREARS = "/staff/arrears/"


@pytest.fixture
def settled(region_bj, staff_bj):
    unit, admin, people, settlement = settled_unit(staff_bj, region_bj, 7)
    add_back_pay(settlement, people[0], "110", 202506, "800.00", "400.00")
    return unit, admin, people


def form(unit, **kw):
    data = {
        "unit_no": unit.unit_no,
        "person_no": "",
        "settle_period": str(PERIOD),
        "item": "110",
        "amount": "1500.00",
        "paid_on": "2025-08-20",
    }
    data.update(kw)
    return data


def test_payments_page_shows_both_forms(staff_client, settled):
    r = staff_client.get(PAYMENTS)
    assert r.status_code == 200
    html = r.content.decode()
    assert "登记一笔到账" in html and "导入税务到账文件" in html and "没有到账记录" in html


def test_post_a_payment(staff_client, settled):
    unit, *_ = settled
    r = staff_client.post("/staff/payments/post/", form(unit), follow=True)
    assert r.redirect_chain[-1][0] == PAYMENTS
    assert "已登记到账" in r.content.decode()
    payment = Payment.objects.get()
    assert payment.amount == D("1500.00") and payment.unit == unit
    assert unit.unit_no in r.content.decode() and "1500.00" in r.content.decode()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"amount": "abc"}, "不是有效的数字"),
        ({"amount": "0"}, "大于 0"),
        ({"unit_no": "11009999999"}, "没有该单位编号"),
        ({"unit_no": ""}, "请填写单位编号"),
        ({"person_no": "P1"}, "只能填写一项"),
        ({"settle_period": "2025"}, "yyyyMM"),
        ({"item": "510"}, "没有"),
        ({"paid_on": "2025-02-30"}, "日期"),
    ],
)
def test_bad_post_shows_message_and_writes_nothing(staff_client, settled, changes, message):
    unit, *_ = settled
    r = staff_client.post("/staff/payments/post/", form(unit, **changes))
    assert r.status_code == 200
    assert message in r.content.decode()
    assert not Payment.objects.exists()


def test_operator_cannot_reach_staff_pages(admin_client, settled):
    unit, *_ = settled
    assert admin_client.get(PAYMENTS).status_code == 403
    assert admin_client.get(ARREARS).status_code == 403
    assert admin_client.post("/staff/payments/post/", form(unit)).status_code == 403
    assert not Payment.objects.exists()


def test_staff_of_another_region_cannot_post_or_see(settled, staff_sh):
    unit, *_ = settled
    client = signed_in(staff_sh)
    r = client.post("/staff/payments/post/", form(unit))
    assert "没有该单位编号" in r.content.decode()
    assert not Payment.objects.exists()
    assert client.get(f"/staff/arrears/{unit.unit_no}/").status_code == 404
    assert unit.unit_no not in client.get(ARREARS).content.decode()


def test_import_asks_for_confirmation_then_imports(staff_client, settled, region_bj):
    unit, *_ = settled
    data = csv_bytes([[unit.unit_no, PERIOD, "110", "1500.00", "20250820"]])
    r = staff_client.post("/staff/payments/import/", {"region": "110000", "file": upload(data)})
    assert r.status_code == 200
    html = r.content.decode()
    assert "确认导入" in html and "1500.00" in html
    assert not Payment.objects.exists()
    token = r.context["token"]
    r = staff_client.post(
        "/staff/payments/import/confirm/", {"token": token, "action": "confirm"}, follow=True
    )
    assert "导入成功" in r.content.decode()
    payment = Payment.objects.get()
    assert payment.source == Payment.Source.IMPORT
    assert payment.batch in r.redirect_chain[-1][0]
    # a second click on the same confirmation does nothing
    r = staff_client.post(
        "/staff/payments/import/confirm/", {"token": token, "action": "confirm"}, follow=True
    )
    assert "没有待确认的导入" in r.content.decode()
    assert Payment.objects.count() == 1


def test_import_can_be_cancelled(staff_client, settled):
    unit, *_ = settled
    data = xlsx_bytes([[unit.unit_no, str(PERIOD), "110", "10.00", "20250820"]])
    r = staff_client.post(
        "/staff/payments/import/", {"region": "110000", "file": upload(data, "到账.xlsx")}
    )
    token = r.context["token"]
    r = staff_client.post(
        "/staff/payments/import/confirm/", {"token": token, "action": "cancel"}, follow=True
    )
    assert "已取消导入" in r.content.decode()
    r = staff_client.post("/staff/payments/import/confirm/", {"token": token}, follow=True)
    assert not Payment.objects.exists()


def test_refused_import_lists_the_bad_rows(staff_client, settled):
    unit, *_ = settled
    data = csv_bytes(
        [
            [unit.unit_no, PERIOD, "110", "10.00", "20250820"],
            ["11009999999", PERIOD, "110", "10.00", "20250820"],
            [unit.unit_no, PERIOD, "110", "abc", "20250820"],
        ]
    )
    r = staff_client.post("/staff/payments/import/", {"region": "110000", "file": upload(data)})
    html = r.content.decode()
    assert "整个文件未写入任何数据" in html
    assert "第 3 行" in html and "第 4 行" in html and "11009999999" in html
    assert "不是有效的数字" in html
    assert "确认导入" not in html
    assert not Payment.objects.exists()


def test_wrong_file_type_is_refused_on_the_page(staff_client, settled):
    r = staff_client.post(
        "/staff/payments/import/",
        {"region": "110000", "file": upload(b"%PDF-1.4 x", "到账.pdf", "application/pdf")},
    )
    assert "文件类型不符" in r.content.decode()
    assert not Payment.objects.exists()


def test_import_into_a_region_not_theirs_is_refused(settled, staff_sh):
    unit, *_ = settled
    data = csv_bytes([[unit.unit_no, PERIOD, "110", "10.00", "20250820"]])
    r = signed_in(staff_sh).post(
        "/staff/payments/import/", {"region": "110000", "file": upload(data)}
    )
    assert "请从列表中选择统筹区" in r.content.decode()  # not one of theirs: the field says so
    assert r.context["import_form"].errors
    assert not Payment.objects.exists()


def test_arrears_list_filters_and_totals(staff_client, settled, staff_bj):
    unit, *_ = settled
    r = staff_client.get(ARREARS)
    html = r.content.decode()
    assert unit.unit_no in html and "202506" in html
    total = lines_due(unit)
    assert f"欠缴 {total}" in html
    r = staff_client.get(ARREARS, {"item": "110", "settle_period": "2025-08"})
    assert [a.item for a in r.context["page"]] == ["110", "110"]
    assert r.context["totals"]["outstanding"] == lines_due(unit, "110")
    r = staff_client.get(ARREARS, {"settle_period": "2025x"})
    assert "yyyyMM" in r.content.decode()
    payment_post(
        actor=staff_bj,
        unit=unit,
        settle_period=PERIOD,
        item="410",
        amount=lines_due(unit, "410"),
        paid_on=PAID_ON,
    )
    r = staff_client.get(ARREARS, {"unit_no": unit.unit_no})
    assert "410" not in [a.item for a in r.context["page"]]


def test_arrears_drill_down_shows_persons_and_their_unpaid_periods(staff_client, settled):
    unit, _, people = settled
    r = staff_client.get(f"/staff/arrears/{unit.unit_no}/")
    assert r.status_code == 200
    rows = {x.person.pk: x for x in r.context["persons"]}
    assert rows[people[0].pk].periods == [202506, PERIOD]
    assert rows[people[1].pk].periods == [PERIOD]
    html = r.content.decode()
    assert people[0].masked_id_number in html and people[0].id_number not in html
    assert r.context["outstanding"] == lines_due(unit)


def test_unknown_unit_drill_down_is_404(staff_client, settled):
    assert staff_client.get("/staff/arrears/11009999999/").status_code == 404


# --- constant query counts -----------------------------------------------------------------


def count_queries(client, url, params=None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url, params or {}).status_code == 200
    return len(ctx)


def test_payments_list_runs_a_constant_number_of_queries(staff_client, region_bj, staff_bj, person):
    unit, *_ = settled_unit(staff_bj, region_bj, 7)
    payment_post(
        actor=staff_bj, unit=unit, settle_period=PERIOD, item="110", amount="1", paid_on=PAID_ON
    )
    few = count_queries(staff_client, PAYMENTS)
    for i in range(2, 9):
        other, *_ = settled_unit(staff_bj, region_bj, 10 + i, persons=1)
        for item in ("110", "210", "310"):
            payment_post(
                actor=staff_bj,
                unit=other,
                settle_period=PERIOD,
                item=item,
                amount="1.00",
                paid_on=PAID_ON,
            )
    assert Payment.objects.count() > 20
    assert count_queries(staff_client, PAYMENTS) == few
    assert count_queries(staff_client, PAYMENTS, {"page": 2}) == few


def test_arrears_pages_run_a_constant_number_of_queries(staff_client, region_bj, staff_bj):
    unit, *_ = settled_unit(staff_bj, region_bj, 7, persons=2)
    few = count_queries(staff_client, ARREARS)
    few_unit = count_queries(staff_client, f"/staff/arrears/{unit.unit_no}/")
    for i in range(2, 8):
        settled_unit(staff_bj, region_bj, 10 + i, persons=1)
    big, *_ = settled_unit(staff_bj, region_bj, 30, persons=60)
    assert count_queries(staff_client, ARREARS) == few
    assert count_queries(staff_client, f"/staff/arrears/{big.unit_no}/") == few_unit
