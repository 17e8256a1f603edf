"""The ``events`` and ``deliveries`` frames of MTA logs: declared columns and dtypes.

Issue 3 scope 6. TLS versions and ciphers are already normalised by the dialects with
``analyzer.normalize`` (the same names as the headers' frames: ``TLSv1.2``, IANA ciphers).
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
import pyarrow as pa

from analyzer.frames.issues import ISSUES, issues_frame
from analyzer.frames.schema import Column, Kind, Schema, build_frame, frame_time
from analyzer.logs.notices import NoticeColumns
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

S, N, B, T, V, C = Kind.STRING, Kind.INT, Kind.BOOL, Kind.TIME, Kind.TLS_VERSION, Kind.CATEGORY


def _values(
    enum: type[Mta | Direction | EventKind | Trust | FailureCategory | Rfc8460ResultType | Outcome],
) -> tuple[str, ...]:
    return tuple(m.value for m in enum)


_MTA = _values(Mta)
_DIRECTION = _values(Direction)
_TRUST = _values(Trust)
_FAILURE = _values(FailureCategory)
_RFC8460 = _values(Rfc8460ResultType)
_OUTCOME = _values(Outcome)

EVENTS = Schema(
    "events",
    (
        Column("timestamp", T, "time of the line in UTC"),
        Column("host", S, "logging host"),
        Column("mta", C, "postfix, exim, sendmail, exchange or opensmtpd", _MTA),
        Column("service", S, "syslog tag without pid (postfix/smtpd, postfix/submission/smtpd)"),
        Column("pid", N, "process id"),
        Column("queue_id", S, "queue or message id named by the line"),
        Column("session_id", S, "session id (OpenSMTPD, Exchange)"),
        Column("direction", C, "inbound, outbound or local (mailbox, LMTP, filter)", _DIRECTION),
        Column("peer_host", S, "peer name as logged"),
        Column("peer_ip", S, "peer address"),
        Column("peer_port", N, "peer TCP port"),
        Column("event", C, "what the line says", _values(EventKind)),
        Column("trust", C, "Postfix trust level of the TLS session", _TRUST),
        Column("tls_version", V, "normalised protocol version"),
        Column("cipher", S, "IANA cipher-suite name where a mapping exists"),
        Column("bits", N, "symmetric key bits"),
        Column("key_exchange", S, "key-exchange group where logged"),
        Column("verified", S, "Exim CV= / Sendmail verify= as written"),
        Column("encrypted", B, "what the line itself proves about encryption, else <NA>"),
        Column("failure_category", C, "why TLS failed (issue 3 vocabulary)", _FAILURE),
        Column("rfc8460_result_type", C, "RFC 8460 result type (outbound only)", _RFC8460),
        Column("outcome", C, "delivered, deferred, bounced or rejected", _OUTCOME),
        Column("sender", S, "envelope sender named by the line"),
        Column("recipient", S, "envelope recipient named by the line"),
        Column("message_id", S, "Message-ID named by the line"),
        Column("notice_queue_id", S, "queue id of the bounce daemon's notice about queue_id"),
        Column("dsn", S, "enhanced status code"),
        Column("tls_policy", S, "Postfix 3.11 tls= feature status"),
        Column("conn_use", N, "Postfix conn_use= connection reuse counter"),
        Column("detail", S, "reason or status text"),
        Column("source", S, "file the line came from"),
        Column("line", N, "line number in that file"),
        Column("raw", S, "the line as read, clipped"),
    ),
)


def _event_row(e: TlsEvent) -> tuple[object, ...]:
    return (
        frame_time(e.timestamp), e.host, e.mta, e.service, e.pid, e.queue_id, e.session_id,
        e.direction, e.peer_host, e.peer_ip, e.peer_port, e.kind, e.trust, e.tls_version,
        e.cipher, e.bits, e.key_exchange, e.verified, e.encrypted, e.failure_category,
        e.rfc8460_result_type, e.outcome, e.sender, e.recipient, e.message_id,
        e.notice_queue_id, e.dsn, e.tls_policy, e.conn_use, e.detail, e.origin, e.line_no,
        e.raw,
    )  # fmt: skip


def events_frame(events: Iterable[TlsEvent]) -> pd.DataFrame:
    """The ``events`` frame: one row per log line that says something we use."""
    return build_frame(EVENTS, events, _event_row)


DELIVERIES = Schema(
    "deliveries",
    (
        Column("timestamp", T, "time of the status (or receipt) line in UTC"),
        Column("mta", C, "the MTA whose log it is", _MTA),
        Column("direction", C, "inbound (received), outbound or local", _DIRECTION),
        Column("queue_id", S, "queue or message id"),
        Column("message_id", S, "Message-ID where the log names it"),
        Column("notice_queue_id", S, "queue id of the notice that reported this attempt"),
        Column("notice_of", S, "on a notice's own deliveries: the queue id it reports on"),
        Column("sender", S, "envelope sender"),
        Column("recipient_domain", S, "domain of the recipient (outbound)"),
        Column("peer_host", S, "relay or client name"),
        Column("peer_ip", S, "relay or client address"),
        Column("encrypted", B, "True / False / <NA> when the log is silent"),
        Column("trust", C, "Postfix trust level of the session", _TRUST),
        Column("tls_version", V, "normalised protocol version"),
        Column("cipher", S, "IANA cipher-suite name where a mapping exists"),
        Column("bits", N, "symmetric key bits"),
        Column("outcome", C, "delivered, deferred, bounced or rejected", _OUTCOME),
        Column("fallback", B, "plaintext after a TLS failure; <NA> when the log cannot say"),
        Column("failure_category", C, "why TLS failed (issue 3 vocabulary)", _FAILURE),
        Column("rfc8460_result_type", C, "RFC 8460 result type (outbound only)", _RFC8460),
        Column("attempt", N, "1 for the first attempt seen for this queue id and recipient"),
        Column("dsn", S, "enhanced status code"),
        Column("detail", S, "status text"),
        Column("source", S, "file of the status line"),
        Column("line", N, "line number of the status line"),
    ),
)


def _delivery_row(d: Delivery) -> tuple[object, ...]:
    return (
        frame_time(d.timestamp), d.mta, d.direction, d.queue_id, d.message_id,
        d.notice_queue_id, d.notice_of, d.sender, d.recipient_domain, d.peer_host, d.peer_ip,
        d.encrypted, d.trust, d.tls_version, d.cipher, d.bits, d.outcome, d.fallback,
        d.failure_category, d.rfc8460_result_type, d.attempt, d.dsn, d.detail, d.origin,
        d.line_no,
    )  # fmt: skip


def deliveries_frame(deliveries: Iterable[Delivery]) -> pd.DataFrame:
    """The ``deliveries`` frame: one row per delivery attempt or received message."""
    return build_frame(DELIVERIES, deliveries, _delivery_row)


def with_notice_columns(frame: pd.DataFrame, columns: NoticeColumns) -> pd.DataFrame:
    """``frame`` (deliveries, rows in the order the correlator emitted them, just built) with
    the notice columns ``notice_queue_id`` and ``notice_of`` of its rows from ``columns``
    (``Correlator.notice_columns``, one value per row emitted); the two columns are replaced
    in place, made by Arrow from the lists: no copy of the frame."""
    if frame.empty:
        return frame
    for name, values in (
        ("notice_queue_id", columns.notice_queue_id),
        ("notice_of", columns.notice_of),
    ):
        frame[name] = pd.array(pa.array(values, pa.large_string()), dtype=frame[name].dtype)
    return frame


__all__ = [
    "DELIVERIES",
    "EVENTS",
    "ISSUES",
    "deliveries_frame",
    "events_frame",
    "issues_frame",
    "with_notice_columns",
]
