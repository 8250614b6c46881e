"""Errors outside the API's operations keep the API's contract: JSON with a Chinese detail."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_a_method_the_operation_does_not_offer_answers_405_in_chinese():
    response = Client().post("/api/v1/calculator", {"region": "110000"})
    assert response.status_code == 405
    assert response["Allow"] == "GET"
    assert response.json() == {"detail": "该接口不支持 POST 请求"}


def test_an_unknown_api_path_answers_404_in_chinese():
    response = Client().get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["detail"].startswith("没有这个接口")


def test_pages_outside_the_api_keep_their_html_404():
    response = Client().get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_the_operations_own_json_errors_pass_through(region_bj):
    response = Client().get(
        "/api/v1/calculator", {"region": "990000", "period": "202408", "wage": "1"}
    )
    assert response.status_code == 404
    assert response.json() == {"detail": "未知的统筹区：990000"}
