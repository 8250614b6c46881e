"""House rule for the Content-Security-Policy (script-src and style-src 'self', no
'unsafe-inline'): no template carries inline code or styles, and our own scripts set styles
only through the CSSOM. Behaviour goes into shebao/web/static/web/site.js (data attributes and
listeners), looks into site.css (classes)."""

import re
from pathlib import Path

SHEBAO = Path(__file__).resolve().parents[2] / "shebao"

# Templates allowed an inline <script> or <style> with the CSP nonce, and why. None today.
NONCED: dict[str, str] = {}

TEMPLATE_RULES = {
    "style attribute": re.compile(r"""\sstyle\s*=""", re.I),
    "<style> element": re.compile(r"<style\b", re.I),
    "event handler attribute": re.compile(r"""<[^>]*\son[a-z]+\s*=""", re.I),
    "hx-on attribute": re.compile(r"""\s(data-)?hx-on""", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
    # Without src, except a JSON data block (not run, as Django's json_script writes it).
    "inline <script>": re.compile(
        r"""<script\b(?![^>]*\bsrc\s*=)(?![^>]*type\s*=\s*["']application/json)[^>]*>""", re.I
    ),
}
SCRIPT_RULES = {
    "style attribute set": re.compile(r"""setAttribute\(\s*["']style["']|\.cssText\b"""),
    "eval": re.compile(r"""\beval\s*\(|new\s+Function\s*\(|set(Timeout|Interval)\(\s*["']"""),
    "javascript: URL": re.compile(r"javascript:", re.I),
}


def _templates():
    for path in sorted(SHEBAO.rglob("templates/**/*.html")):
        yield str(path.relative_to(SHEBAO)), path.read_text()


def test_no_template_carries_inline_code_or_styles():
    found = [
        f"{name}:{text[: m.start()].count(chr(10)) + 1}: {rule}"
        for name, text in _templates()
        if name not in NONCED
        for rule, pattern in TEMPLATE_RULES.items()
        for m in pattern.finditer(text)
    ]
    assert found == []


def test_the_rule_sees_what_it_forbids():
    bad = [
        '<td style="width: 1rem">',
        "<style>p{}</style>",
        '<button onclick="window.print()">',
        '<div hx-on::after-request="x()">',
        '<a href="javascript:void(0)">',
        "<script>alert(1)</script>",
    ]
    for snippet in bad:
        assert any(p.search(snippet) for p in TEMPLATE_RULES.values()), snippet
    good = [
        '<script src="/static/web/site.js"></script>',
        '<script id="x" type="application/json">{}</script>',
        '<button data-print type="button">',
        "{% include 'x.html' with one=1 %}",
    ]
    for snippet in good:
        assert not any(p.search(snippet) for p in TEMPLATE_RULES.values()), snippet


def test_our_scripts_set_styles_through_the_cssom_only():
    scripts = [p for p in SHEBAO.rglob("static/**/*.js") if "vendor" not in p.parts]
    assert scripts
    found = [
        f"{p.relative_to(SHEBAO)}: {rule}"
        for p in scripts
        for rule, pattern in SCRIPT_RULES.items()
        if pattern.search(p.read_text())
    ]
    assert found == []
