"""Re-encrypt every encrypted column with the current field key, and recompute the lookup
columns whose version is not the current lookup key's. Batched by primary key and resumable:
a row already on the current keys is skipped, so a second run continues where one stopped.
Keep the old keys configured until the command reports nothing left to do."""

import json

from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.db.models import OuterRef, Subquery

from shebao.core import crypto


class Command(BaseCommand):
    help = "用当前密钥重新加密证件号码和手机号（查找码仅在查找密钥变更时重算）"

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=1000)

    def handle(self, *args, batch, **options):
        _, field_key = crypto.field_keys()
        _, lookup_key = crypto.lookup_keys()
        for model, attrs, json_fields in _targets():
            reencrypted = rehashed = 0
            last = 0
            while True:
                rows = list(model.objects.filter(pk__gt=last).order_by("pk")[:batch])
                if not rows:
                    break
                changed, fields = [], set()
                stale_json = _stale_json(model, json_fields, rows, field_key)
                for row in rows:
                    dirty = False
                    for attr in attrs:
                        token = getattr(row, attr.enc)
                        stale_enc = bool(token) and crypto.key_id_of(token) != field_key
                        old_lookup = getattr(row, attr.lookup_name, "") if attr.has_lookup else ""
                        stale_lookup = bool(old_lookup) and not old_lookup.startswith(
                            f"{lookup_key}:"
                        )
                        if stale_enc or stale_lookup:
                            columns = attr.columns_for(getattr(row, attr.name))
                            if not stale_enc:
                                columns.pop(attr.enc)
                            if not stale_lookup:
                                columns.pop(attr.lookup_name, None)
                            for name, value in columns.items():
                                setattr(row, name, value)
                            fields |= set(columns)
                            reencrypted += stale_enc
                            rehashed += stale_lookup
                            dirty = True
                    for field in json_fields:
                        if (row.pk, field.attname) in stale_json:
                            fields.add(field.attname)  # sealed again on save, current key
                            reencrypted += 1
                            dirty = True
                    if dirty:
                        changed.append(row)
                if changed:
                    with transaction.atomic():
                        model.objects.bulk_update(changed, sorted(fields))
                last = rows[-1].pk
            self.stdout.write(
                f"{model._meta.label}: {reencrypted} re-encrypted, {rehashed} lookups recomputed"
            )
        for model, column, via in crypto.LOOKUP_COPIES:
            source = model._meta.get_field(via).related_model
            copied = (
                model.objects.exclude(**{f"{column}__startswith": f"{lookup_key}:"})
                .exclude(**{column: ""})
                .update(
                    **{
                        column: Subquery(
                            source.objects.filter(pk=OuterRef(f"{via}_id")).values(column)[:1]
                        )
                    }
                )
            )
            self.stdout.write(f"{model._meta.label}: {copied} lookups copied again")


def _targets():
    by_model: dict = {}
    for attr in crypto.SEALED_ATTRIBUTES:
        by_model.setdefault(attr.model, ([], []))[0].append(attr)
    for field in crypto.SEALED_JSON_FIELDS:
        by_model.setdefault(field.model, ([], []))[1].append(field)
    for model, (attrs, json_fields) in by_model.items():
        yield model, attrs, json_fields


def _stale_json(model, json_fields, rows, field_key) -> set[tuple[int, str]]:
    """(pk, column) of the rows whose stored JSON holds values under another field key (read
    raw: the field itself hands back decrypted values)."""
    if not json_fields:
        return set()
    table, pk = model._meta.db_table, model._meta.pk.column
    columns = ", ".join(connection.ops.quote_name(f.column) for f in json_fields)
    ids = [row.pk for row in rows]
    stale = set()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {pk}, {columns} FROM {table} WHERE {pk} >= %s AND {pk} <= %s",  # noqa: S608 (model metadata)
            [ids[0], ids[-1]],
        )
        for pk_value, *values in cursor.fetchall():
            for field, value in zip(json_fields, values, strict=True):
                tree = json.loads(value) if isinstance(value, str | bytes) else value
                if crypto.tree_key_ids(tree) - {field_key}:
                    stale.add((pk_value, field.attname))
    return stale
