"""Public API for MTA logs: ``read_logs`` (events) and ``deliveries``.

One streaming pass: sources (files in time order, decompressed, numbered lines) -> prefix
and dialect parsers -> correlator (bounded session state) -> frames. Every line is counted
once as parsed, unrelated (not about TLS or deliveries), issue, or duplicate.
"""

from __future__ import annotations

import hashlib
import sys
import weakref
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import BinaryIO, cast
from zoneinfo import ZoneInfo

import pandas as pd

from analyzer.api_logs.blocks import (
    PROGRESS_EVERY,
    LineCounts,
    Progress,
    Stream,
    ahead,
    can_read_ahead,
    consume,
    steps,
)
from analyzer.frames.arrow_rows import system_allocations
from analyzer.frames.fast_feed import ENUMS, FastSink
from analyzer.frames.logs import (
    EVENTS,
    deliveries_frame,
    events_frame,
    issues_frame,
)
from analyzer.logs.correlate import Correlator
from analyzer.logs.joiner import Assembler
from analyzer.logs.prefix import PrefixContext, parse_prefix
from analyzer.logs.registry import LineResult, read_line
from analyzer.model.common import IssueKind, ParseIssue
from analyzer.model.logs import (
    Delivery,
    TlsEvent,
)
from analyzer.sources.logs import (
    LogFile,
    discover,
    head_text,
    iter_lines,
    open_file,
    order_by_time,
)

Input = str | Path | BinaryIO


@dataclass(frozen=True, slots=True)
class LogReadResult:
    """Everything one read of a log set gives.

    Attributes:
        events: the ``events`` frame.
        deliveries: the ``deliveries`` frame.
        issues: the ``issues`` frame (lines and files that could not be read).
        counts: the line accounting.
    """

    events: pd.DataFrame
    deliveries: pd.DataFrame
    issues: pd.DataFrame
    counts: LineCounts = field(default_factory=LineCounts)


def _zone(timezone: str | tzinfo | None) -> tzinfo:
    if timezone is None:
        return UTC
    if isinstance(timezone, str):
        return ZoneInfo(timezone)
    return timezone


def _as_list(inputs: Input | Iterable[Input]) -> list[Input]:
    if isinstance(inputs, (str, Path)):
        return [inputs]
    if hasattr(inputs, "read"):
        return [cast(BinaryIO, inputs)]
    return list(inputs)


def _plan(inputs: list[Input], zone: tzinfo, issues: list[ParseIssue]) -> list[LogFile | Stream]:
    now = datetime.now(UTC)
    paths = [i for i in inputs if isinstance(i, (str, Path)) and str(i) != "-"]
    files, found = discover(paths)
    issues.extend(found)

    def first_stamp(f: LogFile) -> datetime | None:
        ctx = PrefixContext(f.origin, f.reference or now, zone)
        for i, text in enumerate(head_text(f)):
            line = parse_prefix(text, ctx, i + 1)
            if line is not None and line.timestamp is not None:
                return line.timestamp
        return None

    plan: list[LogFile | Stream] = list(order_by_time(files, first_stamp))
    for i in inputs:
        if isinstance(i, (str, Path)):
            if str(i) == "-":
                plan.append(Stream("-", sys.stdin.buffer, now))
        else:
            plan.append(Stream(getattr(i, "name", "<stream>"), i, now))
    return plan


def iter_events(
    inputs: Input | Iterable[Input],
    *,
    timezone: str | tzinfo | None = None,
    counts: LineCounts | None = None,
    issues: list[ParseIssue] | None = None,
    progress: Progress | None = None,
) -> Iterator[TlsEvent]:
    """Stream the events of ``inputs`` in file time order, without correlating them."""
    zone = _zone(timezone)
    counts = counts if counts is not None else LineCounts()
    issues = issues if issues is not None else []
    seen_heads: dict[str, int] = {}
    for item in _plan(_as_list(inputs), zone, issues):
        if isinstance(item, Stream):
            yield from _read_one(
                item.stream,
                PrefixContext(item.origin, item.reference, zone),
                0,
                counts,
                issues,
                progress,
            )
            continue
        head = hashlib.sha256("\n".join(head_text(item, 20)).encode()).hexdigest()
        skip = seen_heads.get(head, 0)
        ctx = PrefixContext(item.origin, item.reference or datetime.now(UTC), zone)
        try:
            with open_file(item) as fh:
                read = yield from _read_one(fh, ctx, skip, counts, issues, progress)
        except OSError as exc:
            issues.append(
                ParseIssue(item.origin, 0, IssueKind.UNREADABLE, f"cannot read: {exc}", unit="file")
            )
            continue
        seen_heads[head] = max(skip, read)


def _read_one(
    raw: BinaryIO,
    ctx: PrefixContext,
    skip: int,
    counts: LineCounts,
    issues: list[ParseIssue],
    progress: Progress | None,
) -> Generator[TlsEvent, None, int]:
    """Events of one file; the first ``skip`` lines were already read from a copy of it.

    Returns the number of lines read (as the generator's value).
    """
    counts.files += 1
    n = 0
    assembler = Assembler(ctx)  # one per file: split lines never join across files
    for item in iter_lines(raw, ctx.origin, issues):
        n += 1
        counts.lines += 1
        if n <= skip:
            counts.duplicates += 1
            continue
        if progress is not None and counts.lines % PROGRESS_EVERY == 0:
            progress(ctx.origin, counts.lines)
        if isinstance(item, ParseIssue):
            counts.issues += 1
            issues.append(item)
            continue
        assembled = assembler.push(item.line_no, item.text)
        if assembled is None:
            event = _account(item.text, ctx, item.line_no, 1, counts, issues)
            if event is not None:
                yield event
            continue
        for logical in assembled:  # a split line's parts joined, or issues
            if isinstance(logical, ParseIssue):
                counts.issues += 1
                issues.append(logical)
                continue
            event = _account(logical.text, ctx, logical.line_no, logical.lines, counts, issues)
            if event is not None:
                yield event
    left = assembler.finish()  # parts of split lines that never completed
    counts.issues += len(left)
    issues.extend(left)
    return n


def _account(
    text: str,
    ctx: PrefixContext,
    line_no: int,
    lines: int,
    counts: LineCounts,
    issues: list[ParseIssue],
) -> TlsEvent | None:
    """Read one logical line standing for ``lines`` physical lines, and count them."""
    result, value = read_line(text, ctx, line_no)
    if result is LineResult.PARSED:
        counts.parsed += lines
        return value  # type: ignore[return-value]
    if result is LineResult.ISSUE:
        counts.issues += lines
        issues.append(value)  # type: ignore[arg-type]
    else:
        counts.unrelated += lines
    return None


# The frame returned by read_logs remembers the deliveries found in the same pass, so
# ``deliveries(read_logs(...))`` does not correlate twice; any other frame is re-read.
_CARRIED: dict[int, tuple[weakref.ref[pd.DataFrame], pd.DataFrame]] = {}


def _carry(events: pd.DataFrame, found: pd.DataFrame) -> None:
    key = id(events)
    _CARRIED[key] = (weakref.ref(events, lambda _: _CARRIED.pop(key, None)), found)


def read_logs_result(
    inputs: Input | Iterable[Input],
    *,
    timezone: str | tzinfo | None = None,
    progress: Progress | None = None,
    vectorised: bool = True,
    workers: int | None = None,
) -> LogReadResult:
    """Read ``inputs`` (files, directories, ``-`` for stdin, binary streams) in one pass.

    ``vectorised=False`` reads every line with the per-line parsers (the reference the
    vectorised Postfix reader is tested against); both give the same frames. ``workers``
    (vectorised reading only): 1 keeps everything in this process; None (the default) reads
    large files ahead in a second process while this one correlates; see ``fast_read``.
    """
    if vectorised:
        return fast_read(inputs, _zone(timezone), progress, keep_events=True, workers=workers)
    counts = LineCounts()
    issues: list[ParseIssue] = []
    correlator = Correlator()
    feed = correlator.feed
    events = [
        feed(e)
        for e in iter_events(
            inputs, timezone=timezone, counts=counts, issues=issues, progress=progress
        )
    ]
    found = deliveries_frame(correlator.finish())
    if correlator.revisions:
        revised = correlator.revisions
        events = [revised.get((e.origin, e.line_no), e) for e in events]
    frame = events_frame(events)
    _carry(frame, found)
    return LogReadResult(frame, found, issues_frame(issues), counts)


def read_logs(
    inputs: Input | Iterable[Input],
    *,
    timezone: str | tzinfo | None = None,
    progress: Progress | None = None,
    vectorised: bool = True,
    workers: int | None = None,
) -> pd.DataFrame:
    """The ``events`` frame of the MTA logs ``inputs`` (see ``read_logs_result``)."""
    return read_logs_result(
        inputs, timezone=timezone, progress=progress, vectorised=vectorised, workers=workers
    ).events


def deliveries(
    events_or_inputs: pd.DataFrame | Input | Iterable[Input],
    *,
    timezone: str | tzinfo | None = None,
    vectorised: bool = True,
    workers: int | None = None,
) -> pd.DataFrame:
    """The ``deliveries`` frame, from an ``events`` frame or straight from log inputs
    (``workers`` as in ``read_logs_result``)."""
    if isinstance(events_or_inputs, pd.DataFrame):
        carried = _CARRIED.get(id(events_or_inputs))
        if carried is not None and carried[0]() is events_or_inputs:
            return carried[1].copy()
        return deliveries_frame(_correlate(events_from_frame(events_or_inputs)))
    if vectorised:
        zone = _zone(timezone)
        return fast_read(
            events_or_inputs, zone, None, keep_events=False, workers=workers
        ).deliveries
    correlator = Correlator()
    for ev in iter_events(events_or_inputs, timezone=timezone):
        correlator.feed(ev)
    return deliveries_frame(correlator.finish())


def _correlate(events: Iterable[TlsEvent]) -> list[Delivery]:
    correlator = Correlator()
    for ev in events:
        correlator.feed(ev)
    return correlator.finish()


_FIELD = {"event": "kind", "source": "origin", "line": "line_no"}
_TEXT_FIELDS = frozenset(
    {
        "host",
        "service",
        "queue_id",
        "session_id",
        "peer_host",
        "peer_ip",
        "sender",
        "recipient",
        "message_id",
        "dsn",
        "tls_policy",
        "notice_queue_id",
        "detail",
        "source",
        "raw",
    }
)


def events_from_frame(frame: pd.DataFrame) -> Iterator[TlsEvent]:
    """The records behind the rows of an ``events`` frame (in row order)."""
    names = [c for c in EVENTS.names if c in frame.columns]
    columns = []
    for name in names:
        values = frame[name].astype(object).where(frame[name].notna(), None).tolist()
        conv = ENUMS.get(name)
        if conv is not None:
            values = [conv(v) if v is not None else None for v in values]
        elif name == "timestamp":
            values = [v.to_pydatetime() if v is not None else None for v in values]
        elif name in _TEXT_FIELDS:
            values = [v if v is not None else "" for v in values]
        columns.append(values)
    keys = [_FIELD.get(n, n) for n in names]
    for row in zip(*columns, strict=True):
        yield TlsEvent(**dict(zip(keys, row, strict=True)))


def fast_read(
    inputs: Input | Iterable[Input],
    zone: tzinfo,
    progress: Progress | None,
    *,
    keep_events: bool,
    workers: int | None = None,
) -> LogReadResult:
    """``read_logs_result`` with the vectorised Postfix reader (the same frames).

    ``workers``: 1 reads in this process only; any other number reads ahead in a second
    process while this one correlates; None does so for named files of ``AHEAD_MIN`` bytes
    and more when the machine has more than one CPU. The frames are the same either way.
    """
    counts = LineCounts()
    issues: list[ParseIssue] = []
    with system_allocations():  # a read-ahead child, forked inside, allocates the same way
        sink = FastSink(keep_events, issues)
        plan = _plan(_as_list(inputs), zone, issues)
        # without an events frame no raw line is wanted: the correlator reads none
        if can_read_ahead(plan, workers):
            produced = ahead(plan, zone, keep_events, sink.spare)
        else:
            produced = steps(plan, zone, keep_events)
        consume(produced, sink, counts, progress)
        counts.parsed, counts.unrelated = sink.parsed, sink.unrelated
        counts.issues = sink.issue_lines
        frame, found = sink.finish()
    if keep_events:
        _carry(frame, found)
    return LogReadResult(frame, found, issues_frame(issues), counts)
