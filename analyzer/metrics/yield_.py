"""Parse yield: the share of Received headers and log lines understood, per dialect.

A Received header is *understood* when a writer's grammar matched it (dialect other than
``generic``); a ``generic`` header had only its ``with`` keyword read; a header that became an
issue (unit ``header``) was not parsed at all. Log events are understood by construction;
log lines that became issues (unit ``line``) were not, except gap lines (kind ``gap``: the log
saying that lines are missing), which were read and are counted apart. Examples of the rest come with the
message or line they came from, so the taxonomy can grow from evidence.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analyzer.metrics.columns import isin, text
from analyzer.metrics.common import share

NOT_PARSED = "(not parsed)"
YIELD_COLUMNS = ("input", "dialect", "units", "understood", "share")
EXAMPLE_COLUMNS = ("input", "dialect", "where", "reason", "raw")


@dataclass(frozen=True, slots=True)
class ParseYield:
    """How much of the input was understood.

    Attributes:
        table: per input kind (``header`` / ``line``) and dialect: units, understood, share.
        examples: up to ``per_dialect`` examples of what was not understood, with their origin.
        headers: Received headers seen (parsed or not).
        headers_understood: of those, matched by a writer's grammar.
        lines: log lines turned into events or issues.
        lines_understood: of those, turned into events.
        gaps: log lines saying that other lines are missing (issues of kind ``gap``: folded
            repeats, rate-limit notices, journald suppressions), understood but counted apart.
    """

    table: pd.DataFrame
    examples: pd.DataFrame
    headers: int
    headers_understood: int
    lines: int
    lines_understood: int
    gaps: int = 0

    @property
    def header_share(self) -> float:
        return share(self.headers_understood, self.headers)

    @property
    def line_share(self) -> float:
        return share(self.lines_understood, self.lines)


def _counts(values: pd.Series) -> tuple[list[str], list[int], int]:
    """Each value present (as text), how many rows have it, and how many have none; a
    categorical is counted on its codes (the events' ``mta``: no hashing of every row)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy()
        every = np.bincount(codes[codes >= 0], minlength=len(values.cat.categories))
        present = np.flatnonzero(every)
        names = values.cat.categories[present]
        return [str(x) for x in names], every[present].tolist(), int((codes < 0).sum())
    number, distinct = pd.factorize(values, use_na_sentinel=True)
    counts = np.bincount(number[number >= 0], minlength=len(distinct)).tolist()
    return [str(x) for x in distinct], counts, int((number < 0).sum())


def _rows(
    kind: str, dialects: pd.Series, not_understood: Collection[str], lost: int
) -> list[tuple[str, str, int, int, float]]:
    """Per dialect (sorted by name): units, understood (a dialect not in ``not_understood``);
    ``lost`` more units were not parsed at all (``NOT_PARSED``, as are missing dialects)."""
    labels, counts, missing = _counts(dialects)
    seen: dict[str, int] = {}
    for label, n in zip(labels, counts, strict=True):
        seen[label] = seen.get(label, 0) + n
    missing += lost
    if missing:
        seen[NOT_PARSED] = seen.get(NOT_PARSED, 0) + missing
    rows: list[tuple[str, str, int, int, float]] = []
    for label in sorted(seen):
        n = seen[label]
        ok = 0 if label == NOT_PARSED or label in not_understood else n
        rows.append((kind, label, n, ok, share(ok, n)))
    return rows


def _lost(issues: pd.DataFrame, unit: str) -> pd.DataFrame:
    """The issues of ``unit`` (``header``, ``line``)."""
    return issues if issues.empty else issues[text(issues["unit"]) == unit]


def _issue_examples(issues: pd.DataFrame, unit: str, per: int) -> list[tuple[object, ...]]:
    if issues.empty:
        return []
    lost = issues[text(issues["unit"]) == unit].head(per)
    return [
        ("header" if unit == "header" else "line", NOT_PARSED, f"{o}:{p}", str(r), str(raw))
        for o, p, r, raw in zip(lost["origin"], lost["position"], lost["reason"],
                                lost["raw"].fillna(""), strict=True)
    ]  # fmt: skip


def parse_yield(
    hops: pd.DataFrame,
    issues: pd.DataFrame,
    events: pd.DataFrame,
    log_issues: pd.DataFrame | None = None,
    log_lines: tuple[int, int] | None = None,
    per_dialect: int = 3,
) -> ParseYield:
    """The parse yield of mailbox headers (hops + issues) and log lines (events + issues).

    ``log_lines`` is the log reader's own accounting, (lines read once, lines understood:
    parsed or readable but unrelated to TLS); it sets the overall line figures. The per-MTA
    rows count events and line issues.
    """
    lost_headers = _lost(issues, "header")
    if not lost_headers.empty:
        lost_headers = lost_headers[text(lost_headers["kind"]) != "encoding"]
    header_rows = _rows("header", hops["dialect"], ("generic",), len(lost_headers))
    # the first few generic headers only: picked by position, not a filtered copy of the hops
    first = np.flatnonzero(isin(hops["dialect"], ("generic",)))[:per_dialect]
    sources, ids, raws = (
        hops[c].array.take(first).tolist() for c in ("source", "message_id", "raw")
    )
    examples: list[tuple[object, ...]] = [
        ("header", "generic", f"{s} {m if isinstance(m, str) else ''}", "no writer grammar matched",
         str(raw))
        for s, m, raw in zip(sources, ids, raws, strict=True)
    ]  # fmt: skip
    examples += _issue_examples(lost_headers, "header", per_dialect)
    li = log_issues if log_issues is not None else issues.iloc[0:0]
    lost_lines = _lost(li, "line")
    # A gap line (folded repeats, a rate-limit notice) was read and understood: it says that
    # other lines are missing, which the report counts on its own (``log gaps``).
    gaps = 0
    if not lost_lines.empty:
        is_gap = text(lost_lines["kind"]) == "gap"
        gaps = int(is_gap.sum())
        lost_lines = lost_lines[~is_gap]
    line_rows = _rows("line", events["mta"], (), len(lost_lines))
    examples += _issue_examples(lost_lines, "line", per_dialect)
    table = pd.DataFrame([*header_rows, *line_rows], columns=list(YIELD_COLUMNS))
    ex = pd.DataFrame(
        {
            c: pd.array([str(e[i]) for e in examples], dtype="string")
            for i, c in enumerate(EXAMPLE_COLUMNS)
        },
        columns=list(EXAMPLE_COLUMNS),
    )
    return ParseYield(
        table=table,
        examples=ex,
        headers=sum(r[2] for r in header_rows),
        headers_understood=sum(r[3] for r in header_rows),
        lines=log_lines[0] if log_lines else sum(r[2] for r in line_rows),
        lines_understood=(log_lines[1] + gaps) if log_lines else sum(r[3] for r in line_rows),
        gaps=gaps,
    )
