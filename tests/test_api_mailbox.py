"""read_mailbox / load_mailbox: exact frames, and the nothing-lost accounting."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pandas as pd
import pytest

import analyzer
from analyzer.frames.received import MESSAGES
from analyzer.sources.mailbox import Progress

DATA = Path(__file__).parent / "data" / "mailboxes"
SAMPLE = Path(__file__).parent.parent / "sample_data" / "mailboxes" / "real-writers.mbox"

# received-formats.md §3.1 (ARCH-USRP@4aa1de6e9b70) and §3.4 (ARCH-OBMC@a46b8d32fb48).
OLD_POSTFIX = (
    "Received: from [149.139.33.244] (hydra-pc.ifac.cnr.it [149.139.33.244])\n"
    "\t(using TLSv1 with cipher AES128-SHA (128/128 bits))\n"
    "\t(No client certificate requested)\n"
    "\tby mailsrv.ifac.cnr.it (Postfix) with ESMTP id E7900905006C\n"
    "\tfor <usrp-users@lists.ettus.com>; Fri,  2 Feb 2024 09:21:54 +0100 (CET)\n"
)
EXCHANGE_PLAIN = (
    "Received: from localhost.localdomain (211.20.1.79) by\n"
    " SG1PEPF000082E4.mail.protection.outlook.com (10.167.240.7) with Microsoft\n"
    " SMTP Server id 15.20.8398.14 via Frontend Transport; Fri, 7 Feb 2025 06:51:59\n"
    " +0000\n"
)


def _mbox(*messages: str) -> bytes:
    out = []
    for n, headers in enumerate(messages):
        out.append(
            f"From sender@example.org Mon Jan  1 00:00:0{n} 2024\n{headers}"
            f"Message-ID: <m{n}@example.org>\nFrom: A <a@Example.ORG>\n\nbody\n\n"
        )
    return "".join(out).encode()


def test_two_messages_exact_frames(tmp_path: Path) -> None:
    box = tmp_path / "a.mbox"
    box.write_bytes(_mbox(OLD_POSTFIX, EXCHANGE_PLAIN, ""))
    r = analyzer.load_mailbox(box)
    assert (r.messages_read, r.messages_lost, r.headers_read, r.headers_lost) == (3, 0, 2, 0)
    hops = r.hops[["hop", "role", "dialect", "evidence", "encrypted", "tls_version", "cipher"]]
    assert hops.astype(object).where(hops.notna(), None).values.tolist() == [
        # hydra-pc.ifac.cnr.it to mailsrv.ifac.cnr.it: one organisation, so internal
        [1, "internal", "postfix", "tls", True, "TLSv1.0", "TLS_RSA_WITH_AES_128_CBC_SHA"],
        [1, "boundary", "exchange", "plaintext", False, None, None],
    ]
    m = r.messages
    assert list(m.columns) == MESSAGES.names
    assert m["status"].tolist() == ["ok", "ok", "no-evidence"]
    assert m["sender_domain"].tolist() == ["example.org"] * 3
    assert m["encrypted_inside"].tolist() == [True, False, pd.NA]
    assert m["n_plaintext"].tolist() == [0, 1, 0]
    assert r.issues.empty


def test_read_mailbox_and_messages_agree_with_load(tmp_path: Path) -> None:
    box = tmp_path / "a.mbox.gz"
    box.write_bytes(gzip.compress(_mbox(OLD_POSTFIX, EXCHANGE_PLAIN)))
    hops = analyzer.read_mailbox(str(box))
    assert len(hops) == 2
    msgs = analyzer.messages(hops)
    assert msgs["hop_count"].tolist() == [1, 1]
    assert msgs["boundary_evidence"].astype(object).tolist()[1] == "plaintext"
    assert pd.isna(msgs["boundary_evidence"].iloc[0])  # no boundary: all inside cnr.it
    assert msgs["encrypted_inside"].tolist() == [True, False]


def test_one_megabyte_header_is_an_issue_and_the_message_survives(tmp_path: Path) -> None:
    huge = "Received: from a by b with ESMTPS id " + "x" * 1_000_000 + "; Mon, 1 Jan 2024\n"
    box = tmp_path / "big.mbox"
    box.write_bytes(_mbox(huge + OLD_POSTFIX))
    r = analyzer.load_mailbox(box)
    assert (r.messages_read, r.headers_read, r.headers_lost) == (1, 1, 1)
    assert r.issues[["unit", "kind"]].values.tolist() == [["header", "oversized"]]
    assert r.messages["received_headers"].tolist() == [2]
    assert r.hops["evidence"].tolist() == ["tls"]


def test_header_block_over_the_source_cap_is_cut_and_said(tmp_path: Path) -> None:
    huge = "Received: from a by b with ESMTPS id " + "x" * (1 << 20) + "; Mon, 1 Jan 2024\n"
    box = tmp_path / "bigger.mbox"
    box.write_bytes(_mbox(huge + OLD_POSTFIX))
    r = analyzer.load_mailbox(box)
    assert (r.messages_read, r.messages_lost, r.headers_read, r.headers_lost) == (1, 0, 0, 1)
    assert r.issues["reason"].tolist() == [
        "Received header 1 (from the top) is 1048566 characters, over the 65536 limit: not parsed",
        "header block longer than 1048576 bytes; cut there",
    ]


def test_every_fixture_message_is_read_or_an_issue() -> None:
    r = analyzer.load_mailbox(DATA)
    assert r.messages_read == len(r.messages)
    assert r.headers_read == len(r.hops)
    received = int(r.messages["received_headers"].sum())
    assert received == r.headers_read + r.headers_lost
    assert r.messages_lost == int((r.issues["unit"] == "message").sum())


def test_sample_data_reads_cleanly() -> None:
    r = analyzer.load_mailbox(SAMPLE)
    assert (r.messages_read, r.messages_lost, r.headers_read, r.headers_lost) == (44, 0, 45, 0)
    assert r.issues.empty
    counts = r.hops["evidence"].value_counts().to_dict()
    assert counts == {"tls": 38, "tls-keyword": 4, "plaintext": 1, "unknown": 2}


def test_a_sendmail_access_map_is_not_a_message() -> None:
    from analyzer.sources.kinds import InputKind, detect_kind

    access = b"Connect:127\tRELAY\nFrom:client.lab.test\tOK\nTLS_Srv:127.0.0.41\tVERIFY\n"
    assert detect_kind(access, False) is InputKind.OTHER
    real = b"From: A <a@example.org>\nSubject: x\n\nbody\n"
    assert detect_kind(real, False) is InputKind.EML


def test_parallel_ranges_give_the_same_frames(monkeypatch: pytest.MonkeyPatch) -> None:
    import analyzer.api as api

    monkeypatch.setattr(api, "PARALLEL_MIN", 1)  # split even the small sample mbox
    one = analyzer.load_mailbox(SAMPLE, workers=1)
    many = analyzer.load_mailbox(SAMPLE, workers=3)
    pd.testing.assert_frame_equal(one.hops, many.hops)
    pd.testing.assert_frame_equal(one.messages, many.messages)
    pd.testing.assert_frame_equal(one.issues, many.issues)
    assert (many.messages_read, many.headers_read) == (44, 45)


def test_parallel_ranges_stream_many_chunks_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import analyzer.api as api

    # 60 copies of the sample: 2,700 hops, more than one 2,048-row chunk per worker; then a
    # directory of .eml files, read whole, after the split mbox
    big = tmp_path / "big.mbox"
    big.write_bytes(SAMPLE.read_bytes() * 60)
    emls = DATA / "eml-tree"
    monkeypatch.setattr(api, "PARALLEL_MIN", 1)
    seen: list[tuple[int, int, int]] = []

    def note(p: Progress) -> None:
        seen.append((p.files_done, p.files_total, p.messages))

    one = analyzer.load_mailbox([big, emls], workers=1)
    many = analyzer.load_mailbox([big, emls], workers=3, progress=note)
    pd.testing.assert_frame_equal(one.hops, many.hops)
    pd.testing.assert_frame_equal(one.messages, many.messages)
    pd.testing.assert_frame_equal(one.issues, many.issues)
    assert (many.messages_read, many.headers_read) == (60 * 44 + 3, 60 * 45 + 3)
    # the ranges of the mbox as this process finishes them (messages growing), then the
    # whole file: the first of two inputs done
    split = seen[: seen.index((1, 2, 60 * 44)) + 1]
    assert [s[:2] for s in split[:-1]] == [(0, 2)] * (len(split) - 1)
    assert len(split) >= 2
    counts = [s[2] for s in split]
    assert counts == sorted(counts)
    assert counts[0] > 0


def test_a_failing_worker_is_an_error_not_a_short_frame(monkeypatch: pytest.MonkeyPatch) -> None:
    import analyzer.api as api

    real = api.iter_mbox_range
    here = os.getpid()

    def broken(path: str, start: int, end: int) -> object:
        if os.getpid() != here:  # only in the workers
            raise OSError("disk went away")
        return real(path, start, end)

    monkeypatch.setattr(api, "PARALLEL_MIN", 1)
    monkeypatch.setattr(api, "iter_mbox_range", broken)
    with pytest.raises(
        RuntimeError, match=r"(?s)reading a part of the mailbox failed: .*disk went away"
    ):
        analyzer.load_mailbox(SAMPLE, workers=3)


def test_byte_ranges_partition_the_messages() -> None:
    from analyzer.sources.mailbox import iter_mbox_range, iter_messages, mbox_ranges

    for name in ("takeout.mbox", "crlf.mbox", "mboxrd.mbox", "broken/truncated.mbox"):
        path = DATA / name
        whole = list(iter_messages([path]))
        for parts in (2, 5, 40):
            ranges = mbox_ranges(path, parts)
            assert ranges is not None
            assert [r for s, e in ranges for r in iter_mbox_range(path, s, e)] == whole
    assert mbox_ranges(DATA / "takeout.mbox.gz", 2) is None  # compressed: streamed whole


def test_a_parser_bug_loses_one_header_not_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from analyzer.received.template import ReceivedParser

    real = ReceivedParser.parse

    def flaky(self: ReceivedParser, value: str) -> object:
        if "mailsrv.ifac.cnr.it" in value:
            raise RuntimeError("boom")
        return real(self, value)

    monkeypatch.setattr(ReceivedParser, "parse", flaky)
    box = tmp_path / "a.mbox"
    box.write_bytes(_mbox(OLD_POSTFIX, EXCHANGE_PLAIN))
    r = analyzer.load_mailbox(box)
    assert (r.messages_read, r.headers_read, r.headers_lost) == (2, 1, 1)
    assert r.issues[["unit", "kind"]].values.tolist() == [["header", "parser-bug"]]
    assert r.issues["reason"].iloc[0].endswith("RuntimeError('boom')")
