"""The back office page of 灵活人员缴费核定: a region's workers and assessments, assess all at
once or one by 个人编号, 回退; another region answers 404.
"""

import pytest
from django.urls import reverse

from shebao.contributions.models import Settlement
from tests.conftest import signed_in
from tests.contributions.flexible_helpers import PERIOD, make_person, person_login, register
from tests.factories import make_staff


@pytest.fixture
def registered(region, staff_bj):
    persons = []
    for i in range(1, 4):
        person = make_person(i)
        register(person_login(person), staff_bj, level="1.00")
        persons.append(person)
    return persons


def test_page_lists_and_assesses_the_region(registered, staff_client):
    url = reverse("staff:flexible")
    html = staff_client.get(url).content.decode()
    assert 'data-testid="workers">3<' in html and 'data-testid="assessed">0<' in html
    response = staff_client.post(reverse("staff:flexible_assess_all"), {"region": "110000"})
    assert response.status_code == 302
    assert Settlement.objects.filter(kind="flexible", settle_period=PERIOD).count() == 3
    html = staff_client.get(url, {"region": "110000"}).content.decode()
    assert 'data-testid="assessed">3<' in html
    for p in registered:
        assert p.person_no in html


def test_assess_one_and_roll_back(registered, staff_client):
    person = registered[0]
    staff_client.post(
        reverse("staff:flexible_assess"), {"region": "110000", "person_no": person.person_no}
    )
    settlement = Settlement.objects.get(person=person)
    response = staff_client.post(reverse("staff:flexible_rollback", args=[settlement.pk]))
    assert response.status_code == 302
    settlement.refresh_from_db()
    assert settlement.state == Settlement.State.WITHDRAWN


def test_bad_person_number_gives_404_not_500(registered, staff_client):
    response = staff_client.post(
        reverse("staff:flexible_assess"), {"region": "110000", "person_no": "NOSUCH"}
    )
    assert response.status_code == 404


def test_another_region_answers_404(registered, region_sh, staff_client):
    staff_sh = make_staff("staff_sh_flex", region_sh)
    client = signed_in(staff_sh)
    assert client.get(reverse("staff:flexible"), {"region": "110000"}).status_code == 404
    assert (
        client.post(reverse("staff:flexible_assess_all"), {"region": "110000"}).status_code == 404
    )
    staff_client.post(reverse("staff:flexible_assess_all"), {"region": "110000"})
    settlement = Settlement.objects.filter(kind="flexible").first()
    assert client.post(reverse("staff:flexible_rollback", args=[settlement.pk])).status_code == 404
    settlement.refresh_from_db()
    assert settlement.state == Settlement.State.CONFIRMED


def test_page_is_for_staff(registered, admin_client):
    assert admin_client.get(reverse("staff:flexible")).status_code == 403
