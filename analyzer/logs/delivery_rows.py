"""Delivery rows: what the correlator (``analyzer.logs.correlate``) writes for one status or
receipt line, once it has decided the line's session, encryption, failure and fallback.

Pure: values in, ``Delivery`` out.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from analyzer.logs.taxonomy import rfc8460
from analyzer.model.common import TlsVersion
from analyzer.model.logs import (
    Delivery,
    Direction,
    FailureCategory,
    Mta,
    Outcome,
    TlsEvent,
    Trust,
)


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


def session_tls(ev: TlsEvent) -> SessionTls:
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
    ev: TlsEvent, tls: SessionTls | None, failure: FailureCategory | None
) -> FailureCategory | None:
    """``failure``, made precise by the trust word of a Postfix session when it is only
    ``certificate-unverified``."""
    if (
        failure is FC.CERTIFICATE_UNVERIFIED
        and ev.mta is Mta.POSTFIX
        and tls is not None
        and tls.trust is not None
    ):
        return _UNVERIFIED_BY_TRUST.get(tls.trust, failure)
    return failure


def encrypted_failure(ev: TlsEvent, tls: SessionTls | None) -> FailureCategory | None:
    """The failure of a delivery that went encrypted: opportunistic TLS with an unverified
    chain is encrypted, certificate not verified; anything else is no failure."""
    unverified = (
        tls is not None and tls.trust is Trust.UNTRUSTED and ev.direction is Direction.OUTBOUND
    )
    return FC.CERTIFICATE_UNVERIFIED if unverified else None


def encrypted_of(
    ev: TlsEvent,
    tls: SessionTls | None,
    counters: bool | None,
    failure: FailureCategory | None,
    handshake_failed: bool,
    process_logs_tls: bool,
) -> bool | None:
    """Whether the attempt of ``ev`` went encrypted: ``tls`` is its session, ``counters`` what
    an smtpd ``disconnect`` counter said, ``handshake_failed`` whether its session's handshake
    failed, ``process_logs_tls`` whether the logging process logs TLS lines at all."""
    if ev.encrypted is not None:
        return ev.encrypted
    if tls is not None:
        return True
    if counters is not None:
        return counters
    if failure is not None and ev.outcome in (Outcome.DEFERRED, Outcome.BOUNCED):
        return False  # the attempt failed on TLS before any TLS session carried mail
    if handshake_failed:
        return False  # the handshake failed: whatever was sent went in plaintext
    if ev.direction is Direction.OUTBOUND and process_logs_tls:
        return False  # this process logs TLS, and logged none for this delivery
    return None


def domain(address: str) -> str:
    """The lower-cased domain of ``address``, ``""`` when it has none."""
    return address.rpartition("@")[2].lower() if "@" in address else ""


def delivery_row(
    ev: TlsEvent,
    tls: SessionTls | None,
    known: tuple[str, str],
    encrypted: bool | None,
    failure: FailureCategory | None,
    fallback: bool | None,
    attempt: int,
) -> Delivery:
    """The row of status (or receipt) line ``ev`` carried by session ``tls``; ``known`` is the
    (Message-ID, sender) the correlator has for its queue id (``""`` when none)."""
    inbound = ev.direction is Direction.INBOUND
    rcpt = ev.recipient
    at = rcpt.rfind("@")
    outcome = ev.outcome or Outcome.DELIVERED  # a receipt: the message was accepted
    return Delivery(
        timestamp=ev.timestamp,
        mta=ev.mta,
        direction=ev.direction,
        queue_id=ev.queue_id,
        message_id=known[0] or ev.message_id,
        sender=ev.sender or known[1],
        recipient_domain=rcpt[at + 1 :].lower() if at >= 0 and not inbound else "",
        peer_host=ev.peer_host,
        peer_ip=ev.peer_ip,
        encrypted=encrypted,
        trust=tls.trust if tls else None,
        tls_version=tls.tls_version if tls else None,
        cipher=tls.cipher if tls else None,
        bits=tls.bits if tls else None,
        outcome=outcome,
        fallback=fallback,
        failure_category=failure,
        rfc8460_result_type=(
            None if outcome is Outcome.DELIVERED and encrypted else rfc8460(failure, ev.direction)
        ),
        attempt=attempt,
        dsn=ev.dsn,
        detail=ev.detail,
        origin=ev.origin,
        line_no=ev.line_no,
    )


def restated_row(last: Delivery, ev: TlsEvent) -> Delivery:
    """``last`` (the row of a message's last real attempt) restated by ``ev``, a status given
    without connecting (Exim "retry time not reached", Postfix qmgr "expired"); its notice
    columns are left for the correlator to fill again."""
    return replace(
        last,
        timestamp=ev.timestamp,
        outcome=ev.outcome or last.outcome,
        dsn=ev.dsn or last.dsn,
        detail=ev.detail,
        origin=ev.origin,
        line_no=ev.line_no,
        failure_category=last.failure_category or ev.failure_category,
        notice_queue_id="",
        notice_of="",
    )
