from django.conf import settings
from django.urls import NoReverseMatch, reverse

from shebao.web.guides import guides_for
from shebao.web.menus import PERSON_MENU, STAFF_MENU, UNIT_MENU


def _entries(groups, user):
    """The menu's groups with the entries this user may see, each with its URL and the path
    prefixes it stands for. Groups left empty are dropped."""
    menu = []
    for group, entries in groups:
        items = []
        for label, name, needs, *options in entries:
            if needs == "admin" and not user.is_unit_admin:
                continue
            try:
                url = reverse(name)
            except NoReverseMatch:
                continue
            also = options[0].get("also", ()) if options else ()
            items.append({"label": label, "url": url, "prefixes": (url, *also), "active": False})
        if items:
            menu.append({"label": group, "items": items})
    return menu


def _mark_current(menu, path):
    """Mark the entry the page belongs to: its own URL, else the entry with the longest URL (or
    `also` prefix) the path starts with. The hall's home (the first entry) counts only exactly,
    since every page of the hall is under it."""
    home = menu[0]["items"][0]["url"] if menu else None
    best, best_len = None, -1
    for group in menu:
        for item in group["items"]:
            for prefix in item["prefixes"]:
                if path == prefix:
                    length = len(prefix) + 1  # an exact match beats any prefix of equal length
                elif prefix != home and path.startswith(prefix):
                    length = len(prefix)
                else:
                    continue
                if length > best_len:
                    best, best_len = item, length
    if best is not None:
        best["active"] = True
    return menu


def _menu(groups, user, path):
    return _mark_current(_entries(groups, user), path)


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
