"""The inline SVG charts: well-formed, deterministic, scaled from the figures, inert."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from analyzer.analysis import analyze_frames
from analyzer.metrics import Tally
from analyzer.report.charts import bar_chart, charts, coverage_chart, nice_ticks, weekly_chart
from analyzer.report.sections import sections
from tests.metrics_frames import deliveries, events, mailbox

SVG = "{http://www.w3.org/2000/svg}"


def _rects(svg: str) -> list[dict[str, str]]:
    return [r.attrib for r in ET.fromstring(svg).iter(f"{SVG}rect")]


def _texts(svg: str) -> list[str]:
    return [t.text or "" for t in ET.fromstring(svg).iter(f"{SVG}text")]


def test_nice_ticks() -> None:
    assert nice_ticks(100.0) == [0, 20, 40, 60, 80, 100]
    assert nice_ticks(7.0) == [0, 2, 4, 6, 8]
    assert nice_ticks(3.0) == [0, 1, 2, 3]
    assert nice_ticks(1234.0, 5) == [0, 500, 1000, 1500]
    assert nice_ticks(0.0) == [0.0, 1.0]


def test_coverage_chart_bars_are_the_shares() -> None:
    svg = coverage_chart([("messages", Tally(5, 2, 1, 2)), ("log sessions", Tally(4, 4, 0, 0))])
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg" width="700"')
    legend, bars = _rects(svg)[:3], _rects(svg)[3:]
    assert [r["fill"] for r in legend] == ["#2e7d32", "#c62828", "#9e9e9e"]
    plot = (700 - 16) - float(bars[0]["x"])  # the width of 100%
    widths = [round(float(r["width"]) / plot, 3) for r in bars]
    assert widths == [0.4, 0.2, 0.4, 1.0, 0.0, 0.0]
    assert "messages (5)" in _texts(svg)
    assert "log sessions (4)" in _texts(svg)
    assert svg == coverage_chart([("messages", Tally(5, 2, 1, 2)),
                                  ("log sessions", Tally(4, 4, 0, 0))])  # fmt: skip


def test_labels_are_escaped_and_nothing_is_active() -> None:
    svg = bar_chart(['<script>alert(1)</script>', 'a"b'], [3, 1], "x & y")
    assert "<script>" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg
    assert _texts(svg)[:2] == ["<script>alert(1)</script>", 'a"b']
    assert "x &amp; y" in svg
    root = ET.fromstring(svg)
    assert {el.tag.removeprefix(SVG) for el in root.iter()} <= {"svg", "rect", "text", "path"}
    assert not [a for el in root.iter() for a in el.attrib if a.startswith("on") or "href" in a]


def test_weekly_chart_stacks_encrypted_plaintext_unknown() -> None:
    svg = weekly_chart(["2026-11-16", "2026-11-23"], [[3, 1, 0], [2, 0, 2]])
    bars = _rects(svg)[3:]
    assert [r["fill"] for r in bars] == ["#2e7d32", "#c62828", "#9e9e9e"] * 2
    heights = [float(r["height"]) for r in bars]
    assert heights[0] == 3 * heights[1]
    assert heights[5] == heights[3]
    assert heights[2] == 0
    assert "2026-11-16" in _texts(svg)
    assert "units per week" in _texts(svg)


def test_report_charts_per_section_and_sections_built_once() -> None:
    r = analyze_frames(mailbox(), events(), deliveries())
    assert sorted(charts(r)) == ["coverage", "failures", "fallback", "strength", "summary"]
    assert sections(r) is sections(r)
    other = analyze_frames(mailbox(), events(), deliveries())
    assert sections(other) is not sections(r)
    assert sections(other) == sections(r)
