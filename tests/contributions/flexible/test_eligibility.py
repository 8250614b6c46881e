"""Issue 12: /person/flexible/ shows why a person cannot register instead of a live form, and
a POST is refused with the same reason (nothing filed). One test per reason."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from shebao.contributions.flexible.calc import age_blocker
from shebao.core.models import AuditEntry
from shebao.filings.models import Filing
from shebao.filings.services import filing_return
from shebao.registry.models import Enrolment
from tests.conftest import signed_in
from tests.contributions.flexible_helpers import (
    register,
    registration,
    unit_enrolment,
)

pytestmark = pytest.mark.django_db


def years_ago(years: int, days: int = 0) -> date:
    today = timezone.localdate()
    return date(today.year - years, today.month, min(today.day, 28)) - timedelta(days)


def assert_refused(user, reason: str, *, filings_before: int = 0):
    client = signed_in(user)
    html = client.get(reverse("person:flexible")).content.decode()
    assert 'id="flexible-blockers"' in html and reason in html
    assert "提交登记" not in html and 'name="base_level"' not in html
    denied = AuditEntry.objects.filter(action="flexible.register", outcome="denied")
    before = denied.count()
    response = client.post(reverse("person:flexible"), registration())
    assert response.status_code == 400
    assert reason in response.content.decode()
    assert denied.count() == before + 1  # the refused post went through the service
    with pytest.raises(ValidationError) as e:
        register(user)
    assert any(reason in m for m in e.value.messages)
    assert Filing.objects.count() == filings_before


def test_eligible_person_gets_the_form(worker):
    _, user = worker
    html = signed_in(user).get(reverse("person:flexible")).content.decode()
    assert "提交登记" in html and 'id="flexible-blockers"' not in html


def test_enrolled_by_a_unit(worker, unit_a):
    person, user = worker
    unit_enrolment(person, unit_a, "110")
    assert_refused(user, "请先由单位办理停保")


def test_retired(worker, unit_a):
    person, user = worker
    enrolment = unit_enrolment(person, unit_a, "110")
    Enrolment.objects.filter(pk=enrolment.pk).update(
        stop_period=202312, stop_reason=Enrolment.StopReason.RETIRED
    )
    assert_refused(user, "您已办理退休")


def test_already_registered_flexible(worker, staff_bj):
    _, user = worker
    register(user, staff_bj)
    client = signed_in(user)
    html = client.get(reverse("person:flexible")).content.decode()
    assert "当前灵活就业参保" in html and "提交登记" not in html
    response = client.post(reverse("person:flexible"), registration())
    assert response.status_code == 400
    assert "您已登记为灵活就业人员，不能重复登记" in response.content.decode()
    assert Filing.objects.count() == 1


def test_registration_in_review(worker):
    _, user = worker
    filing = register(user)
    response = signed_in(user).post(reverse("person:flexible"), registration())
    assert response.status_code == 400
    assert f"流水号 {filing.serial_no}）正在办理" in response.content.decode()
    assert Filing.objects.count() == 1


def test_returned_registration_then_a_blocker_shows_the_reasons(worker, unit_a, staff_bj):
    person, user = worker
    filing = register(user)
    filing_return(actor=staff_bj, filing_id=filing.pk, reason="请核实参保年月")
    unit_enrolment(person, unit_a, "110")  # since then enrolled by a unit
    client = signed_in(user)
    html = client.get(reverse("person:flexible")).content.decode()
    assert 'id="flexible-blockers"' in html and "请先由单位办理停保" in html
    assert "请核实参保年月" in html and "退单" in html
    assert 'name="base_level"' not in html
    denied = AuditEntry.objects.filter(action="flexible.register", outcome="denied")
    response = client.post(reverse("person:flexible"), registration())
    assert response.status_code == 400 and "请先由单位办理停保" in response.content.decode()
    assert denied.count() == 1
    filing.refresh_from_db()
    assert filing.state == "returned"


def test_at_the_retirement_age(worker):
    person, user = worker
    person.birth_date = years_ago(64)  # born before 1965: 60 years
    person.save()
    assert_refused(user, "已达到法定退休年龄（男性 60 周岁，")


def test_under_sixteen(worker):
    person, user = worker
    person.birth_date = years_ago(16, days=-3)
    person.save()
    assert_refused(user, "未满 16 周岁")


@pytest.mark.parametrize(
    ("birth", "sex", "expected"),
    [
        (date(1970, 6, 1), "1", ""),
        (date(1964, 6, 1), "1", "男性 60 周岁，2024年06月 起"),
        (date(1965, 6, 1), "1", ""),  # 60 years 2 months: from 2025-08
        (date(1965, 3, 1), "1", "男性 60 周岁 1 个月，2025年04月 起"),
        (date(1970, 3, 1), "2", "女性 55 周岁 1 个月，2025年04月 起"),
        (date(1970, 6, 2), "2", ""),  # 55 years 2 months: from 2025-08
        (date(2009, 6, 2), "1", "未满 16 周岁"),
        (date(2009, 6, 1), "1", ""),
        (None, "1", ""),
    ],
)
def test_age_rule(birth, sex, expected):
    message = age_blocker(birth, sex, date(2025, 6, 1))
    assert (expected in message) if expected else message == ""
