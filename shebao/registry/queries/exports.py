"""The unit hall's Excel exports of its queries: the roster (参保职工名单) of the current filter
and the enrolment list (增员表) of a period. ID numbers are masked unless a full export is asked
for; wage bases go to ``core.excel`` as ``Decimal``.

The exports are the only writes of the queries: each records one audit row (``roster.export``
or ``roster.export_full``, ``roster_additions.export`` or ``roster_additions.export_full``). A
full export also records, against each person it lists, one ``person.view_full`` row naming the
export (one INSERT), so the person's PIPL 访问记录 shows who took their ID number in full."""

from django.core.exceptions import ValidationError
from django.db import transaction

from shebao.core.audit import PERSON_VIEW_FULL, audit_person_views, audit_record
from shebao.core.excel import build_xlsx
from shebao.core.periods import Period
from shebao.registry.models import Enrolment, Person
from shebao.registry.queries.selectors import (
    ROSTER_COLUMNS,
    RosterFilter,
    RosterRow,
    RosterStatus,
    additions_queryset,
    decorate,
    roster_queryset,
    types_label,
)

ROSTER_HEADER = [
    "个人编号",
    "姓名",
    "证件号码",
    "性别",
    "参保险种",
    "参保状态",
    "参保年月",
    "停保年月",
    "缴费工资",
]


def _full_ids(actor, f: RosterFilter) -> tuple[dict[str, str], list[tuple[int, str]]]:
    """person number -> clear ID number for a full export, and the persons as (pk, label)
    for their view records."""
    rows = (
        roster_queryset(actor, f)
        .order_by()
        .values_list(
            "person_no",
            "person_id",
            "name",
            "id_number_masked",
            "person__id_number_enc",
            "person__id_number_lookup",
        )
    )
    full_ids, persons = {}, []
    for no, pk, name, masked, token, lookup in rows:
        full_ids[no] = Person.id_number.open(token, lookup)
        persons.append((pk, f"{name}（{masked}）"))
    return full_ids, persons


def roster_export(*, actor, f: RosterFilter, full: bool = False) -> bytes:
    """The roster of the current filter as Excel; ID numbers masked unless ``full``.
    Every export is audited; a full one also against each person listed."""
    rows = decorate(
        (RosterRow(v) for v in roster_queryset(actor, f).values_list(*ROSTER_COLUMNS)), f.stopped
    )
    full_ids, persons = _full_ids(actor, f) if full else ({}, [])
    content = build_xlsx(
        [
            (
                "参保职工名单",
                ROSTER_HEADER,
                (
                    [
                        p.person_no,
                        p.name,
                        full_ids[p.person_no] if full else p.id_number_masked,
                        p.sex_label,
                        p.types_label,
                        p.status_label,
                        str(p.start_period_min),
                        str(p.stop_period_max) if f.stopped and p.stop_period_max else "",
                        p.wage,
                    ]
                    for p in rows
                ),
            )
        ]
    )
    unit = actor.unit
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="roster.export_full" if full else "roster.export",
            obj=unit,
            detail={
                "rows": len(rows),
                "full": full,
                "insurance_type": f.insurance_type,
                "status": dict(RosterStatus.choices)[f.status],
                "search": f.search.label,
            },
        )
        audit_person_views(
            actor=actor,
            persons=persons,
            via="单位网厅·参保职工名单完整导出",
            region=unit.region_id,
            detail={"export": "roster.export_full", "unit": unit.unit_no},
            action=PERSON_VIEW_FULL,
        )
    return content


ADDITIONS_HEADER = [
    "序号",
    "个人编号",
    "姓名",
    "证件类型",
    "证件号码",
    "性别",
    "出生日期",
    "参保险种",
    "参保年月",
    "缴费工资",
    "用工形式",
    "补缴标志",
]


def additions_export(*, actor, period: Period, full: bool = False) -> bytes:
    """增员表 of ``period`` as Excel (ID numbers masked unless ``full``); audited. A period
    without additions is a ValidationError on the period."""
    rows = list(additions_queryset(actor, period))
    if not rows:
        raise ValidationError({"period": f"{period.label}没有增员人员"})
    sexes, id_types = dict(Person.Sex.choices), dict(Person.IdType.choices)
    scopes = dict(Enrolment.Scope.choices)
    content = build_xlsx(
        [
            (
                f"增员表{period}",
                ADDITIONS_HEADER,
                (
                    [
                        n,
                        p.person_no,
                        p.name,
                        id_types.get(p.id_type, ""),
                        p.id_number if full else p.masked_id_number,
                        sexes.get(p.sex, ""),
                        p.birth_date.isoformat(),
                        types_label(p.type_mask),
                        str(period),
                        p.wage,
                        scopes.get(p.scope, ""),
                        "是" if p.back_pay else "否",
                    ]
                    for n, p in enumerate(rows, start=1)
                ),
            )
        ]
    )
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="roster_additions.export_full" if full else "roster_additions.export",
            obj=actor.unit,
            detail={"period": str(period), "rows": len(rows), "full": full},
        )
        audit_person_views(
            actor=actor,
            persons=rows if full else [],
            via="单位网厅·增员表完整导出",
            region=actor.unit.region_id,
            detail={"export": "roster_additions.export_full", "period": str(period)},
            action=PERSON_VIEW_FULL,
        )
    return content
