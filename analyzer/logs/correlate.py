"""Join TLS session lines to the deliveries they carried, and follow queue ids across retries.

The algorithm is shared reference log-formats.md §2.1.8 (Postfix), §2.2 (Exim: the message
id and the ``X=`` field on the line itself), §2.3 (Sendmail: pid). In one pass over events in
time order:

* a *session* is keyed by (host, syslog tag, pid): a Postfix ``smtp`` process handles one
  delivery request at a time and its TLS line (no queue id) precedes the status lines of the
  same pid; with connection caching (``conn_use=N``) the session carries forward.
* a *message* is keyed by (host, queue id) and remembers sender, Message-ID, the attempts per
  recipient and the TLS failure of earlier attempts, so that "TLS failed, later delivered in
  plaintext" (fallback) and "deferred N times, then bounced" show.
* a bounce daemon notice (``<qid>: sender non-delivery notification: <new qid>``) links the
  rows of the message it reports and the notice's own deliveries (``analyzer.logs.notices``).
* every map is bounded (least recently used entries are dropped first), so memory does not
  grow with the number of lines.

Pure: events in, (annotated event, deliveries) out.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime

from analyzer.logs.delivery_rows import (
    DeliveryLine,
    DeliveryRow,
    SessionTls,
    as_delivery,
    delivery_row,
    domain,
    encrypted_failure,
    encrypted_of,
    restated_row,
    session_tls,
    trust_failure,
)
from analyzer.logs.members import (
    CONNECT,
    DELIVERED,
    DELIVERY,
    DISCONNECT,
    INBOUND,
    MESSAGE_ID,
    NOT_SENT,
    NOTIFICATION,
    OUTBOUND,
    POSTFIX,
    QUEUED,
    RECEIVED,
    REJECTED,
    REMOVED,
    REPLAY,
    TLS_KINDS,
)
from analyzer.logs.notices import NoticeBook, NoticeColumns
from analyzer.logs.sessions import (
    SessionKey,
    _failure_for,
    _Message,
    _same_peer,
    _Session,
    _starts_connection,
    as_noise,
)
from analyzer.logs.taxonomy import is_shutdown_noise, more_specific
from analyzer.model.logs import (
    Delivery,
    Direction,
    EventKind,
    FailureCategory,
    Mta,
    Outcome,
    TlsEvent,
)

FC = FailureCategory
_NOISE_CATEGORIES = (FC.CONNECTION_LOST, FC.HANDSHAKE_FAILURE, None)
# MTAs whose TLS lines and delivery lines are tied by process id (log-formats.md §2.1.8, §2.3)
# or session id (OpenSMTPD, §2.5)
_PID_SESSIONS = frozenset({Mta.POSTFIX, Mta.SENDMAIL, Mta.OPENSMTPD})
MAX_SESSIONS = 20_000
MAX_MESSAGES = 200_000
NOISE_WINDOW_S = 300  # a TLS error this soon after a good session with the peer is its close

_FAILURES = frozenset(
    {EventKind.TLS_FAILED, EventKind.CERTIFICATE_FAILED, EventKind.CONNECTION_LOST}
)

__all__ = ["Correlator", "SessionKey", "SessionTls", "as_noise", "session_tls"]

# Exim's texts for a status given without connecting (sample_data/lab/exim/mainlog:
# "defer (-54): retry time not reached for any host", "** rcpt: retry timeout exceeded")
_RESTATED = ("retry time not reached", "retry timeout exceeded")


class Correlator:
    """Feed events in time order; collect deliveries. Bounded state (see module doc)."""

    def __init__(self, max_sessions: int = MAX_SESSIONS, max_messages: int = MAX_MESSAGES):
        self._sessions: OrderedDict[SessionKey, _Session] = OrderedDict()
        self._messages: OrderedDict[tuple[str, str], _Message] = OrderedDict()
        self._max_sessions = max_sessions
        self._max_messages = max_messages
        self._tls_logged: set[tuple[str, str]] = set()
        self._proxy: OrderedDict[tuple[str, str, int | None], SessionTls] = OrderedDict()
        self._recent_tls: OrderedDict[tuple[str, str], datetime | None] = OrderedDict()
        self._rows: list[DeliveryRow] = []  # not handed over yet
        self._handed = 0  # rows handed over by ``take``
        self._notices = NoticeBook(max_messages)
        # events re-read once later lines showed what they meant, keyed by (origin, line_no)
        self.revisions: dict[tuple[str, int], TlsEvent] = {}

    @property
    def notice_columns(self) -> NoticeColumns:
        """The notice columns (``notice_queue_id``, ``notice_of``) of every row, by row
        number counted over all rows, handed over or not (``analyzer.logs.notices``).
        ``finish`` applies them to the rows it returns; a caller of ``take`` applies them
        to the rows it took."""
        return self._notices.columns

    # -- state maps ---------------------------------------------------------------------
    def _key(self, ev: DeliveryLine) -> SessionKey:
        return (ev.host, ev.service, ev.session_id or ev.pid)

    def _session(self, ev: DeliveryLine, *, reset: bool = False) -> _Session:
        return self._session_at(self._key(ev), ev.peer_ip, reset=reset)

    def _session_at(self, key: SessionKey, peer_ip: str, *, reset: bool = False) -> _Session:
        sess = self._sessions.get(key)
        if sess is None or reset:
            if sess is not None:
                self._close(sess, None)
            sess = _Session(peer_ip)
            self._sessions[key] = sess
            if len(self._sessions) > self._max_sessions:
                _, old = self._sessions.popitem(last=False)
                self._close(old, None)
        else:
            self._sessions.move_to_end(key)
        return sess

    def _message(self, host: str, qid: str) -> _Message:
        key = (host, qid)
        msg = self._messages.get(key)
        if msg is None:
            msg = _Message()
            self._messages[key] = msg
            if len(self._messages) > self._max_messages:
                self._messages.popitem(last=False)
        else:
            self._messages.move_to_end(key)
        return msg

    # -- events -------------------------------------------------------------------------
    def feed(self, ev: TlsEvent) -> TlsEvent:
        """Account for one event; return it, re-annotated when the session changes its meaning
        (a TLS error after a successful handshake of the same session is shutdown noise)."""
        kind = ev.kind
        if kind in TLS_KINDS:
            self._on_tls(ev)
        elif kind in _FAILURES:
            return self._on_failure(ev)
        elif kind is DELIVERY:
            self.delivery(ev)
        elif kind is REPLAY:
            self._on_replay(ev)
        elif kind is RECEIVED:
            self.received(ev)
        elif kind is REJECTED:
            by_pid = ev.mta in _PID_SESSIONS
            self._emit(ev, self._sessions.get(self._key(ev)) if by_pid else None, None)
        else:
            self._on_bookkeeping(ev)
        return ev

    def _on_bookkeeping(self, ev: TlsEvent) -> None:
        kind = ev.kind
        if kind is CONNECT:
            self.connect(self._key(ev), ev.peer_ip, ev.direction)
        elif kind is DISCONNECT:
            self.disconnect(self._key(ev), ev.direction, ev.encrypted)
        elif kind is MESSAGE_ID and ev.queue_id:
            self.message_id(ev.host, ev.queue_id, ev.message_id)
        elif kind is QUEUED and ev.queue_id:
            self.queued(ev.host, ev.queue_id, ev.sender)
        elif kind is REMOVED:
            self.removed(ev.host, ev.queue_id)
        elif kind is NOTIFICATION:
            self.notification(ev.host, ev.queue_id, ev.notice_queue_id, ev.detail, ev.timestamp)

    # The bookkeeping events, callable without a ``TlsEvent`` (the vectorised Postfix reader
    # feeds them from its columns).
    def connect(self, key: SessionKey, peer_ip: str, direction: Direction | None) -> None:
        """A ``CONNECT`` event on session ``key``: an inbound session starts afresh."""
        if direction is not OUTBOUND:
            self._session_at(key, peer_ip, reset=True)

    def disconnect(
        self, key: SessionKey, direction: Direction | None, encrypted: bool | None
    ) -> None:
        """A ``DISCONNECT`` event on session ``key``: an inbound session ends, and its
        ``starttls=`` counters (``encrypted``) decide the messages it received."""
        if direction is not OUTBOUND:
            sess = self._sessions.pop(key, None)
            if sess is not None:
                self._close(sess, encrypted)

    def notification(
        self, host: str, queue_id: str, new_id: str, kind: str, when: datetime | None
    ) -> None:
        """A ``NOTIFICATION`` event: ``queue_id``'s notice of ``kind`` is queue id ``new_id``."""
        if queue_id and new_id:
            self._notices.notice(host, queue_id, new_id, kind, when)

    def message_id(self, host: str, queue_id: str, message_id: str) -> None:
        """A ``MESSAGE_ID`` event: the Message-ID of queue id ``queue_id`` on ``host``."""
        self._message(host, queue_id).message_id = message_id

    def queued(self, host: str, queue_id: str, sender: str) -> None:
        """A ``QUEUED`` event: the envelope sender of ``queue_id`` on ``host``."""
        self._message(host, queue_id).sender = sender

    def removed(self, host: str, queue_id: str) -> None:
        """A ``REMOVED`` event: ``queue_id`` left the queue of ``host``."""
        self._messages.pop((host, queue_id), None)
        self._notices.removed(host, queue_id)

    def _on_tls(self, ev: TlsEvent) -> None:
        self.tls_session(
            self._key(ev), ev, _starts_connection(ev), ev.peer_port, ev.timestamp, ev.direction
        )

    # ``tls_session`` and ``session_failure`` take a session's TLS line as values, so the
    # vectorised Postfix reader feeds them from its columns, without a ``TlsEvent``.
    def tls_session(
        self,
        key: SessionKey,
        facts: SessionTls | TlsEvent,
        new_connection: bool,
        peer_port: int | None,
        timestamp: datetime | None,
        direction: Direction | None,
    ) -> None:
        """A ``TLS_ESTABLISHED`` or ``TLS_REUSED`` event of a pid-tied MTA (or any other),
        on session ``key``; ``new_connection`` when the line starts a connection."""
        host, service = key[0], key[1]
        peer_ip = facts.peer_ip
        self._tls_logged.add((host, service))
        sess = self._session_at(key, peer_ip)
        if direction is not INBOUND and (
            new_connection or not _same_peer(sess.failure_ip, peer_ip)
        ):
            sess.failure, sess.failure_ip = None, ""  # a new connection
        sess.peer_ip = peer_ip or sess.peer_ip
        tls = facts if isinstance(facts, SessionTls) else session_tls(facts)
        sess.tls = tls
        self._good_tls(host, peer_ip, timestamp)
        if service.endswith("tlsproxy"):
            self._proxy[(host, peer_ip, peer_port)] = tls
            if len(self._proxy) > self._max_sessions:
                self._proxy.popitem(last=False)

    def _good_tls(self, host: str, peer_ip: str, timestamp: datetime | None) -> None:
        """Remember a successful TLS session with a peer (for shutdown-noise detection)."""
        if peer_ip:
            key = (host, peer_ip)
            self._recent_tls[key] = timestamp
            self._recent_tls.move_to_end(key)
            if len(self._recent_tls) > self._max_sessions:
                self._recent_tls.popitem(last=False)

    def _after_good_tls(
        self, host: str, peer_ip: str, timestamp: datetime | None, sess: _Session | None
    ) -> bool:
        if sess is not None and sess.tls is not None and _same_peer(sess.tls.peer_ip, peer_ip):
            return True
        if not peer_ip:
            return False
        key = (host, peer_ip)
        if key not in self._recent_tls:
            return False
        when = self._recent_tls[key]
        if when is None or timestamp is None:
            return True
        return abs((timestamp - when).total_seconds()) <= NOISE_WINDOW_S

    def _on_failure(self, ev: TlsEvent) -> TlsEvent:
        if ev.mta not in _PID_SESSIONS:
            self._tls_logged.add((ev.host, ev.service))
            return self._on_message_failure(ev)
        noise = self.session_failure(
            self._key(ev), ev.peer_ip, ev.timestamp, ev.failure_category, ev.detail,
            ev.queue_id, _starts_connection(ev),
        )  # fmt: skip
        return as_noise(ev) if noise else ev

    def session_failure(
        self,
        key: SessionKey,
        peer_ip: str,
        timestamp: datetime | None,
        category: FailureCategory | None,
        detail: str,
        queue_id: str,
        new_connection: bool,
    ) -> bool:
        """A TLS failure event of a pid-tied MTA on session ``key``; true when it is the
        shutdown noise of a good session (the event is then re-read, see ``as_noise``)."""
        host = key[0]
        self._tls_logged.add((host, key[1]))
        sess = self._session_at(key, peer_ip)
        if new_connection:
            sess.tls, sess.failure, sess.failure_ip = None, None, ""
        if (
            category in _NOISE_CATEGORIES
            and is_shutdown_noise(detail)
            and self._after_good_tls(host, peer_ip, timestamp, sess)
        ):
            return True
        if sess.failure is None or _same_peer(sess.failure_ip, peer_ip):
            sess.failure = more_specific(sess.failure, category)
        else:
            sess.failure = category
        sess.failure_ip = peer_ip or sess.failure_ip
        if queue_id and category is not None:
            msg = self._message(host, queue_id)
            msg.failures[""] = more_specific(msg.failures.get(""), category) or category
        return False

    def _on_message_failure(self, ev: TlsEvent) -> TlsEvent:
        """A failure of an MTA whose lines are tied by message id, not by process (Exim)."""
        if not ev.queue_id:
            if is_shutdown_noise(ev.detail) and self._after_good_tls(
                ev.host, ev.peer_ip, ev.timestamp, None
            ):
                return as_noise(ev)
            return ev
        msg = self._message(ev.host, ev.queue_id)
        if is_shutdown_noise(ev.detail) and "delivering unencrypted" not in ev.detail:
            # Exim logs the close of a delivery's session before its "=>" line: wait for it
            msg.pending_noise = ev
        elif ev.failure_category is not None:
            msg.failures[""] = more_specific(msg.failures.get(""), ev.failure_category) or (
                ev.failure_category
            )
        return ev

    def received(self, ev: DeliveryLine) -> None:
        """A ``RECEIVED`` event (what ``feed`` does with one), or any line with its fields:
        the vectorised reader's receipts come as ``StatusLine`` tuples, not records."""
        if ev.encrypted:
            self._good_tls(ev.host, ev.peer_ip, ev.timestamp)
        msg = self._message(ev.host, ev.queue_id)
        msg.sender = ev.sender or msg.sender
        msg.message_id = ev.message_id or msg.message_id
        if ev.encrypted is not None or ev.tls_version is not None or ev.mta is not POSTFIX:
            by_pid = ev.mta in _PID_SESSIONS
            self._emit(ev, self._sessions.get(self._key(ev)) if by_pid else None, None)
            return
        self._session(ev).received.append(ev)  # Postfix: decided at "disconnect"

    def _close(self, sess: _Session, counters: bool | None) -> None:
        for ev in sess.received:
            self._emit(ev, sess, counters)
        sess.received = []

    def _on_replay(self, ev: TlsEvent) -> None:
        # postfix/error replays a cached reason: not a new attempt (log-formats.md §2.1.8.5)
        if ev.queue_id and ev.failure_category is not None:
            msg = self._message(ev.host, ev.queue_id)
            msg.failures.setdefault(ev.recipient, ev.failure_category)
        if ev.outcome is Outcome.BOUNCED:
            self.delivery(ev)

    def delivery(self, ev: DeliveryLine) -> None:
        """A ``DELIVERY`` event (what ``feed`` does with one), or any line with its fields:
        the vectorised reader's status lines come as ``StatusLine`` tuples, not records."""
        if ev.outcome is None:
            return
        if ev.encrypted:
            self._good_tls(ev.host, ev.peer_ip, ev.timestamp)
        # Exim lines carry their own TLS facts; its pid-less lines share no session
        by_session = ev.kind is DELIVERY and ev.mta in _PID_SESSIONS
        sess = self._sessions.get(self._key(ev)) if by_session else None
        self._emit(ev, sess, None)

    # -- deliveries ---------------------------------------------------------------------
    def _session_tls(self, ev: DeliveryLine, sess: _Session | None) -> SessionTls | None:
        if ev.tls_version is not None or ev.cipher is not None:
            return session_tls(ev)  # the line carries its own TLS facts (Exim X=, Sendmail)
        if sess is not None and sess.tls is not None and _same_peer(sess.tls.peer_ip, ev.peer_ip):
            return sess.tls
        if ev.direction is OUTBOUND and ev.peer_ip:
            return self._proxy.get((ev.host, ev.peer_ip, ev.peer_port))
        return None

    def _settle_noise(self, ev: DeliveryLine, msg: _Message) -> None:
        """Exim logs the close of a delivery's TLS session before the delivery line: decide
        now whether that error was shutdown noise (the delivery went over TLS) or a failure."""
        pending, msg.pending_noise = msg.pending_noise, None
        if pending is None:
            return
        if ev.encrypted and _same_peer(pending.peer_ip, ev.peer_ip):
            self.revisions[(pending.origin, pending.line_no)] = as_noise(pending)
        elif pending.failure_category is not None:
            msg.failures[""] = more_specific(msg.failures.get(""), pending.failure_category) or (
                pending.failure_category
            )

    def _replayed(self, ev: DeliveryLine, msg: _Message | None) -> bool:
        """A status without a connection (Exim "retry time not reached", "retry timeout
        exceeded"; Postfix qmgr "expired"): the verdict of the last real attempt, restated."""
        if msg is None or msg.last is None or ev.peer_ip or ev.encrypted is not None:
            return False
        if ev.outcome not in NOT_SENT:
            return False
        restated = (
            ev.kind is REPLAY or not ev.recipient or any(text in ev.detail for text in _RESTATED)
        )
        if not restated:
            return False
        if ev.recipient and msg.last.recipient_domain != domain(ev.recipient):
            return False
        self._append(ev.host, restated_row(msg.last, ev))
        return True

    def _append(self, host: str, row: DeliveryRow) -> DeliveryRow:
        self._notices.stamp(host, row)
        self._rows.append(row)
        return row

    def _emit(self, ev: DeliveryLine, sess: _Session | None, counters: bool | None) -> None:
        msg = self._message(ev.host, ev.queue_id) if ev.queue_id else None
        if msg is not None and msg.pending_noise is not None:
            self._settle_noise(ev, msg)
        if msg is not None and msg.last is not None and self._replayed(ev, msg):
            return
        tls = self._session_tls(ev, sess)
        failure = ev.failure_category
        sess_failure = _failure_for(sess, ev.peer_ip)
        if sess_failure is not None and (ev.outcome is not DELIVERED or tls is None):
            failure = more_specific(failure, sess_failure)
        failure = trust_failure(ev, tls, failure)
        encrypted = encrypted_of(
            ev, tls, counters, failure, sess_failure is not None, self._tls_logged
        )
        fallback: bool | None = False if encrypted is True else None
        if ev.direction is INBOUND and encrypted is not None:
            fallback = False  # a received session: what the client retried is not ours to see
        attempt = 1
        if msg is not None:
            rcpt = ev.recipient
            attempt = msg.attempts.get(rcpt, 0) + 1
            msg.attempts[rcpt] = attempt
            earlier = msg.failures.get(rcpt) or msg.failures.get("")
            delivered_plain = ev.outcome is DELIVERED and encrypted is False
            if delivered_plain and earlier is not None:
                fallback, failure = True, earlier
            elif delivered_plain and failure is not None:
                fallback = True  # same session: the handshake failed, then a plaintext retry
            elif ev.outcome is not DELIVERED:
                fallback = False  # nothing was delivered, so nothing fell back
            if failure is not None and ev.outcome in NOT_SENT:
                msg.failures[rcpt] = failure
        if ev.outcome is DELIVERED and encrypted is True:
            failure = encrypted_failure(ev, tls)
        known = (msg.message_id, msg.sender) if msg is not None else ("", "")
        row = self._append(
            ev.host, delivery_row(ev, tls, known, encrypted, failure, fallback, attempt)
        )
        if msg is not None:
            msg.last = row

    def finish(self) -> list[Delivery]:
        """Close every open session (logs may end mid-session) and return all deliveries
        not taken, with their notice columns."""
        return list(map(as_delivery, self.finish_rows()))

    def take(self) -> list[Delivery]:
        """The deliveries found so far, handed over once (for streaming callers), without
        their notice columns (see ``notice_columns``)."""
        return list(map(as_delivery, self.take_rows()))

    def finish_rows(self) -> list[DeliveryRow]:
        """``finish``, the rows as ``DeliveryRow`` tuples (for callers that make columns)."""
        while self._sessions:
            _, sess = self._sessions.popitem(last=False)
            self._close(sess, None)
        self._notices.apply(self._rows, self._handed)
        return self._rows

    def take_rows(self) -> list[DeliveryRow]:
        """``take``, the rows as ``DeliveryRow`` tuples (for callers that make columns)."""
        out, self._rows = self._rows, []
        self._handed += len(out)
        return out
