"""Machinery of the tenant-isolation matrix (tests/web/test_tenant_matrix.py): the URL walk,
the snapshot of the business tables and the reading of an answer. No tests here."""

import io
import re
from dataclasses import dataclass

from django.apps import apps
from django.db import connection, transaction
from django.urls import get_resolver
from django.urls.resolvers import URLPattern, URLResolver
from python_calamine import CalamineWorkbook

PARAM = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>")

# Tables a request may write without changing business: who signed in and failed (django-axes
# and the session tables are not shebao's, so they are left out anyway), the audit log (refusals
# are audited), the SMS outbox and the verification codes.
BOOKKEEPING = {
    "core.auditentry": "audit log: refusals are recorded",
    "core.smsmessage": "SMS outbox",
    "core.verificationcode": "sign-in and reset codes",
}


@dataclass(frozen=True)
class Route:
    name: str  # namespaced name, or the route itself for an unnamed pattern
    route: str
    params: tuple[str, ...]
    namespace: str  # the first namespace ("unit", "admin", …), "" for none


def walk(patterns=None, prefix="", namespace="") -> list[Route]:
    """Every URL pattern of the resolver, named or not."""
    found = []
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            found += walk(entry.url_patterns, route, ns)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}{entry.name}" if entry.name else route
            params = tuple(a or b for a, b in PARAM.findall(route))
            found.append(Route(name, route, params, namespace.split(":")[0]))
    return found


def fill(route: str, kwargs: dict) -> str:
    """The path of an unnamed pattern with its parameters filled in."""
    path = PARAM.sub(lambda m: str(kwargs[m.group(1) or m.group(2)]), route)
    path = re.sub(r"\.\*\)|[\^$]", "", path)
    return "/" + path


def business_models() -> list:
    """Every model of the shebao apps (with the many-to-many tables) but the bookkeeping."""
    return [
        model
        for config in apps.get_app_configs()
        if config.name.startswith("shebao.")
        for model in config.get_models(include_auto_created=True)
        if model._meta.label_lower not in BOOKKEEPING
    ]


def snapshot(models) -> dict[str, dict]:
    """Per business table, its rows by primary key (raw SQL: the ORM's converters would make
    the matrix several times slower)."""
    out = {}
    with connection.cursor() as cursor:
        for model in models:
            meta = model._meta
            pk = meta.pk.column
            # Table and column names come from the models, not from input.
            cursor.execute(f'SELECT * FROM "{meta.db_table}" ORDER BY "{pk}"')  # noqa: S608
            columns = [c[0] for c in cursor.description]
            at = columns.index(pk)
            out[meta.label_lower] = {
                row[at]: dict(zip(columns, row, strict=True)) for row in cursor.fetchall()
            }
    return out


def write_count() -> int | None:
    """Rows written so far on this connection (SQLite), None where unknown: when it has not
    moved, nothing was written and the snapshot can be skipped."""
    raw = getattr(connection, "connection", None)
    return getattr(raw, "total_changes", None)


def diff(before: dict, after: dict) -> dict[str, list[tuple]]:
    """Per changed table, the (before, after) rows that differ (None for no row)."""
    out = {}
    for table, old in before.items():
        new = after[table]
        rows = [
            (old.get(k), new.get(k)) for k in old.keys() | new.keys() if old.get(k) != new.get(k)
        ]
        if rows:
            out[table] = rows
    return out


class rolled_back:
    """Run a block in a savepoint that is always rolled back (the world stays as built)."""

    def __enter__(self):
        self.atomic = transaction.atomic()
        self.atomic.__enter__()

    def __exit__(self, *exc):
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)
        return False


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def body_text(response) -> str:
    """What an answer shows: its text, the cells of an Excel download; '' for other binaries."""
    content = (
        b"".join(response.streaming_content)
        if getattr(response, "streaming", False)
        else response.content
    )
    kind = response.get("Content-Type", "")
    if kind.startswith(XLSX):
        book = CalamineWorkbook.from_filelike(io.BytesIO(content))
        return "\n".join(
            str(cell)
            for name in book.sheet_names
            for row in book.get_sheet_by_name(name).to_python()
            for cell in row
        )
    if kind.startswith(("text/", "application/json", "application/javascript")):
        return content.decode("utf-8", "replace")
    return ""


def leaked(text: str, markers) -> list[str]:
    return [m for m in markers if m and m in text]
