"""The HTML report: one self-contained file, no network, readable on screen and on paper.

* Every string that reaches the page from the analysis goes through ``escape`` where it is
  placed: the replacements of ``markupsafe.escape`` (the escaper behind Jinja2's autoescaping),
  without importing markupsafe. The only markup inserted unescaped is the SVG of ``charts``
  (closed-vocabulary labels, escaped there) and this module's own constants. The page is a
  handful of fixed fragments, so a template engine (whose import and compilation cost more
  than formatting the report) is not needed.
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

from analyzer.metrics.result import Analysis
from analyzer.report.charts import charts
from analyzer.report.sections import Code, Section, Table, pct, sections, time_span

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

HEAD = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Mail transport TLS report</title>
<style>{style}</style>
</head>
<body>
<h1>Mail transport TLS report</h1>
<p class="sub">{period}</p>
<div class="cards">
"""
FOOT = """
<footer>Report schema {schema_version}. Every figure is computed from the frames of the
analysis by a function of analyzer.metrics; tables show their first rows, the JSON output has
them all. Unknown is never counted as plaintext.</footer>
<script>{script}</script>
</body>
</html>"""


def escape(text: str) -> str:
    """``text`` safe in HTML content and in quoted attribute values: ``& < > ' "`` replaced,
    in markupsafe's order and by its references (``&#39;``, ``&#34;``), so the page is the
    one markupsafe gave (``tests/test_report_render_exact.py`` compares them)."""
    return (text.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")
            .replace("'", "&#39;").replace('"', "&#34;"))  # fmt: skip


def _chart(svg: str | None) -> str:
    return f'<div class="chart">{svg}</div>' if svg else ""


def _table(b: Table) -> str:
    num = [' class="num"' if n else "" for n in b.numeric]
    caption = f"<caption>{escape(b.title)}</caption>" if b.title else ""
    heads = "".join(
        f'<th scope="col"{n}>{escape(h)}</th>' for h, n in zip(b.headers, num, strict=True)
    )
    rows = "".join(
        "<tr>" + "".join(f"<td{n}>{escape(c)}</td>" for c, n in zip(row, num, strict=True))
        + "</tr>\n"
        for row in b.rows
    )  # fmt: skip
    more = (f'<p class="more">{b.more} more rows in the JSON output (--format json).</p>'
            if b.more else "")  # fmt: skip
    return (f'\n<table class="sortable">{caption}\n<thead><tr>{heads}</tr></thead>\n'
            f"<tbody>{rows}</tbody></table>\n{more}\n")  # fmt: skip


def _block(b: str | Table | Code) -> str:
    if isinstance(b, Table):
        return _table(b)
    if isinstance(b, Code):
        return f"<p><b>{escape(b.title)}</b></p><pre>{escape(b.text)}</pre>\n"
    return f"<p>{escape(b)}</p>"


def _section(s: Section, chart: str | None) -> str:
    blocks = "".join(f"\n{_block(b)}\n" for b in s.blocks)
    return (f'\n<section id="{escape(s.key)}">\n<h2>{escape(s.title)}</h2>\n{_chart(chart)}\n'
            f"{blocks}\n</section>\n")  # fmt: skip


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
    none = (None, None)
    m_first, m_last = time_span(a.messages["date"]) if len(a.messages) else none
    d_first, d_last = time_span(a.deliveries["timestamp"]) if len(a.deliveries) else none
    stamps = [t for t in (m_first, d_first, m_last, d_last) if t is not None and t == t]
    files = f"{len(a.inputs)} input file(s)"
    if not stamps:
        return files
    return f"{files}; evidence from {min(stamps):%Y-%m-%d} to {max(stamps):%Y-%m-%d} (UTC)"


def render(a: Analysis, color: bool = False) -> str:
    """The HTML report (``color`` is ignored: HTML is always in colour)."""
    del color
    parts: tuple[Section, ...] = sections(a)
    summary = next(s for s in parts if s.key == "summary")
    svgs = charts(a)
    out = [HEAD.format(csp=escape(CSP), style=STYLE, period=escape(_period(a)))]
    out += [f'<div class="card {escape(c["tone"])}"><b>{escape(c["value"])}</b>'
            f'{escape(c["label"])}</div>\n' for c in _cards(a)]  # fmt: skip
    lines = "".join(f"<li>{escape(b)}</li>" for b in summary.blocks if isinstance(b, str))
    out.append(f'</div>\n<ul class="headlines">{lines}</ul>\n{_chart(svgs.get("summary"))}\n')
    nav = "".join(f'<a href="#{escape(s.key)}">{escape(s.title)}</a>' for s in parts)
    out.append(f"<nav>{nav}</nav>\n")
    out += [_section(s, svgs.get(s.key)) for s in parts if s.key != "summary"]
    out.append(FOOT.format(schema_version=escape(a.schema_version), script=SORT_SCRIPT))
    return "".join(out)
