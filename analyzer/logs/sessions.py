"""The state the correlator (``analyzer.logs.correlate``) keeps per SMTP session and per
queued message, and the small rules it reads that state with.

Pure and internal to the correlator, apart from ``as_noise`` and ``SessionKey``, which
``analyzer.logs.correlate`` re-exports.
"""

from __future__ import annotations

from dataclasses import replace

from analyzer.logs.delivery_rows import DeliveryLine, DeliveryRow, SessionTls
from analyzer.logs.members import OUTBOUND, SENDMAIL
from analyzer.model.logs import EventKind, FailureCategory, TlsEvent

SessionKey = tuple[str, str, object]  # (host, syslog tag, session id or pid)


def as_noise(ev: TlsEvent) -> TlsEvent:
    """``ev`` re-read as the close of a good TLS session (not a failure)."""
    return replace(ev, kind=EventKind.TLS_NOISE, failure_category=None, rfc8460_result_type=None)


class _Session:
    """Mutable state of one open SMTP session (internal to the correlator)."""

    __slots__ = ("failure", "failure_ip", "peer_ip", "received", "tls")

    def __init__(self, peer_ip: str = "") -> None:
        self.peer_ip = peer_ip
        self.tls: SessionTls | None = None
        self.failure: FailureCategory | None = None
        self.failure_ip = ""
        self.received: list[DeliveryLine] = []


class _Message:
    """Mutable state of one queued message (internal to the correlator)."""

    __slots__ = ("attempts", "failures", "last", "message_id", "pending_noise", "sender")

    def __init__(self) -> None:
        self.last: DeliveryRow | None = None
        self.pending_noise: TlsEvent | None = None
        self.sender = ""
        self.message_id = ""
        self.attempts: dict[str, int] = {}
        self.failures: dict[str, FailureCategory] = {}  # recipient ("" = any) -> category


def _same_peer(a: str, b: str) -> bool:
    return not a or not b or a == b


def _starts_connection(ev: TlsEvent) -> bool:
    """Sendmail logs one ``STARTTLS=client`` line (session or ``error: connect failed``) per
    outbound connection, before anything else of it (tls.c, deliver.c); its queue runner
    reuses one pid for many connections."""
    return (
        ev.mta is SENDMAIL
        and ev.direction is OUTBOUND
        and (ev.kind is EventKind.TLS_ESTABLISHED or ev.detail.startswith("error: connect"))
    )


def _failure_for(sess: _Session | None, peer_ip: str) -> FailureCategory | None:
    if sess is None or sess.failure is None or not _same_peer(sess.failure_ip, peer_ip):
        return None
    return sess.failure
