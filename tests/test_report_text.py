"""The text report: at most 100 columns, no control character from input, colour on request."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzer.analysis import AnalysisResult, analyze, analyze_frames
from analyzer.report.text import WIDTH, fit_widths
from tests.metrics_frames import deliveries, events, mailbox

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def sample() -> AnalysisResult:
    return analyze([str(ROOT / "sample_data")])


def test_sample_report_fits_100_columns(sample: AnalysisResult) -> None:
    out = sample.render("text")
    assert isinstance(out, str)
    widths = [len(line) for line in out.splitlines()]
    assert max(widths) <= WIDTH == 100
    assert "\x1b" not in out


def test_colour_only_when_asked(sample: AnalysisResult) -> None:
    out = sample.render("text", color=True)
    assert isinstance(out, str)
    assert out.startswith("\x1b[1mSUMMARY\x1b[0m\n")
    plain = out.replace("\x1b[1m", "").replace("\x1b[2m", "").replace("\x1b[0m", "")
    assert plain == sample.render("text")


def test_fixture_summary_text() -> None:
    out = analyze_frames(mailbox(), events(), deliveries()).render("text")
    assert isinstance(out, str)
    assert out.splitlines()[:7] == [
        "SUMMARY",
        "  40.0% of 5 messages proved encrypted, 20.0% plaintext, 40.0% without evidence.",
        "  28.6% of 7 logged sessions proved encrypted, 42.9% plaintext, 28.6% without evidence.",
        "  60.0% of 5 outbound deliveries went in plaintext.",
        "  1 of 5 encrypted hops or sessions used weak protocol versions or ciphers.",
        "  2 certificate incident(s) with peer mail servers.",
        "  TLS could be required for 1 domain(s); forcing it would have delayed or bounced mail for 3.",
    ]
    assert (
        "\n  messages                        5          2          1        2  40.0%    20.0%"
        "      40.0%\n" in out
    )
    assert "\n    a.example  encrypt\n" in out


def test_control_characters_from_input_are_escaped(tmp_path: Path) -> None:
    box = tmp_path / "esc.mbox"
    box.write_bytes(
        b"From a@example.com Mon Nov  2 10:00:00 2026\n"
        b"Received: from evil\x1b]0;pwned\x07host by \x1b[31mred\x1b[0m with SMTP;"
        b" Mon, 2 Nov 2026 10:00:00 +0000\n"
        b"Message-ID: <x\x1b[2J@example.com>\n\nbody\n"
    )
    out = analyze([str(box)]).render("text")
    assert isinstance(out, str)
    assert "\x1b" not in out
    assert "\x07" not in out
    assert "from evil\\x1b]0;pwned\\x07host by \\x1b[31mre…" in out
    assert max(len(line) for line in out.splitlines()) <= WIDTH


def test_fit_widths_gives_way_with_text_first() -> None:
    assert fit_widths([40, 30, 5], (False, False, True), 60) == [27, 28, 5]
    assert fit_widths([40, 30, 5], (False, False, True), 30) == [12, 13, 5]
    assert fit_widths([10, 5], (False, True), 80) == [10, 5]


def test_summary_only() -> None:
    from analyzer.report.text import render_summary

    out = render_summary(analyze_frames(mailbox(), events(), deliveries()))
    assert out.splitlines()[0] == "SUMMARY"
    assert len(out.splitlines()) == 7
