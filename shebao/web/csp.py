"""Content-Security-Policy violation reports: read what a browser posts to the report endpoint
(settings.SHEBAO_CSP_REPORT_URL) and log each violation through the "shebao.csp" logger.

Two formats arrive: `application/csp-report` from the policy's `report-uri` (one
`{"csp-report": {...}}` object with hyphenated keys) and `application/reports+json` from the
Reporting API's `report-to` (a list of `{"type": "csp-violation", "body": {...}}` with camelCase
keys). Both become one summary of the same fields; the policy text itself is left out (it is
ours), ID numbers and mobiles in the values are masked (shebao.core.audit.mask_text: never in
the log in clear) and every value is cut short, so a hostile poster cannot flood the log."""

import json
import logging

from django.conf import settings

from shebao.core.audit import mask_text

logger = logging.getLogger("shebao.csp")

CSP_REPORT = "application/csp-report"
REPORTS_JSON = "application/reports+json"
MAX_REPORTS = 20
MAX_VALUE_CHARS = 300

# summary field: (key in a csp-report, key in a Reporting API body)
FIELDS = {
    "document": ("document-uri", "documentURL"),
    "directive": ("effective-directive", "effectiveDirective"),
    "violated": ("violated-directive", None),
    "blocked": ("blocked-uri", "blockedURL"),
    "source": ("source-file", "sourceFile"),
    "line": ("line-number", "lineNumber"),
    "column": ("column-number", "columnNumber"),
    "sample": ("script-sample", "sample"),
    "disposition": ("disposition", "disposition"),
}


class BadReport(Exception):
    """The request is not a violation report we accept; `status` is the HTTP answer."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status


def read_reports(request) -> list[dict]:
    """The violations a request posts, each as a summary dict; BadReport when refused."""
    if request.content_type not in (CSP_REPORT, REPORTS_JSON):
        raise BadReport(415, "not a CSP report")
    return parse_reports(request.content_type, read_body(request))


def read_body(request) -> bytes:
    """The body, refused (413) beyond SHEBAO_CSP_REPORT_MAX_BYTES without reading it all."""
    limit = settings.SHEBAO_CSP_REPORT_MAX_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise BadReport(400, "bad Content-Length") from None
    if declared > limit:
        raise BadReport(413, "report too large")
    body = request.read(limit + 1)
    if len(body) > limit:
        raise BadReport(413, "report too large")
    return body


def parse_reports(content_type: str, body: bytes) -> list[dict]:
    """The violations in a report body, each as a summary dict."""
    if content_type not in (CSP_REPORT, REPORTS_JSON):
        raise BadReport(415, "not a CSP report")
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise BadReport(400, "not JSON") from None
    if content_type == CSP_REPORT:
        if not isinstance(data, dict) or not isinstance(data.get("csp-report"), dict):
            raise BadReport(400, "no csp-report object")
        return [_summary(data["csp-report"], 0)]
    if not isinstance(data, list):
        raise BadReport(400, "not a list of reports")
    bodies = [
        r["body"]
        for r in data[:MAX_REPORTS]
        if isinstance(r, dict)
        and r.get("type") == "csp-violation"
        and isinstance(r.get("body"), dict)
    ]
    return [_summary(b, 1) for b in bodies]


def _summary(report: dict, style: int) -> dict:
    summary = {}
    for field, keys in FIELDS.items():
        key = keys[style]
        value = report.get(key) if key else None
        if isinstance(value, int):
            summary[field] = value
        elif value is not None:
            # Masked before cut short: a cut must not leave part of an ID number in clear.
            summary[field] = mask_text(str(value))[:MAX_VALUE_CHARS]
    return summary


def log_violations(reports: list[dict]) -> None:
    for summary in reports:
        # json.dumps escapes control characters: one report, one log line.
        logger.warning("CSP violation %s", json.dumps(summary, ensure_ascii=False))
