"""Back office pages: parameter history, publish form, verify, unit injury rates."""

import pytest
from django.urls import reverse

from shebao.contributions.models import ParameterSet, UnitInjuryRate
from shebao.contributions.params.selectors import parameter_sets_in_force
from tests.conftest import signed_in

FORM = {
    "region": "110000",
    "insurance_type": "310",
    "valid_from": "202607",
    "floor": "7500",
    "cap": "37500",
    "unit_rate": "0.098",
    "personal_rate": "0.02",
    "unit_fixed": "",
    "personal_fixed": "3",
    "unit_rounding": "fen",
    "personal_rounding": "fen",
    "annuity_unit_rate": "",
    "annuity_personal_rate": "",
    "source": "京医保发〔2026〕1号",
    "status": "unverified",
}


@pytest.mark.django_db
def test_history_page_lists_versions_with_validity(staff_client, region_sh):
    response = staff_client.get(reverse("staff:parameters"))
    assert response.status_code == 200
    text = response.content.decode()
    assert "2024年07月 至 2025年06月" in text
    assert "2025年07月起（至新参数发布）" in text
    assert "上海市" not in text  # not the staff's region


@pytest.mark.django_db
def test_publish_form_success_and_field_errors(staff_client):
    url = reverse("staff:parameter_publish")
    assert staff_client.get(url).status_code == 200
    bad = staff_client.post(url, {**FORM, "floor": "40000", "unit_rate": "9.8", "source": ""})
    assert bad.status_code == 200
    text = bad.content.decode()
    assert "缴费基数上限不能低于下限" in text and "0 到 1" in text and "请填写依据" in text
    assert not ParameterSet.objects.filter(valid_from=202607).exists()
    ok = staff_client.post(url, FORM)
    ps = ParameterSet.objects.get(region_id="110000", insurance_type="310", valid_from=202607)
    assert ok.status_code == 302 and ok.url == reverse("staff:parameter_detail", args=[ps.pk])
    assert ps.personal_fixed == 3


@pytest.mark.django_db
def test_an_empty_post_shows_the_form_with_errors(staff_client):
    """An empty POST is a bound form with errors, not a server error (found by the tenant
    matrix)."""
    response = staff_client.post(reverse("staff:parameter_publish"))
    assert response.status_code == 200 and "请填写依据" in response.content.decode()


@pytest.mark.django_db
def test_new_version_prefilled_from_an_existing_set(staff_client):
    base = parameter_sets_in_force("110000", 202508)["110"]
    page = staff_client.get(reverse("staff:parameter_publish") + f"?from={base.pk}")
    assert page.status_code == 200 and 'value="202507"' in page.content.decode()
    data = {**page.context["form"].initial, "cap": "36000", "unit_fixed": "0"}
    data = {k: v for k, v in data.items() if v is not None}
    response = staff_client.post(reverse("staff:parameter_publish"), data)
    assert response.status_code == 302
    newest = parameter_sets_in_force("110000", 202508)["110"]
    assert newest.version == 2 and newest.cap == 36000


@pytest.mark.django_db
def test_detail_and_verify(staff_client):
    ps = parameter_sets_in_force("110000", 202508)["110"]
    page = staff_client.get(reverse("staff:parameter_detail", args=[ps.pk]))
    assert page.status_code == 200 and "标记为已核实" in page.content.decode()
    response = staff_client.post(reverse("staff:parameter_verify", args=[ps.pk]))
    assert response.status_code == 302
    ps.refresh_from_db()
    assert ps.status == "verified"


@pytest.mark.django_db
def test_another_regions_set_is_404_on_every_page(staff_sh, region_bj):
    client = signed_in(staff_sh)
    ps = parameter_sets_in_force("110000", 202508)["110"]
    assert client.get(reverse("staff:parameter_detail", args=[ps.pk])).status_code == 404
    assert client.post(reverse("staff:parameter_verify", args=[ps.pk])).status_code == 404
    publish = client.get(reverse("staff:parameter_publish") + f"?from={ps.pk}")
    assert publish.status_code == 404
    # the region select only offers the staff's regions: posting another region is refused
    response = client.post(reverse("staff:parameter_publish"), FORM)
    assert response.status_code == 200 and "region" in response.context["form"].errors
    assert not ParameterSet.objects.filter(valid_from=202607).exists()


@pytest.mark.django_db
def test_operator_gets_403(admin_client):
    assert admin_client.get(reverse("staff:parameters")).status_code == 403


@pytest.mark.django_db
def test_injury_rate_page(staff_client, unit_a):
    url = reverse("staff:injury_rates", args=[unit_a.unit_no])
    page = staff_client.get(url)
    assert page.status_code == 200 and "二类行业" in page.content.decode()
    bad = staff_client.post(url, {"valid_from": "202601", "factor": "1.10"})
    assert bad.status_code == 200 and not UnitInjuryRate.objects.exists()
    ok = staff_client.post(url, {"valid_from": "202601", "factor": "1.20"})
    assert ok.status_code == 302
    assert "0.48%" in staff_client.get(url).content.decode()


@pytest.mark.django_db
def test_injury_rate_page_of_another_region_is_404(staff_sh, unit_a):
    client = signed_in(staff_sh)
    url = reverse("staff:injury_rates", args=[unit_a.unit_no])
    assert client.get(url).status_code == 404
    assert client.post(url, {"valid_from": "202601", "factor": "1.00"}).status_code == 404
