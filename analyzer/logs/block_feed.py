"""Feeding one block of the vectorised Postfix reader to the correlator, row by row.

``analyzer.frames.fast_feed`` turns a block's events table into Python lists (one per
column, for each group of rows the correlator takes differently); this module walks the
block's rows in line order and hands each to the ``Correlator``: status lines and receipts
as ``StatusLine`` tuples, queue bookkeeping, TLS session lines, connections and bounce
notices by value, every other row as a ``TlsEvent`` record, and the line-by-line reader's
events in their place among them.

Plain Python importing only the standard library and the package, so that a regular install
compiles it with the correlator (``setup.py``): the loop runs once per event line, and
compiled, its calls into the compiled correlator are direct.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from analyzer.logs.correlate import Correlator, SessionTls
from analyzer.logs.delivery_rows import StatusLine
from analyzer.model.common import TlsVersion
from analyzer.model.logs import Direction, FailureCategory, TlsEvent, Trust

# The kinds of rows fed by value. The vectorised reader reads Postfix lines only, none of
# them with a session id: the correlator's session key is (host, service, pid), and no
# Postfix line starts a connection the way a Sendmail STARTTLS=client line does.
TLS = frozenset({"tls-established", "tls-reused"})
BY_VALUE = TLS | {"tls-failed", "certificate-failed", "connection-lost"}
BOOKKEEPING = frozenset({"queued", "message-id", "removed"})
STATUS = frozenset({"delivery", "received"})
# connections (their session keys, peers, directions and counters) and bounce notices
LINKS = frozenset({"connect", "disconnect", "notification"})

# The TLS facts of sessions by value (bounded: cleared when full).
_FACTS: dict[tuple[Any, ...], SessionTls] = {}
FACTS_LIMIT = 4096


@dataclass(frozen=True)
class SessionRows:
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

    def feed(self, correlator: Correlator, v: int, kind: str, stamp: Any) -> bool:
        """Feed the ``v``-th of these rows, of kind ``kind``; true when the correlator re-read
        it as shutdown noise."""
        key = (self.host[v], self.service[v], self.pid[v])
        peer_ip = self.peer_ip[v]
        if kind in TLS:
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


@dataclass(frozen=True)
class LinkRows:
    """The values the correlator takes a block's connection lines and bounce notices by
    (``connect``, ``disconnect``, ``notification``), one list per column.

    Attributes:
        host ... detail: the values of the columns of the same names.
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


@dataclass(frozen=True)
class BookRows:
    """The values of a block's queue bookkeeping rows (``queued``, ``message-id``,
    ``removed``), in their order, and the Message-IDs of its ``message-id`` rows.

    Attributes:
        host: logging hosts.
        queue_id: queue ids.
        sender: senders (of the ``queued`` rows).
        message_id: the Message-IDs, one per ``message-id`` row, in order.
    """

    host: list[str]
    queue_id: list[str]
    sender: list[str]
    message_id: list[str]


def feed_rows(
    correlator: Correlator,
    kinds: list[str],
    stamps: list[Any],
    cuts: list[int],
    slow: list[TlsEvent],
    statuses: list[StatusLine],
    sessions: SessionRows,
    links: LinkRows,
    book: BookRows,
    events: Iterator[TlsEvent],
    noise: Callable[[int], TlsEvent],
) -> tuple[list[TlsEvent], list[int]]:
    """Feed the rows of a block (of kinds ``kinds``, logged at ``stamps``) to ``correlator``
    in line order, the line-by-line events ``slow`` among them: ``slow[k]`` goes before the
    row ``cuts[k]``. The rows' values come from ``statuses`` (status lines and receipts),
    ``sessions``, ``links``, ``book`` and ``events`` (the records of the other rows), each
    in row order; ``noise(j)`` is row ``j`` re-read as shutdown noise.

    Returns the line-by-line events as the correlator annotated them, plus the rows it
    re-read (replaced), and the indexes of those rows.
    """
    fed: list[TlsEvent] = []
    dropped: list[int] = []
    s, v, b, m, n = 0, 0, 0, 0, 0
    start = 0
    ends = [*cuts, len(kinds)]
    for k, stop in enumerate(ends):
        for j in range(start, stop):
            kind = kinds[j]
            if kind == "delivery":
                correlator.delivery(statuses[s])
                s += 1
            elif kind in BOOKKEEPING:
                if kind == "queued":
                    correlator.queued(book.host[b], book.queue_id[b], book.sender[b])
                elif kind == "message-id":
                    correlator.message_id(book.host[b], book.queue_id[b], book.message_id[m])
                    m += 1
                else:
                    correlator.removed(book.host[b], book.queue_id[b])
                b += 1
            elif kind in BY_VALUE:
                if sessions.feed(correlator, v, kind, stamps[j]):  # the row is replaced
                    dropped.append(j)
                    fed.append(noise(j))
                v += 1
            elif kind in LINKS:
                links.feed(correlator, n, kind, stamps[j])
                n += 1
            elif kind == "received":
                correlator.received(statuses[s])
                s += 1
            else:
                record = next(events)
                out = correlator.feed(record)
                if out is not record:  # re-read by the correlator: the row is replaced
                    dropped.append(j)
                    fed.append(out)
        start = max(start, stop)
        if k < len(slow):
            fed.append(correlator.feed(slow[k]))
    return fed, dropped
