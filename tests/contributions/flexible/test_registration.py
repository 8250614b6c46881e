"""灵活就业参保登记: a person files for themself; approval creates the individual enrolments 110
and 310 (unit empty) and the FlexibleEnrolment; refusals (already insured at a unit, level
outside floor–cap, start month, twice); another person's filing answers 404; the page."""

from decimal import Decimal as D

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.urls import reverse

from shebao.contributions.flexible.calc import flexible_lines, level_choices
from shebao.contributions.flexible.kinds import FlexibleEnrolmentHandler
from shebao.contributions.flexible.selectors import flexible_params
from shebao.contributions.flexible.services import flexible_filing_cancel, flexible_register
from shebao.contributions.models import FlexibleEnrolment
from shebao.core.models import AuditEntry
from shebao.filings.kinds import ReviewPolicy, handler_for
from shebao.filings.models import Filing, FilingRow, FilingState, RegionFilingRule
from shebao.filings.services import filing_approve, filing_return
from shebao.registry.models import Enrolment
from tests.conftest import signed_in
from tests.contributions.flexible_helpers import (
    CAP,
    FLOOR,
    PERIOD,
    make_person,
    person_login,
    register,
    registration,
    unit_enrolment,
)


def test_handler_is_registered_with_region_policy():
    handler = handler_for("flexible_enrolment")
    assert isinstance(handler, FlexibleEnrolmentHandler)
    assert handler.review_policy == ReviewPolicy.REGION


def test_registration_is_reviewed_then_enrols_110_and_310(worker, staff_bj):
    person, user = worker
    filing = register(user)
    assert filing.state == FilingState.SUBMITTED  # reviewed by default
    assert filing.person == person and filing.unit is None and filing.region_id == "110000"
    assert filing.payload["base"] == "10743.00"  # 7162 × 1.50
    assert not Enrolment.objects.filter(person=person).exists()
    filing_approve(actor=staff_bj, filing_id=filing.pk)
    enrolments = Enrolment.objects.filter(person=person).order_by("insurance_type")
    assert [(e.insurance_type, e.unit_id, e.start_period) for e in enrolments] == [
        ("110", None, PERIOD),
        ("310", None, PERIOD),
    ]
    assert all(e.status == Enrolment.Status.ACTIVE and e.start_filing == filing for e in enrolments)
    fe = FlexibleEnrolment.objects.get(person=person)
    assert fe.base_level == D("1.50") and fe.start_period == PERIOD and fe.stop_period is None
    assert AuditEntry.objects.filter(action="flexible.enrol", object_id=str(person.pk)).exists()


def test_region_may_approve_on_submit(worker, region):
    person, user = worker
    RegionFilingRule.objects.create(region=region, kind="flexible_enrolment", auto_approve=True)
    filing = register(user)
    assert filing.state == FilingState.APPROVED
    assert FlexibleEnrolment.objects.filter(person=person, stop_period__isnull=True).exists()


def test_refused_when_enrolled_at_a_unit(worker, unit_a):
    person, user = worker
    unit_enrolment(person, unit_a, "110")
    with pytest.raises(ValidationError) as e:
        register(user)
    assert any("测试单位1有限公司" in m and "停保" in m for m in e.value.messages)
    assert not Filing.objects.filter(person=person).exists()  # nothing half-written


def test_refused_when_medical_at_a_unit(worker, unit_a):
    person, user = worker
    unit_enrolment(person, unit_a, "310")
    with pytest.raises(ValidationError, match="职工基本医疗保险"):
        register(user)


def test_injury_only_at_a_unit_does_not_block(worker, unit_a, staff_bj):
    person, user = worker
    unit_enrolment(person, unit_a, "410")
    register(user, staff_bj)
    assert FlexibleEnrolment.objects.filter(person=person).exists()


def test_a_stopped_unit_enrolment_does_not_block(worker, unit_a, staff_bj):
    person, user = worker
    e = unit_enrolment(person, unit_a, "110")
    e.stop_period = 202506
    e.status = Enrolment.Status.SUSPENDED
    e.save()
    register(user, staff_bj)
    assert Enrolment.objects.filter(person=person, unit__isnull=True).count() == 2


@pytest.mark.parametrize(
    "level, message",
    [
        ("0.99", "不能低于缴费基数下限"),
        ("5.01", "超过上限"),  # 7162 × 5.01 = 35881.62 > 35811
        ("1.234", "两位小数"),
        ("abc", "不是有效的数字"),
        ("", "请选择缴费档次"),
        ("-1", "必须大于 0"),
    ],
)
def test_level_outside_floor_and_cap_refused(worker, level, message):
    _, user = worker
    with pytest.raises(ValidationError) as e:
        register(user, level=level)
    assert "base_level" in e.value.message_dict
    assert message in "".join(e.value.message_dict["base_level"])


def test_highest_level_within_the_cap_is_accepted(worker, staff_bj):
    _person, user = worker
    filing = register(user, staff_bj, level="5.00")  # 35810.00 ≤ 35811
    assert filing.state == FilingState.APPROVED
    assert filing.payload["base"] == "35810.00"


@pytest.mark.parametrize(
    "start, field",
    [(202507, "start_period"), (PERIOD + 100, "start_period"), ("2025/13", "start_period")],
)
def test_start_month_checked(worker, start, field):
    _, user = worker
    with pytest.raises(ValidationError) as e:
        register(user, start=start)
    assert field in e.value.message_dict


def test_start_not_before_first_work_date(worker):
    from datetime import date

    person, user = worker
    person.first_work_date = date(2025, 10, 8)
    person.save()
    with pytest.raises(ValidationError, match="参加工作日期"):
        register(user, start=202509)


def test_unknown_region_and_region_without_parameters(worker):
    from shebao.core.models import Region

    _, user = worker
    with pytest.raises(ValidationError) as e:
        register(user, region="999999")
    assert "region" in e.value.message_dict
    Region.objects.create(code="130400", name="邯郸市", current_period=PERIOD)
    with pytest.raises(ValidationError, match=r"没有.*缴费参数"):
        register(user, region="130400")


def test_second_registration_refused_while_open_and_after_approval(worker, staff_bj):
    _person, user = worker
    filing = register(user)
    with pytest.raises(ValidationError, match="正在办理"):
        register(user)
    filing_approve(actor=staff_bj, filing_id=filing.pk)
    with pytest.raises(ValidationError, match="已登记为灵活就业人员"):
        register(user)


def test_only_a_person_files_it(worker, admin_a, staff_bj):
    with pytest.raises(PermissionDenied):
        flexible_register(actor=admin_a, data=registration())
    with pytest.raises(PermissionDenied):
        flexible_register(actor=staff_bj, data=registration())


def test_refusals_are_audited_with_the_action(worker, admin_a, staff_bj):
    with pytest.raises(PermissionDenied):
        flexible_register(actor=admin_a, data=registration())
    with pytest.raises(PermissionDenied):
        flexible_filing_cancel(actor=staff_bj, serial_no="NOSUCH")
    denied = AuditEntry.objects.filter(outcome=AuditEntry.Outcome.DENIED)
    assert set(denied.values_list("action", flat=True)) == {"flexible.register", "flexible.cancel"}


def test_another_persons_filing_answers_404(worker, region):
    _, user = worker
    filing = register(user)
    other = person_login(make_person(2))
    with pytest.raises(Http404):
        flexible_filing_cancel(actor=other, serial_no=filing.serial_no)
    with pytest.raises(Http404):  # re-submitting someone else's filing as one's own
        flexible_register(actor=other, data=registration(), serial_no=filing.serial_no)
    client = signed_in(other)
    url = reverse("person:flexible_cancel", args=[filing.serial_no])
    assert client.post(url).status_code == 404
    filing.refresh_from_db()
    assert filing.state == FilingState.SUBMITTED


def test_approval_checks_again(worker, unit_a, staff_bj):
    """Hired by a unit after filing: the approval is refused and nothing is applied."""
    person, user = worker
    filing = register(user)
    unit_enrolment(person, unit_a, "110")
    with pytest.raises(ValidationError, match="停保"):
        filing_approve(actor=staff_bj, filing_id=filing.pk)
    filing.refresh_from_db()
    assert filing.state == FilingState.SUBMITTED
    assert not FlexibleEnrolment.objects.filter(person=person).exists()
    assert not Enrolment.objects.filter(person=person, unit__isnull=True).exists()


def test_database_keeps_one_open_flexible_enrolment(worker, staff_bj):
    person, user = worker
    register(user, staff_bj)
    with pytest.raises(IntegrityError), transaction.atomic():
        FlexibleEnrolment.objects.create(
            person=person, region_id="110000", base_level=D("1"), start_period=PERIOD
        )


def test_one_open_filing_per_person_across_kinds(worker):
    """The registration holds the person's FilingRow: another open filing cannot take them."""
    person, user = worker
    filing = register(user)
    assert FilingRow.objects.filter(
        FilingRow.id_number.q(person.id_number), filing=filing, is_open=True
    )


def test_returned_registration_can_be_changed_and_resubmitted(worker, staff_bj):
    person, user = worker
    filing = register(user)
    filing_return(actor=staff_bj, filing_id=filing.pk, reason="请核实参保年月")
    again = flexible_register(
        actor=user, data=registration(level="2.00"), serial_no=filing.serial_no
    )
    assert again.pk == filing.pk and again.state == FilingState.SUBMITTED
    assert again.payload["base_level"] == "2.00"
    filing_approve(actor=staff_bj, filing_id=filing.pk)
    assert FlexibleEnrolment.objects.get(person=person).base_level == D("2.00")


def test_returned_registration_can_be_cancelled(worker, staff_bj):
    _, user = worker
    filing = register(user)
    filing_return(actor=staff_bj, filing_id=filing.pk, reason="材料不符")
    flexible_filing_cancel(actor=user, serial_no=filing.serial_no)
    filing.refresh_from_db()
    assert filing.state == FilingState.CANCELLED
    assert register(user).state == FilingState.SUBMITTED  # may file again


# --- levels offered -----------------------------------------------------------------------


def test_levels_offered_are_within_floor_and_cap_with_their_amounts(region):
    params = flexible_params("110000", PERIOD)
    choices = level_choices(params)
    assert [str(c.level) for c in choices] == [
        "1.00",
        "1.50",
        "2.00",
        "2.50",
        "3.00",
        "4.00",
        "5.00",
    ]
    for c in choices:
        assert FLOOR <= c.pension.base <= CAP
        assert c.result == flexible_lines(params, c.level)
    first = choices[0]
    assert first.pension.base == D("7162.00")
    assert (first.pension.unit, first.pension.personal) == (D("859.44"), D("572.96"))
    assert first.medical.total == D("848.12")  # 701.88 + 143.24 + 3


# --- pages --------------------------------------------------------------------------------


def test_page_offers_levels_and_registers(worker, staff_bj):
    person, user = worker
    client = signed_in(user)
    page = client.get(reverse("person:flexible"), {"region": "110000", "start_period": PERIOD})
    html = page.content.decode()
    assert page.status_code == 200
    assert "下限 × 1.50" in html and "10,743.00" in html and "3,419.27" in html
    fragment = client.get(
        reverse("person:flexible_levels"), {"region": "110000", "start_period": PERIOD}
    )
    assert "3,419.27" in fragment.content.decode()
    response = client.post(
        reverse("person:flexible"),
        {
            "region": "110000",
            "start_period": str(PERIOD),
            "base_level": "other",
            "other_level": "1.8",
        },
    )
    assert response.status_code == 302
    filing = Filing.objects.get(person=person)
    assert filing.payload["base_level"] == "1.80"
    html = client.get(reverse("person:flexible")).content.decode()
    assert filing.serial_no in html and "审核中" in html


def test_page_shows_refusal_next_to_the_field(worker):
    _, user = worker
    client = signed_in(user)
    response = client.post(
        reverse("person:flexible"),
        {
            "region": "110000",
            "start_period": str(PERIOD),
            "base_level": "other",
            "other_level": "9",
        },
    )
    assert response.status_code == 200
    assert "超过上限" in response.content.decode()
    assert not Filing.objects.exists()


def test_page_needs_a_person(admin_client, staff_client):
    assert admin_client.get(reverse("person:flexible")).status_code == 403
    assert staff_client.get(reverse("person:flexible")).status_code == 403


def test_staff_review_page_shows_the_registration(worker, staff_client):
    person, user = worker
    filing = register(user)
    html = staff_client.get(reverse("staff:queue")).content.decode()
    assert filing.serial_no in html
    response = staff_client.get(reverse("staff:review", args=[filing.serial_no]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "灵活就业人员参保登记" in html and "10743.00" in html and person.name in html
    assert person.id_number not in html  # masked
    response = staff_client.post(
        reverse("staff:review", args=[filing.serial_no]), {"action": "approve"}
    )
    assert response.status_code == 302
    assert FlexibleEnrolment.objects.filter(person=person).exists()
