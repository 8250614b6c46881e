"""灵活人员缴费核定 and its 回退: lines equal the pure calculation (and the hand-computed fen),
one assessment per person and 结算期 (service and database), a whole region at once, rollback
before payment by the person or staff and refused after payment, another person's or region's
assessment answers 404, payments mark lines paid."""

from decimal import Decimal as D

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from shebao.contributions.calculator.calc import compute_line
from shebao.contributions.flexible.calc import flexible_lines, pension_params
from shebao.contributions.flexible.services import (
    flexible_assess,
    flexible_assess_region,
    flexible_rollback,
)
from shebao.contributions.models import Arrear, ContributionLine, Payment, Settlement
from shebao.contributions.params.selectors import parameter_sets_in_force, to_params
from shebao.contributions.payments.services import payment_post
from shebao.contributions.settlement.services import rebuild_arrears
from shebao.core.models import AuditEntry
from tests.conftest import signed_in
from tests.contributions.flexible_helpers import PERIOD, make_person, person_login, register
from tests.factories import make_staff

PAID_ON = "2025-08-20"


@pytest.fixture
def worker(region, staff_bj):
    person = make_person(1)
    user = person_login(person)
    register(user, staff_bj, level="1.50")
    return person, user


def workers(staff, n: int, start: int = 10, level="1.00") -> list:
    out = []
    for i in range(start, start + n):
        person = make_person(i)
        register(person_login(person), staff, level=level)
        out.append(person)
    return out


def pay(staff, person, item: str, amount):
    return payment_post(
        actor=staff,
        unit=None,
        person=person,
        settle_period=PERIOD,
        item=item,
        amount=amount,
        paid_on=PAID_ON,
    )


# --- the lines ----------------------------------------------------------------------------


def test_assessment_lines_equal_the_pure_calc_and_the_fen(worker):
    person, user = worker
    settlement = flexible_assess(actor=user)
    assert settlement.kind == Settlement.Kind.FLEXIBLE and settlement.unit is None
    assert settlement.state == Settlement.State.CONFIRMED and settlement.person == person
    assert settlement.settle_period == PERIOD and settlement.headcount == 1
    sets = parameter_sets_in_force("110000", PERIOD)
    base = D("10743.00")  # 7162 × 1.50
    expected = {
        "110": compute_line(pension_params(to_params(sets["110"])), base),
        "310": compute_line(to_params(sets["310"]), base),
    }
    lines = {x.item: x for x in ContributionLine.objects.filter(settlement=settlement)}
    assert set(lines) == {"110", "310"}
    for item, line in lines.items():
        e = expected[item]
        assert (line.base, line.unit_amount, line.personal_amount) == (e.base, e.unit, e.personal)
        assert line.unit is None and line.person == person and line.region_id == "110000"
        assert line.kind == ContributionLine.Kind.FLEXIBLE
        assert line.settle_period == line.belongs_period == PERIOD
        assert line.parameter_set_id == sets[item].pk
    # by hand: pension 12 % pooled + 8 % personal account; medical 9.8 % + 2 % + 3 元
    assert (lines["110"].unit_amount, lines["110"].personal_amount) == (D("1289.16"), D("859.44"))
    assert (lines["310"].unit_amount, lines["310"].personal_amount) == (D("1052.81"), D("217.86"))
    assert settlement.unit_total == D("2341.97") and settlement.personal_total == D("1077.30")
    assert settlement.total == D("3419.27")
    assert AuditEntry.objects.filter(action="flexible.assess", object_id=str(person.pk)).exists()


def test_arrears_are_what_rebuild_arrears_computes(worker):
    person, user = worker
    flexible_assess(actor=user)

    def snapshot():
        return sorted(
            Arrear.objects.filter(payer=f"P{person.pk}").values_list(
                "settle_period", "item", "belongs_period", "due", "paid", "region_id"
            )
        )

    written = snapshot()
    assert [(r[1], r[3]) for r in written] == [("110", D("2148.60")), ("310", D("1270.67"))]
    rebuild_arrears(unit_id=None, person_id=person.pk, settle_period=PERIOD)
    assert snapshot() == written


def test_level_above_a_lower_cap_is_clamped_and_flagged():
    from shebao.contributions.calculator.calc import Params

    p110 = Params("110", D("5000"), D("20000"), D("0.16"), D("0.08"))
    p310 = Params("310", D("5000"), D("20000"), D("0.098"), D("0.02"), personal_fixed=D("3"))
    result = flexible_lines({"110": p110, "310": p310}, D("5.00"))
    pension, medical = result.lines
    assert pension.base == medical.base == D("20000.00") and pension.above_cap
    assert (pension.unit, pension.personal) == (D("2400.00"), D("1600.00"))
    assert medical.personal == D("403.00")


# --- one per person and 结算期 ----------------------------------------------------------------


def test_second_assessment_of_the_period_refused(worker, staff_bj):
    person, user = worker
    flexible_assess(actor=user)
    with pytest.raises(ValidationError, match="已核定"):
        flexible_assess(actor=user)
    with pytest.raises(ValidationError, match="已核定"):
        flexible_assess(actor=staff_bj, person_no=person.person_no)
    assert Settlement.objects.filter(person=person).count() == 1


def test_database_keeps_one_assessment_per_person_and_period(worker):
    person, user = worker
    settlement = flexible_assess(actor=user)
    with pytest.raises(IntegrityError), transaction.atomic():
        Settlement.objects.create(
            person=person, region_id="110000", settle_period=PERIOD, kind="flexible"
        )
    settlement.state = Settlement.State.WITHDRAWN
    settlement.save()
    Settlement.objects.create(  # a withdrawn one leaves room for the next
        person=person, region_id="110000", settle_period=PERIOD, kind="flexible"
    )


def test_not_registered_or_not_started_cannot_be_assessed(region, staff_bj):
    person = make_person(3)
    user = person_login(person)
    with pytest.raises(ValidationError, match="没有正在缴费"):
        flexible_assess(actor=user)
    register(user, staff_bj, start=PERIOD + 1)
    with pytest.raises(ValidationError, match="尚无需核定"):
        flexible_assess(actor=user)


def test_permissions(worker, admin_a, region_sh):
    person, _ = worker
    with pytest.raises(PermissionDenied):
        flexible_assess(actor=admin_a, person_no=person.person_no)
    staff_sh = make_staff("staff_sh_flex", region_sh)
    with pytest.raises(Http404):  # another region's person, like a missing one
        flexible_assess(actor=staff_sh, person_no=person.person_no)
    with pytest.raises(Http404):
        flexible_assess(actor=staff_sh, person_no="NOSUCH")
    assert not Settlement.objects.filter(person=person).exists()


def test_refusals_are_audited_with_the_action(worker, admin_a, region_sh):
    _, user = worker
    settlement = flexible_assess(actor=user)
    with pytest.raises(PermissionDenied):
        flexible_assess(actor=admin_a)
    with pytest.raises(PermissionDenied):
        flexible_rollback(actor=admin_a, settlement_id=settlement.pk)
    with pytest.raises(PermissionDenied):
        flexible_assess_region(actor=admin_a, region_code="110000")
    staff_sh = make_staff("staff_sh_flex", region_sh)
    with pytest.raises(Http404):  # another region: audited, answered like a missing one
        flexible_assess_region(actor=staff_sh, region_code="110000")
    denied = AuditEntry.objects.filter(outcome=AuditEntry.Outcome.DENIED)
    assert sorted(denied.values_list("action", flat=True)) == [
        "flexible.assess",
        "flexible.assess_region",
        "flexible.assess_region",
        "flexible.rollback",
    ]


def test_staff_assess_one(worker, staff_bj):
    person, _ = worker
    settlement = flexible_assess(actor=staff_bj, person_no=person.person_no)
    assert settlement.total == D("3419.27") and settlement.created_by == staff_bj


# --- a whole region -----------------------------------------------------------------------


def test_region_assessment_assesses_everyone_not_yet_assessed(worker, staff_bj):
    _person, user = worker
    others = workers(staff_bj, 4)
    flexible_assess(actor=user)
    report = flexible_assess_region(actor=staff_bj, region_code="110000")
    assert (report.assessed, report.already, report.period) == (4, 1, PERIOD)
    params = {t: to_params(ps) for t, ps in parameter_sets_in_force("110000", PERIOD).items()}
    oracle = flexible_lines(params, D("1.00"))
    for p in others:
        s = Settlement.objects.get(person=p, settle_period=PERIOD)
        assert (s.unit_total, s.personal_total) == (oracle.unit_total, oracle.personal_total)
        got = {
            (x.item, x.base, x.unit_amount, x.personal_amount)
            for x in ContributionLine.objects.filter(settlement=s)
        }
        assert got == {(x.insurance_type, x.base, x.unit, x.personal) for x in oracle.lines}
        assert Arrear.objects.filter(payer=f"P{p.pk}", settle_period=PERIOD).count() == 2
    again = flexible_assess_region(actor=staff_bj, region_code="110000")
    assert (again.assessed, again.already) == (0, 5)
    assert AuditEntry.objects.filter(action="flexible.assess_region").count() == 2


def test_region_assessment_queries_do_not_grow_with_the_number_of_persons(region, staff_bj):
    workers(staff_bj, 2, start=20)
    with CaptureQueriesContext(connection) as few:
        flexible_assess_region(actor=staff_bj, region_code="110000")
    Settlement.objects.all().update(state=Settlement.State.WITHDRAWN)
    Arrear.objects.all().delete()
    workers(staff_bj, 8, start=40)
    with CaptureQueriesContext(connection) as many:
        report = flexible_assess_region(actor=staff_bj, region_code="110000")
    assert report.assessed == 10
    assert len(many) == len(few)


def test_region_assessment_in_chunks(region, staff_bj, monkeypatch):
    import shebao.contributions.flexible.services as flexible

    monkeypatch.setattr(flexible, "CHUNK", 2)
    workers(staff_bj, 5, start=60)
    report = flexible_assess_region(actor=staff_bj, region_code="110000")
    assert (report.assessed, report.chunks) == (5, 3)
    assert Settlement.objects.filter(kind="flexible", settle_period=PERIOD).count() == 5


def test_region_assessment_permissions(region, admin_a, region_sh):
    with pytest.raises(PermissionDenied):
        flexible_assess_region(actor=admin_a, region_code="110000")
    staff_sh = make_staff("staff_sh_flex", region_sh)
    with pytest.raises(Http404):
        flexible_assess_region(actor=staff_sh, region_code="110000")


def test_region_without_parameters_refused(staff_bj):
    from shebao.core.models import Region

    region = Region.objects.create(code="130400", name="邯郸市", current_period=PERIOD)
    staff_bj.regions.add(region)
    with pytest.raises(ValidationError, match="缴费参数"):
        flexible_assess_region(actor=staff_bj, region_code="130400")


# --- rollback (回退) ----------------------------------------------------------------------


def test_person_rolls_back_own_unpaid_assessment_and_assesses_again(worker):
    person, user = worker
    settlement = flexible_assess(actor=user)
    flexible_rollback(actor=user, settlement_id=settlement.pk)
    settlement.refresh_from_db()
    assert settlement.state == Settlement.State.WITHDRAWN and settlement.withdrawn_by == user
    assert ContributionLine.objects.filter(settlement=settlement, withdrawn=True).count() == 2
    assert not Arrear.objects.filter(payer=f"P{person.pk}").exists()
    assert AuditEntry.objects.filter(action="flexible.rollback").exists()
    again = flexible_assess(actor=user)
    assert again.pk != settlement.pk and again.total == settlement.total


def test_staff_roll_back_through_settlement_reopen(worker, staff_bj):
    person, user = worker
    settlement = flexible_assess(actor=user)
    flexible_rollback(actor=staff_bj, settlement_id=settlement.pk)
    settlement.refresh_from_db()
    assert settlement.state == Settlement.State.WITHDRAWN and settlement.withdrawn_by == staff_bj
    assert AuditEntry.objects.filter(action="settlement.reopen").exists()
    assert not Arrear.objects.filter(payer=f"P{person.pk}").exists()


def test_rollback_refused_after_payment(worker, staff_bj):
    person, user = worker
    settlement = flexible_assess(actor=user)
    pay(staff_bj, person, "310", "100.00")  # even a part of one item
    with pytest.raises(ValidationError, match="到账"):
        flexible_rollback(actor=user, settlement_id=settlement.pk)
    with pytest.raises(ValidationError, match="到账"):
        flexible_rollback(actor=staff_bj, settlement_id=settlement.pk)
    settlement.refresh_from_db()
    assert settlement.state == Settlement.State.CONFIRMED
    assert not ContributionLine.objects.filter(settlement=settlement, withdrawn=True).exists()


def test_rollback_twice_refused(worker):
    _, user = worker
    settlement = flexible_assess(actor=user)
    flexible_rollback(actor=user, settlement_id=settlement.pk)
    with pytest.raises(ValidationError, match="已核定"):
        flexible_rollback(actor=user, settlement_id=settlement.pk)


def test_another_persons_or_regions_assessment_answers_404(worker, staff_bj, region_sh, admin_a):
    _, user = worker
    settlement = flexible_assess(actor=user)
    other = person_login(make_person(2))
    with pytest.raises(Http404):
        flexible_rollback(actor=other, settlement_id=settlement.pk)
    staff_sh = make_staff("staff_sh_flex", region_sh)
    with pytest.raises(Http404):
        flexible_rollback(actor=staff_sh, settlement_id=settlement.pk)
    with pytest.raises(PermissionDenied):
        flexible_rollback(actor=admin_a, settlement_id=settlement.pk)
    url = reverse("person:flexible_rollback", args=[settlement.pk])
    assert signed_in(other).post(url).status_code == 404
    settlement.refresh_from_db()
    assert settlement.state == Settlement.State.CONFIRMED


def test_a_units_settlement_is_not_a_flexible_rollback_target(worker, staff_bj, unit_a):
    from tests.contributions.payments_helpers import settled_unit

    _, user = worker
    _, _, _, unit_settlement = settled_unit(staff_bj, unit_a.region, 9)
    with pytest.raises(Http404):
        flexible_rollback(actor=user, settlement_id=unit_settlement.pk)
    with pytest.raises(Http404):
        flexible_rollback(actor=staff_bj, settlement_id=unit_settlement.pk)


# --- payment ------------------------------------------------------------------------------


def test_payment_marks_lines_paid_item_by_item(worker, staff_bj):
    person, user = worker
    settlement = flexible_assess(actor=user)
    pay(staff_bj, person, "110", "2148.60")
    lines = {x.item: x for x in ContributionLine.objects.filter(settlement=settlement)}
    assert lines["110"].paid and not lines["310"].paid
    pay(staff_bj, person, "310", "1000.00")
    assert not ContributionLine.objects.get(settlement=settlement, item="310").paid
    pay(staff_bj, person, "310", "270.67")
    assert ContributionLine.objects.get(settlement=settlement, item="310").paid
    assert Payment.objects.filter(person=person, unit__isnull=True).count() == 3


# --- pages --------------------------------------------------------------------------------


def test_person_page_assess_and_rollback(worker):
    person, user = worker
    client = signed_in(user)
    html = client.get(reverse("person:flexible")).content.decode()
    assert "缴费基数下限 × 1.50" in html and "3,419.27" in html
    assert client.post(reverse("person:flexible_assess")).status_code == 302
    settlement = Settlement.objects.get(person=person)
    html = client.get(reverse("person:flexible")).content.decode()
    assert "已核定" in html and "2,148.60" in html and "1,270.67" in html
    assert reverse("person:flexible_rollback", args=[settlement.pk]) in html
    client.post(reverse("person:flexible_rollback", args=[settlement.pk]))
    settlement.refresh_from_db()
    assert settlement.state == Settlement.State.WITHDRAWN
    assert "已回退" in client.get(reverse("person:flexible")).content.decode()


def test_person_page_hides_rollback_after_payment(worker, staff_bj):
    person, user = worker
    settlement = flexible_assess(actor=user)
    pay(staff_bj, person, "110", "2148.60")
    html = signed_in(user).get(reverse("person:flexible")).content.decode()
    assert reverse("person:flexible_rollback", args=[settlement.pk]) not in html
