"""The report for a terminal: at most 100 columns, colour only when asked.

Every string from input goes through ``terminal.safe_text`` (control characters shown as
``\\xNN``) before it is measured, so an escape sequence in a header can neither recolour the
terminal nor break the layout. Columns too wide for the page are cut with ``…``.
"""

from __future__ import annotations

import textwrap

from analyzer.metrics.result import Analysis
from analyzer.report.sections import Code, Section, Table, sections
from analyzer.report.terminal import safe_text

WIDTH = 100
INDENT = "  "
GAP = "  "
_MIN_COL = 4
_SHRINK_TO = 24
_BOLD, _DIM, _RESET = "\x1b[1m", "\x1b[2m", "\x1b[0m"


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def fit_widths(natural: list[int], numeric: tuple[bool, ...], budget: int) -> list[int]:
    """Column widths within ``budget``: text columns give way first (down to ``_SHRINK_TO``),
    then any column, widest first, down to ``_MIN_COL``."""
    widths = list(natural)
    for floor, only_text in ((_SHRINK_TO, True), (_MIN_COL, False)):
        while sum(widths) > budget:
            candidates = [i for i in range(len(widths))
                          if widths[i] > floor and not (only_text and numeric[i])]  # fmt: skip
            if not candidates:
                break
            widest = max(candidates, key=lambda i: widths[i])
            widths[widest] -= 1
    return widths


def _groups(natural: list[int], numeric: tuple[bool, ...]) -> list[list[int]]:
    """Column groups that each fit the page once text columns shrink to ``_SHRINK_TO``; every
    group after the first repeats column 0 so that each row stays identifiable."""
    need = [w if numeric[i] else min(w, _SHRINK_TO) for i, w in enumerate(natural)]
    groups: list[list[int]] = [[]]
    used = len(INDENT)
    for i, w in enumerate(need):
        extra = w + (len(GAP) if groups[-1] else 0)
        if groups[-1] and used + extra > WIDTH and i > 0:
            groups.append([0])
            used = len(INDENT) + need[0]
            extra = len(GAP) + w
        groups[-1].append(i)
        used += extra
    return groups


def _table(t: Table, color: bool) -> list[str]:
    headers = [safe_text(h) for h in t.headers]
    rows = [[safe_text(c) for c in r] for r in t.rows]
    natural = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    lines = []
    if t.title:
        lines.append(INDENT + _cut(safe_text(t.title), WIDTH - len(INDENT)))
    for n, group in enumerate(_groups(natural, t.numeric)):
        if n:
            lines.append("")
        lines.extend(_part(headers, rows, natural, t.numeric, group, color))
    if t.more:
        lines.append(f"{INDENT}… {t.more:,} more rows (see --format json)")
    return lines


def _part(
    headers: list[str], rows: list[list[str]], natural: list[int], numeric: tuple[bool, ...],
    cols: list[int], color: bool,
) -> list[str]:  # fmt: skip
    nums = tuple(numeric[i] for i in cols)
    budget = WIDTH - len(INDENT) - len(GAP) * (len(cols) - 1)
    widths = fit_widths([natural[i] for i in cols], nums, budget)

    def line(cells: list[str]) -> str:
        out = []
        for i, w, num in zip(cols, widths, nums, strict=True):
            c = _cut(cells[i], w)
            out.append(c.rjust(w) if num else c.ljust(w))
        return (INDENT + GAP.join(out)).rstrip()

    head = line(headers)
    lines = [f"{_DIM}{head}{_RESET}" if color else head]
    lines.append(INDENT + GAP.join("-" * w for w in widths))
    lines.extend(line(r) for r in rows)
    return lines


def _code(c: Code) -> list[str]:
    lines = [INDENT + _cut(safe_text(c.title), WIDTH - len(INDENT))]
    lines.extend(
        INDENT * 2 + _cut(safe_text(x), WIDTH - 2 * len(INDENT)) for x in c.text.splitlines()
    )
    return lines


def _paragraph(text: str) -> list[str]:
    return textwrap.wrap(safe_text(text), WIDTH, initial_indent=INDENT, subsequent_indent=INDENT,
                         break_long_words=True, break_on_hyphens=False)  # fmt: skip


def _section(s: Section, color: bool) -> list[str]:
    title = s.title.upper()
    lines = [f"{_BOLD}{title}{_RESET}" if color else title]
    for block in s.blocks:
        if isinstance(block, Table):
            lines.extend(["", *_table(block, color)])
        elif isinstance(block, Code):
            lines.extend(["", *_code(block)])
        else:
            lines.extend(_paragraph(block))
    return lines


def render(a: Analysis, color: bool = False) -> str:
    """The text report; ``color`` adds ANSI bold and dim (for a terminal that asked)."""
    out: list[str] = []
    for s in sections(a):
        out.extend([*_section(s, color), ""])
    return "\n".join(out)


def render_summary(a: Analysis, color: bool = False) -> str:
    """Only the summary section: what ``mailtls report`` prints when it writes HTML to a file."""
    return "\n".join([*_section(sections(a)[0], color), ""])
