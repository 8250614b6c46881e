"""Access to the three halls."""

from functools import wraps
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, resolve_url

LOGIN_URLS = {
    "operator": "accounts:unit_login",
    "person": "accounts:person_login",
    "staff": "accounts:staff_login",
}


def login_url(request, kind: str) -> str:
    """The hall's sign-in page; a page opened (GET) comes back after signing in (``next``,
    checked again by the sign-in: accounts/nexts.py)."""
    url = resolve_url(LOGIN_URLS[kind])
    if request.method == "GET":
        url += "?" + urlencode({"next": request.get_full_path()})
    return url


def hall_required(kind: str, *, unit_admin: bool = False):
    """The view needs a signed-in user of `kind`; others get the sign-in page or 403."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                return redirect(login_url(request, kind))
            if user.kind != kind or (unit_admin and not user.is_unit_admin):
                raise PermissionDenied("您没有访问此页面的权限")
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
