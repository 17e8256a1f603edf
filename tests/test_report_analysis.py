"""``analyze``: inputs told apart by content, filters, and the render entry point."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from analyzer.analysis import InputFile, analyze, classify_inputs
from tests.test_report_html import LOG_LINE

MBOX = (
    "From a@example.com Mon Nov  2 10:00:00 2026\n"
    "Received: from mail.a.example (mail.a.example [192.0.2.1]) (using TLSv1.3 with cipher "
    "TLS_AES_256_GCM_SHA384 (256/256 bits)) (No client certificate requested) by "
    "mx.ours.example (Postfix) with ESMTPS id 4ABCDEF; Mon, 2 Nov 2026 10:00:00 +0000 (UTC)\n"
    "Message-ID: <1@a.example>\nDate: Mon, 2 Nov 2026 10:00:00 +0000\n\nbody\n"
)


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    (tmp_path / "export.txt").write_text(MBOX, encoding="utf-8")  # a mailbox, whatever its name
    (tmp_path / "messages.mbox").write_text(LOG_LINE + "\n", encoding="utf-8")  # a log
    (tmp_path / "notes.md").write_text("# notes\n", encoding="utf-8")
    maildir = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    (maildir / "cur" / "1:2,S").write_text(MBOX.split("\n", 1)[1], encoding="utf-8")
    return tmp_path


def test_kinds_come_from_content(inputs: Path) -> None:
    found, issues = classify_inputs([inputs])
    assert found == [
        InputFile(str(inputs / "export.txt"), "mailbox", "mbox"),
        InputFile(str(inputs / "messages.mbox"), "log", "other"),
        InputFile(str(inputs / "notes.md"), "skipped", "other"),
        InputFile(str(inputs / "Maildir"), "mailbox", "maildir"),
    ]
    assert issues == []


def test_explicit_unreadable_inputs_become_issues(inputs: Path) -> None:
    found, issues = classify_inputs([inputs / "notes.md", inputs / "missing.mbox"])
    assert found == [InputFile(str(inputs / "notes.md"), "skipped", "other")]
    assert [(i.origin, i.kind.value, i.reason) for i in issues] == [
        (str(inputs / "notes.md"), "unsupported", "neither a mailbox nor an MTA log we read"),
        (str(inputs / "missing.mbox"), "unreadable", "no such file"),
    ]
    r = analyze([inputs / "notes.md"])
    assert r.summary.issues == 1
    assert r.summary.headlines == ("1 input item(s) could not be read (see Parse yield).",)


def test_mixed_inputs_one_analysis(inputs: Path) -> None:
    r = analyze([inputs])
    assert (r.messages_read, r.headers_read) == (2, 2)
    assert r.coverage.messages.encrypted == 2
    assert len(r.events) == 1
    assert r.incidents["failure_category"].tolist() == ["certificate-not-trusted"]


def test_filters_and_bad_direction(inputs: Path) -> None:
    late = analyze([inputs], since=datetime(2026, 11, 3, tzinfo=UTC))
    assert late.coverage.messages.total == 0
    assert len(late.events) == 1  # the log line is of 2026-11-27
    naive = analyze([inputs], until=datetime(2026, 11, 3))  # naive: UTC
    assert naive.coverage.messages.total == 2
    assert len(naive.events) == 0
    with pytest.raises(ValueError, match="direction"):
        analyze([inputs], direction="sideways")


def test_render_formats(inputs: Path) -> None:
    r = analyze([inputs])
    for fmt in ("text", "markdown", "json", "html"):
        assert isinstance(r.render(fmt), str)
    with pytest.raises(ValueError, match="unknown report format"):
        r.render("pdf")
