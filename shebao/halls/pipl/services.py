"""The PIPL export of one person's data, recorded in the audit log like any other display."""

from django.utils import timezone

from shebao.core.audit import audit_record
from shebao.core.excel import build_xlsx
from shebao.halls.pipl.selectors import (
    EXPORT_ACTION,
    export_region,
    person_data_sheets,
    pipl_person_get,
)


def person_data_export(*, actor, person_no: str) -> tuple[str, bytes]:
    """个人信息导出: the workbook of everything held on the person and who saw it, for staff
    of a region the person is (or was) enrolled in; another region's person answers 404. The
    export itself is an audit row with the person as the target (so the next export lists it)."""
    person = pipl_person_get(actor, person_no)
    audit_record(
        actor=actor,
        action=EXPORT_ACTION,
        obj=person,
        region=export_region(actor, person),
        detail={"via": "经办后台·个人信息导出"},
    )
    sheets = person_data_sheets(person)
    stamp = timezone.localtime().strftime("%Y%m%d%H%M")
    return f"个人信息导出-{person.person_no}-{stamp}.xlsx", build_xlsx(sheets)
