"""Personal data encrypted at rest: ID numbers and mobiles.

Three columns stand for one value:

- ``<name>_enc``: AES-256-GCM ciphertext as text, ``<key id>:<base64(nonce | ciphertext)>``,
  with the column's name (``registry.person.id_number``) as associated data, so a value cannot
  be copied into another column and still decrypt. Where the value has a lookup, reading checks
  that the decrypted value's lookup is the row's, so a ciphertext moved to another row of the
  same column is refused too. Keys: ``SHEBAO_FIELD_KEYS`` (key id ->
  32 bytes in base64), the one that encrypts: ``SHEBAO_FIELD_KEY_CURRENT``.
- ``<name>_lookup``: ``<version>:<hex HMAC-SHA256>`` of the canonical value, with a separate,
  versioned key (``SHEBAO_LOOKUP_KEYS`` / ``SHEBAO_LOOKUP_KEY_CURRENT``): exact search,
  uniqueness and the one-open-filing rule run on it. A search asks for the value's lookup under
  every key of the ring (:func:`lookups`), so rows stay found while a rotation is under way.
- ``<name>_masked`` where lists show the value without decrypting (``1101**********002X``).

:class:`SealedAttribute` is the model attribute under the old name (``person.id_number``):
reading it decrypts (lazily, cached per ciphertext), assigning it fills all the columns, and
``Model(id_number=…)`` / ``objects.create(id_number=…)`` keep working (Django passes property
keyword arguments to the setter). :class:`SealedJSONField` encrypts the ID numbers and mobiles
inside filing payloads (any string under a key of :data:`PAYLOAD_KEYS`, at any depth).

``manage.py rotate_field_keys`` re-encrypts with the current key (and recomputes the lookups
only when the lookup key changed), over :data:`SEALED_ATTRIBUTES` and :data:`SEALED_JSON_FIELDS`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import unicodedata
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import models

from shebao.core.ids import mask_id_number, mask_mobile

ID = "id"
MOBILE = "mobile"
KINDS = (ID, MOBILE)
# Keys of filing payloads (at any depth) whose string values are encrypted.
PAYLOAD_KEYS = frozenset({"id_number", "legal_rep_id_number", "mobile", "contact_mobile"})

_NONCE = 12
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{1,16}:[A-Za-z0-9+/]{40,}={0,2}$")
_KEY_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,16}$")


class DecryptionError(ValueError):
    """The ciphertext is damaged, was moved from another column, or its key is not configured."""


# --------------------------------------------------------------------------------------------
# Key rings
# --------------------------------------------------------------------------------------------


def parse_key_ring(text: str) -> dict[str, str]:
    """The key rings' one parser, used by the settings: ``"k1=BASE64,k2=BASE64"`` ->
    ``{"k1": "BASE64", ...}``. An entry without ``=``, without a key id or key, or a key id
    given twice raises ``ImproperlyConfigured``."""
    ring: dict[str, str] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        key_id, sep, key = (part.strip() for part in item.partition("="))
        if not sep or not key_id or not key:
            raise ImproperlyConfigured(f"key ring entry is not 'id=BASE64': {key_id[:4]}…")
        if key_id in ring:
            raise ImproperlyConfigured(f"key ring names {key_id!r} twice")
        ring[key_id] = key
    return ring


@lru_cache(maxsize=8)
def _decode_ring(items: tuple[tuple[str, str], ...], what: str) -> dict[str, bytes]:
    ring = {}
    for key_id, text in items:
        if not _KEY_ID_RE.match(key_id):
            raise ImproperlyConfigured(f"{what}: key id {key_id!r} (letters, digits, - and _)")
        try:
            key = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise ImproperlyConfigured(f"{what}[{key_id!r}] is not base64") from None
        if len(key) != 32:
            raise ImproperlyConfigured(f"{what}[{key_id!r}] must be 32 bytes, not {len(key)}")
        ring[key_id] = key
    return ring


def _ring(name: str, current_name: str) -> tuple[dict[str, bytes], str]:
    configured = getattr(settings, name, None) or {}
    ring = _decode_ring(tuple(sorted(configured.items())), name)
    current = getattr(settings, current_name, None)
    if not ring or current not in ring:
        raise ImproperlyConfigured(f"{current_name} must name a key of {name}")
    return ring, current


def field_keys() -> tuple[dict[str, bytes], str]:
    return _ring("SHEBAO_FIELD_KEYS", "SHEBAO_FIELD_KEY_CURRENT")


def lookup_keys() -> tuple[dict[str, bytes], str]:
    return _ring("SHEBAO_LOOKUP_KEYS", "SHEBAO_LOOKUP_KEY_CURRENT")


def _clear_caches(**kwargs):
    if kwargs.get("setting", "").startswith(("SHEBAO_FIELD_KEY", "SHEBAO_LOOKUP_KEY")):
        _decode_ring.cache_clear()


setting_changed.connect(_clear_caches)


# --------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------


def canonical(value: str | None, kind: str) -> str:
    """The form a lookup is computed over: trimmed, ID numbers in upper case, mobiles with
    full-width digits folded (NFKC)."""
    text = (value or "").strip()
    text = unicodedata.normalize("NFKC", text).strip() if kind == MOBILE else text
    return text.upper() if kind == ID else text


def is_token(value: Any) -> bool:
    return isinstance(value, str) and bool(_TOKEN_RE.match(value))


def key_id_of(token: str) -> str:
    return token.partition(":")[0]


def encrypt(value: str | None, *, context: str) -> str:
    """Ciphertext of ``value`` under the current key; the empty value stays empty."""
    if not value:
        return ""
    ring, current = field_keys()
    nonce = os.urandom(_NONCE)
    sealed = AESGCM(ring[current]).encrypt(nonce, str(value).encode(), context.encode())
    return f"{current}:{base64.b64encode(nonce + sealed).decode()}"


def decrypt(token: str | None, *, context: str) -> str:
    if not token:
        return ""
    ring, _ = field_keys()
    key_id, _, body = token.partition(":")
    if key_id not in ring:
        raise DecryptionError(f"no field key {key_id!r} configured ({context})")
    try:
        raw = base64.b64decode(body, validate=True)
        clear = AESGCM(ring[key_id]).decrypt(raw[:_NONCE], raw[_NONCE:], context.encode())
    except (InvalidTag, binascii.Error, ValueError):
        raise DecryptionError(f"ciphertext does not decrypt ({context})") from None
    return clear.decode()


def _mac(key: bytes, value: str, kind: str) -> str:
    return hmac.new(key, f"{kind}\x1f{value}".encode(), hashlib.sha256).hexdigest()


def lookup(value: str | None, *, kind: str) -> str:
    """The lookup column's value under the current lookup key ("" for the empty value)."""
    text = canonical(value, kind)
    if not text:
        return ""
    ring, current = lookup_keys()
    return f"{current}:{_mac(ring[current], text, kind)}"


def lookups(value: str | None, *, kind: str) -> list[str]:
    """The value's lookup under every configured key, the current first: filter with
    ``<name>_lookup__in=lookups(...)`` and rows not yet rehashed are still found."""
    text = canonical(value, kind)
    if not text:
        return []
    ring, current = lookup_keys()
    order = [current] + sorted(v for v in ring if v != current)
    return [f"{v}:{_mac(ring[v], text, kind)}" for v in order]


def mask(value: str | None, kind: str) -> str:
    return mask_id_number(value) if kind == ID else mask_mobile(value)


# --------------------------------------------------------------------------------------------
# Model attribute and columns
# --------------------------------------------------------------------------------------------

SEALED_ATTRIBUTES: list[SealedAttribute] = []
SEALED_JSON_FIELDS: list[SealedJSONField] = []
# Lookup columns copied from a related row (the roster's from the person's): (model, column,
# foreign key). ``rotate_field_keys`` copies them again after rehashing.
LOOKUP_COPIES: list[tuple[type[models.Model], str, str]] = []


def sealed_column(verbose_name: str) -> models.TextField:
    return models.TextField(f"{verbose_name}（密文）", blank=True, default="", editable=False)


def lookup_column(**kwargs) -> models.CharField:
    return models.CharField(max_length=80, blank=True, default="", editable=False, **kwargs)


class CopiedLookup:
    """Declares on a model that ``<column>`` copies the lookup of the same name from the row
    its foreign key ``via`` points to (``id_number_lookup = CopiedLookup("person")``
    after the column): rotation refreshes it."""

    def __init__(self, column: str, via: str):
        self.column, self.via = column, via

    def contribute_to_class(self, cls, name):
        if not cls._meta.abstract and cls.__module__.startswith("shebao"):
            LOOKUP_COPIES.append((cls, self.column, self.via))


def masked_column(verbose_name: str) -> models.CharField:
    return models.CharField(verbose_name, max_length=32, blank=True, default="", editable=False)


class SealedAttribute(property):
    """``person.id_number``: decrypts ``id_number_enc`` on access; assigning fills
    ``id_number_enc`` and, when the model has them, ``id_number_lookup`` and
    ``id_number_masked``. A property, so Django accepts it as a keyword of ``Model(...)``."""

    def __init__(self, kind: str, *, lookup: bool = False, masked: bool = False):
        if kind not in KINDS:
            raise ValueError(kind)
        self.kind, self.has_lookup, self.has_masked = kind, lookup, masked
        self.name = self.context = ""
        self.model = None
        super().__init__(self._get, self._set)

    def contribute_to_class(self, cls, name):
        self.name, self.model = name, cls
        self.context = f"{cls._meta.label_lower}.{name}"
        setattr(cls, name, self)
        if not cls._meta.abstract and not cls._meta.proxy:
            SEALED_ATTRIBUTES.append(self)

    @property
    def enc(self) -> str:
        return f"{self.name}_enc"

    @property
    def lookup_name(self) -> str:
        return f"{self.name}_lookup"

    @property
    def masked_name(self) -> str:
        return f"{self.name}_masked"

    def _get(self, instance) -> str:
        token = getattr(instance, self.enc)
        cache = instance.__dict__.get(f"_sealed_{self.name}")
        if cache is not None and cache[0] == token:
            return cache[1]
        lookup_value = getattr(instance, self.lookup_name) if self.has_lookup else None
        clear = self.open(token, lookup_value)
        instance.__dict__[f"_sealed_{self.name}"] = (token, clear)
        return clear

    def open(self, token: str, stored_lookup: str | None) -> str:
        """The clear value of a ciphertext read from this column, with the row's lookup
        (``None`` when the column has none). The associated data binds the ciphertext to its
        column; the lookup binds it to its row: a ciphertext swapped in from another row of the
        same column decrypts, but its value's lookup (under any configured lookup key) is not
        the row's, and it is refused."""
        clear = decrypt(token, context=self.context)
        if stored_lookup is None:
            return clear
        expected = lookups(clear, kind=self.kind)
        if (stored_lookup or expected) and stored_lookup not in expected:
            raise DecryptionError(f"ciphertext does not belong to this row ({self.context})")
        return clear

    def _set(self, instance, value) -> None:
        for name, column in self.columns_for(value).items():
            setattr(instance, name, column)
        instance.__dict__[f"_sealed_{self.name}"] = (getattr(instance, self.enc), value or "")

    def columns_for(self, value: str | None) -> dict[str, str]:
        """The stored columns for the clear ``value`` (for bulk writers and migrations)."""
        value = "" if value is None else str(value)
        columns = {self.enc: encrypt(value, context=self.context)}
        if self.has_lookup:
            columns[self.lookup_name] = lookup(value, kind=self.kind)
        if self.has_masked:
            columns[self.masked_name] = mask(value, self.kind)
        return columns

    def lookups(self, value: str | None) -> list[str]:
        return lookups(value, kind=self.kind)

    def q(self, value: str | None, prefix: str = "") -> models.Q:
        """``Q`` matching rows whose value is ``value`` (exact, through the lookup column)."""
        return models.Q(**{f"{prefix}{self.lookup_name}__in": self.lookups(value)})


def seal_tree(value: Any, context: str) -> Any:
    """A copy of the JSON value with the strings under :data:`PAYLOAD_KEYS` encrypted."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k in PAYLOAD_KEYS and isinstance(v, str) and v and not is_token(v):
                out[k] = encrypt(v, context=f"{context}.{k}")
            else:
                out[k] = seal_tree(v, context)
        return out
    if isinstance(value, list):
        return [seal_tree(v, context) for v in value]
    return value


def open_tree(value: Any, context: str) -> Any:
    """The JSON value with the encrypted strings under :data:`PAYLOAD_KEYS` decrypted."""
    if isinstance(value, dict):
        return {
            k: (
                decrypt(v, context=f"{context}.{k}")
                if k in PAYLOAD_KEYS and is_token(v)
                else open_tree(v, context)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [open_tree(v, context) for v in value]
    return value


def tree_key_ids(value: Any) -> set[str]:
    """The field key ids of the encrypted strings in a stored JSON value."""
    found = set()
    if isinstance(value, dict):
        for k, v in value.items():
            if k in PAYLOAD_KEYS and is_token(v):
                found.add(key_id_of(v))
            else:
                found |= tree_key_ids(v)
    elif isinstance(value, list):
        for v in value:
            found |= tree_key_ids(v)
    return found


class SealedJSONField(models.JSONField):
    """A JSON column whose ID numbers and mobiles (strings under :data:`PAYLOAD_KEYS`) are
    stored encrypted and read back in clear; other keys stay queryable as before."""

    def contribute_to_class(self, cls, name, *args, **kwargs):
        super().contribute_to_class(cls, name, *args, **kwargs)
        if not cls._meta.abstract and not cls._meta.proxy and cls.__module__.startswith("shebao"):
            SEALED_JSON_FIELDS.append(self)

    @property
    def context(self) -> str:
        return f"{self.model._meta.label_lower}.{self.name}"

    def get_prep_value(self, value):
        return super().get_prep_value(seal_tree(value, self.context))

    def from_db_value(self, value, expression, connection):
        return open_tree(super().from_db_value(value, expression, connection), self.context)


# --------------------------------------------------------------------------------------------
# Data migrations
# --------------------------------------------------------------------------------------------


def migrate_rows(model, columns, *, json_fields=(), batch: int = 2000, reverse: bool = False):
    """Fill a historical model's sealed columns from its clear ones (or, ``reverse``, the clear
    ones from the ciphertext), in primary-key batches. ``columns``: (clear name, kind, context,
    parts) with parts among "enc", "lookup", "masked"; ``json_fields``: JSON columns (plain
    ``JSONField`` in the migration's state) whose ID numbers and mobiles are sealed (or, reverse,
    opened), with the context :class:`SealedJSONField` uses (``app.model.field``)."""
    names = [c[0] for c in columns if not reverse or "enc" in c[3]]
    stored = [f"{c[0]}_{part}" for c in columns for part in c[3]]
    read = ([f"{c[0]}_enc" for c in columns if "enc" in c[3]] if reverse else names) + list(
        json_fields
    )
    write = (names if reverse else stored) + list(json_fields)
    if not write:
        return
    json_context = {f: f"{model._meta.label_lower}.{f}" for f in json_fields}
    last = 0
    while True:
        rows = list(model.objects.filter(pk__gt=last).order_by("pk").only("pk", *read)[:batch])
        if not rows:
            return
        for row in rows:
            for field, context in json_context.items():
                change = open_tree if reverse else seal_tree
                setattr(row, field, change(getattr(row, field), context))
            for clear, kind, context, parts in columns:
                if reverse:
                    if "enc" in parts:
                        setattr(row, clear, decrypt(getattr(row, f"{clear}_enc"), context=context))
                    continue
                value = getattr(row, clear) or ""
                if "enc" in parts:
                    setattr(row, f"{clear}_enc", encrypt(value, context=context))
                if "lookup" in parts:
                    setattr(row, f"{clear}_lookup", lookup(value, kind=kind))
                if "masked" in parts:
                    setattr(row, f"{clear}_masked", mask(value, kind))
        model.objects.bulk_update(rows, write)
        last = rows[-1].pk


def stored_fields(model, names) -> list[str]:
    """``update_fields`` for ``names`` that may include sealed attributes (``mobile`` ->
    ``mobile_enc`` and its lookup and masked columns)."""
    out = []
    for name in names:
        attr = getattr(model, name, None)
        out.extend(attr.columns_for("") if isinstance(attr, SealedAttribute) else [name])
    return out
