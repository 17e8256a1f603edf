"""Charts of the report as matplotlib Figures, and their inline SVG text.

Figures are built with ``matplotlib.figure.Figure`` and drawn by the SVG backend (no pyplot,
no global state, no display; the same as the Agg backend for raster output). Labels are
closed vocabularies only (units, TLS versions, failure categories, weeks): no string from
input reaches a chart. ``svg`` makes the output reproducible (fixed hash salt, no date) and
drops the XML prolog and comments so the SVG can sit inside HTML.
"""

from __future__ import annotations

import io
import re

import matplotlib as mpl
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from analyzer.metrics.common import Tally
from analyzer.metrics.result import Analysis

GREEN, RED, GREY, BLUE = "#2e7d32", "#c62828", "#9e9e9e", "#1565c0"
_PROLOG = re.compile(r"\A.*?(?=<svg)", re.DOTALL)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)


def svg(fig: Figure) -> str:
    """The figure as standalone SVG markup without prolog, doctype or comments."""
    buf = io.StringIO()
    with mpl.rc_context({"svg.hashsalt": "mailtls", "svg.fonttype": "path"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    text = _PROLOG.sub("", buf.getvalue(), count=1)
    return _COMMENT.sub("", text).strip()


def coverage_figure(rows: list[tuple[str, Tally]]) -> Figure:
    """Horizontal 100% bars: encrypted, plaintext and unknown share per unit."""
    fig = Figure(layout="constrained", figsize=(7.0, 0.6 + 0.45 * len(rows)))
    ax = fig.add_subplot()
    labels = [f"{name} ({t.total:,})" for name, t in rows]
    left = [0.0] * len(rows)
    for attr, colour, label in (
        ("encrypted_share", GREEN, "encrypted"),
        ("plaintext_share", RED, "plaintext"),
        ("unknown_share", GREY, "unknown"),
    ):
        widths = [100 * getattr(t, attr) for _, t in rows]
        ax.barh(labels, widths, left=left, color=colour, label=label)
        left = [a + b for a, b in zip(left, widths, strict=True)]
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of units")
    ax.invert_yaxis()
    ax.legend(ncols=3, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    return fig


def weekly_figure(by_week: pd.DataFrame) -> Figure:
    """Stacked bars per week: encrypted, plaintext, unknown units (messages and sessions)."""
    g = by_week.groupby("period", sort=True)[["encrypted", "plaintext", "unknown"]].sum()
    fig = Figure(layout="constrained", figsize=(7.0, 2.6))
    ax = fig.add_subplot()
    x = list(range(len(g)))
    bottom = [0] * len(g)
    for col, colour in (("encrypted", GREEN), ("plaintext", RED), ("unknown", GREY)):
        values = [int(v) for v in g[col]]
        ax.bar(x, values, bottom=bottom, color=colour, label=col, width=0.8)
        bottom = [a + b for a, b in zip(bottom, values, strict=True)]
    step = max(len(g) // 8, 1)
    ax.set_xticks(x[::step], [str(p) for p in g.index[::step]], rotation=30, ha="right")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("units per week")
    ax.legend(ncols=3, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    return fig


def bar_figure(labels: list[str], values: list[int], xlabel: str, colour: str = BLUE) -> Figure:
    """Horizontal bars, largest on top."""
    fig = Figure(layout="constrained", figsize=(7.0, 0.6 + 0.32 * len(labels)))
    ax = fig.add_subplot()
    ax.barh(labels, values, color=colour)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    return fig


def charts(a: Analysis) -> dict[str, str]:
    """Inline SVG charts per report section key (``summary``, ``coverage`` ...)."""
    out: dict[str, str] = {}
    c = a.coverage
    rows = [(n, t) for n, t in (("messages", c.messages), ("hops", c.hops),
                                ("log sessions", c.sessions)) if t.total]  # fmt: skip
    if rows:
        out["summary"] = svg(coverage_figure(rows))
    if c.by_week["period"].nunique() >= 2:
        out["coverage"] = svg(weekly_figure(c.by_week))
    if a.fallback.plaintext:
        reasons = [(r, n) for r, n in a.fallback.by_reason if n]
        out["fallback"] = svg(bar_figure([r for r, _ in reasons], [n for _, n in reasons],
                                         "plaintext deliveries", RED))  # fmt: skip
    if len(a.failures):
        g = a.failures.groupby("failure_category", sort=False)["count"].sum()
        g = g.sort_values(ascending=False)
        out["failures"] = svg(bar_figure([str(k) for k in g.index], [int(v) for v in g],
                                         "failed TLS attempts", RED))  # fmt: skip
    if len(a.versions):
        out["strength"] = svg(bar_figure([str(v) for v in a.versions["tls_version"]],
                                         [int(v) for v in a.versions["count"]],
                                         "encrypted hops and sessions"))  # fmt: skip
    return out
