"""Charts of the HTML report as inline SVG, written directly (no plotting library).

Three kinds suffice: 100% stacked horizontal bars (coverage), stacked columns per week, and
plain horizontal bars. Writing the few rectangles and labels ourselves costs about a
millisecond, where importing and running matplotlib cost about half a second per report: more
than reading a 200 MB mailbox takes (``bench/bench_report.py``). The SVG is deterministic (no
date, no random ids), needs no font file (text in the page's sans-serif font), and carries no
script, link or external reference. Labels are closed vocabularies (units, TLS versions,
failure categories, weeks) and are escaped anyway.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

import pandas as pd

from analyzer.metrics.common import Tally
from analyzer.metrics.result import Analysis
from analyzer.report.sections import column_list

GREEN, RED, GREY, BLUE = "#2e7d32", "#c62828", "#9e9e9e", "#1565c0"
WIDTH = 700
FONT = 12
_CHAR = 6.8  # average advance of a 12 px sans-serif character, for label room
_ROW, _BAR = 30, 20
Segment = tuple[float, str]  # (value, colour)


def _num(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _text(x: float, y: float, s: str, anchor: str = "start", extra: str = "") -> str:
    return (f'<text x="{_num(x)}" y="{_num(y)}" text-anchor="{anchor}"{extra}>'
            f"{escape(s)}</text>")  # fmt: skip


def _rect(x: float, y: float, w: float, h: float, colour: str) -> str:
    return (f'<rect x="{_num(x)}" y="{_num(y)}" width="{_num(max(w, 0))}" '
            f'height="{_num(h)}" fill="{colour}"/>')  # fmt: skip


def _svg(height: float, body: list[str], label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{_num(height)}" '
        f'viewBox="0 0 {WIDTH} {_num(height)}" role="img" aria-label="{escape(label)}" '
        f'font-family="system-ui, sans-serif" font-size="{FONT}" fill="#1b1b1b">'
        + "".join(body) + "</svg>"
    )  # fmt: skip


def nice_ticks(top: float, most: int = 6) -> list[float]:
    """Round tick values from 0 to at least ``top`` (steps of 1, 2 or 5 times a power of 10),
    at most ``most`` + 1 of them; integers only when ``top`` is at least 1."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / most
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    step = max(step, 1.0) if top >= 1 else step
    return [i * step for i in range(math.ceil(top / step - 1e-9) + 1)]


def _legend(items: Sequence[tuple[str, str]], y: float) -> list[str]:
    out: list[str] = []
    x = WIDTH / 2 - 55 * len(items)
    for name, colour in items:
        out += [_rect(x, y - 10, 12, 12, colour), _text(x + 16, y, name)]
        x += 110
    return out


def _hbars(
    labels: Sequence[str], rows: Sequence[Sequence[Segment]], top: float, xlabel: str,
    legend: Sequence[tuple[str, str]] = (), ticks: Sequence[float] | None = None,
) -> str:  # fmt: skip
    """Horizontal (stacked) bars, one per label, first on top, scaled from 0 to ``top``."""
    left = 12 + _CHAR * max((len(s) for s in labels), default=0)
    head = 26 if legend else 8
    plot_w, plot_h = WIDTH - left - 16, _ROW * len(labels)
    scale = plot_w / top if top else 0.0
    body = _legend(legend, 16) if legend else []
    for i, (label, segments) in enumerate(zip(labels, rows, strict=True)):
        y, x = head + i * _ROW + (_ROW - _BAR) / 2, left
        body.append(_text(left - 6, y + _BAR / 2 + 4, label, "end"))
        for value, colour in segments:
            body.append(_rect(x, y, value * scale, _BAR, colour))
            x += value * scale
    axis_y = head + plot_h
    body.append(f'<path d="M{_num(left)} {axis_y}H{_num(left + plot_w)}" stroke="#555"/>')
    for t in ticks if ticks is not None else nice_ticks(top):
        x = left + t * scale
        body += [f'<path d="M{_num(x)} {axis_y}v4" stroke="#555"/>',
                 _text(x, axis_y + 16, _num(t), "middle")]  # fmt: skip
    body.append(_text(left + plot_w / 2, axis_y + 34, xlabel, "middle"))
    return _svg(axis_y + 42, body, xlabel)


def coverage_chart(rows: Sequence[tuple[str, Tally]]) -> str:
    """100% bars: encrypted, plaintext and unknown share per unit."""
    labels = [f"{name} ({t.total:,})" for name, t in rows]
    bars = [[(100 * t.encrypted_share, GREEN), (100 * t.plaintext_share, RED),
             (100 * t.unknown_share, GREY)] for _, t in rows]  # fmt: skip
    legend = (("encrypted", GREEN), ("plaintext", RED), ("unknown", GREY))
    return _hbars(labels, bars, 100.0, "% of units", legend, [0, 20, 40, 60, 80, 100])


def bar_chart(labels: Sequence[str], values: Sequence[int], xlabel: str, colour: str = BLUE) -> str:
    """Horizontal bars, in the order given (largest first is the caller's order)."""
    top = float(max(values, default=0))
    return _hbars(labels, [[(float(v), colour)] for v in values], top or 1.0, xlabel)


def weekly_chart(periods: Sequence[str], stacks: Sequence[Sequence[int]]) -> str:
    """Stacked columns per week: encrypted, plaintext, unknown units (``stacks`` per period)."""
    left, head, plot_h, foot = 56, 26, 150, 70
    plot_w = WIDTH - left - 16
    top = float(max((sum(s) for s in stacks), default=0)) or 1.0
    ticks = nice_ticks(top, 5)
    scale = plot_h / ticks[-1]
    slot = plot_w / max(len(periods), 1)
    colours = (GREEN, RED, GREY)
    body = _legend(tuple(zip(("encrypted", "plaintext", "unknown"), colours, strict=True)), 16)
    base = head + plot_h
    for t in ticks:
        y = base - t * scale
        body += [f'<path d="M{left - 4} {_num(y)}H{WIDTH - 16}" stroke="#e4e4e4"/>',
                 _text(left - 8, y + 4, _num(t), "end")]  # fmt: skip
    step = max(len(periods) // 8, 1)
    for i, (period, stack) in enumerate(zip(periods, stacks, strict=True)):
        x, y = left + i * slot + slot * 0.1, float(base)
        for value, colour in zip(stack, colours, strict=True):
            body.append(_rect(x, y - value * scale, slot * 0.8, value * scale, colour))
            y -= value * scale
        if i % step == 0:
            cx = x + slot * 0.4
            body.append(_text(cx, base + 14, period, "end",
                              f' transform="rotate(-30 {_num(cx)} {base + 14})"'))  # fmt: skip
    body.append(f'<path d="M{left} {base}H{WIDTH - 16}" stroke="#555"/>')
    body.append(_text(14, head + plot_h / 2, "units per week", "middle",
                      f' transform="rotate(-90 14 {_num(head + plot_h / 2)})"'))  # fmt: skip
    return _svg(base + foot, body, "units per week")


def charts(a: Analysis) -> dict[str, str]:
    """Inline SVG charts per report section key (``summary``, ``coverage`` ...)."""
    out: dict[str, str] = {}
    c = a.coverage
    rows = [(n, t) for n, t in (("messages", c.messages), ("hops", c.hops),
                                ("log sessions", c.sessions)) if t.total]  # fmt: skip
    if rows:
        out["summary"] = coverage_chart(rows)
    weeks = {p for p in column_list(c.by_week, "period") if not pd.isna(p)}
    if len(weeks) >= 2:
        g = c.by_week.groupby("period", sort=True)[["encrypted", "plaintext", "unknown"]].sum()
        stacks = [[int(v) for v in row] for row in g.itertuples(index=False, name=None)]
        out["coverage"] = weekly_chart([str(p) for p in g.index], stacks)
    if a.fallback.plaintext:
        reasons = [(r, n) for r, n in a.fallback.by_reason if n]
        out["fallback"] = bar_chart([r for r, _ in reasons], [n for _, n in reasons],
                                    "plaintext deliveries", RED)  # fmt: skip
    if len(a.failures):
        f = a.failures.groupby("failure_category", sort=False)["count"].sum()
        f = f.sort_values(ascending=False)
        out["failures"] = bar_chart([str(k) for k in f.index], [int(v) for v in f],
                                    "failed TLS attempts", RED)  # fmt: skip
    if len(a.versions):
        out["strength"] = bar_chart([str(v) for v in column_list(a.versions, "tls_version")],
                                    [int(v) for v in column_list(a.versions, "count")],
                                    "encrypted hops and sessions")  # fmt: skip
    return out
