"""Delivery rows: what the correlator (``analyzer.logs.correlate``) writes for one status or
receipt line, once it has decided the line's session, encryption, failure and fallback.

Pure: values in, ``DeliveryRow`` out. The correlator keeps its rows as ``DeliveryRow`` tuples
(the fields of ``Delivery``, in its order): a frozen dataclass of 25 fields costs a few
microseconds to build, a tuple a fraction of that, and the vectorised reader only turns the
rows into Arrow columns. ``as_delivery`` gives the record.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from analyzer.logs.members import (
    DELIVERED,
    INBOUND,
    NOT_SENT,
    OUTBOUND,
    POSTFIX,
    UNTRUSTED,
    UNVERIFIED,
)
from analyzer.logs.taxonomy import rfc8460
from analyzer.model.common import TlsVersion
from analyzer.model.logs import (
    Delivery,
    Direction,
    EventKind,
    FailureCategory,
    Mta,
    Outcome,
    Rfc8460ResultType,
    TlsEvent,
    Trust,
)


class StatusLine(NamedTuple):
    """A status line as the vectorised Postfix reader hands it to the correlator: the
    fields of ``TlsEvent`` a delivery row needs, by the same names. A tuple is made in one
    call; a ``TlsEvent`` takes a call per field, which cost a quarter of the consumer's time
    when every status line was one.

    Attributes:
        origin ... detail: the ``TlsEvent`` fields of the same names.
    """

    origin: str
    line_no: int
    timestamp: datetime | None
    host: str
    mta: Mta
    service: str
    pid: int | None
    kind: EventKind
    queue_id: str
    session_id: str
    direction: Direction | None
    peer_host: str
    peer_ip: str
    peer_port: int | None
    trust: Trust | None
    tls_version: TlsVersion | None
    cipher: str | None
    bits: int | None
    failure_category: FailureCategory | None
    outcome: Outcome | None
    sender: str
    recipient: str
    message_id: str
    dsn: str
    encrypted: bool | None
    detail: str


# What the correlator reads of a line it writes a delivery row for (a status, receipt or
# rejection line): a ``TlsEvent``, or a vectorised status line.
DeliveryLine = TlsEvent | StatusLine


class DeliveryRow(NamedTuple):
    """A ``Delivery`` as the correlator keeps it: the same fields in the same order
    (``tests/test_logs_consumer.py`` holds them equal), as a tuple.

    Attributes:
        timestamp ... notice_of: the fields of ``Delivery``, documented there.
    """

    timestamp: datetime | None
    mta: Mta
    direction: Direction | None
    queue_id: str
    message_id: str
    sender: str
    recipient_domain: str
    peer_host: str
    peer_ip: str
    encrypted: bool | None
    trust: Trust | None
    tls_version: TlsVersion | None
    cipher: str | None
    bits: int | None
    outcome: Outcome
    fallback: bool | None
    failure_category: FailureCategory | None
    rfc8460_result_type: Rfc8460ResultType | None
    attempt: int
    dsn: str
    detail: str
    origin: str
    line_no: int
    notice_queue_id: str = ""
    notice_of: str = ""


def as_delivery(row: DeliveryRow) -> Delivery:
    """The record of ``row``."""
    return Delivery(*row)


@dataclass(frozen=True, slots=True)
class SessionTls:
    """What a delivery takes from the TLS session that carried it.

    Attributes:
        peer_ip: peer address of the session, ``""`` when not logged.
        trust: Postfix trust word, or None.
        tls_version: negotiated protocol, or None.
        cipher: cipher suite, or None.
        bits: symmetric key bits used, or None.
    """

    peer_ip: str
    trust: Trust | None
    tls_version: TlsVersion | None
    cipher: str | None
    bits: int | None


def session_tls(ev: DeliveryLine) -> SessionTls:
    """The TLS facts of ``ev``."""
    return SessionTls(ev.peer_ip, ev.trust, ev.tls_version, ev.cipher, ev.bits)


FC = FailureCategory
# Postfix's own mapping of "Server certificate not verified" (log-formats.md §4.2, (P) rows):
# a chain that verified ("Trusted") but was refused is a name mismatch, else untrusted.
_UNVERIFIED_BY_TRUST = {
    Trust.TRUSTED: FC.CERTIFICATE_HOST_MISMATCH,
    Trust.UNTRUSTED: FC.CERTIFICATE_NOT_TRUSTED,
    Trust.ANONYMOUS: FC.CERTIFICATE_NOT_TRUSTED,
}


def trust_failure(
    ev: DeliveryLine, tls: SessionTls | None, failure: FailureCategory | None
) -> FailureCategory | None:
    """``failure``, made precise by the trust word of a Postfix session when it is only
    ``certificate-unverified``."""
    if failure is UNVERIFIED and ev.mta is POSTFIX and tls is not None and tls.trust is not None:
        return _UNVERIFIED_BY_TRUST.get(tls.trust, failure)
    return failure


def encrypted_failure(ev: DeliveryLine, tls: SessionTls | None) -> FailureCategory | None:
    """The failure of a delivery that went encrypted: opportunistic TLS with an unverified
    chain is encrypted, certificate not verified; anything else is no failure."""
    unverified = tls is not None and tls.trust is UNTRUSTED and ev.direction is OUTBOUND
    return UNVERIFIED if unverified else None


def encrypted_of(
    ev: DeliveryLine,
    tls: SessionTls | None,
    counters: bool | None,
    failure: FailureCategory | None,
    handshake_failed: bool,
    tls_logged: Container[tuple[str, str]],
) -> bool | None:
    """Whether the attempt of ``ev`` went encrypted: ``tls`` is its session, ``counters`` what
    an smtpd ``disconnect`` counter said, ``handshake_failed`` whether its session's handshake
    failed, ``tls_logged`` the (host, syslog tag) of the processes that log TLS lines at all
    (looked up last: most rows are decided before)."""
    if ev.encrypted is not None:
        return ev.encrypted
    if tls is not None:
        return True
    if counters is not None:
        return counters
    if failure is not None and ev.outcome in NOT_SENT:
        return False  # the attempt failed on TLS before any TLS session carried mail
    if handshake_failed:
        return False  # the handshake failed: whatever was sent went in plaintext
    if ev.direction is OUTBOUND and (ev.host, ev.service) in tls_logged:
        return False  # this process logs TLS, and logged none for this delivery
    return None


def domain(address: str) -> str:
    """The lower-cased domain of ``address``, ``""`` when it has none."""
    return address.rpartition("@")[2].lower() if "@" in address else ""


def delivery_row(
    ev: DeliveryLine,
    tls: SessionTls | None,
    known: tuple[str, str],
    encrypted: bool | None,
    failure: FailureCategory | None,
    fallback: bool | None,
    attempt: int,
) -> DeliveryRow:
    """The row of status (or receipt) line ``ev`` carried by session ``tls``; ``known`` is the
    (Message-ID, sender) the correlator has for its queue id (``""`` when none)."""
    inbound = ev.direction is INBOUND
    rcpt = ev.recipient
    at = rcpt.rfind("@")
    outcome = ev.outcome or DELIVERED  # a receipt: the message was accepted
    # by position, in the order of the fields, as one tuple: the class's own ``__new__`` is a
    # Python function (a frame per row), keywords cost twice as much again
    values = (
        ev.timestamp,
        ev.mta,
        ev.direction,
        ev.queue_id,
        known[0] or ev.message_id,  # message_id
        ev.sender or known[1],  # sender
        rcpt[at + 1 :].lower() if at >= 0 and not inbound else "",  # recipient_domain
        ev.peer_host,
        ev.peer_ip,
        encrypted,
        tls.trust if tls else None,
        tls.tls_version if tls else None,
        tls.cipher if tls else None,
        tls.bits if tls else None,
        outcome,
        fallback,
        failure,  # failure_category
        None if outcome is DELIVERED and encrypted else rfc8460(failure, ev.direction),
        attempt,
        ev.dsn,
        ev.detail,
        ev.origin,
        ev.line_no,
        "",  # notice_queue_id
        "",  # notice_of
    )
    return _new_row(DeliveryRow, values)


def restated_row(last: DeliveryRow, ev: DeliveryLine) -> DeliveryRow:
    """``last`` (the row of a message's last real attempt) restated by ``ev``, a status given
    without connecting (Exim "retry time not reached", Postfix qmgr "expired"); its notice
    columns are left for the correlator to fill again.

    ``last._replace(timestamp=ev.timestamp, outcome=..., ...)``, made as one tuple (the
    keyword form costs five times as much; ``tests/test_logs_consumer.py`` holds them equal).
    """
    return _new_row(
        DeliveryRow,
        (
            ev.timestamp,
            *last[_MTA:_OUTCOME],  # mta ... bits: who, to whom and over which session
            ev.outcome or last.outcome,
            last.fallback,
            last.failure_category or ev.failure_category,
            last.rfc8460_result_type,
            last.attempt,
            ev.dsn or last.dsn,
            ev.detail,
            ev.origin,
            ev.line_no,
            "",  # notice_queue_id
            "",  # notice_of
        ),
    )


_new_row = tuple.__new__
_MTA, _OUTCOME = DeliveryRow._fields.index("mta"), DeliveryRow._fields.index("outcome")
