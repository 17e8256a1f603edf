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
from analyzer.logs.correlate import Correlator, SessionTls, as_noise
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
_BOOKKEEPING = frozenset({"queued", "message-id", "removed"})
_STATUS = frozenset({"delivery", "received"})
# connections (their session keys, peers, directions and counters) and bounce notices
_LINKS = frozenset({"connect", "disconnect", "notification"})
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
    members = _objects([conv(v) for v in enc.dictionary.to_pylist()] + [None])
    codes = pc.fill_null(enc.indices, len(members) - 1).to_numpy()
    mapped: list[Any] = members.take(codes).tolist()  # a third of the time of a Python map
    return mapped


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


@dataclass(frozen=True, slots=True)
class _Sessions:
    """The values the correlator takes a block's TLS session lines by (``tls_session``,
    ``session_failure``), one list per column; no ``TlsEvent`` is built for those rows, and
    their session keys and TLS facts only as each row is fed.

    Attributes:
        host: logging hosts.
        service: syslog tags.
        pid: process ids.
        peer_ip: peer addresses.
        port: peer ports.
        direction: directions.
        trust: trust levels.
        tls_version: protocol versions.
        cipher: cipher suites.
        bits: key bits.
        category: failure categories.
        detail: detail texts.
        queue_id: queue ids (a failure's message, when the line names one).
    """

    host: list[str]
    service: list[str]
    pid: list[int | None]
    peer_ip: list[str]
    port: list[int | None]
    direction: list[Direction | None]
    trust: list[Trust | None]
    tls_version: list[TlsVersion | None]
    cipher: list[str | None]
    bits: list[int | None]
    category: list[FailureCategory | None]
    detail: list[str]
    queue_id: list[str]

    @classmethod
    def of(cls, table: pa.Table, rows: list[int]) -> _Sessions:
        """The values of the rows ``rows`` of ``table``."""
        return cls(*_subset(table, rows, _SESSION_COLUMNS))

    def feed(self, correlator: Correlator, v: int, kind: str, stamp: Any) -> bool:
        """Feed the ``v``-th of these rows, of kind ``kind``; true when the correlator re-read
        it as shutdown noise."""
        key = (self.host[v], self.service[v], self.pid[v])
        peer_ip = self.peer_ip[v]
        if kind in _TLS:
            values = (peer_ip, self.trust[v], self.tls_version[v], self.cipher[v], self.bits[v])
            facts = _FACTS.get(values)
            if facts is None:  # frozen: one record per distinct session, shared
                facts = _FACTS[values] = SessionTls(*values)
                if len(_FACTS) > FACTS_LIMIT:
                    _FACTS.clear()
            correlator.tls_session(key, facts, False, self.port[v], stamp, self.direction[v])
            return False
        return correlator.session_failure(
            key, peer_ip, stamp, self.category[v], self.detail[v], self.queue_id[v], False
        )


@dataclass(frozen=True, slots=True)
class _Links:
    """The values the correlator takes a block's connection lines and bounce notices by
    (``connect``, ``disconnect``, ``notification``), one list per column.

    Attributes:
        host ... detail: the values of the ``_LINK_COLUMNS`` of the same names.
    """

    host: list[str]
    service: list[str]
    pid: list[int | None]
    peer_ip: list[str]
    direction: list[Direction | None]
    encrypted: list[bool | None]
    queue_id: list[str]
    notice_queue_id: list[str]
    detail: list[str]

    @classmethod
    def of(cls, table: pa.Table, rows: list[int]) -> _Links:
        """The values of the rows ``rows`` of ``table``."""
        return cls(*_subset(table, rows, _LINK_COLUMNS))

    def feed(self, correlator: Correlator, i: int, kind: str, stamp: Any) -> None:
        """Feed the ``i``-th of these rows, of kind ``kind``, logged at ``stamp``."""
        if kind == "notification":
            correlator.notification(
                self.host[i], self.queue_id[i], self.notice_queue_id[i], self.detail[i], stamp
            )
            return
        key = (self.host[i], self.service[i], self.pid[i])
        if kind == "connect":
            correlator.connect(key, self.peer_ip[i], self.direction[i])
        else:
            correlator.disconnect(key, self.direction[i], self.encrypted[i])


# The TLS facts of sessions by value (bounded: cleared when full).
_FACTS: dict[tuple[Any, ...], SessionTls] = {}
FACTS_LIMIT = 4096
# The columns of ``_Sessions``, in the order of its fields.
_SESSION_COLUMNS = ("host", "service", "pid", "peer_ip", "peer_port", "direction", "trust",
                    "tls_version", "cipher", "bits", "failure_category", "detail",
                    "queue_id")  # fmt: skip
# The kinds of rows fed by value. The vectorised reader reads Postfix lines only, none of
# them with a session id: the correlator's session key is (host, service, pid), and no
# Postfix line starts a connection the way a Sendmail STARTTLS=client line does.
_TLS = frozenset({"tls-established", "tls-reused"})
_BY_VALUE = _TLS | {"tls-failed", "certificate-failed", "connection-lost"}
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
    dict.fromkeys(_STATUS, "status")
    | dict.fromkeys(_BOOKKEEPING, "book")
    | dict.fromkeys(_BY_VALUE, "session")
    | dict.fromkeys(_LINKS, "link")
)
_BY_GROUP = ("status", "book", "session", "link")


def feed_block(
    correlator: Correlator, read: BlockRead, slow: list[TlsEvent]
) -> tuple[list[TlsEvent], list[int]]:
    """Feed the events of one block to ``correlator`` in line order.

    Returns the line-by-line events as the correlator annotated them, plus those of the
    vectorised rows it re-annotated (shutdown noise), and the indexes of those rows.
    """
    table = read.events
    stamps = read.stamps.as_list()
    kinds, rows = _kinds(table)
    events = _records(table, rows["material"], stamps)
    statuses = iter(_status_lines(table, rows["status"], stamps))
    sessions = _Sessions.of(table, rows["session"])
    links = _Links.of(table, rows["link"])
    # the bookkeeping rows' values, in their order (a sender only for "queued", and so on)
    hosts, qids, values = _subset(table, rows["book"], ("host", "queue_id", "sender"))
    mids = iter(_subset(table, rows["mid"], ("message_id",))[0])
    fed: list[TlsEvent] = []
    dropped: list[int] = []
    feed = correlator.feed
    # what ``feed`` does with a status line or a receipt, which it keeps
    delivery, received = correlator.delivery, correlator.received
    v, b, n = 0, 0, 0
    # the rows before which each line-by-line event goes (those of later lines)
    lines = table["line"].to_numpy()
    cuts = np.searchsorted(lines, [ev.line_no for ev in slow], side="right").tolist()
    start = 0
    for stop, ev in zip([*cuts, len(kinds)], [*slow, None], strict=True):
        for j in range(start, stop):
            kind = kinds[j]
            if kind == "delivery":
                delivery(next(statuses))
            elif kind in _BOOKKEEPING:
                if kind == "queued":
                    correlator.queued(hosts[b], qids[b], values[b])
                elif kind == "message-id":
                    correlator.message_id(hosts[b], qids[b], next(mids))
                else:
                    correlator.removed(hosts[b], qids[b])
                b += 1
            elif kind in _BY_VALUE:
                if sessions.feed(correlator, v, kind, stamps[j]):  # the row is replaced
                    dropped.append(j)
                    fed.append(as_noise(materialise(table.slice(j, 1), [stamps[j]])[0]))
                v += 1
            elif kind in _LINKS:
                links.feed(correlator, n, kind, stamps[j])
                n += 1
            elif kind == "received":
                received(next(statuses))
            else:
                record = next(events)
                out = feed(record)
                if out is not record:  # re-read by the correlator: the row is replaced
                    dropped.append(j)
                    fed.append(out)
        start = max(start, stop)
        if ev is not None:
            fed.append(feed(ev))
    return fed, dropped


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
