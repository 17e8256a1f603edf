"""Mailbox sources on real-layout fixtures (tests/data/mailboxes, built by build.py there)."""

from __future__ import annotations

import bz2
import gzip
import importlib.util
import io
import lzma
import os
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyzer.model import IssueKind, ParseIssue, RawMessage
from analyzer.received.headerblock import split_headers
from analyzer.sources import scan
from analyzer.sources.kinds import (
    InputKind,
    detect_kind,
    is_bare_separator,
    is_field_line,
    is_separator_line,
)
from analyzer.sources.mailbox import Progress, detect_path_kind, iter_messages
from analyzer.sources.scan import Limits

DATA = Path(__file__).parent / "data" / "mailboxes"
_spec = importlib.util.spec_from_file_location("mailbox_fixtures", DATA / "build.py")
assert _spec is not None
assert _spec.loader is not None
fx = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fx)


def unfolded(header: str) -> str:
    """The value of a fixture header as split_headers must give it."""
    return header.split(":", 1)[1].replace("\r\n", "").replace("\n", "").strip()


def read(
    *inputs: str | Path | BinaryIO,
    limits: Limits | None = None,
    progress: Callable[[Progress], None] | None = None,
) -> list[RawMessage | ParseIssue]:
    paths = [str(i) if isinstance(i, Path) else i for i in inputs]
    return list(iter_messages(paths, limits=limits, progress=progress))


def summary(records: list[RawMessage | ParseIssue]) -> list[tuple[object, ...]]:
    out: list[tuple[object, ...]] = []
    for r in records:
        if isinstance(r, RawMessage):
            out.append(("msg", r.position, r.truncated, split_headers(r.headers).received))
        else:
            out.append(("issue", r.position, r.kind, r.unit))
    return out


# --- mbox layouts -------------------------------------------------------------------------


def test_takeout_mbox_exact_messages() -> None:
    path = DATA / "takeout.mbox"
    records = read(path)
    assert [(type(r).__name__, r.origin, r.position) for r in records] == [
        ("RawMessage", str(path), 0),
        ("RawMessage", str(path), 5605),
        ("RawMessage", str(path), 6397),
    ]
    fields = [split_headers(r.headers) for r in records if isinstance(r, RawMessage)]
    assert fields[0].received == (
        "from mail-sor-f65.google.com (mail-sor-f65.google.com. [209.85.220.65])"
        "        by mx.google.com with SMTPS id z4-v6sor3890102lfh.21.2018.10.16.10.44.19"
        "        for <linux-mm@kvack.org>        (Google Transport Security);"
        "        Tue, 16 Oct 2018 10:44:20 -0700 (PDT)",
        unfolded(fx.R_GMAIL),
    )
    # the attached message/rfc822 part has its own Received (R_SUSE_3DES): never read
    assert all("suse" not in r for f in fields for r in f.received)
    assert fields[0].subject == "Grüße with a forwarded message"
    assert fields[1].received == (unfolded(fx.R_EXIM_NEW), unfolded(fx.R_EXIM_OLD))
    assert fields[2].received == ()  # a sent item: no evidence, still a message
    assert fields[2].message_id == "<takeout-3@example.org>"
    raw = path.read_bytes()
    assert raw[5605:].startswith(fx.SEP_TAKEOUT_OLD.encode())
    assert b"\nFrom the old days" in raw
    assert b"\nFrom - is not a date" in raw


def test_thunderbird_mbox() -> None:
    records = read(DATA / "thunderbird.mbox")
    assert summary(records) == [
        ("msg", 0, False, (unfolded(fx.R_POSTFIX_LRZ),)),
        ("msg", 488, False, tuple(unfolded(h) for h in (fx.R_EXCHANGE, fx.R_PPS, fx.R_PPS_FILTER))),
        ("msg", 1475, False, (unfolded(fx.R_OPENSMTPD),)),
    ]


def test_mboxrd_quoted_from_lines_stay_in_the_body() -> None:
    records = read(DATA / "mboxrd.mbox")
    assert summary(records) == [
        ("msg", 0, False, (unfolded(fx.R_CYRUS),)),
        ("msg", 374, False, (unfolded(fx.R_POSTFIX_OLD),)),
    ]
    assert b"\n>From the archive" in (DATA / "mboxrd.mbox").read_bytes()


def test_dateless_separators_in_context() -> None:
    records = read(DATA / "dateless.mbox")
    raw = (DATA / "dateless.mbox").read_bytes()
    two = raw.index(b"\nFrom \n") + 1
    three = raw.index(fx.SEP_TBIRD.encode())
    four = raw.index(b"From MAILER-DAEMON")
    assert summary(records) == [
        ("msg", 0, False, (unfolded(fx.R_CYRUS),)),
        ("msg", two, False, (unfolded(fx.R_POSTFIX_OLD),)),
        ("msg", three, False, (unfolded(fx.R_OPENSMTPD),)),
        ("msg", four, False, (unfolded(fx.R_EXCH_TLS),)),
    ]
    assert (two, three, four) == (216, 563, 776)


def test_crlf_mbox() -> None:
    records = read(DATA / "crlf.mbox")
    assert summary(records) == [
        ("msg", 0, False, (unfolded(fx.R_SENDMAIL),)),
        ("msg", 476, False, (unfolded(fx.R_EXCH_TLS),)),
    ]
    first = records[0]
    assert isinstance(first, RawMessage)
    assert first.headers.startswith(b"Received: from mail-io1-f72.google.com (mail-io1-f72")
    assert first.headers.endswith(b"Subject: CRLF line ends\r\n")
    assert split_headers(first.headers).received[0] == (
        "from mail-io1-f72.google.com (mail-io1-f72.google.com [209.85.166.72])"
        " by sendprodmail11.cc.columbia.edu (8.14.4/8.14.4) with ESMTP id 10JIN9NW033531"
        " (version=TLSv1/SSLv3 cipher=AES128-GCM-SHA256 bits=128 verify=NOT)"
        " for <usrp-users@lists.ettus.com>; Tue, 19 Jan 2021 13:23:10 -0500"
    )


def test_gzip_mbox_gives_the_same_records_as_the_plain_one() -> None:
    plain = read(DATA / "takeout.mbox")
    packed = read(DATA / "takeout.mbox.gz")
    assert summary(packed) == summary(plain)
    assert {r.origin for r in packed} == {str(DATA / "takeout.mbox.gz")}


@pytest.mark.parametrize("compress", [gzip.compress, bz2.compress, lzma.compress], ids=["gz", "bz2", "xz"])
def test_compressed_streams_and_concatenated_members(compress: object) -> None:
    raw = (DATA / "thunderbird.mbox").read_bytes()
    packed = compress(raw) + compress(raw)  # type: ignore[operator]
    records = read(io.BytesIO(packed))
    n = len(raw)
    assert [r.position for r in records] == [0, 488, 1475, n, n + 488, n + 1475]
    assert {r.origin for r in records} == {"<stream>"}


def test_stdin_is_read_as_a_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = (DATA / "crlf.mbox").read_bytes()

    class FakeStdin:
        buffer = io.BufferedReader(io.BytesIO(raw))

    monkeypatch.setattr("sys.stdin", FakeStdin)
    records = read("-")
    assert [(r.origin, r.position) for r in records] == [("-", 0), ("-", 476)]
    assert summary(records) == summary(read(DATA / "crlf.mbox"))


def test_stream_window_equals_mmap_at_every_chunk_size(monkeypatch: pytest.MonkeyPatch) -> None:
    expected = {p: summary(read(DATA / p)) for p in ("takeout.mbox", "thunderbird.mbox")}
    for chunk in (1, 2, 5, 6, 7, 64, 1000):
        monkeypatch.setattr(scan, "CHUNK", chunk)
        for name, want in expected.items():
            got = summary(read(io.BytesIO((DATA / name).read_bytes())))
            assert got == want, (name, chunk)


# --- directories, single messages, Outlook ----------------------------------------------


def test_maildir_reads_cur_and_new_and_maildirpp_folders_not_tmp() -> None:
    root = DATA / "maildir"
    assert detect_path_kind(root) is InputKind.MAILDIR
    records = read(root)
    assert [(r.origin, r.position) for r in records] == [
        (str(root / "cur" / "1700000000.M1P1.host:2,S"), 0),
        (str(root / "new" / "1700000001.M2P2.host"), 0),
        (str(root / ".Sent" / "cur" / "1700000003.M4P4.host:2,S"), 0),
    ]
    assert summary(records) == [
        ("msg", 0, False, (unfolded(fx.R_POSTFIX_OLD),)),
        ("msg", 0, False, (unfolded(fx.R_EXCH_PLAIN),)),
        ("msg", 0, False, ()),
    ]


def test_eml_tree_recursive_with_a_foreign_file() -> None:
    root = DATA / "eml-tree"
    records = read(root)
    assert [(type(r).__name__, r.origin) for r in records] == [
        ("RawMessage", str(root / "a.eml")),
        ("RawMessage", str(root / "sub" / "b.eml")),
        ("ParseIssue", str(root / "sub" / "notes.txt")),
        ("RawMessage", str(root / "sub" / "deeper" / "c.eml")),
    ]
    issue = records[2]
    assert isinstance(issue, ParseIssue)
    assert (issue.kind, issue.unit) == (IssueKind.MALFORMED, "file")
    assert summary([records[1]]) == [("msg", 0, False, (unfolded(fx.R_SUSE_3DES),))]


def test_outlook_msg_transport_headers_and_draft() -> None:
    records = read(DATA / "outlook")
    assert [(type(r).__name__, Path(r.origin).name) for r in records] == [
        ("RawMessage", "draft.msg"),
        ("RawMessage", "received.msg"),
    ]
    draft, received = records
    assert isinstance(draft, RawMessage)
    assert draft.headers == b""
    assert not draft.truncated
    assert isinstance(received, RawMessage)
    fields = split_headers(received.headers)
    assert fields.received == (unfolded(fx.R_EXCHANGE), unfolded(fx.R_EXCH_TLS))
    assert fields.message_id == "<msg-1@example.org>"
    # the same file from a stream (stdin-like) gives the same header block
    again = read(io.BytesIO((DATA / "outlook" / "received.msg").read_bytes()))
    assert isinstance(again[0], RawMessage)
    assert again[0].headers == received.headers


# --- broken input: nothing lost, nothing raised ------------------------------------------


def issue_of(records: list[RawMessage | ParseIssue]) -> tuple[IssueKind, str, str]:
    assert len(records) == 1
    assert isinstance(records[0], ParseIssue)
    return records[0].kind, records[0].unit, records[0].reason


def test_pst_is_refused_with_a_converter() -> None:
    kind, unit, reason = issue_of(read(DATA / "broken" / "store.pst"))
    assert (kind, unit) == (IssueKind.UNSUPPORTED, "file")
    assert "readpst -r" in reason


def test_junk_and_foreign_ole_files_are_file_issues() -> None:
    assert issue_of(read(DATA / "broken" / "junk.bin"))[:2] == (IssueKind.MALFORMED, "file")
    kind, unit, reason = issue_of(read(DATA / "broken" / "not-outlook.ole"))
    assert (kind, unit) == (IssueKind.MALFORMED, "file")
    assert "not an Outlook item" in reason


def test_missing_path_is_an_issue_not_an_exception(tmp_path: Path) -> None:
    kind, unit, reason = issue_of(read(tmp_path / "nope.mbox"))
    assert (kind, unit) == (IssueKind.UNREADABLE, "file")
    assert "No such file" in reason


def test_unlistable_directory_is_an_issue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a.eml").write_bytes((DATA / "eml-tree" / "a.eml").read_bytes())
    locked = tmp_path / "locked"
    locked.mkdir()
    real_scandir = os.scandir

    def scandir(path: str) -> object:
        if os.fspath(path) == str(locked):
            raise PermissionError(13, "Permission denied", str(locked))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)  # what os.walk lists directories with
    records = read(tmp_path)
    assert [(type(r).__name__, r.origin) for r in records] == [
        ("RawMessage", str(tmp_path / "a.eml")),
        ("ParseIssue", str(locked)),
    ]
    assert records[1].reason == "cannot list: Permission denied"  # type: ignore[union-attr]


def test_one_bare_input_is_not_iterated_character_by_character() -> None:
    records = list(iter_messages(str(DATA / "mboxrd.mbox")))
    assert [r.position for r in records] == [0, 374]


def test_truncated_mbox_keeps_the_cut_message_and_says_so() -> None:
    records = read(DATA / "broken" / "truncated.mbox")
    assert summary(records) == [
        ("msg", 0, False, (unfolded(fx.R_CYRUS),)),
        ("msg", 374, True, (unfolded(fx.R_POSTFIX_OLD[:120]),)),
        ("issue", 374, IssueKind.TRUNCATED, "header"),
    ]
    assert records[2].reason.startswith("the input ends inside the header block")  # type: ignore[union-attr]


def test_header_block_running_into_the_next_separator() -> None:
    records = read(DATA / "broken" / "runs-into-next.mbox")
    assert summary(records) == [
        ("msg", 0, True, (unfolded(fx.R_CYRUS),)),
        ("issue", 0, IssueKind.TRUNCATED, "header"),
        ("msg", 205, False, (unfolded(fx.R_OPENSMTPD),)),
    ]
    assert records[1].reason.startswith("the next message begins inside")  # type: ignore[union-attr]


def test_nul_bytes_and_invalid_utf8_are_kept_as_bytes() -> None:
    (nul,) = read(DATA / "broken" / "nul.mbox")
    assert isinstance(nul, RawMessage)
    assert b"mur\x00der" in nul.headers
    assert split_headers(nul.headers).received == (unfolded(fx.R_CYRUS).replace("murder", "mur\0der"),)
    (bad,) = read(DATA / "broken" / "bad-utf8.mbox")
    assert isinstance(bad, RawMessage)
    assert b"mur\xffder" in bad.headers
    assert b"caf\xe9" in bad.headers
    fields = split_headers(bad.headers)
    assert fields.received == (unfolded(fx.R_CYRUS).replace("murder", "mur\ufffdder"),)
    assert fields.subject == "caf\ufffd au lait"
    assert fields.encoding_errors == 2


def test_cut_gzip_yields_what_it_holds_then_an_issue() -> None:
    records = read(DATA / "broken" / "cut.mbox.gz")
    assert summary(records) == [
        ("msg", 0, False, (unfolded(fx.R_GOOGLE_INTERNAL), unfolded(fx.R_GMAIL))),
        ("issue", 3271, IssueKind.TRUNCATED, "file"),
    ]


def test_oversized_header_is_cut_at_one_mebibyte(tmp_path: Path) -> None:
    pad = b"X-Pad: " + b"a" * 70 + b"\n"
    big = fx.R_CYRUS.encode() + b"\n" + pad * 20_000 + b"\nbody\n"
    first = fx.SEP_TBIRD.encode() + b"\n"
    second = first + fx.R_OPENSMTPD.encode() + b"\n\nbody\n"
    path = tmp_path / "big.mbox"
    path.write_bytes(first + big + second)
    records = read(path)
    assert summary(records)[1:] == [
        ("issue", 0, IssueKind.OVERSIZED, "header"),
        ("msg", len(first) + len(big), False, (unfolded(fx.R_OPENSMTPD),)),
    ]
    cut = records[0]
    assert isinstance(cut, RawMessage)
    assert cut.truncated
    assert len(cut.headers) == 1 << 20
    start = time.perf_counter()
    assert split_headers(cut.headers).received == (unfolded(fx.R_CYRUS),)
    assert time.perf_counter() - start < 0.05


def test_gzip_bomb_is_stopped_quickly() -> None:
    comp = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = b"\0" * (1 << 20)
    head = fx.SEP_TBIRD.encode() + b"\n" + fx.R_CYRUS.encode() + b"\n\n"
    bomb = comp.compress(head) + b"".join(comp.compress(zeros) for _ in range(200)) + comp.flush()
    start = time.perf_counter()
    records = read(io.BytesIO(bomb))
    elapsed = time.perf_counter() - start
    assert summary(records) == [
        ("msg", 0, False, (unfolded(fx.R_CYRUS),)),
        ("issue", records[1].position, IssueKind.OVERSIZED, "file"),
    ]
    assert 32 << 20 < records[1].position < 40 << 20
    assert "200:1" in records[1].reason  # type: ignore[union-attr]
    assert elapsed < 2.0


def test_decompressed_total_cap() -> None:
    raw = (DATA / "thunderbird.mbox").read_bytes()
    records = read(io.BytesIO(gzip.compress(raw)), limits=Limits(decompressed_bytes=600))
    assert summary(records) == [
        ("msg", 0, False, (unfolded(fx.R_POSTFIX_LRZ),)),
        ("msg", 488, True, (unfolded(fx.R_EXCHANGE[:600 - 488 - 32]),)),
        ("issue", 488, IssueKind.TRUNCATED, "header"),
        ("issue", 600, IssueKind.OVERSIZED, "file"),
    ]


# --- accounting and progress -------------------------------------------------------------

MBOXES = ["takeout.mbox", "thunderbird.mbox", "mboxrd.mbox", "crlf.mbox", "dateless.mbox",
          "broken/truncated.mbox",
          "broken/runs-into-next.mbox", "broken/nul.mbox", "broken/bad-utf8.mbox"]


@pytest.mark.parametrize("name", MBOXES, ids=MBOXES)
def test_nothing_lost_every_separator_is_a_message(name: str) -> None:
    separators = expected_separators((DATA / name).read_bytes())
    records = read(DATA / name)
    messages = sum(isinstance(r, RawMessage) for r in records)
    lost = sum(isinstance(r, ParseIssue) and r.unit == "message" for r in records)
    assert messages + lost == separators


def test_progress_reports_every_file() -> None:
    seen: list[Progress] = []
    paths = [DATA / "takeout.mbox", DATA / "maildir"]
    records = read(*paths, progress=seen.append)
    sizes = (DATA / "takeout.mbox").stat().st_size + sum(
        (DATA / "maildir" / p).stat().st_size
        for p in ("cur/1700000000.M1P1.host:2,S", "new/1700000001.M2P2.host", "new/.keep",
                  ".Sent/cur/1700000003.M4P4.host:2,S", ".Sent/new/.keep")
    )
    assert len(records) == 6
    assert seen[-1] == Progress(files_done=6, files_total=6, bytes_done=sizes, bytes_total=sizes,
                                messages=6)
    assert [p.files_done for p in seen] == [1, 2, 3, 4, 5, 6]


# --- detection -----------------------------------------------------------------------------

SEPARATORS_OK = [fx.SEP_TAKEOUT, fx.SEP_TAKEOUT_OLD, fx.SEP_TAKEOUT_2025, fx.SEP_TBIRD,
                 fx.SEP_IETNG, fx.SEP_CLASSIC, fx.SEP_CLASSIC_2]
SEPARATORS_NOT = ["From the old days we kept this line unquoted (mboxo).",
                  "From - is not a date either", "From: Alice <alice@example.net>",
                  ">From stephen.marquard@uct.ac.za Sat Jan  5 09:14:16 2008",
                  "From Mon Jan 5 to Friday", "From  Sat Jan  5 09:14:16 2008",
                  "From x Sat Jan  5 09:14:16"]


@pytest.mark.parametrize("line", SEPARATORS_OK, ids=SEPARATORS_OK)
def test_real_separator_lines_are_accepted(line: str) -> None:
    assert is_separator_line(line.encode())


@pytest.mark.parametrize("line", SEPARATORS_NOT, ids=SEPARATORS_NOT)
def test_body_from_lines_are_not_separators(line: str) -> None:
    assert not is_separator_line(line.encode())


HEADS = [
    (b"From - Tue Oct 10 12:34:56 2023\nReceived: x\n", InputKind.MBOX),
    (b"\r\nFrom - Tue Oct 10 12:34:56 2023\r\n", InputKind.MBOX),
    (b"From -\nReceived: x\n", InputKind.MBOX),
    (b"From the team:\nNote: x\n", InputKind.OTHER),
    (b"Return-Path: <a@b>\nReceived: x\n\nbody", InputKind.EML),
    (b"X-Mailer: x\nX-Other: y\nDate: Mon, 1 Jan 2024\n\n", InputKind.EML),
    (b"\x1f\x8b\x08\x00", InputKind.GZIP),
    (b"BZh91AY&SY", InputKind.BZIP2),
    (b"\xfd7zXZ\x00\x00", InputKind.XZ),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00", InputKind.MSG),
    (b"!BDN\x00\x00", InputKind.PST),
    (b"PK\x03\x04", InputKind.ZIP),
    (b"Nov 24 12:00:00 mx postfix/smtpd[1]: connect from x\n", InputKind.OTHER),
    (b"#Software: Microsoft Exchange Server\r\n#Version: 15.0.0.0\r\n", InputKind.OTHER),
    (b'{"time": "2024-01-01", "msg": "x"}\n', InputKind.OTHER),
    (b"INFO: starting\nINFO: done\n", InputKind.OTHER),
    (b"", InputKind.OTHER),
]


@pytest.mark.parametrize(("head", "kind"), HEADS, ids=[repr(h[:16]) for h, _ in HEADS])
def test_detect_kind_from_content(head: bytes, kind: InputKind) -> None:
    assert detect_kind(head, False) is kind


def test_detect_kind_of_paths() -> None:
    assert detect_kind(b"", True) is InputKind.DIRECTORY
    assert detect_path_kind(DATA / "takeout.mbox.gz") is InputKind.MBOX
    assert detect_path_kind(DATA / "eml-tree") is InputKind.DIRECTORY
    assert detect_path_kind(DATA / "outlook" / "draft.msg") is InputKind.MSG
    assert detect_path_kind(DATA / "eml-tree" / "sub" / "notes.txt") is InputKind.OTHER
    assert InputKind.MBOX.is_mailbox
    assert not InputKind.OTHER.is_mailbox


# --- properties ------------------------------------------------------------------------------

LINES = st.sampled_from([b"From - Tue Oct 10 12:34:56 2023", b"From body text", b">From q",
                         b"Received: x", b" folded", b"", b"\r", b"\x00\xff", b"Subject: s",
                         b"From -", b"From ", b"From -\r", b"Subject: t\r"])


def expected_separators(data: bytes) -> int:
    """Line-by-line statement of the separator rules, to check the byte scanner against."""
    lines = [x[:-1] if x.endswith(b"\r") else x for x in data.split(b"\n")]
    count = 0
    for i, line in enumerate(lines):
        if is_separator_line(line) or (
            is_bare_separator(line)
            and (i == 0 or lines[i - 1] == b"")
            and i + 1 < len(lines)
            and is_field_line(lines[i + 1])
        ):
            count += 1
    return count


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=st.lists(LINES, max_size=40),
    chunk=st.sampled_from([1, 3, 17]),
    cap=st.sampled_from([8, 64, 4096]),
)
def test_window_and_mmap_agree_on_any_input(
    lines: list[bytes], chunk: int, cap: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    data = b"From - Tue Oct 10 12:34:56 2023\n" + b"\n".join(lines)
    path = tmp_path_factory.mktemp("p") / "x.mbox"
    path.write_bytes(data)
    limits = Limits(header_bytes=cap)
    mapped = read(path, limits=limits)
    old = scan.CHUNK
    scan.CHUNK = chunk
    try:
        streamed = read(io.BytesIO(data), limits=limits)
    finally:
        scan.CHUNK = old
    assert [(type(r), r.position, getattr(r, "headers", None)) for r in mapped] == [
        (type(r), r.position, getattr(r, "headers", None)) for r in streamed
    ]
    assert sum(isinstance(r, RawMessage) for r in mapped) == expected_separators(data)


@settings(max_examples=400, deadline=None)
@given(
    data=st.lists(st.sampled_from([b"\n", b"F", b"r", b"o", b"m", b" ", b"x", b"\nFrom "]),
                  max_size=80).map(b"".join),
    window=st.sampled_from([6, 7, 8, 13, 4096]),
    start=st.integers(0, 20),
)
def test_find_separator_equals_plain_find(data: bytes, window: int, start: int) -> None:
    old = scan._WINDOW
    scan._WINDOW = window
    try:
        got = scan.Buffer(data).find_separator(start)
    finally:
        scan._WINDOW = old
    assert got == data.find(b"\nFrom ", start)
