from django.conf import settings
from django.urls import NoReverseMatch, reverse

from shebao.web.guides import guides_for
from shebao.web.menus import PERSON_MENU, STAFF_MENU, UNIT_MENU


def _menu(entries, user, path):
    items = []
    for label, name, needs in entries:
        if needs == "admin" and not user.is_unit_admin:
            continue
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        items.append({"label": label, "url": url, "active": path == url})
    return items


def hall(request):
    user = getattr(request, "user", None)
    context = {"dev_console": settings.SHEBAO_DEV_CONSOLE, "hall": None, "menu": []}
    if user is None or not user.is_authenticated:
        return context
    if user.is_operator:
        context.update(hall="unit", hall_name="单位网厅", menu=_menu(UNIT_MENU, user, request.path))
    elif user.is_person:
        context.update(
            hall="person", hall_name="个人网厅", menu=_menu(PERSON_MENU, user, request.path)
        )
    elif user.is_staff_member:
        context.update(
            hall="staff", hall_name="经办后台", menu=_menu(STAFF_MENU, user, request.path)
        )
    return context


def guide_links(request):
    """The 业务流程说明 of the current page (web/guide_link.html), found by its URL name."""
    match = getattr(request, "resolver_match", None)
    return {"page_guides": guides_for(match.view_name) if match else []}
