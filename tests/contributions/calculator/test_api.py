"""GET /api/v1/calculator: the issue's example to the fen, two-decimal strings, 400 for a
bad or missing parameter and 404 for what does not exist, each with a Chinese detail."""

import re

import pytest

URL = "/api/v1/calculator"
EXAMPLE = {"region": "110000", "period": "202408", "wage": "5000", "injury_rate": "0.004"}
TWO_DECIMALS = re.compile(r"^\d+\.\d{2}$")


@pytest.mark.django_db
def test_issue_example_exact_json(client, region_bj):
    response = client.get(URL, EXAMPLE)
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "region": "110000",
        "period": "202408",
        "lines": [
            {"type": "110", "base": "6821.00", "unit": "1091.36", "personal": "545.68"},
            {"type": "210", "base": "6821.00", "unit": "34.11", "personal": "34.11"},
            {"type": "310", "base": "6821.00", "unit": "668.46", "personal": "139.42"},
            {"type": "410", "base": "6821.00", "unit": "27.28", "personal": "0.00"},
        ],
        "unit_total": "1821.21",
        "personal_total": "719.21",
        "total": "2540.42",
    }


@pytest.mark.django_db
def test_institution_scheme_pays_120_with_annuity_instead_of_110(client, region_bj):
    body = client.get(URL, {**EXAMPLE, "scheme": "institution"}).json()
    types = [line["type"] for line in body["lines"]]
    assert types == ["120", "121", "210", "310", "410"]
    assert body["lines"][1] == {
        "type": "121",
        "base": "6821.00",
        "unit": "545.68",
        "personal": "272.84",
    }
    assert body["total"] == "3358.94"


@pytest.mark.django_db
def test_unknown_scheme_is_refused_in_chinese(client, region_bj):
    response = client.get(URL, {**EXAMPLE, "scheme": "army"})
    assert response.status_code == 400
    assert response.json() == {
        "detail": "参数 scheme 应为单位类别 enterprise（企业）或 institution（机关事业单位）"
    }


@pytest.mark.django_db
def test_every_amount_is_a_string_with_two_decimals(client, region_bj, region_sh):
    for params in (EXAMPLE, {"region": "310000", "period": "202509", "wage": "123456.789"}):
        body = client.get(URL, params).json()
        amounts = [body["unit_total"], body["personal_total"], body["total"]]
        for line in body["lines"]:
            amounts += [line["base"], line["unit"], line["personal"]]
        assert all(isinstance(a, str) and TWO_DECIMALS.match(a) for a in amounts), amounts


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({**EXAMPLE, "period": "2024-13"}, "参数 period 应为yyyyMM 格式的年月"),
        ({**EXAMPLE, "wage": "-1"}, "参数 wage 应为金额"),
        ({**EXAMPLE, "wage": "五千"}, "参数 wage 应为金额"),
        ({**EXAMPLE, "wage": ""}, "参数 wage 应为金额"),
        ({**EXAMPLE, "injury_rate": "4"}, "参数 injury_rate 应为工伤费率"),
        ({**EXAMPLE, "region": ""}, "参数 region 应为六位数字的统筹区编码"),
        ({**EXAMPLE, "region": "11000"}, "参数 region 应为六位数字的统筹区编码"),
    ],
)
def test_bad_input_is_400_with_a_chinese_message(client, region_bj, params, message):
    response = client.get(URL, params)
    assert response.status_code == 400
    assert response.json() == {"detail": response.json()["detail"]}
    assert response.json()["detail"].startswith(message)


@pytest.mark.django_db
@pytest.mark.parametrize("missing", ["region", "period", "wage"])
def test_a_missing_parameter_is_400_naming_it(client, region_bj, missing):
    params = {k: v for k, v in EXAMPLE.items() if k != missing}
    response = client.get(URL, params)
    assert response.status_code == 400
    assert response.json() == {"detail": f"缺少参数 {missing}"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({**EXAMPLE, "region": "999999"}, "未知的统筹区：999999"),
        ({**EXAMPLE, "period": "202001"}, "北京市在 2020年01月 没有缴费参数"),
    ],
)
def test_what_does_not_exist_is_404_with_a_chinese_message(client, region_bj, params, message):
    response = client.get(URL, params)
    assert response.status_code == 404
    assert response.json() == {"detail": message}
