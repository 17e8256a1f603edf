"""Correlating the blocks of the vectorised Postfix reader, and their frames.

The vectorised reader (``fast_postfix``) gives a block's events as Arrow columns; the lines it
leaves are read one by one (``read_line``). ``FastSink`` feeds both, in line order, to the
one ``Correlator`` (the reference of the per-line reader): queue bookkeeping straight from the
columns, every other event as a ``TlsEvent`` record. Events and deliveries are kept as Arrow
tables, block by block, and become frames once at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analyzer.frames.arrow_rows import EVENT_TYPES, deliveries_table, events_table, frame_of
from analyzer.frames.fast_postfix import BlockRead
from analyzer.frames.logs import DELIVERIES, EVENTS, events_frame
from analyzer.logs.correlate import Correlator
from analyzer.logs.prefix import PrefixContext
from analyzer.logs.registry import LineResult, read_line
from analyzer.model.common import ParseIssue, TlsVersion
from analyzer.model.logs import (
    Direction,
    EventKind,
    FailureCategory,
    Mta,
    Outcome,
    Rfc8460ResultType,
    TlsEvent,
    Trust,
)

# The enums behind the category columns of the events and deliveries frames.
ENUMS: dict[str, Callable[[str], object]] = {
    "mta": Mta,
    "direction": Direction,
    "event": EventKind,
    "trust": Trust,
    "tls_version": TlsVersion,
    "failure_category": FailureCategory,
    "rfc8460_result_type": Rfc8460ResultType,
    "outcome": Outcome,
}
# TlsEvent fields in the order of its constructor, named as the EVENTS columns.
_EVENT_ARGS = [
    {"origin": "source", "line_no": "line", "kind": "event"}.get(f, f)
    for f in TlsEvent.__dataclass_fields__
]
_BOOKKEEPING = frozenset({"queued", "message-id", "removed"})


def materialise(table: pa.Table, stamps: list[object]) -> list[TlsEvent]:
    """The records of the rows of ``table`` (EVENTS columns, categories as text), whose time
    stamps are ``stamps``."""
    columns: list[list[object]] = []
    for name in _EVENT_ARGS:
        if name == "timestamp":
            columns.append(stamps)
            continue
        column = table[name]
        conv = ENUMS.get(name)
        if column.null_count == len(column):
            columns.append([None] * len(column))
        elif conv is not None:
            enc = pc.dictionary_encode(column).combine_chunks()
            members = [conv(v) for v in enc.dictionary.to_pylist()] + [None]
            codes = pc.fill_null(enc.indices, len(members) - 1).to_numpy().tolist()
            columns.append(list(map(members.__getitem__, codes)))
        else:
            columns.append(column.to_pylist())
    return list(map(TlsEvent, *columns))  # columns of equal length, one per field


def feed_block(
    correlator: Correlator, read: BlockRead, slow: list[TlsEvent]
) -> tuple[list[TlsEvent], list[int]]:
    """Feed the events of one block to ``correlator`` in line order.

    Returns the line-by-line events as the correlator annotated them, plus those of the
    vectorised rows it re-annotated (shutdown noise), and the indexes of those rows.
    """
    table = read.events
    kinds = table["event"].to_pylist()
    material = [i for i, k in enumerate(kinds) if k not in _BOOKKEEPING]
    events = materialise(
        table.take(pa.array(material, pa.int64())), [read.stamps[i] for i in material]
    )
    lines = table["line"].to_pylist()
    hosts = table["host"].to_pylist()
    qids = table["queue_id"].to_pylist()
    senders = table["sender"].to_pylist()
    mids = table["message_id"].to_pylist()
    fed: list[TlsEvent] = []
    dropped: list[int] = []
    feed = correlator.feed
    s, m = 0, 0
    for j, kind in enumerate(kinds):
        while s < len(slow) and slow[s].line_no < lines[j]:
            fed.append(feed(slow[s]))
            s += 1
        if kind == "queued":
            correlator.queued(hosts[j], qids[j], senders[j])
        elif kind == "message-id":
            correlator.message_id(hosts[j], qids[j], mids[j])
        elif kind == "removed":
            correlator.removed(hosts[j], qids[j])
        else:
            ev = events[m]
            m += 1
            out = feed(ev)
            if out is not ev:  # re-read by the correlator: the row is replaced
                dropped.append(j)
                fed.append(out)
    fed.extend(feed(ev) for ev in slow[s:])
    return fed, dropped


@dataclass(slots=True)
class FastSink:
    """Where the blocks of a vectorised read go, and their line accounting.

    Attributes:
        keep_events: whether the events frame is wanted (else only deliveries are kept).
        issues: issues found (lines that could not be read).
        correlator: the one correlator of the read.
        parsed: lines that became an event.
        unrelated: lines that say nothing about TLS or deliveries.
        issue_lines: lines that became an issue.
    """

    keep_events: bool
    issues: list[ParseIssue]
    correlator: Correlator = field(default_factory=Correlator)
    parsed: int = 0
    unrelated: int = 0
    issue_lines: int = 0
    _tables: list[pa.Table] = field(default_factory=list)
    _found: list[pa.Table] = field(default_factory=list)

    def slow(
        self, items: Iterable[tuple[int, str] | ParseIssue], ctx: PrefixContext
    ) -> list[TlsEvent]:
        """Read ``items`` (numbered lines, or issues of unreadable ones) line by line."""
        out: list[TlsEvent] = []
        for item in items:
            if isinstance(item, ParseIssue):
                self.issue_lines += 1
                self.issues.append(item)
                continue
            result, value = read_line(item[1], ctx, item[0])
            if result is LineResult.PARSED:
                self.parsed += 1
                out.append(value)  # type: ignore[arg-type]
            elif result is LineResult.ISSUE:
                self.issue_lines += 1
                self.issues.append(value)  # type: ignore[arg-type]
            else:
                self.unrelated += 1
        return out

    def block(self, read: BlockRead | None, slow: list[TlsEvent]) -> None:
        """Correlate one block: what the vectorised reader read (if any) and ``slow``."""
        self._block(read, slow)
        taken = self.correlator.take()
        if taken:  # deliveries held as Arrow columns, not records, as they come
            self._found.append(deliveries_table(taken))

    def _block(self, read: BlockRead | None, slow: list[TlsEvent]) -> None:
        if read is None:
            fed = [self.correlator.feed(ev) for ev in slow]
            if self.keep_events:
                self._tables.append(events_table(fed))
            return
        self.parsed += read.events.num_rows
        self.unrelated += read.unrelated
        fed, dropped = feed_block(self.correlator, read, slow)
        if self.keep_events:
            table = read.events
            if dropped:
                keep = np.ones(table.num_rows, dtype=np.bool_)
                keep[dropped] = False
                table = table.filter(pa.array(keep))
            both = pa.concat_tables([table, events_table(fed)])
            self._tables.append(both.take(pc.sort_indices(both["line"])))

    def finish(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The events frame (empty unless ``keep_events``) and the deliveries frame."""
        self._found.append(deliveries_table(self.correlator.finish()))
        found = frame_of(DELIVERIES, pa.concat_tables(self._found))
        self._found.clear()
        if not self.keep_events:
            return events_frame([]), found
        table = pa.concat_tables(self._tables) if self._tables else EVENT_TYPES.empty_table()
        self._tables.clear()
        frame = frame_of(EVENTS, table)
        del table
        if self.correlator.revisions:
            frame = _revise(frame, self.correlator.revisions)
        return frame, found


def _revise(frame: pd.DataFrame, revisions: dict[tuple[str, int], TlsEvent]) -> pd.DataFrame:
    """``frame`` with the rows of re-read events replaced by their new reading."""
    keys = pd.MultiIndex.from_arrays([frame["source"].astype(object), frame["line"]])
    at = {k: i for i, k in enumerate(keys) if k in revisions}
    if not at:
        return frame
    rows = events_frame(revisions[k] for k in at)
    rows.index = pd.Index(list(at.values()))
    out = frame.copy()
    for name in frame.columns:
        out.loc[rows.index, name] = rows[name]
    return out
