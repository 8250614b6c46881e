"""Every URL keeps its name and path: the resolver's map equals the committed snapshot, and
every URL name a template or a module names reverses."""

import json
import re
from pathlib import Path

from django.urls import get_resolver, reverse
from django.urls.resolvers import URLPattern, URLResolver

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOT = Path(__file__).with_name("url_map.json")
NAME_IN_TEMPLATE = re.compile(r"""{%\s*url\s+["']([\w:]+)["']""")
NAME_IN_PYTHON = re.compile(r"""["']((?:web|unit|person|staff|accounts|registration):\w+)["']""")
SAMPLE = {"int": 1, "str": "x", "slug": "x", "path": "x"}


def _walk(patterns, prefix="", namespace=""):
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            ns = namespace
            if entry.namespace:
                ns = f"{namespace}{entry.namespace}:"
            yield from _walk(entry.url_patterns, route, ns)
        elif isinstance(entry, URLPattern) and entry.name:
            yield f"{namespace}{entry.name}", route, dict(entry.default_args)


def url_map() -> dict[str, list]:
    found: dict[str, list] = {}
    for name, route, defaults in _walk(get_resolver().url_patterns):
        found.setdefault(name, []).append([route, defaults])
    return {name: sorted(routes, key=json.dumps) for name, routes in sorted(found.items())}


def test_every_url_keeps_its_name_and_path():
    assert url_map() == json.loads(SNAPSHOT.read_text())


def _sample_kwargs(route: str) -> dict:
    return {
        name: SAMPLE.get(conv or "str", "x")
        for conv, name in re.findall(r"<(?:(\w+):)?(\w+)>", route)
    }


def test_every_url_name_used_in_the_code_reverses():
    names = set()
    for path in (ROOT / "shebao").rglob("*.html"):
        names.update(NAME_IN_TEMPLATE.findall(path.read_text()))
    for path in (ROOT / "shebao").rglob("*.py"):
        names.update(NAME_IN_PYTHON.findall(path.read_text()))
    assert len(names) > 100
    routes = url_map()
    for name in sorted(names):
        assert name in routes, name
        route = routes[name][0][0]
        assert reverse(name, kwargs=_sample_kwargs(route) or None)
