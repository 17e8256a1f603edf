"""The vectorised Postfix reader gives the same frames as the per-line reader.

Differential: both readers (``read_logs_result(..., vectorised=False)`` is the per-line
reference) run on every genuine lab log, every Postfix golden case, generated lines of the
benchmark's shape, and junk; events, deliveries and the line accounting must be equal.
"""

from __future__ import annotations

import importlib.util
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import pandas as pd
import pandas.testing as pdt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import analyzer.sources.logs as sources
from analyzer.api_logs import LogReadResult, read_logs_result
from analyzer.frames.fast_postfix import FastPostfix
from analyzer.logs.prefix import PrefixContext

ROOT = Path(__file__).resolve().parent.parent
LAB_LOGS = sorted(
    p for p in (ROOT / "sample_data" / "lab").glob("*/*") if p.name in ("mail.log", "mainlog")
)
GOLDEN = sorted((ROOT / "tests" / "data" / "logs").glob("*/*.json"))  # Postfix and the rest
LAB_POSTFIX = ROOT / "sample_data" / "lab" / "postfix" / "mail.log"


def _both(path: Path, timezone: str | None = None) -> tuple[LogReadResult, LogReadResult]:
    slow = read_logs_result(path, timezone=timezone, vectorised=False)
    fast = read_logs_result(path, timezone=timezone)
    return slow, fast


def assert_same(slow: LogReadResult, fast: LogReadResult) -> None:
    pdt.assert_frame_equal(fast.events, slow.events)
    pdt.assert_frame_equal(fast.deliveries, slow.deliveries)
    assert fast.counts == slow.counts
    c = fast.counts
    assert c.lines == c.parsed + c.unrelated + c.issues + c.duplicates
    assert sorted(fast.issues["position"]) == sorted(slow.issues["position"])


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_logs", ROOT / "bench" / "bench_logs.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path", LAB_LOGS, ids=[p.parent.name for p in LAB_LOGS])
def test_lab_logs(path: Path) -> None:
    slow, fast = _both(path)
    assert len(fast.events) > 250
    assert_same(slow, fast)


def test_lab_postfix_whole_figures() -> None:
    slow, fast = _both(LAB_POSTFIX)
    assert_same(slow, fast)
    c = fast.counts
    # 11 lines are the bounce daemon's "sender non-delivery notification: <qid>"
    assert (c.lines, c.parsed, c.unrelated, c.issues) == (504, 463 + 11, 27 + 14 - 11, 0)
    assert len(fast.deliveries) == 127
    assert fast.events["event"].value_counts()["delivery"] == 121
    assert fast.events["event"].value_counts()["notification"] == 11
    # each of the 11 expired messages: 7 deferred rows and the bounced one name the notice
    for frame in (fast.deliveries, slow.deliveries):
        assert ((frame["notice_queue_id"] != "").sum(), (frame["notice_of"] != "").sum()) == (
            11 * 8,
            11,
        )


@pytest.mark.parametrize("path", GOLDEN, ids=[f"{p.parent.name}/{p.stem}" for p in GOLDEN])
def test_golden_cases(path: Path, tmp_path: Path) -> None:
    case = json.loads(path.read_text(encoding="utf-8"))
    log = tmp_path / "mail.log"
    log.write_text("\n".join(case["lines"]) + "\n", encoding="utf-8")
    stamp = datetime.fromisoformat(case["reference"]).timestamp()
    os.utime(log, (stamp, stamp))
    slow, fast = _both(log, case.get("timezone"))
    assert len(slow.events) + slow.counts.unrelated + slow.counts.issues == len(case["lines"])
    assert_same(slow, fast)


def test_benchmark_shape(tmp_path: Path) -> None:
    log = tmp_path / "bench.log"
    n = _bench().build(3000, log)
    slow, fast = _both(log)
    assert n == fast.counts.lines == 3024  # six whole copies of the lab run
    assert_same(slow, fast)
    assert len(fast.deliveries) == 6 * 127  # each copy repeats the lab run's deliveries
    # every line is read by the vectorised reader, "Cannot start TLS" and "lost connection
    # after STARTTLS" included (18 of them): a block without slow lines needs no merge
    texts = log.read_text(encoding="utf-8").splitlines()
    read = FastPostfix(PrefixContext(str(log), datetime.now(UTC))).read(texts, 1)
    assert (read.events.num_rows, read.unrelated, len(read.slow)) == (2760 + 66 + 18, 180, 0)


def test_small_blocks_and_duplicates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks that end inside lines, and the same file given twice (counted as duplicates)."""
    monkeypatch.setattr(sources, "BLOCK", 1000)
    log = tmp_path / "bench.log"
    _bench().build(1200, log)
    copy = tmp_path / "copy.log"
    copy.write_bytes(log.read_bytes())
    slow = read_logs_result([log, copy], vectorised=False)
    fast = read_logs_result([log, copy])
    assert fast.counts.duplicates == fast.counts.lines // 2
    assert_same(slow, fast)


def test_junk_and_overlong_lines(tmp_path: Path) -> None:
    lines = LAB_POSTFIX.read_bytes().splitlines(keepends=True)
    junk = b"\x00\x01\x02binary\xff\xfe junk\x00\n"
    overlong = b"Nov 27 21:28:44 vm postfix/smtp[1]: " + b"x" * (sources.MAX_LINE + 10) + b"\n"
    crlf = lines[5].rstrip(b"\n") + b"\r\n"
    latin = b"Nov 27 21:28:44 vm postfix/qmgr[2]: 9A77F164183: from=<caf\xe9@x>, size=1\n"
    data = b"".join(
        [*lines[:20], junk, overlong, crlf, latin, *lines[20:], overlong[:5000], overlong[:-1]]
    )
    log = tmp_path / "mixed.log"
    log.write_bytes(data)
    slow, fast = _both(log)
    assert_same(slow, fast)
    assert fast.counts.issues == 3  # the junk line and the two overlong ones
    assert fast.counts.lines == 504 + 5  # the cut line runs on into the overlong last one


# Lines of the lab's Postfix log, mutated: cut, byte-flipped, joined with junk.
_LAB_LINES = LAB_POSTFIX.read_bytes().splitlines()
_piece = st.one_of(
    st.sampled_from(_LAB_LINES),
    st.binary(max_size=300),
    st.builds(lambda line, cut: line[:cut], st.sampled_from(_LAB_LINES), st.integers(0, 300)),
    st.builds(
        lambda line, at, byte: line[:at] + bytes([byte]) + line[at + 1 :],
        st.sampled_from(_LAB_LINES),
        st.integers(0, 200),
        st.integers(0, 255),
    ),
    st.builds(lambda n: b"Nov 27 21:28:44 vm postfix/smtp[1]: " + b"y" * n, st.integers(0, 3000)),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(pieces=st.lists(_piece, max_size=40), block=st.integers(64, 4096))
def test_fast_path_never_raises_and_agrees(
    pieces: list[bytes], block: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sources, "BLOCK", block)
    monkeypatch.setattr(sources, "MAX_LINE", 2048)  # lines over it are overlong here
    log = tmp_path / "prop.log"
    log.write_bytes(b"\n".join(pieces))
    slow, fast = _both(log)
    assert_same(slow, fast)
    assert isinstance(fast.events, pd.DataFrame)


# Real lines of the lab's Postfix log with one field stretched to each side of the longest
# length the per-line patterns accept (the vectorised patterns check those lengths after
# matching, and must hand the longer ones to the per-line reader).
_STAMP = "Nov 27 21:28:44 vm "
_LIMIT_LINES = {
    "peer-host": _STAMP + "postfix/smtp[9]: Trusted TLS connection established to {}[127.0.0.15]"
    ":25: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519",
    "kex": _STAMP + "postfix/smtp[9]: Trusted TLS connection established to 127.0.0.15[127.0.0.15]"
    ":25: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange {}",
    "cipher": _STAMP + "postfix/smtp[9]: Untrusted TLS connection established to h[127.0.0.1]"
    ":25: TLSv1.2 with cipher {} (256/256 bits)",
    "message-id": _STAMP + "postfix/cleanup[8]: 9A77F164183: message-id=<{}>",
    "recipient": _STAMP + "postfix/smtp[7]: 9A77F164183: to=<{}>, relay=127.0.0.11[127.0.0.11]"
    ":25, delay=0.21, delays=0.05/0.01/0.07/0.07, dsn=2.0.0, status=sent (250 2.0.0 Ok)",
    "relay": _STAMP + "postfix/smtp[7]: 9A77F164183: to=<u@x.test>, relay={}[127.0.0.11]"
    ":25, delay=0.21, dsn=4.7.5, status=deferred (Server certificate not verified)",
    "sender": _STAMP + "postfix/qmgr[6]: 9A77F164183: from=<{}>, size=508, nrcpt=1 (queue active)",
    "cert-peer": _STAMP + "postfix/smtp[5]: server certificate verification failed for {}"
    "[127.0.0.42]:25: untrusted issuer /CN=Lab Test CA",
    "ssl-peer": _STAMP + "postfix/smtp[5]: SSL_connect error to {}[127.0.0.49]:25: -1",
    "host": "Nov 27 21:28:44 {} postfix/qmgr[6]: 9A77F164183: removed",
    "connect-peer": _STAMP + "postfix/smtpd[4]: disconnect from {}[127.0.0.101] ehlo=2 "
    "starttls=1 mail=1 rcpt=1 data=1 quit=1 commands=7",
    "connect-rest": _STAMP + "postfix/smtpd[4]: disconnect from unknown[127.0.0.106]{} ehlo=1 "
    "starttls=0/1 commands=1/2",
    "client-peer": _STAMP + "postfix/smtpd[4]: 9A77F164183: client={}[127.0.0.101]",
    "program": "Nov 27 21:28:44 vm postfix/{}[6]: 9A77F164183: removed",
}
_LIMITS = {
    "peer-host": 255, "kex": 64, "cipher": 128, "message-id": 998, "recipient": 1024,
    "relay": 400 - len("[127.0.0.11]:25"), "sender": 1024, "cert-peer": 255, "ssl-peer": 255,
    "host": 255, "program": 128 - len("postfix/"), "connect-peer": 255,
    "connect-rest": 400 - len(" ehlo=1 starttls=0/1 commands=1/2"), "client-peer": 255,
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(_LIMIT_LINES))
def test_fields_at_their_length_limits(name: str, tmp_path: Path) -> None:
    limit = _LIMITS[name]
    template = _LIMIT_LINES[name]
    lines = [template.format("a" * n) for n in (limit - 1, limit, limit + 1, limit + 40)]
    log = tmp_path / "limits.log"
    log.write_text("\n".join(lines) + "\n", encoding="ascii")
    slow, fast = _both(log)
    assert_same(slow, fast)
    assert slow.counts.parsed + slow.counts.unrelated + slow.counts.issues == 4
    assert list(slow.events["line"])[:2] == [1, 2]  # up to the limit, the line is read


def test_block_starting_with_compression_magic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A junk line that begins a block is a line, not the start of a gzip or zstd stream."""
    monkeypatch.setattr(sources, "BLOCK", 1)  # every line is a block of its own
    lines = _LAB_LINES[:3]
    data = b"\n".join([lines[0], b"\x1f\x8b\x08\x00junk", b"\x28\xb5\x2f\xfd", *lines[1:]])
    log = tmp_path / "magic.log"
    log.write_bytes(data + b"\n")
    slow, fast = _both(log)
    assert_same(slow, fast)
    assert (fast.counts.lines, fast.counts.issues) == (5, 2)


@pytest.mark.parametrize("block", [700, 8192, 65536])
def test_benchmark_shape_at_block_sizes(
    block: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The correlator's state (sessions, queue ids, attempts) carries across block ends."""
    monkeypatch.setattr(sources, "BLOCK", block)
    log = tmp_path / "bench.log"
    assert _bench().build(5000, log) == 5040  # ten whole copies of the lab run
    slow, fast = _both(log)
    assert_same(slow, fast)
    assert len(fast.deliveries) == 10 * 127
    found = fast.deliveries
    assert found["outcome"].value_counts().to_dict() == dict(
        slow.deliveries["outcome"].value_counts().to_dict()
    )
    assert int(found["fallback"].sum()) == 10 * int(
        _both(LAB_POSTFIX)[1].deliveries["fallback"].sum()
    )


@pytest.mark.parametrize("path", LAB_LOGS, ids=[p.parent.name for p in LAB_LOGS])
def test_lab_logs_in_small_blocks(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sources, "BLOCK", 2048)
    slow, fast = _both(path)
    assert_same(slow, fast)


# A good inbound session, then the close of the same smtpd process logged as errors: the
# session line is the lab's (sample_data/lab/postfix/mail.log); the error texts are the
# OpenSSL 3 "unexpected eof" (log-formats.md §2.1.3, amazonlinux/amazon-linux-2023#884)
# and tls_server.c's "SSL_accept error from %s: lost connection".
_NOISE_LINES = [
    "2026-11-27T21:28:45.480879+00:00 vm postfix/smtpd[29356]: Anonymous TLS connection "
    "established from unknown[127.0.0.101]: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 "
    "(256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256",
    "2026-11-27T21:28:45.500000+00:00 vm postfix/smtpd[29356]: warning: TLS library problem: "
    "error:0A000126:SSL routines::unexpected eof while reading:ssl/record/rec_layer_s3.c:336:",
    "2026-11-27T21:28:45.500001+00:00 vm postfix/smtpd[29356]: SSL_accept error from "
    "unknown[127.0.0.101]: lost connection",
    "2026-11-27T21:28:45.500002+00:00 vm postfix/smtpd[29357]: SSL_accept error from "
    "unknown[127.0.0.109]: lost connection",
]


def test_shutdown_noise_of_rows_read_by_value(tmp_path: Path) -> None:
    """TLS lines the vectorised reader feeds by value, and a failure re-read as noise."""
    log = tmp_path / "noise.log"
    log.write_text("\n".join(_NOISE_LINES) + "\n", encoding="ascii")
    read = FastPostfix(PrefixContext(str(log), datetime.now(UTC))).read(_NOISE_LINES, 1)
    assert (read.events.num_rows, read.slow) == (4, [])
    slow, fast = _both(log)
    assert_same(slow, fast)
    assert list(fast.events["event"].astype(str)) == [
        "tls-established", "tls-shutdown-noise", "tls-shutdown-noise", "tls-failed",
    ]  # fmt: skip
    assert list(fast.events["failure_category"].astype(object).fillna("-")) == [
        "-", "-", "-", "connection-lost",
    ]  # fmt: skip


def test_stamp_outside_the_frame_time_range(tmp_path: Path) -> None:
    """A mangled year (0026) is kept as a missing time in the frames, by both readers."""
    line = next(x for x in _LAB_LINES if b" message-id=<" in x).decode()
    assert line.startswith("2026-11-27T21:28:44.")
    log = tmp_path / "year.log"
    log.write_text("0" + line[1:] + "\n" + line + "\n", encoding="ascii")
    slow, fast = _both(log)
    assert_same(slow, fast)
    assert fast.events["timestamp"].isna().tolist() == [True, False]


# One block holding both stamp forms and the prefix shapes the message offset depends on:
# no pid, no space after the colon, an RFC 3339 line whose host is a level word (read as no
# host by prefix._ISO's rule), a Solaris "[ID ...]" message, and lines of one form only.
_PREFIX_SHAPES = [
    "Nov 27 21:28:44 vm postfix/qmgr[6]: 9A77F164183: removed",
    "Nov  7 21:28:44 vm postfix/qmgr: 9A77F164184: removed",
    "Nov 27 21:28:44 vm postfix/qmgr[6]:9A77F164185: removed",
    "2026-11-27T21:28:44.443482+00:00 vm postfix/qmgr[6]: 9A77F164186: removed",
    "2026-11-27T21:28:44+0000 vm postfix/qmgr: 9A77F164187: removed",
    "2026-11-27T21:28:44Z WARNING postfix/qmgr[6]: 9A77F164188: removed",
    "Nov 27 21:28:44 vm postfix/qmgr[6]: [ID 197553 mail.info] 9A77F164189: removed",
    "Nov 27 21:28:44 vm postfix/qmgr[6]:  9A77F16418A: removed",
]


@pytest.mark.parametrize(
    "lines",
    [_PREFIX_SHAPES, _PREFIX_SHAPES[:3] + _PREFIX_SHAPES[6:], _PREFIX_SHAPES[3:6]],
    ids=["mixed", "rfc3164-only", "rfc3339-only"],
)
def test_prefix_shapes_in_one_block(lines: list[str], tmp_path: Path) -> None:
    log = tmp_path / "prefixes.log"
    log.write_text("\n".join(lines) + "\n", encoding="ascii")
    slow, fast = _both(log)
    assert_same(slow, fast)
    read = FastPostfix(PrefixContext("x", datetime(2026, 11, 28, tzinfo=UTC), UTC)).read(lines, 1)
    taken = read.events["queue_id"].to_pylist()
    expected = {
        "Nov 27 21:28:44 vm postfix/qmgr[6]: 9A77F164183: removed": "9A77F164183",
        "Nov  7 21:28:44 vm postfix/qmgr: 9A77F164184: removed": "9A77F164184",
        "Nov 27 21:28:44 vm postfix/qmgr[6]:9A77F164185: removed": "9A77F164185",
        "2026-11-27T21:28:44.443482+00:00 vm postfix/qmgr[6]: 9A77F164186: removed": (
            "9A77F164186"
        ),
        "2026-11-27T21:28:44+0000 vm postfix/qmgr: 9A77F164187: removed": "9A77F164187",
    }
    assert taken == [expected[x] for x in lines if x in expected]
    # The level-word and "[ID" lines go to the per-line reader; a queue id after two spaces
    # is no queue id (postfix._QID), so that line says nothing the reader uses.
    unrelated = [x for x in lines if ":  " in x]
    assert [lines[i] for i in read.slow] == [
        x for x in lines if x not in expected and x not in unrelated
    ]
    assert read.unrelated == len(unrelated)


def test_impossible_zone_offset(tmp_path: Path) -> None:
    """A damaged offset (+30:00) neither crashes a reader nor the ordering of rotated files:
    both readers give the line a missing time."""
    line = next(x for x in _LAB_LINES if b" message-id=<" in x).decode()
    log = tmp_path / "zone.log"
    log.write_text(line.replace("+00:00", "+30:00", 1) + "\n" + line + "\n", encoding="ascii")
    slow, fast = _both(log)
    assert_same(slow, fast)
    assert fast.events["timestamp"].isna().tolist() == [True, False]
