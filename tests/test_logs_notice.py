"""Bounce, delay and success notices: the Postfix bounce daemon's ``<old-qid>: sender
non-delivery notification: <new-qid>`` links two queue ids both ways (log-formats.md §2.1.8
item 7).

Real lines: sample_data/lab/postfix/mail.log (Postfix 3.7.11), where eleven messages expire
in the queue and their non-delivery reports are delivered to the local mailbox. The other
notice kinds are written in the format of the source that logs them (cited per case); the
reorderings are those Postfix 3.11 and coarse-stamped exports produce (RELEASE_NOTES-3.11:
the notice now comes before the new message's cleanup lines).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

import analyzer.sources.logs as sources
from analyzer.api_logs import deliveries, read_logs_result
from analyzer.logs.correlate import Correlator
from analyzer.logs.notices import NoticeBook
from analyzer.logs.prefix import PrefixContext
from analyzer.logs.registry import LineResult, read_line
from analyzer.model.logs import (
    Delivery,
    Direction,
    EventKind,
    FailureCategory,
    Mta,
    Outcome,
    Rfc8460ResultType,
    TlsEvent,
)
from tests.test_logs_fastpath import assert_same

ROOT = Path(__file__).resolve().parent.parent
LAB = ROOT / "sample_data" / "lab" / "postfix" / "mail.log"
LAB_LINES = LAB.read_text(encoding="utf-8").splitlines()
ORIGIN = "lab"
CTX = PrefixContext(ORIGIN, datetime(2026, 12, 1, tzinfo=UTC))
NOTICE_LINE = 420  # "3B09816419A: sender non-delivery notification: C6102164127"
ORIGINAL, NDR = "3B09816419A", "C6102164127"
MID = "179581492521.28138.5274039540311755689.out-no-starttls-verify.84f2ecf6@mta.lab.test"
NOT_OFFERED = "TLS is required, but was not offered by host 127.0.0.47[127.0.0.47]"


def _lab(*qids: str) -> list[tuple[int, str]]:
    """The numbered lab lines naming any of ``qids``, in file order."""
    return [(no, t) for no, t in enumerate(LAB_LINES, 1) if any(f" {q}: " in t for q in qids)]


def _moved(lines: list[tuple[int, str]], no: int, before: int) -> list[tuple[int, str]]:
    """``lines`` with line ``no`` moved to just before line ``before`` (or to the end)."""
    item = next(x for x in lines if x[0] == no)
    rest = [x for x in lines if x[0] != no]
    at = next((i for i, x in enumerate(rest) if x[0] == before), len(rest))
    return [*rest[:at], item, *rest[at:]]


def _events(lines: list[tuple[int, str]]) -> Iterator[TlsEvent]:
    for no, text in lines:
        _, item = read_line(text, CTX, no)
        if isinstance(item, TlsEvent):
            yield item


def _run(lines: list[tuple[int, str]], correlator: Correlator | None = None) -> list[Delivery]:
    c = correlator or Correlator()
    for ev in _events(lines):
        c.feed(ev)
    return c.finish()


def _deferred(no: int, stamp: datetime, attempt: int) -> Delivery:
    return Delivery(
        timestamp=stamp, mta=Mta.POSTFIX, direction=Direction.OUTBOUND, queue_id=ORIGINAL,
        message_id=MID, sender="labsender@mta.lab.test",
        recipient_domain="no-starttls.verify.lab.test", peer_host="127.0.0.47",
        peer_ip="127.0.0.47", encrypted=False, trust=None, tls_version=None, cipher=None,
        bits=None, outcome=Outcome.DEFERRED, fallback=False,
        failure_category=FailureCategory.STARTTLS_NOT_SUPPORTED,
        rfc8460_result_type=Rfc8460ResultType.STARTTLS_NOT_SUPPORTED, attempt=attempt,
        dsn="4.7.4", detail=NOT_OFFERED, origin=ORIGIN, line_no=no, notice_queue_id=NDR,
        notice_of="",
    )  # fmt: skip


def _t(second: int, micro: int, minute: int = 29) -> datetime:
    return datetime(2026, 11, 27, 21, minute, second, micro, tzinfo=UTC)


# The whole rows of the lab's message 3B09816419A (scenario out-no-starttls-verify: TLS
# required, the peer offers no STARTTLS; deferred seven times, then expired and returned)
# and of its non-delivery report C6102164127, delivered to the local mailbox.
EXPECTED = [
    _deferred(106, _t(45, 249508, 28), 1),
    _deferred(199, _t(54, 744083, 28), 2),
    _deferred(241, _t(57, 717636, 28), 3),
    _deferred(289, _t(9, 732109), 4),
    _deferred(345, _t(21, 795154), 5),
    _deferred(371, _t(33, 803713), 6),
    _deferred(399, _t(45, 809296), 7),
    Delivery(
        timestamp=_t(45, 809729), mta=Mta.POSTFIX, direction=Direction.OUTBOUND,
        queue_id=ORIGINAL, message_id=MID, sender="labsender@mta.lab.test",
        recipient_domain="no-starttls.verify.lab.test", peer_host="127.0.0.47",
        peer_ip="127.0.0.47", encrypted=False, trust=None, tls_version=None, cipher=None,
        bits=None, outcome=Outcome.BOUNCED, fallback=False,
        failure_category=FailureCategory.STARTTLS_NOT_SUPPORTED,
        rfc8460_result_type=Rfc8460ResultType.STARTTLS_NOT_SUPPORTED, attempt=7,
        dsn="4.7.4", detail="expired, returned to sender", origin=ORIGIN, line_no=400,
        notice_queue_id=NDR, notice_of="",
    ),
    Delivery(
        timestamp=_t(45, 828149), mta=Mta.POSTFIX, direction=Direction.LOCAL, queue_id=NDR,
        message_id="20261127212945.C6102164127@mta.lab.test", sender="",
        recipient_domain="mta.lab.test", peer_host="local", peer_ip="", encrypted=None,
        trust=None, tls_version=None, cipher=None, bits=None, outcome=Outcome.DELIVERED,
        fallback=None, failure_category=None, rfc8460_result_type=None, attempt=1,
        dsn="2.0.0", detail="delivered to mailbox", origin=ORIGIN, line_no=434,
        notice_queue_id="", notice_of=ORIGINAL,
    ),
]  # fmt: skip


def test_notice_line_is_read_whole() -> None:
    text = LAB_LINES[NOTICE_LINE - 1]
    assert read_line(text, CTX, NOTICE_LINE) == (
        LineResult.PARSED,
        TlsEvent(
            origin=ORIGIN, line_no=NOTICE_LINE, timestamp=_t(45, 823956), host="vm",
            mta=Mta.POSTFIX, service="postfix/bounce", pid=30654,
            kind=EventKind.NOTIFICATION, queue_id=ORIGINAL, notice_queue_id=NDR,
            detail="sender non-delivery notification", raw=text,
        ),
    )  # fmt: skip


# msg_info("%s: <kind>: %s", queue_id, STR(new_id)) in src/bounce/ (Postfix 3.x)
@pytest.mark.parametrize(
    "kind",
    [
        "sender non-delivery notification",  # bounce_notify_service.c, bounce_notify_verp.c
        "postmaster non-delivery notification",  # bounce_notify_service.c, bounce_one_service.c
        "sender delay notification",  # bounce_warn_service.c bounce_warn_service
        "postmaster delay notification",  # bounce_warn_service.c bounce_warn_service
        "sender delivery status notification",  # bounce_trace_service.c bounce_trace_service
    ],
)
def test_every_notice_kind(kind: str) -> None:
    text = f"Nov 27 21:29:45 vm postfix/bounce[30654]: 3B09816419A: {kind}: C6102164127"
    _, ev = read_line(text, CTX, 1)
    assert isinstance(ev, TlsEvent)
    assert (ev.kind, ev.queue_id, ev.notice_queue_id, ev.detail) == (
        EventKind.NOTIFICATION,
        ORIGINAL,
        NDR,
        kind,
    )


@pytest.mark.parametrize(
    "message",
    [
        # RELEASE_NOTES-3.11: "<old-queue-id>: sender notification failed to <address>"
        "3B09816419A: sender notification failed to labsender@mta.lab.test",
        "3B09816419A: sender non-delivery notification: not-a-queue-id",
        "3B09816419A: sender non-delivery notification: C6102164127 trailing",
    ],
)
def test_lines_that_are_not_notices(message: str) -> None:
    text = f"Nov 27 21:29:45 vm postfix/bounce[30654]: {message}"
    assert read_line(text, CTX, 1) == (LineResult.UNRELATED, None)


def test_lab_bounce_and_its_report_delivery() -> None:
    assert _run(_lab(ORIGINAL, NDR)) == EXPECTED


@pytest.mark.parametrize(
    ("moved_before", "why"),
    [
        (400, "notice before the final status line (the qmgr expired line)"),
        (399, "notice before the last deferral and the final status"),
        (406, "3.11: notice before the report's own cleanup line"),
        (
            441,
            "notice after the report's own delivery (before 3.11, the report can be"
            " delivered before the bounce daemon logs; qmgr removes the original after)",
        ),
    ],
)
def test_both_orders_give_the_same_rows(moved_before: int, why: str) -> None:
    lines = _moved(_lab(ORIGINAL, NDR), NOTICE_LINE, moved_before)
    if moved_before == 441:
        lines = _moved(lines, 426, 441)  # "3B09816419A: removed" after the notice
    assert _run(lines) == EXPECTED, why


def test_rows_already_handed_over_get_their_columns_by_row_number() -> None:
    c = Correlator()
    lines = _lab(ORIGINAL, NDR)
    early = [x for x in lines if x[0] < NOTICE_LINE]
    for ev in _events(early):
        c.feed(ev)
    handed = c.take()
    assert [d.notice_queue_id for d in handed] == [""] * 8
    rest = _run([x for x in lines if x[0] >= NOTICE_LINE], c)
    assert rest == EXPECTED[8:]
    # the handed rows (numbers 0-7: lines 106, 199, 241, 289, 345, 371, 399, 400) get their
    # notice columns from ``notice_columns``, which the frame builder applies
    assert {k: v for k, v in c.notice_columns.linked().items() if k < 8} == dict.fromkeys(
        range(8), (NDR, "")
    )


def test_delay_notice_then_non_delivery_and_a_postmaster_copy() -> None:
    # lab message 678581641A9 (out-no-starttls-encrypt); the delay notice after its second
    # deferral (bounce_warn_service.c "%s: sender delay notification: %s") and a postmaster
    # copy after the sender's report (bounce_notify_service.c "%s: postmaster non-delivery
    # notification: %s") are added, with new queue ids of the lab's form
    lines = _lab("678581641A9", "C9339164133")
    delay = "2026-11-27T21:28:55.000000+00:00 vm postfix/bounce[29630]: 678581641A9: sender delay notification: D1E2F164140"
    copy = "2026-11-27T21:29:45.828100+00:00 vm postfix/bounce[29630]: 678581641A9: postmaster non-delivery notification: D2E3F164141"  # fmt: skip
    at = next(i for i, x in enumerate(lines) if x[0] == 217) + 1
    lines = [*lines[:at], (218, delay), *lines[at:]]
    at = next(i for i, x in enumerate(lines) if x[0] == 433) + 1
    lines = [*lines[:at], (434, copy), *lines[at:]]
    found = _run(lines)
    assert [(d.queue_id, d.line_no, d.outcome.value, d.notice_queue_id, d.notice_of)
            for d in found] == [
        ("678581641A9", 135, "deferred", "D1E2F164140", ""),
        ("678581641A9", 217, "deferred", "D1E2F164140", ""),
        ("678581641A9", 271, "deferred", "C9339164133", ""),
        ("678581641A9", 299, "deferred", "C9339164133", ""),
        ("678581641A9", 343, "deferred", "C9339164133", ""),
        ("678581641A9", 370, "deferred", "C9339164133", ""),
        ("678581641A9", 412, "deferred", "C9339164133", ""),
        ("678581641A9", 414, "bounced", "C9339164133", ""),
        ("C9339164133", 454, "delivered", "", "678581641A9"),
    ]  # fmt: skip


def _write(path: Path, lines: list[tuple[int, str]]) -> Path:
    path.write_text("".join(t + "\n" for _, t in lines), encoding="utf-8")
    return path


@pytest.mark.parametrize("moved_before", [None, 400, 406])
def test_per_line_and_vectorised_readers_agree(
    moved_before: int | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = list(enumerate(LAB_LINES, 1))
    if moved_before is not None:
        lines = _moved(lines, NOTICE_LINE, moved_before)
    log = _write(tmp_path / "mail.log", lines)
    for block in (sources.BLOCK, 1000):  # small blocks: rows handed over before their notice
        monkeypatch.setattr(sources, "BLOCK", block)
        slow = read_logs_result(log, vectorised=False)
        fast = read_logs_result(log)
        assert_same(slow, fast)
        d = fast.deliveries
        rows = d[d["queue_id"].isin([ORIGINAL, NDR])]
        at = {no: i for i, (no, _) in enumerate(lines, 1)}  # lab line -> line in this file
        assert rows[["line", "outcome", "notice_queue_id", "notice_of"]].values.tolist() == [
            [at[e.line_no], e.outcome.value, e.notice_queue_id, e.notice_of] for e in EXPECTED
        ]
        assert fast.counts.parsed == 463 + 11  # the eleven notices are read, not unrelated
        events = fast.events
        notices = events[events["event"] == "notification"]
        assert len(notices) == 11
        assert notices.iloc[0][["queue_id", "notice_queue_id", "detail"]].tolist() == [
            ORIGINAL, NDR, "sender non-delivery notification"]  # fmt: skip


def test_a_reused_queue_id_is_not_the_notice_it_was() -> None:
    """Once the report's queue id has left the queue, a later message given the same id
    (short Postfix queue ids come from inode numbers and are reused) is not linked to the
    bounce, nor are the original's notices kept for it."""
    again = [(no + 1000, text) for no, text in _lab(NDR)]  # the report's lines, once more
    assert [t.split(": ", 2)[2][:9] for _, t in again] == [
        "message-i", "from=<>, ", "to=<labrc", "removed",
    ]  # fmt: skip
    rows = [r for r in _run(_lab(ORIGINAL, NDR) + again) if r.queue_id == NDR]
    assert [(r.notice_of, r.attempt) for r in rows] == [(ORIGINAL, 1), ("", 1)]


def test_notice_state_is_bounded() -> None:
    book = NoticeBook(max_messages=50)
    for i in range(5000):
        qid, new = f"{0xA00000 + i:X}", f"{0xB00000 + i:X}"
        row = Delivery(
            timestamp=None, mta=Mta.POSTFIX, direction=Direction.OUTBOUND, queue_id=qid,
            message_id="", sender="", recipient_domain="x.test", peer_host="", peer_ip="",
            encrypted=None, trust=None, tls_version=None, cipher=None, bits=None,
            outcome=Outcome.BOUNCED, fallback=False, failure_category=None,
            rfc8460_result_type=None, attempt=1, dsn="5.0.0", detail="", origin="o",
            line_no=i,
        )  # fmt: skip
        book.stamp("h", row)
        book.notice("h", qid, new, "sender non-delivery notification", None)
    assert max(len(book._rows), len(book._sent), len(book._of)) <= 50
    # every row got its notice (the columns are the output, one entry per linked row)
    assert book.columns.linked() == {i: (f"{0xB00000 + i:X}", "") for i in range(5000)}
    assert len(book.columns.notice_queue_id) == len(book.columns.notice_of) == 5000


def test_deliveries_from_an_events_frame() -> None:
    """Re-correlating a copy of the events frame (as after saving it) keeps both links."""
    result = read_logs_result(LAB)
    again = deliveries(result.events.copy())
    assert again.equals(result.deliveries)
    assert ((again["notice_queue_id"] != "").sum(), (again["notice_of"] != "").sum()) == (88, 11)
