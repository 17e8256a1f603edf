"""The package imports its public API's functions on first use: reading logs does not load
the mailbox, header and report modules, and every public name still resolves."""

from __future__ import annotations

import subprocess
import sys

import pytest

import analyzer
from analyzer import analysis, api, api_logs, received


def test_reading_logs_loads_no_mailbox_or_report_module() -> None:
    code = (
        "import sys\n"
        "from analyzer.api_logs import deliveries, read_logs_result\n"
        "print(sorted(m for m in ('analyzer.analysis', 'analyzer.api', 'analyzer.received',"
        " 'analyzer.metrics', 'analyzer.report') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_every_public_name_resolves_to_its_object() -> None:
    homes = {
        "AnalysisResult": analysis.AnalysisResult,
        "analyze": analysis.analyze,
        "MailboxFrames": api.MailboxFrames,
        "load_mailbox": api.load_mailbox,
        "messages": api.messages,
        "read_mailbox": api.read_mailbox,
        "deliveries": api_logs.deliveries,
        "read_logs": api_logs.read_logs,
        "read_logs_result": api_logs.read_logs_result,
        "parse_received": received.parse_received,
    }
    for name, obj in homes.items():
        assert getattr(analyzer, name) is obj
    assert set(analyzer.__all__) <= set(dir(analyzer))
    assert all(hasattr(analyzer, name) for name in analyzer.__all__)
    with pytest.raises(AttributeError, match="no attribute 'read_everything'"):
        analyzer.read_everything  # noqa: B018
