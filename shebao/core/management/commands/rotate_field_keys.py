"""Re-encrypt every encrypted column with the current field key, and recompute the lookup
columns whose version is not the current lookup key's. Batched by primary key and resumable:
a row already on the current keys is skipped, so a second run continues where one stopped.
Keep the old keys configured until the command reports nothing left to do.

Each batch is read and written in one transaction with its rows locked (``select_for_update``),
so a concurrent write to a row waits and is not overwritten. A field-key rotation may run with
the service open. A lookup-key rotation must run in a maintenance window, with writes to
persons and filings paused: the database's uniqueness (one person per type and number, one
open filing per person) compares the stored lookups, and while some rows carry the old key's
lookup and others the new one's, the same number under the two keys is two different values,
so concurrent writes could create a duplicate the database does not refuse."""

import json

from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.db.models import OuterRef, Subquery

from shebao.core import crypto


class Command(BaseCommand):
    help = (
        "用当前密钥重新加密证件号码和手机号（查找码仅在查找密钥变更时重算）。"
        "更换查找密钥（SHEBAO_LOOKUP_KEY_CURRENT）时须在维护窗口内运行，暂停人员和申报的写入："
        "重算期间新旧查找码并存，数据库的唯一约束（同一证件、同一人员的在办申报）无法识别重复。"
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=1000)

    def handle(self, *args, batch, **options):
        crypto.field_keys()  # a bad key ring stops here, before any batch
        _, lookup_key = crypto.lookup_keys()
        for model, attrs, json_fields in _targets():
            counts = [0, 0]  # re-encrypted, rehashed
            last = 0
            while last is not None:
                with transaction.atomic():
                    last = _rotate_batch(model, attrs, json_fields, last, batch, counts)
            self.stdout.write(
                f"{model._meta.label}: {counts[0]} re-encrypted, {counts[1]} lookups recomputed"
            )
        for model, column, via in crypto.LOOKUP_COPIES:
            copied = _copy_lookups(model, column, via, lookup_key, batch)
            self.stdout.write(f"{model._meta.label}: {copied} lookups copied again")


def _rotate_batch(model, attrs, json_fields, last, batch, counts):
    """One batch after primary key ``last``, read and written in the caller's transaction with
    the rows locked (``SELECT … FOR UPDATE`` on PostgreSQL): a write to these rows waits, and
    what is re-encrypted is what it committed. The batch's last primary key, or None at the end."""
    _, field_key = crypto.field_keys()
    _, lookup_key = crypto.lookup_keys()
    rows = list(model.objects.select_for_update().filter(pk__gt=last).order_by("pk")[:batch])
    if not rows:
        return None
    changed, fields = [], set()
    stale_json = _stale_json(model, json_fields, rows, field_key)  # read under the lock
    for row in rows:
        dirty = False
        for attr in attrs:
            token = getattr(row, attr.enc)
            stale_enc = bool(token) and crypto.key_id_of(token) != field_key
            old_lookup = getattr(row, attr.lookup_name, "") if attr.has_lookup else ""
            stale_lookup = bool(old_lookup) and not old_lookup.startswith(f"{lookup_key}:")
            if stale_enc or stale_lookup:
                columns = attr.columns_for(getattr(row, attr.name))
                if not stale_enc:
                    columns.pop(attr.enc)
                if not stale_lookup:
                    columns.pop(attr.lookup_name, None)
                for name, value in columns.items():
                    setattr(row, name, value)
                fields |= set(columns)
                counts[0] += stale_enc
                counts[1] += stale_lookup
                dirty = True
        for field in json_fields:
            if (row.pk, field.attname) in stale_json:
                fields.add(field.attname)  # sealed again on save, current key
                counts[0] += 1
                dirty = True
        if dirty:
            changed.append(row)
    if changed:
        model.objects.bulk_update(changed, sorted(fields))
    return rows[-1].pk


def _copy_lookups(model, column, via, lookup_key, batch) -> int:
    """Copy the lookup ``column`` again from the rows ``via`` points to, where it is not on the
    current lookup key: one UPDATE per primary-key range of ``batch`` rows (short locks)."""
    source = model._meta.get_field(via).related_model
    value = Subquery(source.objects.filter(pk=OuterRef(f"{via}_id")).values(column)[:1])
    copied, last = 0, 0
    while True:
        pks = list(
            model.objects.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:batch]
        )
        if not pks:
            return copied
        with transaction.atomic():
            copied += (
                model.objects.filter(pk__gte=pks[0], pk__lte=pks[-1])
                .exclude(**{f"{column}__startswith": f"{lookup_key}:"})
                .exclude(**{column: ""})
                .update(**{column: value})
            )
        last = pks[-1]


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
