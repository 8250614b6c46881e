"""Parameter sets in the back office: publish, versions, verify, validity, refusals."""

from decimal import Decimal as D

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from shebao.contributions.models import ContributionLine, ParameterSet
from shebao.contributions.params.calc import derive_validity
from shebao.contributions.params.selectors import parameter_overview, parameter_sets_in_force
from shebao.contributions.params.services import parameter_set_publish, parameter_set_verify
from shebao.core.models import AuditEntry
from shebao.core.periods import Period
from tests.contributions.payments_helpers import settled_unit
from tests.factories import make_admin, make_unit

FIELDS = {
    "floor": "7500",
    "cap": "37500",
    "unit_rate": "0.16",
    "personal_rate": "0.08",
    "unit_rounding": "fen",
    "personal_rounding": "fen",
    "source": "京人社发〔2026〕1号",
}


def publish(actor, region="110000", insurance_type="110", valid_from="202607", **over):
    return parameter_set_publish(
        actor=actor,
        region=region,
        insurance_type=insurance_type,
        valid_from=valid_from,
        fields={**FIELDS, **over},
    )


@pytest.mark.django_db
def test_publish_a_new_period_supersedes_the_previous_set(staff_bj):
    ps = publish(staff_bj)
    assert (ps.valid_from, ps.version, ps.status) == (202607, 1, "unverified")
    assert ps.entered_by == staff_bj and ps.floor == D("7500.00")
    assert parameter_sets_in_force("110000", 202606)["110"].valid_from == 202507
    assert parameter_sets_in_force("110000", 202607)["110"] == ps
    entry = AuditEntry.objects.get(action="parameters.publish")
    assert entry.object_id == str(ps.pk) and entry.detail["version"] == 1


@pytest.mark.django_db
def test_same_month_again_is_a_new_version_and_nothing_is_edited(staff_bj):
    first = publish(staff_bj)
    second = publish(staff_bj, cap="38000")
    assert second.pk != first.pk and second.version == 2
    first.refresh_from_db()
    assert first.cap == D("37500.00")  # the old row is untouched
    assert parameter_sets_in_force("110000", 202608)["110"] == second


@pytest.mark.django_db
def test_a_set_used_by_a_settlement_is_superseded_not_changed(staff_bj, region_bj):
    _unit, _admin, _people, settlement = settled_unit(staff_bj, region_bj, 41)
    used = ContributionLine.objects.filter(settlement=settlement, item="110").first().parameter_set
    before = {f.name: getattr(used, f.name) for f in ParameterSet._meta.fields}
    newer = publish(staff_bj, valid_from=str(used.valid_from), floor="7000")
    used.refresh_from_db()
    assert {f.name: getattr(used, f.name) for f in ParameterSet._meta.fields} == before
    assert newer.version == used.version + 1
    entry = AuditEntry.objects.filter(action="parameters.publish").latest("id")
    assert entry.detail["superseded_set_used_by_settlement"] is True
    # the settled lines still point at the version they were computed with
    assert ContributionLine.objects.filter(settlement=settlement, parameter_set=used).exists()


@pytest.mark.django_db
def test_annuity_and_fixed_amounts_for_institution_pension(staff_bj):
    ps = publish(
        staff_bj,
        insurance_type="120",
        annuity_unit_rate="0.08",
        annuity_personal_rate="0.04",
        personal_fixed="3",
        unit_rounding="jiao_up",
    )
    assert ps.annuity_unit_rate == D("0.08") and ps.personal_fixed == D("3.00")
    assert ps.unit_rounding == "jiao_up"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("override", "field", "message"),
    [
        ({"floor": "40000"}, "cap", "上限不能低于下限"),
        ({"unit_rate": "1.2"}, "unit_rate", "0 到 1"),
        ({"personal_rate": "-0.01"}, "personal_rate", "0 到 1"),
        ({"unit_rate": "百分之十六"}, "unit_rate", "必须是数字"),
        ({"unit_rounding": "half_even"}, "unit_rounding", "舍入方式只能是"),
        ({"source": "  "}, "source", "请填写依据"),
        ({"floor": ""}, "floor", "请填写缴费基数下限"),
        ({"cap": "1.234"}, "cap", "两位小数"),
        ({"annuity_unit_rate": "0.08"}, "annuity_unit_rate", "只适用于机关事业单位养老保险"),
        ({"status": "verified"}, "status", "核实后"),
    ],
)
def test_bad_input_is_refused_next_to_the_field_and_nothing_is_written(
    staff_bj, override, field, message
):
    count = ParameterSet.objects.count()
    with pytest.raises(ValidationError) as e:
        publish(staff_bj, **override)
    assert message in e.value.message_dict[field][0]
    assert ParameterSet.objects.count() == count
    assert not AuditEntry.objects.filter(action="parameters.publish").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"valid_from": "2026-13"}, "valid_from"), ({"insurance_type": "999"}, "insurance_type")],
)
def test_bad_month_or_type_refused(staff_bj, kwargs, field):
    count = ParameterSet.objects.count()
    with pytest.raises(ValidationError) as e:
        publish(staff_bj, **kwargs)
    assert field in e.value.message_dict
    assert ParameterSet.objects.count() == count


@pytest.mark.django_db
def test_staff_of_another_region_gets_404_and_a_denied_audit_row(staff_sh, region_bj):
    count = ParameterSet.objects.count()
    with pytest.raises(Http404):
        publish(staff_sh, region="110000")
    assert ParameterSet.objects.count() == count
    assert AuditEntry.objects.filter(action="parameters.publish", outcome="denied").exists()


@pytest.mark.django_db
def test_unit_operator_may_not_publish(admin_a):
    with pytest.raises(PermissionDenied):
        publish(admin_a)


@pytest.mark.django_db
def test_verify_changes_the_status_only_and_is_audited(staff_bj, region_bj):
    settled_unit(staff_bj, region_bj, 42)
    ps = parameter_sets_in_force("110000", 202508)["110"]  # used by the settlement
    values = (ps.floor, ps.cap, ps.unit_rate, ps.version)
    parameter_set_verify(actor=staff_bj, parameter_set_id=ps.pk)
    ps.refresh_from_db()
    assert ps.status == "verified" and (ps.floor, ps.cap, ps.unit_rate, ps.version) == values
    entry = AuditEntry.objects.get(action="parameters.verify")
    assert entry.detail == {"before": "unverified", "after": "verified"}
    with pytest.raises(ValidationError, match="已核实"):
        parameter_set_verify(actor=staff_bj, parameter_set_id=ps.pk)


@pytest.mark.django_db
def test_verify_another_regions_set_is_404(staff_sh, region_bj):
    ps = parameter_sets_in_force("110000", 202508)["110"]
    with pytest.raises(Http404):
        parameter_set_verify(actor=staff_sh, parameter_set_id=ps.pk)
    ps.refresh_from_db()
    assert ps.status == "unverified"
    with pytest.raises(Http404):
        parameter_set_verify(actor=staff_sh, parameter_set_id=999999)


def _ps(pk, valid_from, version=1):
    return ParameterSet(pk=pk, valid_from=valid_from, version=version)


def test_validity_is_derived_from_the_next_set():
    rows = derive_validity(
        [_ps(1, 202407), _ps(2, 202507), _ps(3, 202507, 2), _ps(4, 202607)],
        now=202508,
        used={1},
    )
    by_pk = {r.ps.pk: r for r in rows}
    assert [r.ps.pk for r in rows] == [4, 3, 2, 1]  # newest first
    assert by_pk[1].valid_until == Period(2025, 6) and by_pk[1].used
    assert by_pk[2].superseded_by == 2 and "取代" in by_pk[2].validity
    assert by_pk[3].valid_until == Period(2026, 6) and by_pk[3].in_force_now
    assert by_pk[4].valid_until is None and "起" in by_pk[4].validity
    assert not by_pk[4].in_force_now


@pytest.mark.django_db
def test_overview_shows_only_the_staff_regions(staff_bj, region_sh):
    groups = parameter_overview(staff_bj)
    assert groups and {g.region.pk for g in groups} == {"110000"}
    pension = next(g for g in groups if g.insurance_type == "110")
    assert [r.ps.valid_from for r in pension.rows] == [202507, 202407]
    assert pension.rows[1].valid_until == Period(2025, 6)


@pytest.mark.django_db
def test_operator_cannot_reach_other_unit_data_through_publish(staff_bj, region_bj):
    other = make_admin(make_unit(staff_bj, region_bj, 43))
    with pytest.raises(PermissionDenied):
        parameter_set_verify(actor=other, parameter_set_id=1)
