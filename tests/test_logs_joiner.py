"""Exim's split syslog lines joined, and gap lines marked, in both readers.

Inputs and their provenance: tests/data/logs/assembly/README.md.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pandas.testing as pdt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import analyzer.sources.logs as sources
from analyzer.analysis import analyze
from analyzer.api_logs import LineCounts, LogReadResult, iter_events, read_logs_result
from analyzer.logs import joiner
from analyzer.logs.joiner import Assembler, Logical
from analyzer.logs.prefix import PrefixContext
from analyzer.logs.registry import read_line
from analyzer.model.common import IssueKind, ParseIssue, clip
from analyzer.model.logs import TlsEvent
from analyzer.report import html, jsonout, markdown, text
from bench.bench_log_lines_worst import ASSEMBLER_LINES

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "logs" / "assembly"
MAINLOG = (ROOT / "sample_data" / "lab" / "exim" / "mainlog").read_text().splitlines()
MAX_SYSLOG_LEN = 870  # Exim src/src/log.c
PREFIX = "Nov 27 21:33:20 mta exim[{pid}]: "
_END = {True: "\\", False: "/"}  # log.c: a backslash for a piece that ended at a newline
CTX = PrefixContext("t", datetime(2026, 12, 1, tzinfo=UTC))


def exim_syslog(message: str, pid: int = 16218) -> list[str]:
    """The syslog lines Exim's ``write_syslog`` (src/src/log.c) makes of ``message``: pieces
    cut at newlines and every ``MAX_SYSLOG_LEN`` characters, marked ``[%d%c%d] `` when more
    than one, with a backslash when the piece ended at a newline and more follows."""
    pieces: list[tuple[str, bool]] = []
    rest = message
    while rest:
        nl = rest.find("\n")
        plen = min(len(rest) if nl < 0 else nl, MAX_SYSLOG_LEN)
        after = rest[plen:]
        at_newline = after.startswith("\n")
        pieces.append((rest[:plen], at_newline and len(after) > 1))
        rest = after[1:] if at_newline else after
    head = PREFIX.format(pid=pid)
    if len(pieces) == 1:
        return [head + pieces[0][0]]
    m = len(pieces)
    return [f"{head}[{i}{_END[back]}{m}] {text}" for i, (text, back) in enumerate(pieces, 1)]


def _lab(flag: str) -> str:
    """The message of the first lab line with ``flag`` and TLS, without Exim's time stamp
    (what Exim sends to syslog with ``syslog_timestamp = false``)."""
    line = next(x for x in MAINLOG if f" {flag} " in x and " X=TLS" in x)
    return line[20:]  # "2026-11-27 21:33:20 "


def arrival() -> str:
    """The lab ``<=`` line with its ``id=`` lengthened past two syslog parts."""
    msg = _lab("<=")
    mid = msg.rpartition(" id=")[2]
    return msg + "".join(f".{mid.partition('@')[0]}" for _ in range(12)) + "@mta.lab.test"


def delivery() -> str:
    """The lab ``=>`` line with its ``DN=`` lengthened past three syslog parts."""
    msg = _lab("=>")
    return msg.replace('DN="O=mailtls lab,', 'DN="O=mailtls lab,' + "OU=mailtls lab," * 120)


def _write(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def _both(path: Path | list[Path]) -> tuple[LogReadResult, LogReadResult]:
    return read_logs_result(path, vectorised=False), read_logs_result(path)


def _by_line(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` in line order: a joined line's event comes when its last part is read."""
    return _sorted(frame, ["source", "line"])


def _sorted(frame: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    return frame.sort_values(key, kind="stable").reset_index(drop=True)


def _agree(slow: LogReadResult, fast: LogReadResult) -> LineCounts:
    pdt.assert_frame_equal(_by_line(fast.events), _by_line(slow.events))
    # the two readers feed a joined line at its last part (per line) or among its block's
    # lines by its first part's number (vectorised): the same deliveries, maybe reordered
    key = ["timestamp", "mta", "queue_id", "recipient_domain"]
    pdt.assert_frame_equal(_sorted(fast.deliveries, key), _sorted(slow.deliveries, key))
    assert fast.counts == slow.counts
    c = fast.counts
    assert c.lines == c.parsed + c.unrelated + c.issues + c.duplicates
    pdt.assert_frame_equal(fast.issues, slow.issues)
    return c


def _reference(text: str, line_no: int, origin: str) -> TlsEvent:
    """The event of the unsplit syslog line, numbered as the joined one."""
    _, event = read_line(text, CTX, line_no)
    assert isinstance(event, TlsEvent)
    return dataclasses.replace(event, origin=origin)


def test_the_lab_lines_need_splitting() -> None:
    assert [len(exim_syslog(arrival())), len(exim_syslog(delivery()))] == [2, 3]
    parts = exim_syslog(delivery())
    assert parts[0].startswith("Nov 27 21:33:20 mta exim[16218]: [1/3] 1xX3ZH-0004GM-31 => ")
    assert [p.partition("] ")[2].__len__() for p in parts[:2]] == [870, 870]


def test_split_arrival_and_delivery_are_one_event_each(tmp_path: Path) -> None:
    postfix = next(x for x in (ROOT / "sample_data/lab/postfix/mail.log").read_text().splitlines()
                   if "status=sent" in x)  # fmt: skip
    # an arrival (the receiving process) and a delivery (a delivery process): other lines
    # come between the parts, each process's parts come in order
    a, d = exim_syslog(arrival(), pid=16218), exim_syslog(delivery(), pid=16219)
    lines = [a[0], d[0], postfix, a[1], d[1], d[2]]
    path = _write(tmp_path, "mail.log", lines)
    events = list(iter_events(path))
    exim = [e for e in events if e.mta == "exim"]
    head = PREFIX.format(pid=16218)
    # whole records: each joined event is the event of the line as Exim meant it
    assert exim == [
        _reference(head + arrival(), 1, str(path)),
        _reference(PREFIX.format(pid=16219) + delivery(), 2, str(path)),
    ]
    got_a, got_d = exim
    assert (got_a.kind, got_a.queue_id, got_a.peer_ip, got_a.tls_version, got_a.bits) == (
        "received", "1xX3ZI-0004JP-2A", "127.0.0.101", "TLSv1.3", 256)  # fmt: skip
    assert got_a.message_id == arrival().rpartition(" id=")[2]
    assert len(got_a.message_id) == 766
    assert (got_d.kind, got_d.recipient, got_d.outcome, got_d.verified, got_d.detail) == (
        "delivery", "user@valid.opp.lab.test", "delivered", "yes",
        "250 2.0.0 Ok: queued as 86C1180117")  # fmt: skip
    assert got_a.raw == head + arrival()
    slow, fast = _both(path)
    assert _agree(slow, fast) == LineCounts(lines=6, parsed=6, files=1)
    assert len(fast.events) == 3
    assert list(_by_line(fast.events)["line"]) == [1, 2, 3]


def test_parts_straddle_block_boundaries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = []
    for n in range(6):
        lines += exim_syslog(delivery() if n % 2 else arrival(), pid=4000 + n)
    path = _write(tmp_path, "mail.log", lines)
    whole = read_logs_result(path)
    monkeypatch.setattr(sources, "BLOCK", 700)  # every part is cut from its neighbours
    slow, fast = _both(path)
    c = _agree(slow, fast)
    assert c == LineCounts(lines=15, parsed=15, files=1)
    assert list(fast.events["line"]) == [1, 3, 6, 8, 11, 13]
    pdt.assert_frame_equal(fast.events, whole.events)
    assert fast.issues.empty


def test_missing_out_of_order_and_unfinished_parts(tmp_path: Path) -> None:
    a, d = exim_syslog(arrival(), pid=7), exim_syslog(delivery(), pid=8)
    lines = [
        d[0], d[2],  # part 2 of 3 missing
        a[1], a[0],  # out of order
        d[0], d[1],  # the file ends before part 3
    ]  # fmt: skip
    path = _write(tmp_path, "mail.log", lines)
    slow, fast = _both(path)
    assert _agree(slow, fast) == LineCounts(lines=6, issues=6, files=1)
    assert fast.events.empty
    lead = "of an Exim syslog line split by log.c,"
    assert [(r.position, r.kind, r.reason, r.unit) for r in fast.issues.itertuples()] == [
        (1, "truncated", f"part 1 of 3 {lead} part 2 did not follow (the next part of this "
         "process was [3/3])", "line"),
        (2, "truncated", f"part 3 of 3 {lead} without the parts before it (missing, or out of "
         "order)", "line"),
        (3, "truncated", f"part 2 of 2 {lead} without the parts before it (missing, or out of "
         "order)", "line"),
        (4, "truncated", f"part 1 of 2 {lead} part 2 did not follow (the file ended)", "line"),
        (5, "truncated", f"part 1 of 3 {lead} part 3 did not follow (the file ended)", "line"),
        (6, "truncated", f"part 2 of 3 {lead} part 3 did not follow (the file ended)", "line"),
    ]  # fmt: skip
    assert list(fast.issues["raw"]) == [d[0], d[2], a[1], a[0], d[0], d[1]]


def test_parts_never_join_across_files(tmp_path: Path) -> None:
    a = exim_syslog(arrival())
    first = _write(tmp_path, "mail.log.1", ["Nov 27 21:33:19 mta exim[16218]: Start queue run: pid=1",
                                            a[0]])  # fmt: skip
    second = _write(tmp_path, "mail.log", [a[1]])
    slow, fast = _both([first, second])
    assert _agree(slow, fast) == LineCounts(lines=3, unrelated=1, issues=2, files=2)
    assert [
        (Path(o).name, p)
        for o, p in zip(fast.issues["origin"], fast.issues["position"], strict=True)
    ] == [("mail.log.1", 2), ("mail.log", 1)]


def test_two_pids_interleaved(tmp_path: Path) -> None:
    a, b = exim_syslog(delivery(), pid=101), exim_syslog(delivery(), pid=102)
    path = _write(tmp_path, "mail.log", [a[0], b[0], a[1], b[1], b[2], a[2]])
    slow, fast = _both(path)
    assert _agree(slow, fast) == LineCounts(lines=6, parsed=6, files=1)
    events = _by_line(fast.events)
    assert list(zip(events["line"], events["pid"], strict=True)) == [(1, 101), (2, 102)]
    assert list(events["raw"]) == [clip(PREFIX.format(pid=p) + delivery()) for p in (101, 102)]


def test_newline_parts_join_with_their_newline() -> None:
    # log.c marks a piece that ended at an embedded newline with a backslash
    lines = exim_syslog("1xX3ZH-0004GM-31 first line\nsecond line")
    assert lines == [
        "Nov 27 21:33:20 mta exim[16218]: [1\\2] 1xX3ZH-0004GM-31 first line",
        "Nov 27 21:33:20 mta exim[16218]: [2/2] second line",
    ]
    asm = Assembler(CTX)
    assert asm.push(1, lines[0]) == []
    assert asm.push(2, lines[1]) == [
        Logical(1, "Nov 27 21:33:20 mta exim[16218]: 1xX3ZH-0004GM-31 first line\nsecond line", 2)
    ]


def test_only_exim_tags_are_joined() -> None:
    asm = Assembler(CTX)
    assert asm.push(1, "Nov 27 21:33:20 mta other[1]: [1/2] not Exim's") is None
    assert asm.push(2, "Nov 27 21:33:20 mta exim[1]: [1/1] not log.c's numbering") is None
    assert asm.finish() == []


def test_bounded_open_split_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(joiner, "MAX_OPEN", 2)
    asm = Assembler(CTX)
    out = [asm.push(n, PREFIX.format(pid=n) + "[1/2] x") for n in (1, 2, 3)]
    assert out[:2] == [[], []]
    assert out[2] == [ParseIssue("t", 1, IssueKind.TRUNCATED, "part 1 of 2 of an Exim syslog "
                                 "line split by log.c, part 2 did not follow (over 2 split lines "
                                 "were open)", PREFIX.format(pid=1) + "[1/2] x", "line")]  # fmt: skip
    assert [i.position for i in asm.finish()] == [2, 3]
    monkeypatch.setattr(joiner, "SET_LIMIT", 100)
    big = Assembler(CTX)
    text = PREFIX.format(pid=1) + "[1/2] " + "y" * 100
    assert big.push(1, text) == [ParseIssue("t", 1, IssueKind.OVERSIZED, "part 1 of 2 of an Exim "
                                            "syslog line split by log.c, part 2 did not follow "
                                            "(over 100 characters)", text, "line")]  # fmt: skip
    assert big.finish() == []


GAP_REASONS = [
    "syslog folded 4 repeats of the previous line; they are not expanded",
    "syslog folded 3 repeats of a whoopsie line; they are not expanded",
    "rsyslog began dropping messages from pid 2918 (rate limiting)",
    "rsyslog lost 56 messages from pid 2918 (rate limiting)",
    "rsyslog imjournal began dropping messages (rate limiting)",
    "rsyslog imjournal lost 236 messages (rate limiting)",
    "journald suppressed 4150 messages from /system.slice/docker.service",
    "journald suppressed 917 messages from /",
    "journald suppressed 14515 messages from ollama.service",
    "syslog folded 2 repeats of a postfix/smtpd line; they are not expanded",
]


def test_gap_lines_are_issues_counted_once() -> None:
    path = DATA / "gaps.log"
    slow, fast = _both(path)
    assert _agree(slow, fast) == LineCounts(lines=10, issues=10, files=1)
    raw = path.read_text().splitlines()
    assert [(r.origin, r.position, r.unit, r.kind, r.reason, r.raw)
            for r in fast.issues.itertuples()] == [
        (str(path), n, "line", "gap", reason, raw[n - 1])
        for n, reason in enumerate(GAP_REASONS, 1)
    ]  # fmt: skip


def test_gap_lines_among_postfix_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the folded Postfix line would be taken by the vectorised reader as one it ignores
    lab = (ROOT / "sample_data/lab/postfix/mail.log").read_text().splitlines()[:40]
    folded = (DATA / "gaps.log").read_text().splitlines()[-1]
    path = _write(tmp_path, "mail.log", [*lab[:20], folded, *lab[20:]])
    monkeypatch.setattr(sources, "BLOCK", 1500)
    slow, fast = _both(path)
    c = _agree(slow, fast)
    assert c.lines == 41
    assert c.issues == 1
    assert list(fast.issues["position"]) == [21]
    assert list(fast.issues["kind"]) == ["gap"]


_PART = st.tuples(st.integers(1, 3), st.integers(1, 4), st.integers(1, 4), st.booleans())


@settings(max_examples=200, deadline=None)
@given(st.lists(_PART, max_size=40))
def test_every_line_is_accounted_for_once(parts: list[tuple[int, int, int, bool]]) -> None:
    asm = Assembler(CTX)
    pushed = kept = 0
    for n, (pid, i, m, back) in enumerate(parts, 1):
        text = f"{PREFIX.format(pid=pid)}[{i}{_END[back]}{m}] x{n}"
        out = asm.push(n, text)
        pushed += 1
        if out is None:
            kept += 1
            continue
        kept += sum(x.lines if isinstance(x, Logical) else 1 for x in out)
    kept += len(asm.finish())
    assert kept == pushed


def test_reports_show_gaps_apart() -> None:
    a = analyze([DATA / "gaps.log"])
    line = "log gaps: 10 (the log says lines are missing)"
    assert f"  {line}" in text.render(a).splitlines()
    assert line in markdown.render(a).splitlines()
    assert line in html.render(a)
    issues = jsonout.document(a)["issues"]
    assert (issues["total"], issues["by_kind"], issues["gaps"]) == (10, {"gap": 10}, 10)
    # gap lines were read: not among what the parse yield calls not understood
    assert (a.parse_yield.lines, a.parse_yield.lines_understood) == (10, 10)
    assert list(a.parse_yield.examples["input"]) == []


def test_journal_json_parts_join_into_the_first_record() -> None:
    # journalctl -o json keeps syslog()'s text in MESSAGE (field names as read by prefix.py)
    def record(message: str) -> str:
        fields = {"__REALTIME_TIMESTAMP": "1795815200000000", "_HOSTNAME": "mta",
                  "SYSLOG_IDENTIFIER": "exim", "_PID": "16218", "MESSAGE": message}  # fmt: skip
        return json.dumps(fields)

    parts = [p.partition(": ")[2] for p in exim_syslog(arrival())]
    asm = Assembler(CTX)
    assert asm.push(1, record(parts[0])) == []
    (joined,) = asm.push(2, record(parts[1])) or []
    assert isinstance(joined, Logical)
    assert (joined.line_no, joined.lines) == (1, 2)
    assert json.loads(joined.text)["MESSAGE"] == arrival()
    _, event = read_line(joined.text, CTX, 1)
    assert isinstance(event, TlsEvent)
    assert (event.queue_id, event.pid, event.message_id) == (
        "1xX3ZI-0004JP-2A", 16218, arrival().rpartition(" id=")[2])  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(list('[]/\\:12 {}"x-exim')), max_size=60)))
def test_any_text_is_taken_without_raising(texts: list[str]) -> None:
    asm = Assembler(CTX)
    kept = 0
    for n, t in enumerate(texts, 1):
        out = asm.push(n, PREFIX.format(pid=1) + t)
        kept += 1 if out is None else sum(x.lines if isinstance(x, Logical) else 1 for x in out)
    assert kept + len(asm.finish()) == len(texts)


def test_megabyte_lines_are_read() -> None:
    asm = Assembler(CTX)
    got = [asm.push(1, line) for line in ASSEMBLER_LINES]  # (timed by the bench)
    assert [None if g is None else [i.kind for i in g] for g in got] == [
        [IssueKind.OVERSIZED],
        None,
        None,
        [IssueKind.GAP],
    ]
    assert asm.finish() == []


