"""The library's entry points for mailboxes: sources -> parsers -> frames, streaming.

``read_mailbox`` returns the ``hops`` frame; ``load_mailbox`` returns every frame of the
mailbox side with the counts that prove nothing was lost. The library never prints: progress
goes through the ``progress`` callback.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any, BinaryIO, cast

import pandas as pd

from analyzer.frames.issues import issues_frame
from analyzer.frames.received import (
    MESSAGE_INFO,
    hop_rows,
    hops_builder,
    messages_frame,
)
from analyzer.frames.schema import FrameBuilder
from analyzer.model import IssueKind, ParseIssue, RawMessage, ReceivedHeader, clip
from analyzer.received import MAX_HEADER
from analyzer.received.chain import TrustPolicy, delays, roles
from analyzer.received.fields import parse_date
from analyzer.received.headerblock import split_headers
from analyzer.received.template import ReceivedParser
from analyzer.sources import forked
from analyzer.sources.mailbox import (
    PARALLEL_MIN,
    Progress,
    iter_mbox_range,
    iter_messages,
    mbox_ranges,
)

InputLike = str | os.PathLike[str] | BinaryIO


@dataclass(frozen=True)
class MailboxFrames:
    """Everything read from mailbox inputs.

    Attributes:
        hops: one row per Received header (see ``frames.received.HOPS``).
        messages: one row per message read, including messages without any transport header
            (status ``no-evidence``).
        issues: one row per message, header or file that could not be read, with a reason.
        messages_read: messages turned into rows of ``messages``.
        messages_lost: issues of unit ``message``: messages that could not be read at all.
        headers_read: Received headers turned into hop rows.
        headers_lost: Received headers that became issue rows instead.
    """

    hops: pd.DataFrame
    messages: pd.DataFrame
    issues: pd.DataFrame
    messages_read: int
    messages_lost: int
    headers_read: int
    headers_lost: int


class _Collector:
    """Streams hops to the frame builder while keeping per-message facts and issues."""

    def __init__(self, policy: TrustPolicy) -> None:
        self.policy = policy
        self.parser = ReceivedParser()
        self.info = FrameBuilder(MESSAGE_INFO, _same)
        self.issues: list[ParseIssue] = []
        self.headers_read = 0
        self.headers_lost = 0

    def rows(self, records: Iterable[RawMessage | ParseIssue]) -> Iterator[tuple[object, ...]]:
        """The ``hops`` rows of ``records`` (see ``frames.received.hop_rows``)."""
        for record in records:
            if isinstance(record, ParseIssue):
                self.issues.append(record)
                continue
            yield from self._message(record)

    def _message(self, msg: RawMessage) -> list[tuple[object, ...]]:
        fields = split_headers(msg.headers)
        source = msg.origin if msg.position == 0 else f"{msg.origin}:{msg.position}"
        parsed: list[ReceivedHeader] = []
        for n, value in enumerate(fields.received):
            if len(value) > MAX_HEADER:
                self.headers_lost += 1
                self.issues.append(
                    ParseIssue(
                        msg.origin,
                        msg.position,
                        IssueKind.OVERSIZED,
                        f"Received header {n + 1} (from the top) is {len(value)} characters, "
                        f"over the {MAX_HEADER} limit: not parsed",
                        clip(value, 200),
                        unit="header",
                    )
                )
                continue
            try:
                parsed.append(self.parser.parse(value))
            except Exception as exc:  # the one guarded boundary: a parser bug loses one header
                self.headers_lost += 1
                self.issues.append(
                    ParseIssue(
                        msg.origin,
                        msg.position,
                        IssueKind.PARSER_BUG,
                        f"Received header {n + 1} (from the top) could not be parsed: {exc!r}",
                        clip(value, 200),
                        unit="header",
                    )
                )
        if fields.encoding_errors:
            self.issues.append(
                ParseIssue(
                    msg.origin,
                    msg.position,
                    IssueKind.ENCODING,
                    f"{fields.encoding_errors} header field(s) held invalid UTF-8 or bad "
                    "encoded words; replaced with U+FFFD",
                    unit="header",
                )
            )
        self.headers_read += len(parsed)
        self.info.add(
            (
                source,
                fields.message_id,
                parse_date(fields.date) if fields.date else None,
                _domain(fields.from_),
                len(fields.received),
                fields.encoding_errors,
            )
        )
        hop_roles = roles(parsed, self.policy)
        return hop_rows(source, fields.message_id, parsed, hop_roles, delays(parsed))


# The address of a From header: "Name <a@b>" or a bare "a@b" (RFC 5322 §3.4); only its domain
# is kept, so a simple scan replaces email.utils.parseaddr, ten times slower on this path.
_ANGLE_ADDRESS = re.compile(r"<([^<>\s]{1,320})>")
_BARE_ADDRESS = re.compile(r"[^\s<>,;:\"]{1,64}@[^\s<>,;:\"]{1,255}")


def _domain(address: str | None) -> str | None:
    if not address:
        return None
    m = _ANGLE_ADDRESS.search(address) or _BARE_ADDRESS.search(address)
    addr = m.group(m.lastindex or 0) if m else ""
    if "@" not in addr:
        return None
    return addr.rsplit("@", 1)[1].lower().strip(".") or None


def load_mailbox(
    inputs: InputLike | Iterable[InputLike],
    *,
    trusted_hosts: Iterable[str] = (),
    progress: Callable[[Progress], None] | None = None,
    workers: int | None = None,
) -> MailboxFrames:
    """Read mailbox exports (mbox, .gz/.bz2/.xz, Maildir, .eml, .msg, stdin ``-``) into frames.

    ``trusted_hosts`` are shell-style patterns of the receiving organisation's hosts; without
    them the trust boundary is inferred from each message's top-most ``by`` host.
    ``workers``: processes for plain mbox files of 64 MiB and more, read in byte ranges (None:
    one per CPU, at most 8; 1: never). The frames are the same either way.
    """
    part = _read(inputs, trusted_hosts, progress, workers)
    messages = messages_frame(part.hops, part.info)
    issues = issues_frame(part.issues)
    lost = sum(1 for i in part.issues if i.unit == "message")
    return MailboxFrames(
        hops=part.hops,
        messages=messages,
        issues=issues,
        messages_read=len(part.info),
        messages_lost=lost,
        headers_read=part.headers_read,
        headers_lost=part.headers_lost,
    )


def read_mailbox(
    inputs: InputLike | Iterable[InputLike],
    *,
    trusted_hosts: Iterable[str] = (),
    progress: Callable[[Progress], None] | None = None,
    workers: int | None = None,
) -> pd.DataFrame:
    """The ``hops`` frame of mailbox exports: one row per Received header."""
    return _read(inputs, trusted_hosts, progress, workers).hops


@dataclass(frozen=True)
class _Part:
    """What one stretch of input gave.

    Attributes:
        hops: its hops frame.
        info: its per-message facts frame.
        issues: its issues.
        headers_read: Received headers parsed.
        headers_lost: Received headers that became issues.
    """

    hops: pd.DataFrame
    info: pd.DataFrame
    issues: list[ParseIssue]
    headers_read: int
    headers_lost: int


def _collect(records: Iterable[RawMessage | ParseIssue], policy: TrustPolicy) -> _Part:
    collector = _Collector(policy)
    hops = hops_builder().extend(collector.rows(records)).finish()
    return _Part(
        hops, collector.info.finish(), collector.issues, collector.headers_read,
        collector.headers_lost,
    )  # fmt: skip


@dataclass(slots=True)
class _RangeOut:
    """What one byte range gave, kept apart until the ranges are put in file order.

    Attributes:
        hops: converted chunks of its hops frame, with their row counts.
        info: converted chunks of its per-message facts.
        issues: its issues, in order.
        headers_read: Received headers parsed.
        headers_lost: Received headers that became issues.
    """

    hops: list[tuple[list[Any], int]] = field(default_factory=list)
    info: list[tuple[list[Any], int]] = field(default_factory=list)
    issues: list[ParseIssue] = field(default_factory=list)
    headers_read: int = 0
    headers_lost: int = 0


def _claim(ends: Any, front: bool) -> int | None:
    """The next range nobody has taken yet: from the front (this process) or the back (the
    workers); ``ends`` (shared by every process) holds the first and last free range."""
    with ends.get_lock():
        first, last = int(ends[0]), int(ends[1])
        if first > last:
            return None
        if front:
            ends[0] = first + 1
            return first
        ends[1] = last - 1
        return last


def _range_worker(
    send: Connection,
    path: str,
    ranges: list[tuple[int, int]],
    ends: Any,
    patterns: tuple[str, ...],
) -> None:
    """A worker process: reads the ranges it claims from the back of the file, sending the
    converted chunks of each as they come (a few thousand rows each, whatever the range's
    size), then its issues and counts."""
    collector = _Collector(TrustPolicy(patterns))
    hops = hops_builder()
    while (k := _claim(ends, front=False)) is not None:
        hops.on_chunk = lambda chunk, rows, k=k: send.send(("hops", k, chunk, rows))
        collector.info.on_chunk = lambda chunk, rows, k=k: send.send(("info", k, chunk, rows))
        collector.issues, collector.headers_read, collector.headers_lost = [], 0, 0
        hops.extend(collector.rows(iter_mbox_range(path, *ranges[k])))
        hops.drain()
        collector.info.drain()
        send.send(("end", k, collector.issues, collector.headers_read, collector.headers_lost))
    send.send(("done",))


class _Inbox:
    """What one worker has sent so far, gathered per range."""

    def __init__(self, child: forked.Child) -> None:
        self.child = child
        self.done = False

    def _take(self, message: tuple[Any, ...], outs: dict[int, _RangeOut]) -> None:
        kind = message[0]
        if kind == "done":
            self.done = True
            return
        out = outs.setdefault(message[1], _RangeOut())
        if kind == "hops":
            out.hops.append((message[2], message[3]))
        elif kind == "info":
            out.info.append((message[2], message[3]))
        else:  # "end": the range's issues and counts
            out.issues, out.headers_read, out.headers_lost = message[2], message[3], message[4]

    def drain(self, outs: dict[int, _RangeOut]) -> None:
        """Take what has arrived, without waiting (the worker waits while its pipe is full)."""
        while not self.done and self.child.poll():
            self._take(self.child.recv(), outs)

    def finish(self, outs: dict[int, _RangeOut]) -> None:
        """Wait for the worker's last range."""
        while not self.done:
            self._take(self.child.recv(), outs)


def _draining(
    records: Iterable[RawMessage | ParseIssue],
    inboxes: list[_Inbox],
    outs: dict[int, _RangeOut],
    every: int = 16,
) -> Iterator[RawMessage | ParseIssue]:
    for k, record in enumerate(records):
        if k % every == 0:
            for inbox in inboxes:
                inbox.drain(outs)
        yield record


def _read_ranges(
    path: str,
    ranges: list[tuple[int, int]],
    collector: _Collector,
    hops: FrameBuilder,
    workers: int,
    report: Callable[[int, int], None],
) -> None:
    """A plain mbox in byte ranges: this process takes them one after the other from the
    front of the file, straight into the frames; ``workers`` forked ones take them from the
    back, each range's output sent here when done. Where the two meet depends on how fast
    each goes, so all finish together however the messages are spread. The workers' chunks
    become part of the frame as they are, after this process's rows, in file order (no copy,
    no frame per range to concatenate): the memory beyond the frame does not grow with the
    file. ``report`` gets the bytes and messages read here so far."""
    ends = multiprocessing.get_context("fork").Array("i", [0, len(ranges) - 1])
    outs: dict[int, _RangeOut] = {}
    inboxes: list[_Inbox] = []
    try:
        for _ in range(workers):
            args = (path, ranges, ends, collector.policy.patterns)
            inboxes.append(
                _Inbox(forked.start(_range_worker, args, "reading a part of the mailbox"))
            )
        start = collector.info.rows
        while (k := _claim(ends, front=True)) is not None:
            hops.extend(collector.rows(_draining(iter_mbox_range(path, *ranges[k]), inboxes, outs)))
            report(ranges[k][1] - ranges[0][0], collector.info.rows - start)
        for inbox in inboxes:
            inbox.finish(outs)
    finally:
        for inbox in inboxes:
            inbox.child.stop()
    for k in sorted(outs):
        out = outs[k]
        for chunk, rows in out.hops:
            hops.add_chunk(chunk, rows)
        for chunk, rows in out.info:
            collector.info.add_chunk(chunk, rows)
        collector.issues.extend(out.issues)
        collector.headers_read += out.headers_read
        collector.headers_lost += out.headers_lost


# The ranges shrink toward the middle of the file, where this process (from the front) and
# the workers (from the back) meet: the first range holds half of this process's share
# (1/n of the file), the next a quarter ..., and the same from the back for the workers'
# share; so there are few ranges, and the last ones taken are small.
HALVINGS = 5


def _two_ended(size: int, n: int) -> list[tuple[int, int]]:
    """Byte ranges covering ``size`` bytes for this process and ``n - 1`` workers."""
    front = [size // n >> k for k in range(1, HALVINGS + 1)]
    back = [(size - size // n) >> k for k in range(1, HALVINGS + 1)]
    middle = size - sum(front) - sum(back)
    pieces = [*front, *([middle // 2, middle - middle // 2] if middle > 1 else [middle]),
              *reversed(back)]  # fmt: skip
    bounds = [0, *itertools.accumulate(p for p in pieces if p > 0)]
    return list(itertools.pairwise(bounds))


def _workers(workers: int | None) -> int:
    if workers is not None:
        return max(1, workers)
    if not forked.can_fork():
        return 1  # a worker must not re-import the caller's program (spawn): stay in-process
    return max(1, min(os.cpu_count() or 1, 8))


def _splittable(inp: InputLike, n: int) -> list[tuple[int, int]] | None:
    if n < 2 or not isinstance(inp, str | os.PathLike) or os.fspath(inp) == "-":
        return None
    try:
        if not os.path.isfile(inp) or os.path.getsize(inp) < PARALLEL_MIN:
            return None
    except OSError:
        return None
    whole = mbox_ranges(inp, 1)  # None unless a plain mbox file
    ranges = _two_ended(whole[-1][1], n) if whole else None
    return ranges if ranges and len(ranges) > 1 else None


def _read(
    inputs: InputLike | Iterable[InputLike],
    trusted_hosts: Iterable[str],
    progress: Callable[[Progress], None] | None,
    workers: int | None = None,
) -> _Part:
    policy = TrustPolicy(tuple(trusted_hosts))
    items = _as_list(inputs)
    n = _workers(workers)
    plans = [(inp, _splittable(inp, n)) for inp in items]
    if not any(ranges for _, ranges in plans):
        return _collect(iter_messages(items, progress=progress), policy)
    collector = _Collector(policy)
    hops = hops_builder()
    for number, (inp, ranges) in enumerate(plans, 1):
        if ranges is None:
            hops.extend(collector.rows(iter_messages([inp], progress=progress)))
            continue
        size, before = ranges[-1][1], collector.info.rows

        def report(
            done: int, messages: int, number: int = number, size: int = size, before: int = before
        ) -> None:
            if progress is not None:
                files = number - (done < size)
                progress(Progress(files, len(plans), done, size, before + messages))

        _read_ranges(os.fspath(cast(str, inp)), ranges, collector, hops, n - 1, report)
        report(size, collector.info.rows - before)
    return _Part(
        hops.finish(), collector.info.finish(), collector.issues, collector.headers_read,
        collector.headers_lost,
    )  # fmt: skip


def _same(row: tuple[object, ...]) -> tuple[object, ...]:
    return row


def messages(hops: pd.DataFrame) -> pd.DataFrame:
    """One row per message of a ``hops`` frame (messages without hops are not in it: use
    ``load_mailbox(...).messages`` for the complete account)."""
    return messages_frame(hops)


def _as_list(inputs: InputLike | Iterable[InputLike]) -> list[InputLike]:
    if isinstance(inputs, str | os.PathLike):
        return [inputs]
    if hasattr(inputs, "read"):
        return [cast(BinaryIO, inputs)]
    return list(inputs)
