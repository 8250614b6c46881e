"""Bare baseline views for the benchmarks: plain functions behind the project's middleware, one
SQL query each, HTML built by string joining (no forms, no template engine)."""

from __future__ import annotations

from html import escape

from django.db import connection
from django.http import HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect

PAGE_SIZE = 50

# The rows of the roster page (shebao.registry.queries.selectors.roster_queryset, default filter: persons
# with an open enrolment at the signed-in operator's unit, name search, ordered by person number),
# one page, in one query of the same read model (registry_rosterentry): the types unfolded from
# their bit mask into a list of codes, the ID number as the masked value stored beside its
# ciphertext (shebao.core.crypto).
_TYPE_CODES = ", ".join(
    f"CASE WHEN r.type_mask & {1 << i} > 0 THEN '{code}' END"
    for i, code in enumerate(("110", "120", "210", "310", "330", "410", "510"))
)
ROSTER_SQL = f"""
SELECT r.person_no, r.name, r.id_number_masked,
       CASE r.sex WHEN '1' THEN '男' WHEN '2' THEN '女' ELSE '' END,
       concat_ws(',', {_TYPE_CODES}),
       r.status, r.start_period, r.wage
FROM registry_rosterentry r
WHERE r.unit_id = %(unit)s AND r.is_open AND r.name LIKE %(like)s
ORDER BY r.person_no
LIMIT %(limit)s OFFSET %(offset)s
"""
ROSTER_HEAD = (
    "个人编号",
    "姓名",
    "证件号码",
    "性别",
    "参保险种",
    "参保状态",
    "参保年月",
    "缴费工资",
)


def bare_roster(request):
    """``/bench/bare-roster/?page=N&q=NAME``: the same rows as the roster page, as a bare table."""
    user = request.user
    if not user.is_authenticated:
        return redirect("accounts:unit_login")
    if user.kind != "operator":
        return HttpResponseForbidden()
    try:
        page = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        page = 1
    q = request.GET.get("q", "").strip()
    like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    with connection.cursor() as cursor:
        cursor.execute(
            ROSTER_SQL,
            {
                "unit": user.unit_id,
                "like": like,
                "limit": PAGE_SIZE,
                "offset": (page - 1) * PAGE_SIZE,
            },
        )
        rows = cursor.fetchall()
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>roster</title></head><body>",
        "<table><thead><tr>",
        *(f"<th>{label}</th>" for label in ROSTER_HEAD),
        "</tr></thead><tbody>",
    ]
    for row in rows:
        parts.append("<tr>")
        parts.extend(f"<td>{escape(str(value))}</td>" for value in row)
        parts.append("</tr>")
    parts.append("</tbody></table></body></html>")
    return HttpResponse("".join(parts))
