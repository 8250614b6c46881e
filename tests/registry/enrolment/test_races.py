"""Races on PostgreSQL (SQLite ignores row locks): two operators submitting the same enrolment at
once, two reviewers deciding it at once, two units saving the same new person at once — exactly
one wins each time and the registry holds the effect once."""

import pytest
from django.core.exceptions import ValidationError

from shebao.filings.models import Filing, FilingState
from shebao.filings.services import filing_approve, filing_submit
from shebao.registry.enrolment.services import enrolment_save, stop_save
from shebao.registry.models import Enrolment, Person
from tests.factories import make_admin, make_operator, make_staff, make_unit
from tests.races import race
from tests.registry.enrolment_helpers import enrol, enrol_data, ident, make_person, stop_data

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_double_submit_at_a_vip_unit_applies_once(staff_bj, region_bj):
    vip = make_unit(staff_bj, region_bj, 7, vip=True)
    admin = make_admin(vip)
    second = make_operator(vip, "second", ["enrolment"])
    filing = enrolment_save(actor=admin, data=enrol_data(ident(11)))

    results, errors = race(
        lambda: filing_submit(actor=admin, filing=filing),
        lambda: filing_submit(actor=second, filing=filing),
    )
    assert len(results) == 1 and len(errors) == 1
    assert isinstance(errors[0], ValidationError) and "请勿重复提交" in errors[0].messages[0]
    filing.refresh_from_db()
    assert filing.state == FilingState.APPROVED
    assert Person.objects.count() == 1
    assert Enrolment.objects.count() == 4
    assert filing.steps.filter(action="submit").count() == 1


def test_double_review_applies_once(admin_a, staff_bj, region_bj):
    other_staff = make_staff("staff_bj2", region_bj)
    filing = enrolment_save(actor=admin_a, data=enrol_data(ident(11)))
    filing_submit(actor=admin_a, filing=filing)

    results, errors = race(
        lambda: filing_approve(actor=staff_bj, filing_id=filing.pk),
        lambda: filing_approve(actor=other_staff, filing_id=filing.pk),
    )
    assert len(results) == 1 and len(errors) == 1
    assert isinstance(errors[0], ValidationError) and "已由他人处理" in errors[0].messages[0]
    assert Person.objects.count() == 1 and Enrolment.objects.count() == 4
    assert Filing.objects.get().steps.filter(action="approve").count() == 1


def test_double_review_of_a_stop_applies_once(admin_a, staff_bj, region_bj, unit_a):
    other_staff = make_staff("staff_bj2", region_bj)
    person = make_person(41)
    enrol(person, unit_a)
    filing = stop_save(actor=admin_a, data=stop_data(), person_ids=[person.pk])
    filing_submit(actor=admin_a, filing=filing)

    results, errors = race(
        lambda: filing_approve(actor=staff_bj, filing_id=filing.pk),
        lambda: filing_approve(actor=other_staff, filing_id=filing.pk),
    )
    assert len(results) == 1 and len(errors) == 1
    assert set(Enrolment.objects.values_list("stop_filing", flat=True)) == {filing.pk}


def test_two_units_saving_the_same_new_person_at_once(admin_a, admin_b):
    results, errors = race(
        lambda: enrolment_save(actor=admin_a, data=enrol_data(ident(11))),
        lambda: enrolment_save(actor=admin_b, data=enrol_data(ident(11))),
    )
    assert len(results) == 1 and len(errors) == 1
    assert isinstance(errors[0], ValidationError)
    assert "正在办理的业务" in " ".join(errors[0].messages)
    assert Filing.objects.count() == 1


def test_two_operators_adding_to_the_same_draft_keep_both_persons(admin_a, unit_a):
    second = make_operator(unit_a, "second", ["enrolment"])
    draft = enrolment_save(actor=admin_a, data=enrol_data(ident(11), name="甲"))
    results, errors = race(
        lambda: enrolment_save(actor=admin_a, data=enrol_data(ident(13), name="乙"), filing=draft),
        lambda: enrolment_save(actor=second, data=enrol_data(ident(15), name="丙"), filing=draft),
    )
    assert errors == [] and len(results) == 2
    assert sorted(draft.rows.values_list("name", flat=True)) == sorted(["甲", "乙", "丙"])
