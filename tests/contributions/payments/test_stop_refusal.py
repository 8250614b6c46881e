"""A person with unpaid lines at the unit (欠缴) cannot be stopped online; the refusal shows
the unpaid 费款所属期 (seed 001 Tianjin, DOMAIN §4.6).

The stop filing (shebao/registry/enrolment.py) asks its hook ``unpaid_periods(person, unit)``,
which calls ``shebao.contributions.settlement.selectors.unpaid_periods``."""

from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from shebao.contributions.payments.services import payment_post
from shebao.contributions.settlement.selectors import unpaid_periods
from shebao.filings.models import Filing
from shebao.registry.enrolment import services as enrolment
from shebao.registry.models import Enrolment
from tests.contributions.payments_helpers import (
    PAID_ON,
    PERIOD,
    add_back_pay,
    lines_due,
    settled_unit,
)


@pytest.fixture
def in_arrears(region_bj, staff_bj):
    unit, admin, people, settlement = settled_unit(staff_bj, region_bj, 7)
    add_back_pay(settlement, people[0], "110", 202506, "800.00", "400.00")
    return unit, admin, people


def stop(admin, person):
    return enrolment.stop_save(
        actor=admin,
        data={
            "stop_date": timezone.localdate(),
            "reason": Enrolment.StopReason.LEFT,
            "insurance_types": ["110", "210", "310", "410"],
        },
        person_ids=[person.pk],
    )


def pay_everything(staff, unit):
    for item in ("110", "210", "310", "410"):
        payment_post(
            actor=staff,
            unit=unit,
            settle_period=PERIOD,
            item=item,
            amount=lines_due(unit, item),
            paid_on=PAID_ON,
        )


def assert_refused_with_periods(admin, person, periods):
    with pytest.raises(ValidationError) as e:
        stop(admin, person)
    message = " ".join(e.value.message_dict["persons"])
    assert "欠缴" in message and person.name in message
    for p in periods:
        assert str(p) in message
    assert not Filing.objects.filter(kind="stop").exists()


def test_stop_is_refused_while_lines_are_unpaid(in_arrears):
    unit, admin, people = in_arrears
    assert enrolment.unpaid_periods(people[0], unit) == [202506, PERIOD]
    assert_refused_with_periods(admin, people[0], [202506, PERIOD])


def test_partly_paid_item_keeps_the_later_periods_unpaid(in_arrears, staff_bj):
    unit, admin, people = in_arrears
    payment_post(
        actor=staff_bj,
        unit=unit,
        settle_period=PERIOD,
        item="110",
        amount=D("1200.00"),
        paid_on=PAID_ON,
    )
    assert unpaid_periods(people[0], unit) == [PERIOD]
    assert_refused_with_periods(admin, people[0], [PERIOD])


def test_stop_is_allowed_once_everything_is_paid(in_arrears, staff_bj):
    unit, admin, people = in_arrears
    pay_everything(staff_bj, unit)
    assert unpaid_periods(people[0], unit) == []
    filing = stop(admin, people[0])
    assert filing.rows.count() == 1
