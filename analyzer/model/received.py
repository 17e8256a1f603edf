"""Records for the first half of the evidence: Received headers and the hops they describe."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from analyzer.model.common import Evidence, TlsVersion, slot_maker


class Dialect(StrEnum):
    """The family of writer whose grammar produced a Received header's TLS statement.

    Identified from grammar (and the product label where one is printed), never from the
    label alone: labels are configurable. ``GENERIC`` is a header whose writer is not
    recognised; only its ``with`` keyword is read.
    """

    POSTFIX = "postfix"
    SENDMAIL = "sendmail"
    SENTRION = "sentrion"
    IBM = "ibm"
    EXIM = "exim"
    EXCHANGE = "exchange"
    IIS = "iis"
    GOOGLE = "google"
    OPENSMTPD = "opensmtpd"
    DOVECOT = "dovecot"
    CYRUS = "cyrus"
    COURIER = "courier"
    QMAIL = "qmail"
    HARAKA = "haraka"
    CHASQUID = "chasquid"
    IRONPORT = "ironport"
    MIMECAST = "mimecast"
    SYMANTEC = "symantec"
    KERIO = "kerio"
    HMAILSERVER = "hmailserver"
    MDAEMON = "mdaemon"
    ICEWARP = "icewarp"
    COMMUNIGATE = "communigate"
    ZOHO = "zoho"
    TONLINE = "t-online"
    STALWART = "stalwart"
    ECELERITY = "ecelerity"
    EXCLAIMER = "exclaimer"
    CODETWO = "codetwo"
    ACTIVEGATE = "activegate"
    AMAVIS = "amavis"
    AMAZON_SES = "amazon-ses"
    YAHOO = "yahoo"
    ZMAILER = "zmailer"
    RFC8314 = "rfc8314"
    GENERIC = "generic"


class Role(StrEnum):
    """Where a hop sits relative to the receiving organisation.

    LOCAL: loopback, unix socket, LMTP store or content-filter reinjection.
    INTERNAL: between two of the trusted hosts.
    BOUNDARY: the hop where the mail entered the trusted hosts (written by a trusted host,
        received from an untrusted one); its TLS is the one that matters for inbound mail.
    EXTERNAL: written before the boundary, by hosts we do not control: claimed, forgeable.
    """

    LOCAL = "local"
    INTERNAL = "internal"
    BOUNDARY = "boundary"
    EXTERNAL = "external"


class ClientCert(StrEnum):
    """What a header says of the client certificate."""

    NOT_REQUESTED = "not-requested"
    NOT_PRESENTED = "not-presented"
    VERIFIED = "verified"
    NOT_VERIFIED = "not-verified"
    PRESENTED = "presented"  # a certificate or raw public key, verification not stated


@dataclass(frozen=True, slots=True)
class TlsFacts:
    """The TLS statement of one Received header, normalised.

    Attributes:
        evidence: the verdict this header supports (see ``Evidence``).
        dialect: the writer family whose grammar matched.
        marker: the exact text (whitespace collapsed) that proved the verdict, or ``""``.
        tls_version: the normalised protocol version, or None when not stated or not a version.
        version_raw: the version as written (``TLS1_2``, ``TLSv1/SSLv3`` ...).
        cipher: the IANA cipher-suite name where a mapping exists, else the raw name.
        cipher_raw: the cipher as written.
        bits: the used (effective) key bits, always in bits.
        alg_bits: the algorithm bits, where written (Postfix ``256/256``, Gmail ``bits=U/A``).
        key_exchange: key exchange or group (Postfix 3.4+ ``X25519``, GnuTLS ``ECDHE_SECP256R1``).
        server_signature: server signature algorithm and size, where written.
        client_cert: client certificate status, where written.
        client_cn: client certificate CN, where written (Postfix ``Client CN``).
        verify: peer verification result as written (sendmail ``verify=``, OpenSMTPD ``YES|NO|FAIL``).
        note: why the verdict is what it is when that is not obvious (e.g. a known trap).
    """

    evidence: Evidence
    dialect: Dialect
    marker: str = ""
    tls_version: TlsVersion | None = None
    version_raw: str | None = None
    cipher: str | None = None
    cipher_raw: str | None = None
    bits: int | None = None
    alg_bits: int | None = None
    key_exchange: str | None = None
    server_signature: str | None = None
    client_cert: ClientCert | None = None
    client_cn: str | None = None
    verify: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class ReceivedHeader:
    """One Received header split into its clauses, with its TLS statement.

    Attributes:
        raw: the header value as found (unfolded, not otherwise changed), clipped.
        from_host: the name the client gave or the first name in the ``from`` clause.
        from_helo: the HELO/EHLO name where the writer distinguishes it from ``from_host``.
        from_rdns: the reverse-DNS name the receiving host looked up, where written.
        from_ip: the observed peer address (IPv4 or IPv6, no brackets, no ``IPv6:`` prefix).
        by_host: the receiving host as written.
        via: the ``via`` clause.
        protocol: the ``with`` keyword as written (``ESMTPS``, ``esmtps``, ``Microsoft SMTP Server``).
        id: the ``id`` clause.
        for_: the ``for`` clause, without angle brackets.
        date_raw: the date text after ``;`` (or where the writer puts it).
        timestamp: the date as an aware UTC datetime, or None when unreadable.
        tls: the TLS statement.
    """

    raw: str
    from_host: str | None
    from_helo: str | None
    from_rdns: str | None
    from_ip: str | None
    by_host: str | None
    via: str | None
    protocol: str | None
    id: str | None
    for_: str | None
    date_raw: str | None
    timestamp: datetime | None
    tls: TlsFacts


# ``ReceivedHeader(...)`` with every field given by position, at half the cost (the template
# cache builds one per header read)
make_received_header = slot_maker(ReceivedHeader)


@dataclass(frozen=True, slots=True)
class Hop:
    """A Received header in the context of its message.

    Attributes:
        source: the origin of the message (file path, with ``:index`` or member name).
        message_id: the Message-ID header, or None.
        hop: 1 for the oldest (bottom-most) Received header, counting up.
        role: where the hop sits relative to the trusted hosts.
        delay_s: seconds since the previous (older) hop; negative means clock skew.
        clock_skew: True when ``delay_s`` is negative.
        header: the parsed header.
    """

    source: str
    message_id: str | None
    hop: int
    role: Role
    delay_s: float | None
    clock_skew: bool
    header: ReceivedHeader


@dataclass(frozen=True, slots=True)
class RawMessage:
    """The header block of one message as a source found it: the only thing sources yield.

    Attributes:
        origin: the file (or ``-``) and, for containers, the member (``All.mbox:1234``).
        position: byte offset in the container, or message index for directory sources.
        headers: the raw header block, up to (not including) the blank line; bytes as found.
        truncated: True when the source cut the header block at a safety limit or EOF.
    """

    origin: str
    position: int
    headers: bytes
    truncated: bool = False
