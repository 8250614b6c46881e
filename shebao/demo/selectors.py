"""Reads of the development console."""

import pyotp

from shebao.accounts.models import User


def demo_staff_codes() -> list[tuple[str, str]]:
    """(username, current dynamic code) of the demo staff accounts (``demo_…``)."""
    staff = User.objects.filter(kind=User.Kind.STAFF, totp_confirmed=True)
    return [
        (u.username, pyotp.TOTP(u.totp_secret).now())
        for u in staff.filter(username__startswith="demo_")
    ]
