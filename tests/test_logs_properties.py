"""Properties: the line readers never raise, on any line up to 1 MB (the 10 ms bound of each
line is measured by ``bench/bench_log_lines_worst.py``, not here)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bench.bench_log_lines_worst as bench
from analyzer.logs.correlate import Correlator
from analyzer.logs.prefix import PrefixContext
from analyzer.logs.registry import read_line
from analyzer.logs.taxonomy import classify
from analyzer.model.logs import FailureCategory, TlsEvent

CTX = PrefixContext("p", datetime(2024, 12, 1, tzinfo=UTC))
# The adversarial lines of bench/bench_log_lines_worst.py (which times them), and two more
# prefixes: RFC 5424 and journalctl's JSON
PREFIXES = [*bench.PREFIXES, "<22>1 2024-01-05T10:00:01Z mx postfix/smtp 1234 - [", "{"]
TRIGGERS, FILLERS = bench.TRIGGERS, bench.FILLERS


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(PREFIXES), st.sampled_from(TRIGGERS), st.text(max_size=300))
def test_never_raises(prefix: str, trigger: str, tail: str) -> None:
    result, item = read_line(prefix + trigger + tail, CTX, 1)
    if isinstance(item, TlsEvent):
        Correlator().feed(item)
    assert result.value in ("parsed", "unrelated", "issue")


@pytest.mark.parametrize("filler", FILLERS)
@pytest.mark.parametrize("prefix", bench.PREFIXES)
def test_megabyte_lines_are_read(prefix: str, filler: str) -> None:
    for trigger in TRIGGERS:
        text = prefix + trigger + filler * (1_000_000 // len(filler))
        result, _ = read_line(text, CTX, 1)
        assert result.value in ("parsed", "unrelated", "issue")


def test_classify_reads_a_megabyte_of_alert_words() -> None:
    """Only the first ``CLASSIFY_LIMIT`` characters are read: a reason past them is not seen."""
    assert classify("alert " * 200_000) is None
    assert classify("alert " * 200_000 + "certificate has expired") is None
    expired = classify("certificate has expired " + "alert " * 200_000)
    assert expired is FailureCategory.CERTIFICATE_EXPIRED
