"""The index page of a batch run: one row per input, linking to its own report.

``--batch`` writes one report per input and this page beside them. File names of the reports
come from ``report_filename`` (letters, digits, ``.``, ``-`` and ``_`` only, made unique), so a
link can neither leave the output directory nor carry a ``javascript:`` URL; every string is
escaped by Jinja2's autoescaping, and the page has the same Content-Security-Policy as a
report (no script at all here).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import jinja2

from analyzer.metrics.result import Analysis
from analyzer.report.sections import pct

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


@dataclass(frozen=True, slots=True)
class IndexEntry:
    """One input of a batch and its report.

    Attributes:
        input: the input path as given.
        filename: the report's file name in the output directory (from ``report_filename``).
        analysis: the analysis of that input alone.
    """

    input: str
    filename: str
    analysis: Analysis


def report_filenames(inputs: Iterable[str], extension: str) -> list[str]:
    """A safe, unique report file name per input (``All.mbox`` -> ``All.mbox.html``)."""
    names: list[str] = []
    seen: set[str] = set()
    for path in inputs:
        base = _UNSAFE.sub("_", path.rstrip("/").rsplit("/", 1)[-1]).strip("._") or "input"
        name, n = f"{base[:100]}.{extension}", 2
        while name in seen:
            name, n = f"{base[:100]}-{n}.{extension}", n + 1
        seen.add(name)
        names.append(name)
    return names


TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{{ csp }}">
<meta name="referrer" content="no-referrer">
<title>Mail transport TLS reports</title>
<style>
body { font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 1100px; padding: 0 1.2em; }
table { border-collapse: collapse; } th, td { border-bottom: 1px solid #e4e4e4; padding: .3em .7em; }
th { background: #f4f4f4; text-align: left; } td.num { text-align: right; }
</style></head><body>
<h1>Mail transport TLS reports</h1>
<table><thead><tr><th>input</th><th>messages</th><th>enc %</th><th>sessions</th><th>enc %</th>
<th>fallback %</th><th>incidents</th><th>weak</th><th>issues</th></tr></thead><tbody>
{% for r in rows %}<tr><td><a href="{{ r.href }}">{{ r.input }}</a></td>
<td class="num">{{ r.messages }}</td><td class="num">{{ r.msg_pct }}</td>
<td class="num">{{ r.sessions }}</td><td class="num">{{ r.ses_pct }}</td>
<td class="num">{{ r.fallback }}</td><td class="num">{{ r.incidents }}</td>
<td class="num">{{ r.weak }}</td><td class="num">{{ r.issues }}</td></tr>
{% endfor %}</tbody></table>
</body></html>
"""
_TEMPLATE = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
    TEMPLATE
)


def render(entries: Sequence[IndexEntry]) -> str:
    """The index page comparing the inputs of a batch."""
    rows = []
    for e in entries:
        a, s = e.analysis, e.analysis.summary
        if _UNSAFE.search(e.filename) or e.filename.startswith("."):
            raise ValueError(f"unsafe report file name {e.filename!r}: use report_filenames")
        rows.append({
            "href": e.filename, "input": e.input,
            "messages": f"{s.messages.total:,}", "msg_pct": pct(s.messages.encrypted_share),
            "sessions": f"{s.sessions.total:,}", "ses_pct": pct(s.sessions.encrypted_share),
            "fallback": pct(a.fallback.rate) if a.fallback.delivered else "",
            "incidents": s.incidents, "weak": s.weak_units, "issues": s.issues,
        })  # fmt: skip
    return _TEMPLATE.render(csp=CSP, rows=rows)
