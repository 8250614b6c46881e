"""Keyed hashes that stand for a person or an account in logs and sign-in bookkeeping.

django-axes keeps one row per account that failed to sign in; a person signs in with the ID
number, so what axes stores is an HMAC-SHA256 of the account name under
``SHEBAO_LOG_HASH_KEY`` (derived from ``SECRET_KEY`` when unset): the same account always maps to
the same value, so lockout per account still works, and nobody can recover the account from it
without the key (an unkeyed hash of an 18-digit ID number is reversed by enumeration)."""

import hashlib
import hmac

from django.conf import settings


def _key() -> bytes:
    configured = getattr(settings, "SHEBAO_LOG_HASH_KEY", "")
    if configured:
        return configured.encode()
    return hmac.new(settings.SECRET_KEY.encode(), b"shebao.log-hash", hashlib.sha256).digest()


def keyed_hash(value: str, *, length: int = 32) -> str:
    """A stable, keyed pseudonym of ``value`` (hex, ``length`` characters)."""
    return hmac.new(_key(), value.encode(), hashlib.sha256).hexdigest()[:length]


def axes_username(username: str | None) -> str | None:
    """What django-axes stores and counts for an account name (None stays None)."""
    if not username:
        return None
    return f"h.{keyed_hash(username)}"


def axes_username_callable(request, credentials) -> str | None:
    """``AXES_USERNAME_CALLABLE``: the keyed pseudonym of the name given to ``authenticate``
    (or, without credentials, of the posted ``username`` field, axes' default)."""
    if credentials:
        username = credentials.get("username")
    else:
        username = getattr(request, "POST", {}).get("username") if request is not None else None
    return axes_username(username)
