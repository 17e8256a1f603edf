"""read_logs / deliveries: one pass, nothing lost, rotated and duplicated files, streams."""

from __future__ import annotations

import gzip
import io
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from analyzer.api_logs import deliveries, events_from_frame, read_logs, read_logs_result
from analyzer.frames.logs import DELIVERIES, EVENTS, events_frame

LAB_LOG = Path(__file__).resolve().parent.parent / "sample_data" / "lab" / "postfix" / "mail.log"
pytestmark = pytest.mark.skipif(not LAB_LOG.exists(), reason="lab log not present")


def _split_rotation(tmp_path: Path) -> list[Path]:
    """The lab log cut in three, rotated as logrotate leaves it (oldest .2.gz)."""
    lines = LAB_LOG.read_bytes().splitlines(keepends=True)
    third = len(lines) // 3
    parts = [lines[:third], lines[third : 2 * third], lines[2 * third :]]
    paths = [tmp_path / "mail.log.2.gz", tmp_path / "mail.log.1", tmp_path / "mail.log"]
    paths[0].write_bytes(gzip.compress(b"".join(parts[0])))
    paths[1].write_bytes(b"".join(parts[1]))
    paths[2].write_bytes(b"".join(parts[2]))
    for i, p in enumerate(paths):
        os.utime(p, (1_700_000_000 + i, 1_700_000_000 + i))
    return paths


def test_frames_have_the_declared_columns() -> None:
    r = read_logs_result(LAB_LOG)
    assert list(r.events.columns) == EVENTS.names
    assert list(r.deliveries.columns) == DELIVERIES.names
    assert str(r.events["tls_version"].dtype) == "category"
    first = r.events.iloc[0]
    assert first["raw"] == LAB_LOG.read_text().splitlines()[first["line"] - 1]


def test_nothing_lost_and_rotation_order(tmp_path: Path) -> None:
    whole = read_logs_result(LAB_LOG)
    paths = _split_rotation(tmp_path)
    # given in name order (newest first), with one file twice and a copy of another
    shutil.copy(paths[1], tmp_path / "copy-of-mail.log.1")
    split = read_logs_result([paths[2], paths[0], paths[1], paths[1],
                              tmp_path / "copy-of-mail.log.1"])
    c = split.counts
    assert c.lines == c.parsed + c.unrelated + c.issues + c.duplicates
    assert (c.parsed, c.unrelated, c.issues) == (
        whole.counts.parsed, whole.counts.unrelated, whole.counts.issues)
    assert c.files == 4
    assert c.duplicates == len(paths[1].read_bytes().splitlines())
    cols = ["timestamp", "queue_id", "outcome", "encrypted", "fallback", "failure_category"]
    pd.testing.assert_frame_equal(split.deliveries[cols], whole.deliveries[cols])


def test_deliveries_from_events_equals_deliveries_from_inputs() -> None:
    events = read_logs(LAB_LOG)
    direct = deliveries(LAB_LOG)
    pd.testing.assert_frame_equal(deliveries(events), direct)
    rebuilt = deliveries(events.copy())  # not the carried frame: correlated again from rows
    pd.testing.assert_frame_equal(rebuilt, direct)


def test_events_round_trip_through_the_frame() -> None:
    events = read_logs(LAB_LOG)
    pd.testing.assert_frame_equal(events_frame(list(events_from_frame(events))), events)


def test_stream_input_and_timezone() -> None:
    data = b"Feb 18 09:45:12 xxx postfix/smtpd[42]: lost connection after STARTTLS from x[192.0.2.42]\n"
    ev = read_logs(io.BytesIO(gzip.compress(data)), timezone="Europe/Paris")
    assert ev["timestamp"].iloc[0].hour == 8  # 09:45 CET is 08:45 UTC
    assert ev["failure_category"].iloc[0] == "connection-lost"


def test_issues_are_counted() -> None:
    data = b"garbage line without a prefix\n\x00\x01\x02binary\nok\n"
    r = read_logs_result(io.BytesIO(data))
    assert (r.counts.lines, r.counts.issues, r.counts.parsed) == (3, 3, 0)
    assert list(r.issues["kind"]) == ["malformed", "malformed", "malformed"]


def test_directory_input_and_progress(tmp_path: Path) -> None:
    paths = _split_rotation(tmp_path)
    (tmp_path / "notes.txt").write_text("not a log\n")
    seen: list[tuple[str, int]] = []
    r = read_logs_result(tmp_path, progress=lambda origin, n: seen.append((origin, n)))
    assert r.counts.files == len(paths)
    assert r.counts.lines == len(LAB_LOG.read_bytes().splitlines())
    assert seen == []  # fewer lines than one progress step
