"""The HTML report: one self-contained file, no network, readable on screen and on paper.

* Every string from input is escaped by Jinja2's autoescaping (``autoescape=True``); the only
  markup inserted unescaped is the SVG of ``charts`` (closed-vocabulary labels only).
* A Content-Security-Policy allows nothing from the network, no plugin and no script but the
  one inline sorting script, pinned by its SHA-256: even an escaping mistake could not run a
  script or load an image from a header.
* Tables sort on a click of their heading (numbers as numbers); ``@media print`` hides the
  navigation and keeps table rows whole.
* The top of the page is for a manager (headline sentences, four figures, one chart); the
  sections below are for the engineer.
"""

from __future__ import annotations

import base64
import hashlib

import jinja2
from markupsafe import Markup

from analyzer.metrics.result import Analysis
from analyzer.report.charts import charts
from analyzer.report.sections import Code, Section, Table, pct, sections

SORT_SCRIPT = """
document.querySelectorAll("table.sortable th").forEach(function (th) {
  th.addEventListener("click", function () {
    var table = th.closest("table"), body = table.tBodies[0];
    var index = Array.prototype.indexOf.call(th.parentNode.children, th);
    var numeric = th.classList.contains("num"), up = th.getAttribute("aria-sort") !== "ascending";
    var key = function (row) {
      var text = row.children[index].textContent.trim();
      if (!numeric) { return text.toLowerCase(); }
      var n = parseFloat(text.replace(/[,%]/g, ""));
      return isNaN(n) ? -Infinity : n;
    };
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a), y = key(b);
      return (x < y ? -1 : x > y ? 1 : 0) * (up ? 1 : -1);
    });
    rows.forEach(function (r) { body.appendChild(r); });
    th.parentNode.querySelectorAll("th").forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", up ? "ascending" : "descending");
  });
});
"""
SCRIPT_HASH = base64.b64encode(hashlib.sha256(SORT_SCRIPT.encode()).digest()).decode()
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    f"script-src 'sha256-{SCRIPT_HASH}'; base-uri 'none'; form-action 'none'"
)

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; color: #1b1b1b; margin: 0 auto; max-width: 1100px;
       padding: 0 1.2em 3em; }
h1 { font-size: 1.6em; margin: 1em 0 .2em; } h2 { border-bottom: 2px solid #ddd; margin-top: 2em; }
.sub { color: #555; margin: 0 0 1em; }
.cards { display: flex; flex-wrap: wrap; gap: .8em; margin: 1em 0; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: .6em 1em; min-width: 10em; }
.card b { display: block; font-size: 1.7em; } .good b { color: #2e7d32; } .bad b { color: #c62828; }
.headlines li { margin: .2em 0; }
nav { font-size: .9em; margin: 1em 0; } nav a { margin-right: 1em; }
table { border-collapse: collapse; margin: .6em 0 1.2em; font-size: .88em; }
caption { text-align: left; font-weight: 600; padding: .3em 0; }
th, td { border-bottom: 1px solid #e4e4e4; padding: .25em .6em; text-align: left;
         vertical-align: top; overflow-wrap: break-word; max-width: 40em; }
th { background: #f4f4f4; cursor: pointer; user-select: none; white-space: nowrap; }
td.num { white-space: nowrap; }
th[aria-sort=ascending]::after { content: " \\25B2"; } th[aria-sort=descending]::after { content: " \\25BC"; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #f6f6f6; padding: .8em; overflow-x: auto; }
.chart svg { max-width: 100%; height: auto; }
.more { color: #666; font-size: .85em; }
footer { margin-top: 3em; color: #666; font-size: .85em; }
@media print {
  nav, .noprint { display: none; } body { max-width: none; font-size: 11px; }
  h2 { break-after: avoid; } tr, .chart { break-inside: avoid; } th { cursor: auto; }
}
"""

TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{{ csp }}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Mail transport TLS report</title>
<style>{{ style }}</style>
</head>
<body>
<h1>Mail transport TLS report</h1>
<p class="sub">{{ period }}</p>
<div class="cards">
{% for card in cards %}<div class="card {{ card.tone }}"><b>{{ card.value }}</b>{{ card.label }}</div>
{% endfor %}</div>
<ul class="headlines">{% for line in headlines %}<li>{{ line }}</li>{% endfor %}</ul>
{% if charts.get("summary") %}<div class="chart">{{ charts["summary"] }}</div>{% endif %}
<nav>{% for s in sections %}<a href="#{{ s.key }}">{{ s.title }}</a>{% endfor %}</nav>
{% for s in sections if s.key != "summary" %}
<section id="{{ s.key }}">
<h2>{{ s.title }}</h2>
{% if charts.get(s.key) %}<div class="chart">{{ charts[s.key] }}</div>{% endif %}
{% for b in s.blocks %}
{% if b.kind == "table" %}
<table class="sortable">{% if b.title %}<caption>{{ b.title }}</caption>{% endif %}
<thead><tr>{% for h in b.headers %}<th scope="col"{% if b.numeric[loop.index0] %} class="num"{% endif %}>{{ h }}</th>{% endfor %}</tr></thead>
<tbody>{% for row in b.rows %}<tr>{% for c in row %}<td{% if b.numeric[loop.index0] %} class="num"{% endif %}>{{ c }}</td>{% endfor %}</tr>
{% endfor %}</tbody></table>
{% if b.more %}<p class="more">{{ b.more }} more rows in the JSON output (--format json).</p>{% endif %}
{% elif b.kind == "code" %}<p><b>{{ b.title }}</b></p><pre>{{ b.text }}</pre>
{% else %}<p>{{ b.text }}</p>{% endif %}
{% endfor %}
</section>
{% endfor %}
<footer>Report schema {{ schema_version }}. Every figure is computed from the frames of the
analysis by a function of analyzer.metrics; tables show their first rows, the JSON output has
them all. Unknown is never counted as plaintext.</footer>
<script>{{ script }}</script>
</body>
</html>
"""

_ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
_TEMPLATE = _ENV.from_string(TEMPLATE)


def _block(b: str | Table | Code) -> dict[str, object]:
    if isinstance(b, Table):
        return {"kind": "table", "title": b.title, "headers": b.headers, "rows": b.rows,
                "numeric": b.numeric, "more": b.more}  # fmt: skip
    if isinstance(b, Code):
        return {"kind": "code", "title": b.title, "text": b.text}
    return {"kind": "text", "text": b}


def _cards(a: Analysis) -> list[dict[str, str]]:
    c, s = a.coverage, a.summary
    cards = []
    if c.messages.total:
        cards.append({"value": pct(c.messages.encrypted_share), "label": "of messages encrypted",
                      "tone": "good" if c.messages.plaintext == 0 else "bad"})  # fmt: skip
    if c.sessions.total:
        cards.append({"value": pct(c.sessions.encrypted_share), "label": "of sessions encrypted",
                      "tone": "good" if c.sessions.plaintext == 0 else "bad"})  # fmt: skip
    if a.fallback.delivered:
        cards.append({"value": pct(a.fallback.rate), "label": "outbound fell back to plaintext",
                      "tone": "bad" if a.fallback.plaintext else "good"})  # fmt: skip
    cards.append({"value": str(s.incidents), "label": "certificate incidents",
                  "tone": "bad" if s.incidents else "good"})  # fmt: skip
    cards.append({"value": str(s.weak_units), "label": "weak TLS hops or sessions",
                  "tone": "bad" if s.weak_units else "good"})  # fmt: skip
    cards.append({"value": str(s.safe_domains), "label": "domains safe to force TLS", "tone": ""})
    return cards


def _period(a: Analysis) -> str:
    first = a.messages["date"].min() if len(a.messages) else None
    stamps = [t for t in (first, a.deliveries["timestamp"].min() if len(a.deliveries) else None,
                          a.messages["date"].max() if len(a.messages) else None,
                          a.deliveries["timestamp"].max() if len(a.deliveries) else None)
              if t is not None and t == t]  # fmt: skip
    files = f"{len(a.inputs)} input file(s)"
    if not stamps:
        return files
    return f"{files}; evidence from {min(stamps):%Y-%m-%d} to {max(stamps):%Y-%m-%d} (UTC)"


def render(a: Analysis, color: bool = False) -> str:
    """The HTML report (``color`` is ignored: HTML is always in colour)."""
    del color
    parts: tuple[Section, ...] = sections(a)
    summary = next(s for s in parts if s.key == "summary")
    body = [
        {"key": s.key, "title": s.title, "blocks": [_block(b) for b in s.blocks]} for s in parts
    ]
    return _TEMPLATE.render(
        csp=CSP,
        style=Markup(STYLE),  # noqa: S704 - a constant of this module
        script=Markup(SORT_SCRIPT),  # noqa: S704 - a constant of this module, pinned by CSP
        period=_period(a),
        cards=_cards(a),
        headlines=[b for b in summary.blocks if isinstance(b, str)],
        charts={k: Markup(v) for k, v in charts(a).items()},  # noqa: S704 - see module doc
        sections=body,
        schema_version=a.schema_version,
    )
