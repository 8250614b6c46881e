"""Where a sign-in goes afterwards: the ``next`` a visitor brought (a business picked on the home
page, a page that asked them to sign in), kept through the password and second-factor steps.

Only a path of our own site inside the signing-in user's own hall is followed: no other host or
scheme (``//evil``, ``https://evil``, ``/\\evil``), no control characters, no path of another hall
(a unit operator's ``next`` must be a unit-hall page), and only a path our URLconf knows.
Anything else is dropped and the user goes to their hall's home page."""

from urllib.parse import urlsplit

from django.urls import Resolver404, resolve
from django.utils.http import url_has_allowed_host_and_scheme

HALL_PREFIX = {"operator": "/unit/", "person": "/person/", "staff": "/staff/"}
MAX_LENGTH = 500


def safe_next(request, value, kind: str) -> str:
    """``value`` if it is one of our own paths in the hall of ``kind``, else ""."""
    if not isinstance(value, str) or not value or len(value) > MAX_LENGTH:
        return ""
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        return ""
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        return ""
    if not url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return ""
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not parts.path.startswith(HALL_PREFIX.get(kind, "//")):
        return ""
    try:
        resolve(parts.path)
    except Resolver404:
        return ""
    return value


def requested_next(request, kind: str) -> str:
    """The safe ``next`` of a sign-in page: the form's hidden field, else the address's."""
    return safe_next(request, request.POST.get("next") or request.GET.get("next"), kind)
