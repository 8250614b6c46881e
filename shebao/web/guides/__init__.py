"""业务流程说明 (seed 000's 业务流程下载): one short printable guide per business, keyed by the
URL names of the business's pages. It lives on the web floor so that every page's template can
link to its guide (context_processors.guide_links); the text names businesses, never imports
them."""

from shebao.web.guides.base import Guide
from shebao.web.guides.person import PERSON_GUIDES
from shebao.web.guides.unit import UNIT_GUIDES

GUIDES: tuple[Guide, ...] = UNIT_GUIDES + PERSON_GUIDES
_BY_SLUG = {g.slug: g for g in GUIDES}
_BY_PAGE: dict[str, list[Guide]] = {}
for _guide in GUIDES:
    for _page in _guide.pages:
        _BY_PAGE.setdefault(_page, []).append(_guide)


def guide(slug: str) -> Guide | None:
    return _BY_SLUG.get(slug)


def guides_for(view_name: str) -> list[Guide]:
    """The guides of the page with this URL name (namespace:name); usually one, two on the
    pages shared by the unit's and the persons' information changes."""
    return _BY_PAGE.get(view_name, [])


def by_hall() -> list[tuple[str, list[Guide]]]:
    """The guides grouped by where the business is done, in their order."""
    groups: dict[str, list[Guide]] = {}
    for g in GUIDES:
        groups.setdefault(g.hall, []).append(g)
    return list(groups.items())
