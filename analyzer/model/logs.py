"""Records and vocabularies for the second half of the evidence: MTA log lines.

Vocabulary sources: issue 3 scope 4 (``FailureCategory``), RFC 8460 §4.3 and the IANA
"STARTTLS Validation Result Types" registry (``Rfc8460ResultType``), Postfix
``tls_log_summary`` in src/tls/tls_misc.c (``Trust``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from analyzer.model.common import TlsVersion


class Mta(StrEnum):
    """The mail transfer agent whose grammar a log line follows."""

    POSTFIX = "postfix"
    EXIM = "exim"
    SENDMAIL = "sendmail"
    EXCHANGE = "exchange"
    OPENSMTPD = "opensmtpd"


class Direction(StrEnum):
    """Which way the mail (or the TLS session) went, seen from the logging MTA.

    LOCAL covers mailbox, LMTP and content-filter hops (loopback or unix sockets).
    """

    INBOUND = "inbound"
    OUTBOUND = "outbound"
    LOCAL = "local"


class EventKind(StrEnum):
    """What one log line says."""

    CONNECT = "connect"  # a TCP session starts (smtpd connect from, tlsproxy CONNECT)
    DISCONNECT = "disconnect"  # a session ends (counters such as starttls=a/b)
    STARTTLS_OFFERED = "starttls-offered"  # Postfix "Host offered STARTTLS"
    TLS_ESTABLISHED = "tls-established"  # a new handshake succeeded
    TLS_REUSED = "tls-reused"  # a cached TLS connection was reused
    TLS_FAILED = "tls-failed"  # a handshake or TLS-policy failure
    TLS_NOISE = "tls-shutdown-noise"  # TLS error after a good session: not a failure
    CERTIFICATE_FAILED = "certificate-failed"  # peer certificate verification failed
    CONNECTION_LOST = "connection-lost"  # lost connection / timeout after STARTTLS
    TLSRPT = "tlsrpt"  # Postfix 3.10+ TLSRPT status line
    RECEIVED = "received"  # a message was accepted from a client
    REJECTED = "rejected"  # a client command was rejected (NOQUEUE reject, ruleset=)
    QUEUED = "queued"  # queue manager saw the sender (from=, size=)
    MESSAGE_ID = "message-id"  # the Message-ID of a queued message
    DELIVERY = "delivery"  # a delivery attempt ended (sent / deferred / bounced)
    REPLAY = "replay"  # a cached failure replayed without a new attempt (postfix/error)
    REMOVED = "removed"  # the message left the queue (Postfix "QID: removed")
    NOTIFICATION = "notification"  # bounce daemon sent a notice about a message (its new queue id)


class Trust(StrEnum):
    """Postfix's first word of the TLS summary line (src/tls/tls_misc.c)."""

    ANONYMOUS = "anonymous"
    UNTRUSTED = "untrusted"
    TRUSTED = "trusted"
    VERIFIED = "verified"


class FailureCategory(StrEnum):
    """Why a TLS attempt failed: the one vocabulary of issue 3 (scope 4)."""

    STARTTLS_NOT_SUPPORTED = "starttls-not-supported"
    STARTTLS_REJECTED = "starttls-rejected"
    CERTIFICATE_EXPIRED = "certificate-expired"
    CERTIFICATE_NOT_YET_VALID = "certificate-not-yet-valid"
    CERTIFICATE_REVOKED = "certificate-revoked"
    CERTIFICATE_SELF_SIGNED = "certificate-self-signed"
    CERTIFICATE_NOT_TRUSTED = "certificate-not-trusted"
    CERTIFICATE_HOST_MISMATCH = "certificate-host-mismatch"
    CERTIFICATE_UNVERIFIED = "certificate-unverified"
    PROTOCOL_VERSION_MISMATCH = "protocol-version-mismatch"
    NO_SHARED_CIPHER = "no-shared-cipher"
    HANDSHAKE_FAILURE = "handshake-failure"
    CONNECTION_LOST = "connection-lost"
    HANDSHAKE_TIMEOUT = "handshake-timeout"
    PEER_REJECTED_OUR_CERTIFICATE = "peer-rejected-our-certificate"
    DANE_REQUIRED = "dane-required"
    TLSA_INVALID = "tlsa-invalid"
    DNSSEC_INVALID = "dnssec-invalid"
    STS_POLICY_FETCH_ERROR = "sts-policy-fetch-error"
    STS_POLICY_INVALID = "sts-policy-invalid"
    STS_WEBPKI_INVALID = "sts-webpki-invalid"
    LOCAL_CONFIG_ERROR = "local-config-error"


class Rfc8460ResultType(StrEnum):
    """RFC 8460 §4.3 result types (IANA STARTTLS Validation Result Types)."""

    STARTTLS_NOT_SUPPORTED = "starttls-not-supported"
    CERTIFICATE_HOST_MISMATCH = "certificate-host-mismatch"
    CERTIFICATE_EXPIRED = "certificate-expired"
    CERTIFICATE_NOT_TRUSTED = "certificate-not-trusted"
    VALIDATION_FAILURE = "validation-failure"
    TLSA_INVALID = "tlsa-invalid"
    DNSSEC_INVALID = "dnssec-invalid"
    DANE_REQUIRED = "dane-required"
    STS_POLICY_FETCH_ERROR = "sts-policy-fetch-error"
    STS_POLICY_INVALID = "sts-policy-invalid"
    STS_WEBPKI_INVALID = "sts-webpki-invalid"


class Outcome(StrEnum):
    """How a delivery attempt (or an inbound message) ended."""

    DELIVERED = "delivered"
    DEFERRED = "deferred"
    BOUNCED = "bounced"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class LogLine:
    """One log line split into its syslog (or native) prefix and its message.

    Attributes:
        origin: the file (``-`` for stdin) the line came from.
        line_no: 1-based line number in that origin (after decompression).
        timestamp: aware UTC time of the line, or None when the stamp could not be read.
        host: the logging host, or ``""`` when the format has none (Exim mainlog).
        program: syslog tag without the pid (``postfix/submission/smtpd``, ``exim``).
        pid: process id from the tag, or None.
        message: the text after the prefix.
    """

    origin: str
    line_no: int
    timestamp: datetime | None
    host: str
    program: str
    pid: int | None
    message: str


@dataclass(frozen=True, slots=True)
class TlsEvent:
    """What one MTA log line says about a session, a TLS handshake or a delivery.

    Attributes:
        origin: source file of the line.
        line_no: line number in that file.
        timestamp: aware UTC time, or None.
        host: logging host.
        mta: dialect that read the line.
        service: syslog tag without pid (``postfix/smtp``) or the MTA's name.
        pid: process id, or None.
        kind: what the line says.
        queue_id: queue or message id the line names (Postfix queue id, Exim message id).
        session_id: session identifier (OpenSMTPD, Exchange), else ``""``.
        direction: inbound, outbound or local, None when the line does not say.
        peer_host: peer name as logged (``unknown`` kept), ``""`` when absent.
        peer_ip: peer address without brackets or port, ``""`` when absent.
        peer_port: peer TCP port, or None.
        trust: Postfix trust word, or None.
        tls_version: negotiated protocol, None when unknown (``TLSv1/SSLv3`` is unknown).
        cipher: cipher suite (IANA name when known), or None.
        bits: symmetric key bits used, or None.
        key_exchange: key-exchange group (``X25519``) when logged, else None.
        verified: Exim ``CV=``/Sendmail ``verify=`` style verdict text, else None.
        failure_category: why TLS failed, None for successes and non-TLS lines.
        rfc8460_result_type: RFC 8460 result type of the failure where one applies.
        outcome: for delivery, receipt and rejection lines.
        sender: envelope sender, when the line names it.
        recipient: envelope recipient, when the line names it.
        message_id: Message-ID header, when the line names it.
        notice_queue_id: queue id of the notice (non-delivery, delay or delivery status
            notification) the Postfix bounce daemon sent about ``queue_id``, else ``""``.
        dsn: enhanced status code (``4.7.4``), else ``""``.
        tls_policy: Postfix 3.11 ``tls=`` feature status, else ``""``.
        conn_use: Postfix ``conn_use=N`` connection reuse counter, or None.
        encrypted: whether the session carrying this line is encrypted when the line
            itself proves it (Exim ``X=``, ``P=esmtps``), else None.
        detail: the reason or status text, cut to a bounded length.
        raw: the whole line as read, cut to a bounded length.
    """

    origin: str
    line_no: int
    timestamp: datetime | None
    host: str
    mta: Mta
    service: str
    pid: int | None
    kind: EventKind
    queue_id: str = ""
    session_id: str = ""
    direction: Direction | None = None
    peer_host: str = ""
    peer_ip: str = ""
    peer_port: int | None = None
    trust: Trust | None = None
    tls_version: TlsVersion | None = None
    cipher: str | None = None
    bits: int | None = None
    key_exchange: str | None = None
    verified: str | None = None
    failure_category: FailureCategory | None = None
    rfc8460_result_type: Rfc8460ResultType | None = None
    outcome: Outcome | None = None
    sender: str = ""
    recipient: str = ""
    message_id: str = ""
    notice_queue_id: str = ""
    dsn: str = ""
    tls_policy: str = ""
    conn_use: int | None = None
    encrypted: bool | None = None
    detail: str = ""
    raw: str = ""


@dataclass(frozen=True, slots=True)
class Delivery:
    """One delivery attempt, or one received message, with the TLS of its session.

    Attributes:
        timestamp: time of the status (or receipt) line, aware UTC.
        mta: dialect of the log.
        direction: inbound (received), outbound or local.
        queue_id: queue or message id.
        message_id: Message-ID header when the log names it, else ``""``.
        sender: envelope sender when known, else ``""``.
        recipient_domain: domain of the recipient (outbound), ``""`` for inbound.
        peer_host: relay or client name.
        peer_ip: relay or client address.
        encrypted: True (TLS line joined), False (proved plaintext), None (log silent).
        trust: Postfix trust word of the joined TLS session, or None.
        tls_version: negotiated protocol of the joined session.
        cipher: cipher suite of the joined session.
        bits: key bits of the joined session.
        outcome: delivered, deferred, bounced or rejected.
        fallback: True when an earlier attempt (or the same session) failed TLS and this one
            went in plaintext; False when encrypted or no plaintext was sent; None when a
            plaintext delivery's reason is not in the log (STARTTLS not offered, or refused).
        failure_category: the TLS failure of this attempt (or of the earlier one for a
            fallback), else None.
        rfc8460_result_type: RFC 8460 result type of that failure.
        attempt: 1 for the first attempt seen for this queue id and recipient, then 2, ...
        dsn: enhanced status code.
        detail: status text.
        origin: file of the status line.
        line_no: line number of the status line.
        notice_queue_id: queue id of the notice that reported this attempt to the sender
            (or postmaster): a non-delivery notification for a bounced row, a delay
            notification for a deferred one, a delivery status notification for a delivered
            one; ``""`` when none was logged.
        notice_of: for a delivery of such a notice, the queue id of the message it reports
            on; else ``""``.
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
