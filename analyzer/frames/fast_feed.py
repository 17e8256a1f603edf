"""Correlating the blocks of the vectorised Postfix reader, and their frames.

The vectorised reader (``fast_postfix``) gives a block's events as Arrow columns; the lines it
leaves are read one by one (``read_line``). ``FastSink`` feeds both, in line order, to the
one ``Correlator`` (the reference of the per-line reader): queue bookkeeping, TLS session
lines (handshakes and their failures), connections and bounce notices by value, straight
from the columns; status lines and receipts as ``StatusLine`` tuples; every other event as a
``TlsEvent`` record. Events tables and delivery rows become frame parts (``FrameParts``)
block by block, while the reading process has nothing ready (``FastSink.spare``), and the
frames are joined at the end.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analyzer.frames.arrow_rows import (
    DELIVERY_TYPES,
    EVENT_TYPES,
    FrameParts,
    build_records,
    deliveries_table,
    events_table,
    take_rows,
)
from analyzer.frames.fast_postfix import BlockRead
from analyzer.frames.logs import DELIVERIES, EVENTS, events_frame, with_notice_columns
from analyzer.frames.schema import Kind
from analyzer.logs.block_feed import (
    BOOKKEEPING,
    BY_VALUE,
    LINKS,
    STATUS,
    BookRows,
    LinkRows,
    SessionRows,
    feed_rows,
)
from analyzer.logs.correlate import Correlator, as_noise
from analyzer.logs.delivery_rows import DeliveryRow, StatusLine
from analyzer.logs.joiner import Assembler
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
# The columns of ``block_feed.LinkRows`` and ``SessionRows``, in the order of their fields.
_LINK_COLUMNS = ("host", "service", "pid", "peer_ip", "direction", "encrypted", "queue_id",
                 "notice_queue_id", "detail")  # fmt: skip


# StatusLine fields, named as the EVENTS columns
_STATUS_ARGS = [
    {"origin": "source", "line_no": "line", "kind": "event"}.get(f, f) for f in StatusLine._fields
]
_STATUS_COLUMNS = tuple(name for name in _STATUS_ARGS if name != "timestamp")  # from the table
_new_tuple = tuple.__new__
# Columns read as one Python object per distinct value of a block (every text column but the
# raw lines, and the process ids): most values recur (hosts, peers, senders, status texts, a
# queue id on each of its message's lines), and the correlator's keys hash them over and
# over; a string computes its hash once, and an equal key found by identity is not compared.
# Far fewer objects are made, too. The consumer's CPU on the 200,000-line benchmark log went
# from 0.52 s to 0.45 s (median of 3) against reading only hosts, tags and kinds this way.
_SHARED = frozenset(
    {c.name for c in EVENTS.columns if c.kind is Kind.STRING and c.name != "raw"} | {"pid"}
)


def _pylist(column: pa.ChunkedArray | pa.Array, conv: Callable[[str], object] | None) -> list[Any]:
    """The values of ``column``, as members of the enum ``conv`` when given (or as ``conv``
    of each distinct value: ``_same`` gives one object per distinct value)."""
    if column.null_count == len(column):
        return [None] * len(column)
    if conv is None:
        values: list[Any] = column.to_pylist()
        return values
    enc = _coded(column)
    values = enc.dictionary.to_pylist()
    if conv is not _same:
        values = _as_members(conv, values)
    members = _objects([*values, None])
    codes = pc.fill_null(enc.indices, len(members) - 1).to_numpy()
    mapped: list[Any] = members.take(codes).tolist()  # a third of the time of a Python map
    return mapped


# The member of each text an enum has been given, per enum (bounded: its members' values).
_MEMBERS: dict[Callable[[str], object], dict[str, object]] = {}


def _as_members(conv: Callable[[str], object], texts: list[str]) -> list[object]:
    """``conv`` of each of ``texts``, each distinct text converted once. A category column's
    dictionary may hold a text once per row (the vectorised reader joins its parts' values
    as they are): on the 200,000-line benchmark log the event kinds' dictionaries held
    20,063 texts for 50,419 rows, and an enum's call costs about a microsecond, a dict's
    lookup a twentieth of that."""
    known = _MEMBERS.setdefault(conv, {})
    out = []
    for text in texts:
        member = known.get(text, known)
        if member is known:
            member = known[text] = conv(text)  # (an unknown text raises, nothing is kept)
        out.append(member)
    return out


def _coded(column: pa.ChunkedArray | pa.Array) -> pa.DictionaryArray:
    """``column`` as one dictionary array: as it is when it is one (the category columns of
    the vectorised reader, ``arrow_rows.CODED``), else dictionary-encoded."""
    enc = column if pa.types.is_dictionary(column.type) else pc.dictionary_encode(column)
    if isinstance(enc, pa.ChunkedArray):
        enc = enc.combine_chunks()
    return enc


def _same(value: object) -> object:
    """A value as it is (``_pylist``: one object per distinct value)."""
    return value


def _objects(values: list[Any]) -> np.ndarray[Any, np.dtype[np.object_]]:
    """``values`` as a numpy array of objects, each value as it is."""
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _conv(name: str) -> Callable[[str], object] | None:
    """How ``_pylist`` reads the column ``name``."""
    return ENUMS.get(name) or (_same if name in _SHARED else None)


def materialise(table: pa.Table, stamps: list[object]) -> list[TlsEvent]:
    """The records of the rows of ``table`` (EVENTS columns, categories as text), whose time
    stamps are ``stamps``."""
    columns: list[list[object]] = [
        stamps if name == "timestamp" else _pylist(table[name], _conv(name)) for name in _EVENT_ARGS
    ]
    return build_records(TlsEvent, columns)


_SESSION_COLUMNS = ("host", "service", "pid", "peer_ip", "peer_port", "direction", "trust",
                    "tls_version", "cipher", "bits", "failure_category", "detail",
                    "queue_id")  # fmt: skip
CHUNK = 1024  # records materialised at a time


def _records(table: pa.Table, rows: list[int], stamps: list[Any]) -> Iterator[TlsEvent]:
    """The records of the rows ``rows`` of ``table`` (``materialise``), built ``CHUNK`` at a
    time as they are used: records that die young cost the garbage collector far less. The
    columns are read once for all the rows (Arrow's cost per call is paid once)."""
    if not rows:
        return
    sub = table.take(pa.array(rows, pa.int64()))
    chosen = [stamps[i] for i in rows]
    columns = [
        chosen if name == "timestamp" else _pylist(sub[name], _conv(name)) for name in _EVENT_ARGS
    ]
    del sub
    for at in range(0, len(rows), CHUNK):
        yield from build_records(TlsEvent, [c[at : at + CHUNK] for c in columns])


def _status_lines(table: pa.Table, rows: list[int], stamps: list[Any]) -> list[StatusLine]:
    """The status lines of the rows ``rows`` of ``table``, whose time stamps are ``stamps``
    (by row of the table); the values as ``materialise`` gives them."""
    if not rows:
        return []
    columns = _subset(table, rows, _STATUS_COLUMNS)  # not the raw lines
    columns.insert(_STATUS_ARGS.index("timestamp"), [stamps[i] for i in rows])
    return list(map(_new_tuple, repeat(StatusLine), zip(*columns, strict=True)))


def _subset(table: pa.Table, rows: list[int], names: tuple[str, ...]) -> list[list[Any]]:
    """The values of the columns ``names`` in the rows ``rows`` of ``table`` (``_pylist``)."""
    if not rows:
        return [[] for _ in names]
    sub = table.select(list(names)).take(pa.array(rows, pa.int64()))
    return [_pylist(sub[name], _conv(name)) for name in names]


def _kinds(table: pa.Table) -> tuple[list[str], dict[str, list[int]]]:
    """The kind of each row of ``table`` (one string object per kind), and the rows of each
    of the groups the consumer feeds differently (``_GROUPS``), in order."""
    enc = _coded(table["event"])
    names = [str(k) for k in enc.dictionary.to_pylist()]
    codes = enc.indices.to_numpy()
    group = np.array([_GROUPS.get(k, "material") for k in names] or ["material"])
    of_row = group[codes] if len(codes) else np.array([], dtype=group.dtype)
    rows = {g: np.flatnonzero(of_row == g).tolist() for g in _BY_GROUP}
    rows["material"] = np.flatnonzero(~np.isin(of_row, _BY_GROUP)).tolist()
    mid = names.index("message-id") if "message-id" in names else -1
    rows["mid"] = np.flatnonzero(codes == mid).tolist()
    return _objects(names).take(codes).tolist(), rows


# How the consumer feeds a row of each kind: status lines and receipts as ``StatusLine``
# tuples; queue bookkeeping, TLS session lines, connections and notices by value; any other
# kind as a ``TlsEvent`` (material).
_GROUPS = (
    dict.fromkeys(STATUS, "status")
    | dict.fromkeys(BOOKKEEPING, "book")
    | dict.fromkeys(BY_VALUE, "session")
    | dict.fromkeys(LINKS, "link")
)
_BY_GROUP = ("status", "book", "session", "link")


def feed_block(
    correlator: Correlator, read: BlockRead, slow: list[TlsEvent]
) -> tuple[list[TlsEvent], list[int]]:
    """Feed the events of one block to ``correlator`` in line order (``block_feed``).

    Returns the line-by-line events as the correlator annotated them, plus those of the
    vectorised rows it re-annotated (shutdown noise), and the indexes of those rows.
    """
    table = read.events
    stamps = read.stamps.as_list()
    kinds, rows = _kinds(table)
    # the bookkeeping rows' values, in their order (a sender only for "queued", and so on)
    hosts, qids, senders = _subset(table, rows["book"], ("host", "queue_id", "sender"))
    (mids,) = _subset(table, rows["mid"], ("message_id",))
    # the rows before which each line-by-line event goes (those of later lines)
    lines = table["line"].to_numpy()
    cuts = np.searchsorted(lines, [ev.line_no for ev in slow], side="right").tolist()

    def noise(j: int) -> TlsEvent:
        return as_noise(materialise(table.slice(j, 1), [stamps[j]])[0])

    return feed_rows(
        correlator,
        kinds,
        stamps,
        cuts,
        slow,
        _status_lines(table, rows["status"], stamps),
        SessionRows(*_subset(table, rows["session"], _SESSION_COLUMNS)),
        LinkRows(*_subset(table, rows["link"], _LINK_COLUMNS)),
        BookRows(hosts, qids, senders, mids),
        _records(table, rows["material"], stamps),
        noise,
    )


# Delivery rows held as tuples at most (beyond them, converted at once): a bound on the
# memory that waiting for spare time may take.
WAITING_ROWS = 200_000


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
    # events tables and delivery rows not converted yet (``spare``), and what they became
    _tables: deque[pa.Table] = field(default_factory=deque)
    _rows: deque[list[DeliveryRow]] = field(default_factory=deque)
    _waiting: int = 0  # delivery rows in ``_rows``
    _events: FrameParts = field(default_factory=lambda: FrameParts(EVENTS, EVENT_TYPES))
    _found: FrameParts = field(default_factory=lambda: FrameParts(DELIVERIES, DELIVERY_TYPES))

    def slow(
        self,
        items: Iterable[tuple[int, str] | ParseIssue],
        ctx: PrefixContext,
        assembler: Assembler | None = None,
    ) -> list[TlsEvent]:
        """Read ``items`` (numbered lines, or issues of unreadable ones) line by line.

        ``assembler`` (one per file, kept across its blocks) joins split lines, whose parts
        may lie in different blocks, and marks gap lines; a joined line's event comes with
        the block of its last part, numbered as its first part.
        """
        out: list[TlsEvent] = []
        for item in items:
            if isinstance(item, ParseIssue):
                self.issue_lines += 1
                self.issues.append(item)
                continue
            assembled = assembler.push(item[0], item[1]) if assembler is not None else None
            if assembled is None:
                self._read(item[1], ctx, item[0], 1, out)
                continue
            for logical in assembled:
                if isinstance(logical, ParseIssue):
                    self.issue_lines += 1
                    self.issues.append(logical)
                else:
                    self._read(logical.text, ctx, logical.line_no, logical.lines, out)
        return out

    def _read(
        self, text: str, ctx: PrefixContext, line_no: int, lines: int, out: list[TlsEvent]
    ) -> None:
        """Read one logical line standing for ``lines`` physical lines, and count them."""
        result, value = read_line(text, ctx, line_no)
        if result is LineResult.PARSED:
            self.parsed += lines
            out.append(value)  # type: ignore[arg-type]
        elif result is LineResult.ISSUE:
            self.issue_lines += lines
            self.issues.append(value)  # type: ignore[arg-type]
        else:
            self.unrelated += lines

    def end_file(self, assembler: Assembler) -> None:
        """Record the parts of split lines still waiting when a file ends."""
        left = assembler.finish()
        self.issue_lines += len(left)
        self.issues.extend(left)

    def block(self, read: BlockRead | None, slow: list[TlsEvent]) -> None:
        """Correlate one block: what the vectorised reader read (if any) and ``slow``."""
        self._block(read, slow)
        taken = self.correlator.take_rows()
        if taken:  # deliveries become Arrow columns later (``spare``), not records
            self._rows.append(taken)
            self._waiting += len(taken)
            while self._waiting > WAITING_ROWS:
                self._convert_rows()

    def spare(self) -> bool:
        """Convert what waits for it (delivery rows to Arrow columns, events tables to frame
        parts), a block's worth; whether there was any. For the times the caller would
        otherwise wait (``blocks.ahead``): the work is done all the same, but not at the end,
        when nothing else can run alongside it."""
        if self._rows:
            self._convert_rows()
        elif self._tables:
            self._events.add(self._tables.popleft())
        else:
            return False
        return True

    def _convert_rows(self) -> None:
        rows = self._rows.popleft()
        self._waiting -= len(rows)
        self._found.add(deliveries_table(rows))

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
            if not fed:  # the vectorised rows are in line order already
                self._tables.append(table)
                return
            both = pa.concat_tables([table, events_table(fed)])  # ``take`` gives one chunk
            self._tables.append(take_rows(both, pc.sort_indices(both["line"])))

    def finish(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The events frame (empty unless ``keep_events``) and the deliveries frame."""
        while self.spare():  # what is left to convert
            pass
        self._found.add(deliveries_table(self.correlator.finish_rows()))
        found = with_notice_columns(self._found.frame(), self.correlator.notice_columns)
        if not self.keep_events:  # (no events table was kept)
            return events_frame([]), found
        frame = self._events.frame()
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
