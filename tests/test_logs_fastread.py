"""The producer's pieces: blocks of lines, texts cut at a place per row, and a block whose
lines differ in every way the vectorised reader must tell apart.

``tests/test_logs_fastpath.py`` compares whole reads with the per-line reader; these tests
pin the pieces the vectorised reader is built from, with exact values.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import analyzer.sources.logs as sources
from analyzer.api_logs import read_logs_result
from analyzer.frames.fast_patterns import FAILURES, MESSAGE_ID
from analyzer.frames.fast_postfix import FastPostfix, Stamps, _spans, lines_of
from analyzer.frames.fast_shapes import _within, failures, message_ids
from analyzer.logs.prefix import PrefixContext
from analyzer.model.common import ParseIssue
from analyzer.sources.logs import (
    TextLine,
    iter_blocks,
    iter_lines,
    newline_offsets,
    split_block,
)

ROOT = Path(__file__).resolve().parent.parent
LAB_POSTFIX = ROOT / "sample_data" / "lab" / "postfix" / "mail.log"
_LAB = LAB_POSTFIX.read_bytes().splitlines()


def _lines(data: bytes) -> list[tuple[int, str] | tuple[int, str, str]]:
    """What ``iter_lines`` reads of ``data``: numbered texts, and issues (position, kind)."""
    out: list[tuple[int, str] | tuple[int, str, str]] = []
    for item in iter_lines(io.BytesIO(data), "t", []):
        if isinstance(item, TextLine):
            out.append((item.line_no, item.text))
        else:
            out.append((item.position, item.kind.value, item.reason))
    return out


def _blocked(data: bytes, block: int) -> list[tuple[int, str] | tuple[int, str, str]]:
    """The same, read by ``iter_blocks`` in blocks of ``block`` bytes."""
    out: list[tuple[int, str] | tuple[int, str, str]] = []
    for b in iter_blocks(io.BytesIO(data), "t", [], block):
        if b.texts is not None:
            out += [(b.first_line_no + i, t) for i, t in enumerate(b.texts)]
            continue
        for item in b.items:
            if isinstance(item, ParseIssue):
                out.append((item.position, item.kind.value, item.reason))
            else:
                out.append((item.line_no, item.text))
    return out


def test_blocks_of_lines_cut_anywhere() -> None:
    data = b"\n".join(_LAB[:40]) + b"\n"
    whole = _lines(data)
    assert len(whole) == 40
    assert whole[4] == (5, _LAB[4].decode())
    for block in (1, 7, 100, 333, len(data) - 1, len(data), 1 << 20):
        assert _blocked(data, block) == whole
    cut = data[:-1]  # a last line without its newline
    assert _blocked(cut, 50) == _lines(cut) == whole


def test_blocks_grow_from_the_first_to_the_largest(monkeypatch: pytest.MonkeyPatch) -> None:
    """By default the first block is ``FIRST_BLOCK`` bytes, each next one a quarter larger
    (``GROWTH``) up to ``BLOCK``; a block ends at the last newline it holds, and the rest
    begins the next one. The lines are the same as with blocks of one size."""
    monkeypatch.setattr(sources, "FIRST_BLOCK", 100)
    monkeypatch.setattr(sources, "BLOCK", 180)
    data = b"".join(b"%09d\n" % i for i in range(120))  # 120 lines of 10 bytes
    blocks = list(iter_blocks(io.BytesIO(data), "t", []))
    # reads of 100, 125, 156, 180, 180, ... bytes; each block the whole lines read so far
    assert [(b.first_line_no, len(b)) for b in blocks] == [
        (1, 10), (11, 12), (23, 16), (39, 18), (57, 18), (75, 18), (93, 18), (111, 10),
    ]  # fmt: skip
    assert _blocked(data, 0) == _lines(data) == _blocked(data, 37)


@settings(max_examples=300, deadline=None)
@given(
    data=st.lists(
        st.sampled_from(
            [b"a", b"\n", b"caf\xc3\xa9", b"\xe9", b"\xed\xa0\x80", b"\xf0\x9f\x98\x80", b" "]
        ),
        max_size=30,
    ).map(b"".join),
    longest=st.integers(0, 12),
)
def test_arrow_splits_lines_as_python_does(data: bytes, longest: int) -> None:
    """``lines_of`` gives the lines ``data.decode().split("\\n")`` gives, or None when
    ``data`` is not UTF-8 (surrogates included) or a line is longer than ``longest``."""
    try:
        texts: list[str] | None = data.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        texts = None
    if texts is not None and max(map(len, texts)) > longest:
        texts = None
    lines = lines_of(data, longest, newline_offsets(data))
    assert (lines.to_pylist() if lines is not None else None) == texts


def test_blocks_left_whole_split_as_the_others() -> None:
    """With ``split=False`` a plain block comes whole, numbered and counted; ``split_block``
    gives it as ``split=True`` reads it, and a block that is not plain comes as before."""
    data = b"\n".join(_LAB[:30]) + b"\n"
    (whole,) = list(iter_blocks(io.BytesIO(data), "t", [], split=False))
    (split,) = list(iter_blocks(io.BytesIO(data), "t", []))
    assert (whole.texts, whole.first_line_no, len(whole), whole.ended) == (None, 1, 30, True)
    assert whole.data == data[:-1]
    assert split_block(whole, "t") == split
    assert split.texts == [line.decode() for line in _LAB[:30]]
    bad = data + b"caf\xe9\n"  # not UTF-8: left whole all the same; split, read line by line
    (left,) = list(iter_blocks(io.BytesIO(bad), "t", [], split=False))
    assert (left.data, len(left)) == (bad[:-1], 31)
    items = split_block(left, "t")
    assert items.texts is None
    assert len(items) == 31
    assert items.items[30] == TextLine(31, "caf\ufffd", True)
    cr = b"a\r\nb\n"  # a carriage return: split at once
    (crs,) = list(iter_blocks(io.BytesIO(cr), "t", [], split=False))
    assert crs.data == b""
    assert split_block(crs, "t") is crs
    assert len(crs) == 2


_piece = st.one_of(
    st.sampled_from(_LAB[:30]),
    st.sampled_from([b"", b"\r", b"\x00junk\x01", b"caf\xc3\xa9", b"caf\xe9", b"y" * 90]),
    st.binary(max_size=40),
)


@settings(max_examples=150, deadline=None)
@given(pieces=st.lists(_piece, max_size=12), block=st.integers(1, 300), end=st.booleans())
def test_blocks_read_what_lines_read(pieces: list[bytes], block: int, end: bool) -> None:
    """Clean and unclean blocks, overlong lines (over 64 bytes here) and a cut last line."""
    data = b"\n".join(pieces) + (b"\n" if end and pieces else b"")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sources, "MAX_LINE", 64)
        assert _blocked(data, block) == _lines(data)


def test_spans_cut_each_text_at_its_own_place() -> None:
    texts = pa.array(["abcdef", "xy", "0123456789", "", "hello world"], pa.large_string())
    # a sliced array: positions are in its data buffer, past the texts it does not show
    shown = texts.slice(1)
    start = np.frombuffer(shown.buffers()[1], dtype=np.int64)[shown.offset : shown.offset + 5]
    begin = start[:-1] + np.array([1, 2, 0, 6])
    assert _spans(shown, begin, start[1:]).to_pylist() == ["y", "23456789", "", "world"]
    assert _spans(shown, start[:-1], begin).to_pylist() == ["x", "01", "", "hello "]
    picked = _spans(shown, begin[[1, 3]], start[1:][[1, 3]])
    assert picked.type == pa.large_string()
    assert picked.to_pylist() == ["23456789", "world"]
    assert _spans(shown, begin[:0], begin[:0]).to_pylist() == []


_MID_CASES = [
    "message-id=<a@b>", "message-id=a@b", "message-id=", "message-id=>", "message-id=<>",
    "message-id=<<a>>", "message-id=<a b>", "message-id= x", "message-id=<a@b",
    "message-id=a>", "message-id=<a>x", "message-id=>>", "message-id=<<a>", "message-id=a<b>",
    "message-id=\t", "message-id=<\u00e9@x>", "from=<a>",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(tails=st.lists(st.text(alphabet="<>@a \t\u00e9", max_size=8), max_size=20))
def test_message_ids_read_as_the_reference_pattern(tails: list[str]) -> None:
    """The one-pass pattern matches, and reads, what ``MESSAGE_ID`` does."""
    texts = pa.array(_MID_CASES + ["message-id=" + t for t in tails], pa.large_string())
    assert message_ids(texts).to_pylist() == pc.extract_regex(texts, MESSAGE_ID).to_pylist()
    assert message_ids(texts.slice(3)).to_pylist() == (
        pc.extract_regex(texts.slice(3), MESSAGE_ID).to_pylist()
    )


_FAILURE_STARTS = [
    "SSL_accept error from ", "SSL_connect error to ", "SSL_accept error to ",
    "SSL_read error from ", "warning: TLS library problem: ", "warning: TLS library: ",
    "certificate verification failed for ", "server certificate verification failed for ",
    "client certificate verification failed for ", "CA certificate verification failed for ",
    "server client certificate verification failed for ", "clientcertificate verification ",
]  # fmt: skip
_FAILURE_CASES = [
    "SSL_accept error from mx.example[192.0.2.1]:25: -1",
    "SSL_accept error from unknown[192.0.2.1]: lost connection",
    "SSL_connect error to mx[2001:db8::1]:123456: -1",
    "SSL_connect error to mx[1.2.3.4]:: x",
    "SSL_connect error to [1.2.3.4]:25: x",
    "SSL_connect error to mx[]:25: x",
    "SSL_accept error from " + "h" * 255 + "[1.2.3.4]: x",
    "SSL_accept error from " + "h" * 256 + "[1.2.3.4]: x",
    "certificate verification failed for mx[" + "1" * 128 + "]:25: untrusted issuer",
    "client certificate verification failed for mx[" + "1" * 129 + "]:25: x",
    "warning: TLS library problem: error:0A000086:SSL routines::certificate verify failed:",
    "server client certificate verification failed for mx[1.2.3.4]:25: x",
    "client server certificate verification failed for mx[1.2.3.4]: x",
    "CA certificate verification failed for mx[1.2.3.4]: x",
    "server certificate verification failed for mx[1.2.3.4]:25: x",
    "certificate verification failed for mx[1.2.3.4] x",
    "SSL_connect error from mx[1.2.3.4]:25:  two spaces",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    parts=st.lists(
        st.tuples(
            st.sampled_from(_FAILURE_STARTS),
            st.text(alphabet="ab[]:12 .", max_size=14),
            st.text(alphabet="ab[]:12 ()", max_size=6),
        ),
        max_size=20,
    )
)
def test_failures_read_as_the_reference_pattern(parts: list[tuple[str, str, str]]) -> None:
    """The three one-pass patterns match, and read, what ``FAILURES`` does (``cert`` as a
    mark), with the same rows within the peers' limits."""
    texts = pa.array(_FAILURE_CASES + ["".join(p) for p in parts], pa.large_string())
    ref = pc.extract_regex(texts, FAILURES).to_pylist()
    ref_good = _within(pc.extract_regex(texts, FAILURES), ("ph", "pi", "ch", "ci"))
    got, good = failures(texts)
    assert good.tolist() == ref_good.tolist()
    for want, row in zip(ref, got.to_pylist(), strict=True):
        assert (want is None) == (row is None)
        if want is not None:
            assert row is not None
            names = ("op", "peer", "cpeer", "text")
            assert {n: row[n] for n in names} == {n: want[n] for n in names}
            assert (bool(row["warn"]), bool(row["cert"])) == (
                bool(want["warn"]),
                bool(want["cert"]),
            )


# Lines of the lab's Postfix log (RFC 3339 stamps) and their RFC 3164 forms, with prefixes of
# different widths and every kind of line the vectorised reader takes, leaves or ignores.
_BLOCK = [
    "Nov 27 21:28:44 vm postfix/cleanup[29210]: 9A77F164183: message-id=<a@lab.test>",
    "Nov 27 21:28:44 vm postfix/smtp[29213]: Trusted TLS connection established to "
    "127.0.0.11[127.0.0.11]:25: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) "
    "key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256",
    "Nov 27 21:28:44 vm postfix/smtp[29213]: 9A77F164183: to=<user@valid.opp.lab.test>, "
    "relay=127.0.0.11[127.0.0.11]:25, delay=0.21, delays=0.05/0.01/0.07/0.07, dsn=2.0.0, "
    "status=sent (250 2.0.0 Ok: queued as 201DFDF881)",
    "Nov 27 21:28:44 vm postfix/qmgr[7]: 9A77F164183: removed",
    "Nov 27 21:28:44 vm postfix/qmgr[7]:  9A77F164183: removed",  # two spaces: no queue id
    "Nov 27 21:28:44 vm postfix/qmgr: 4Xk9Yz1bTmz9vJp: removed",  # no pid, long queue id
    "Nov 27 21:28:44 vm postfix/smtpd[29180]: connect from localhost[127.0.0.1]",
    "Nov 27 21:28:44 vm postfix/smtpd[29180]: lost connection after STARTTLS from "
    "localhost[127.0.0.1]",
    "Nov 27 21:28:44 vm postfix/smtpd[29180]: disconnect from localhost[127.0.0.1] ehlo=1 "
    "starttls=1 quit=1 commands=3",
    "Nov 27 21:28:44 vm postfix/master[29173]: daemon started -- version 3.7.11",
    "Nov 27 21:28:44 vm postfix/smtpd[29180]: NOQUEUE: reject: RCPT from x[192.0.2.1]: 554",
    "Nov 27 21:28:44 vm postfix/qmgr[7]: 9A77F164183: from=<caf\xe9@x>, size=1",  # not ASCII
    "Nov 27 21:28:44 vm postfix/qmgr[7]: [ID 197553 mail.info] 9A77F164183: removed",
    "2026-11-27T21:28:44.797405+00:00 vm postfix/qmgr[29175]: 9A77F164183: removed",
    "Nov 27 21:28:44 vm sshd[1]: Accepted publickey for root",
    "",
]


def test_block_of_every_kind(tmp_path: Path) -> None:
    ctx = PrefixContext("t.log", datetime(2026, 11, 28, tzinfo=UTC))
    read = FastPostfix(ctx).read(_BLOCK, 1)
    ev = read.events
    assert ev["line"].to_pylist() == [1, 2, 3, 4, 6, 7, 8, 9, 14]
    assert ev["event"].to_pylist() == [
        "message-id", "tls-established", "delivery", "removed", "removed", "connect",
        "connection-lost", "disconnect", "removed",
    ]  # fmt: skip
    assert ev["queue_id"].to_pylist() == [
        "9A77F164183", "", "9A77F164183", "9A77F164183", "4Xk9Yz1bTmz9vJp", "", "", "",
        "9A77F164183",
    ]  # fmt: skip
    assert ev["pid"].to_pylist() == [29210, 29213, 29213, 7, None, 29180, 29180, 29180, 29175]
    assert ev["detail"].to_pylist()[2] == "250 2.0.0 Ok: queued as 201DFDF881"
    assert ev["encrypted"].to_pylist() == [None, True, None, None, None, None, None, True, None]
    assert ev["detail"].to_pylist()[6:8] == [
        "lost connection after STARTTLS",
        "ehlo=1 starttls=1 quit=1 commands=3",
    ]
    assert [str(s) for s in read.stamps.as_list()[-2:]] == [
        "2026-11-27 21:28:44+00:00",
        "2026-11-27 21:28:44.797405+00:00",
    ]
    # the doubled space (no queue id at the message's start) and the master line say nothing
    # postfix.parse reads; the NOQUEUE reject (a session start), the non-ASCII line, the
    # Solaris [ID ...] tag, a non-Postfix tag and the empty line are left to the per-line reader
    assert read.unrelated == 2
    assert read.slow == [10, 11, 12, 14, 15]
    log = tmp_path / "t.log"
    log.write_text("\n".join(_BLOCK) + "\n", encoding="utf-8")
    slow = read_logs_result(log, vectorised=False)
    fast = read_logs_result(log)
    assert fast.counts == slow.counts
    assert fast.events.equals(slow.events)


def test_stamps_are_held_once_each_and_read_row_by_row() -> None:
    early, late = datetime(2026, 11, 27, 21, 28, tzinfo=UTC), datetime(2026, 11, 28, tzinfo=UTC)
    stamps = Stamps([early, late, None], np.array([1, 0, 1, 2], dtype=np.int32))
    assert stamps.as_list() == [late, early, late, None]
    assert (stamps.values, stamps.codes.tolist()) == ([early, late, None], [1, 0, 1, 2])
    with pytest.raises(TypeError):  # compared by value: not hashable
        hash(stamps)
    # equal by the stamps of the rows, however they are held
    assert stamps == Stamps([late, early, None], np.array([0, 1, 0, 2]))
    assert stamps != Stamps([late, early, None], np.array([0, 1, 0, 0]))
