"""Log sources: compression by magic bytes, broken members, junk, overlong lines, ordering."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.model.common import IssueKind, ParseIssue
from analyzer.sources.logs import (
    MAX_LINE,
    Compression,
    TextLine,
    describe,
    detect_compression,
    discover,
    iter_lines,
    looks_like_log,
    order_by_time,
)

LINE = b"Feb 18 09:45:12 xxx postfix/smtpd[42]: lost connection after STARTTLS from x[192.0.2.42]\n"


def _read(data: bytes) -> tuple[list[TextLine | ParseIssue], list[ParseIssue]]:
    issues: list[ParseIssue] = []
    return list(iter_lines(io.BytesIO(data), "f", issues)), issues


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (gzip.compress(LINE), Compression.GZIP),
        (bz2.compress(LINE), Compression.BZIP2),
        (lzma.compress(LINE), Compression.XZ),
        (b"\x28\xb5\x2f\xfd\x00", Compression.ZSTD),
        (LINE, Compression.NONE),
    ],
    ids=["gzip", "bzip2", "xz", "zstd", "plain"],
)
def test_magic_bytes(data: bytes, kind: Compression) -> None:
    assert detect_compression(data) is kind
    assert looks_like_log(data)


@pytest.mark.parametrize("pack", [gzip.compress, bz2.compress, lzma.compress, bytes],
                         ids=["gzip", "bzip2", "xz", "plain"])
def test_lines_and_truncated_last_line(pack: object) -> None:
    data = pack(LINE + LINE[:-1])  # type: ignore[operator]
    lines, issues = _read(data)
    text = LINE[:-1].decode()
    assert lines == [TextLine(1, text, True), TextLine(2, text, False)]
    assert issues == []


def test_multi_member_gzip_with_a_broken_member() -> None:
    bad = bytearray(gzip.compress(b"broken\n" * 50))
    bad[20:30] = b"X" * 10
    data = gzip.compress(b"a\nb\n") + bytes(bad) + gzip.compress(b"c\n")
    lines, issues = _read(data)
    assert [x.text for x in lines if isinstance(x, TextLine)] == ["a", "b", "c"]
    assert [(i.kind, i.unit) for i in issues] == [(IssueKind.UNREADABLE, "line")]
    assert issues[0].reason.startswith("corrupt gzip data skipped")


def test_gzip_cut_in_the_middle_keeps_what_was_read() -> None:
    data = gzip.compress(LINE * 2000)[:-40]
    lines, issues = _read(data)
    assert len(lines) >= 1000
    assert [i.kind for i in issues] == [IssueKind.TRUNCATED]


def test_gzip_bomb_is_stopped() -> None:
    lines, issues = _read(gzip.compress(b"x" * (80 << 20)))
    assert [i.kind for i in issues] == [IssueKind.OVERSIZED]
    assert all(isinstance(x, ParseIssue) for x in lines)  # the 80 MiB line is oversized


def test_binary_junk_and_overlong_lines_become_issues() -> None:
    data = b"ok\n\x00\x01\x02\x03\x16\x03\x01junk\n" + b"y" * (MAX_LINE + 10) + b"\nend\n"
    lines, issues = _read(data)
    assert lines[0] == TextLine(1, "ok")
    assert isinstance(lines[1], ParseIssue)
    assert lines[1].kind is IssueKind.MALFORMED
    assert isinstance(lines[2], ParseIssue)
    assert lines[2].kind is IssueKind.OVERSIZED
    assert lines[1].unit == lines[2].unit == "line"
    assert lines[3] == TextLine(4, "end")
    assert issues == []


def test_rotation_order_by_time_not_name(tmp_path: Path) -> None:
    names = ["mail.log", "mail.log.1", "mail.log.2.gz", "mail.log.10.gz"]
    for i, name in enumerate(names):
        p = tmp_path / name
        p.write_bytes(gzip.compress(LINE) if name.endswith(".gz") else LINE)
        os.utime(p, (1_700_000_000 - i * 86400, 1_700_000_000 - i * 86400))
    files, issues = discover([tmp_path])
    assert issues == []
    ordered = [f.path.name for f in order_by_time(files) if f.path]
    assert ordered == ["mail.log.10.gz", "mail.log.2.gz", "mail.log.1", "mail.log"]


def test_rotation_date_in_name(tmp_path: Path) -> None:
    p = tmp_path / "maillog-20240101.gz"
    p.write_bytes(gzip.compress(LINE))
    f = describe(p)
    assert f.rotation_date == datetime(2024, 1, 1, tzinfo=UTC)
    assert f.reference == f.rotation_date


def test_directory_skips_non_logs_and_same_file_twice(tmp_path: Path) -> None:
    (tmp_path / "mail.log").write_bytes(LINE)
    (tmp_path / "notes.txt").write_bytes(b"hello world\n")
    (tmp_path / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    files, _ = discover([tmp_path, tmp_path / "mail.log"])
    assert [f.path.name for f in files if f.path] == ["mail.log"]


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([b"", b"\x1f\x8b\x08", b"BZh9", b"\xfd7zXZ\x00"]), st.binary(max_size=2000))
def test_random_bytes_never_raise(magic: bytes, data: bytes) -> None:
    lines, issues = _read(magic + data)
    for item in lines:
        assert isinstance(item, TextLine | ParseIssue)
    assert all(i.unit in ("line", "file") for i in issues)
