"""The Markdown report: the same sections as text and HTML, and input kept inert."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from analyzer.analysis import analyze, analyze_frames
from analyzer.report.markdown import escape
from tests.metrics_frames import deliveries, events, mailbox
from tests.test_report_html import payload_inputs


def test_fixture_report_head() -> None:
    out = analyze_frames(mailbox(), events(), deliveries()).render("markdown")
    assert isinstance(out, str)
    assert out.splitlines()[:5] == [
        "# Mail transport TLS report",
        "",
        "## Summary",
        "",
        "- 40.0% of 5 messages proved encrypted, 20.0% plaintext, 40.0% without evidence.",
    ]
    assert "| messages | 5 | 2 | 1 | 2 | 40.0% | 20.0% | 40.0% |" in out
    assert "|---|---:|---:|---:|---:|---:|---:|---:|" in out
    assert "```\n# /etc/postfix/tls_policy" in out
    assert "\na.example  encrypt\n```\n" in out
    headings = re.findall(r"^## (.+)$", out, re.MULTILINE)
    assert headings == ["Summary", "Encryption coverage", "Fallback to plaintext",
                        "Certificate incidents", "Handshake failures",
                        "Protocol and cipher strength", "Forced-TLS readiness",
                        "Headers against logs", "Parse yield", "Inputs"]  # fmt: skip


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ("[x](javascript:alert(1))", "\\[x\\](javascript:alert(1))"),
        ("![i](http://e.invalid/x.png)", "!\\[i\\](http://e.invalid/x.png)"),
        ("a|b", "a\\|b"),
        ("# head", "\\# head"),
        ("1. item", "1\\. item"),
        ("a_b*c`d`", "a\\_b\\*c\\`d\\`"),
        ("line1\nline2\r\n", "line1 line2 "),
        ("mail.example.com", "mail.example.com"),
    ],
)
def test_escape(raw: str, escaped: str) -> None:
    assert escape(raw) == escaped


def test_payloads_are_inert(tmp_path: Path) -> None:
    out = analyze(payload_inputs(tmp_path)).render("markdown")
    assert isinstance(out, str)
    assert "&lt;script&gt;window.\\_\\_xss=1;document.title='pwned-script'&lt;/script&gt;" in out
    assert "<script" not in out
    assert "<img" not in out
    for line in out.splitlines():
        if line.startswith("|"):  # every cell boundary is one of ours
            cells = re.split(r"(?<!\\)\|", line)
            assert len(cells) >= 3
