"""The house rules a reviewer would otherwise check by hand (docs/architecture.md): module size,
thin views, dotted-path imports only in the sanctioned registries, one way to ask an actor's
kind."""

import ast
import re
from pathlib import Path

SHEBAO = Path(__file__).resolve().parents[1] / "shebao"
MAX_MODULE_LINES = 600
MAX_VIEW_LINES = 30
# The registries allowed to import by dotted path: filing kinds, the hooks from a lower floor
# to a higher one, and the SMS gateway named by a setting.
DOTTED_IMPORTERS = {"filings/kinds.py", "core/hooks.py", "core/sms.py"}


def _modules():
    for path in sorted(SHEBAO.rglob("*.py")):
        if "migrations" not in path.parts:
            yield path


def _name(path: Path) -> str:
    return str(path.relative_to(SHEBAO))


def _is_view_module(path: Path) -> bool:
    return path.name.startswith("views")


def _view_functions(tree: ast.Module):
    for node in tree.body:
        args = node.args.args if isinstance(node, ast.FunctionDef) else []
        if args and args[0].arg == "request":
            yield node


def test_no_module_over_600_lines():
    long = {
        _name(p): n for p in _modules() if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


def test_no_view_function_over_30_lines():
    long = {}
    for path in filter(_is_view_module, _modules()):
        for fn in _view_functions(ast.parse(path.read_text())):
            lines = fn.end_lineno - fn.lineno + 1
            if lines > MAX_VIEW_LINES:
                long[f"{_name(path)}:{fn.name}"] = lines
    assert long == {}


def test_views_hold_no_forms_and_no_queries():
    found = []
    for path in filter(_is_view_module, _modules()):
        text = path.read_text()
        tree = ast.parse(text)
        found += [
            f"{_name(path)}:{node.name}"
            for node in tree.body
            if isinstance(node, ast.ClassDef) and any("Form" in ast.unparse(b) for b in node.bases)
        ]
        found += [f"{_name(path)}: .objects" for _ in re.findall(r"\.objects\b", text)]
    assert found == []


def test_dotted_path_imports_only_in_the_sanctioned_registries():
    found = {
        _name(p)
        for p in _modules()
        if re.search(r"\b(import_string|import_module|__import__)\b", p.read_text())
    }
    assert found <= DOTTED_IMPORTERS, found - DOTTED_IMPORTERS


def test_the_kind_of_an_actor_is_asked_through_its_properties():
    found = [
        _name(p)
        for p in _modules()
        if re.search(r"""getattr\(\s*\w+(\.user)?\s*,\s*["']kind["']""", p.read_text())
    ]
    assert found == []


def test_every_dotted_path_in_the_registries_resolves():
    from django.utils.module_loading import import_string

    from shebao.core.hooks import HOOKS
    from shebao.filings.kinds import HANDLERS

    for path in [*HOOKS.values(), *HANDLERS.values()]:
        assert callable(import_string(path)), path
