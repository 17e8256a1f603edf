"""The report as Markdown (CommonMark with GFM tables), for tickets, wikis and e-mail.

Strings from input are made inert twice: ``<``, ``>`` and ``&`` become HTML entities (Markdown
passes raw HTML through to the page), and Markdown punctuation is backslash-escaped so a
header cannot open a link, an image, code, emphasis or a new table cell (and, at the start of
a line, a heading or a list). Line breaks in a cell
become spaces. Code blocks get a fence longer than any backtick run inside them.
"""

from __future__ import annotations

import re

from analyzer.metrics.result import Analysis
from analyzer.report.sections import Code, Section, Table, sections

_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_PUNCT = re.compile(r"([\\`*_\[\]|~])")  # inline syntax: code, emphasis, links, cells
# at the start of a line: headings, bullets, rules, quotes, and "1." / "1)" ordered lists
_LINE_START = re.compile(r"^(\d{1,9}(?=[.)](?:\s|$))|)([#+\-=>.)])")
_BREAKS = re.compile(r"[\r\n\t\x00-\x08\x0b\x0c\x0e-\x1f\x7f]+")


def escape(text: str) -> str:
    """``text`` as inert Markdown inline content."""
    flat = _BREAKS.sub(" ", text)
    html = "".join(_HTML.get(ch, ch) for ch in flat)
    return _LINE_START.sub(r"\1\\\2", _PUNCT.sub(r"\\\1", html))


def _table(t: Table) -> list[str]:
    lines = [f"**{escape(t.title)}**", ""] if t.title else []
    lines.append("| " + " | ".join(escape(h) for h in t.headers) + " |")
    lines.append("|" + "|".join("---:" if n else "---" for n in t.numeric) + "|")
    lines.extend("| " + " | ".join(escape(c) for c in row) + " |" for row in t.rows)
    if t.more:
        lines += ["", f"*{t.more:,} more rows in the JSON output.*"]
    return lines


def _code(c: Code) -> list[str]:
    longest = max((len(m) for m in re.findall(r"`+", c.text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"**{escape(c.title)}**", "", fence, c.text.rstrip("\n"), fence]


def _section(s: Section, level: int) -> list[str]:
    lines = ["#" * level + " " + escape(s.title), ""]
    for block in s.blocks:
        if isinstance(block, Table):
            lines += [*_table(block), ""]
        elif isinstance(block, Code):
            lines += [*_code(block), ""]
        elif s.key == "summary":
            lines.append(f"- {escape(block)}")
        else:
            lines += [escape(block), ""]
    if s.key == "summary":
        lines.append("")
    return lines


def render(a: Analysis, color: bool = False) -> str:
    """The Markdown report (``color`` is ignored)."""
    del color
    lines = ["# Mail transport TLS report", ""]
    for s in sections(a):
        lines += _section(s, 2)
    return "\n".join(lines).rstrip("\n") + "\n"
