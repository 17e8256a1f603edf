"""Records of a live STARTTLS probe (issue 5): what one SMTP session to one server showed.

A probe result is evidence of the same kind as a log line, so its certificate and handshake
failures use the one ``FailureCategory`` vocabulary of the logs (issue 3, scope 4), and
network outcomes that are not TLS failures (timeouts, greylisting, ...) get a ``ProbeOutcome``
instead of a crash.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum, StrEnum

from analyzer.model.common import TlsVersion
from analyzer.model.logs import FailureCategory

DEFAULT_SMTP_PORT = 25


class ProbeOutcome(StrEnum):
    """How the probe's SMTP session ended, as a closed set of network outcomes.

    OK means the session reached the end of the TLS handshake (the certificate verdict is
    separate: ``verified`` and ``failure_category``).
    """

    OK = "ok"
    DNS_FAILURE = "dns-failure"  # no address (or no MX) for the name
    CONNECTION_REFUSED = "connection-refused"  # TCP refused or unreachable
    TIMEOUT = "timeout"  # a step took longer than the configured timeout
    GREYLISTED = "greylisted"  # a 4xx reply (421 banner, 450 ...): try later
    TARPIT = "tarpit"  # the banner came, but slower than the tarpit threshold
    STARTTLS_NOT_OFFERED = "starttls-not-offered"  # no STARTTLS in the EHLO reply
    STARTTLS_REFUSED = "starttls-refused"  # STARTTLS answered with something else than 220
    HANDSHAKE_FAILED = "handshake-failed"  # TLS alert or error during the handshake
    CONNECTION_DROPPED = "connection-dropped"  # the server closed the connection mid-session
    PROTOCOL_ERROR = "protocol-error"  # not SMTP, or an unexpected 5xx
    OVERSIZED_RESPONSE = "oversized-response"  # a reply over the line or byte limits


class ProbeStep(StrEnum):
    """The step of the session where the outcome was decided."""

    RESOLVE = "resolve"
    CONNECT = "connect"
    BANNER = "banner"
    EHLO = "ehlo"
    STARTTLS = "starttls"
    HANDSHAKE = "handshake"
    VERIFY = "verify"
    DONE = "done"


@dataclass(frozen=True, slots=True)
class Target:
    """One server to probe.

    Attributes:
        host: host name (or IP address literal) as the user or the MX record gave it.
        port: TCP port (25 unless given, ``host:587``).
        domain: the mail domain whose MX record named this host, or None.
        preference: the MX preference, or None when the host was named directly.
    """

    host: str
    port: int = DEFAULT_SMTP_PORT
    domain: str | None = None
    preference: int | None = None

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True, slots=True)
class Certificate:
    """Facts of one X.509 certificate presented by the server.

    Attributes:
        subject: the subject distinguished name (RFC 4514 string).
        sans: subjectAltName entries, DNS names as written and IP addresses as text.
        issuer: the issuer distinguished name (RFC 4514 string).
        serial: the serial number in upper-case hexadecimal.
        not_before: start of validity (aware UTC).
        not_after: end of validity (aware UTC).
        days_left: whole days from the probe's start to not_after (negative once expired).
        key_type: ``RSA``, ``EC``, ``Ed25519``, ``Ed448``, ``DSA`` or ``unknown``.
        key_bits: key size in bits (the curve size for EC keys), or None.
        key_curve: the curve name of an EC key (``secp256r1``), else None.
        signature_algorithm: signature algorithm name (``sha256WithRSAEncryption``), or the
            dotted OID when it has no name.
        sha256: SHA-256 fingerprint of the DER bytes, upper-case hex pairs joined by ``:``
            (the form ``openssl x509 -fingerprint -sha256`` prints).
        self_issued: subject and issuer are the same name.
        dns_sans: the subjectAltName dNSName entries alone, as written.
        ip_sans: the subjectAltName iPAddress entries alone, as text.
        common_names: every commonName of the subject, in order.
        names_known: ``dns_sans``, ``ip_sans`` and ``common_names`` were read from the
            certificate; False (the default for a record built by hand) means they are not
            known, so no host-name finding is drawn from them.
        self_signed: the signature verifies with the certificate's own public key; None when
            not checked (not self-issued, or a key type that cannot be checked).
    """

    subject: str
    sans: tuple[str, ...]
    issuer: str
    serial: str
    not_before: datetime
    not_after: datetime
    days_left: int
    key_type: str
    key_bits: int | None
    key_curve: str | None
    signature_algorithm: str
    sha256: str
    self_issued: bool
    dns_sans: tuple[str, ...] = ()
    ip_sans: tuple[str, ...] = ()
    common_names: tuple[str, ...] = ()
    names_known: bool = False
    self_signed: bool | None = None


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """What one probe of one target showed.

    Attributes:
        target: the host, port (and MX origin) probed.
        address: the IP address connected to, or None when none was reached.
        outcome: how the session ended (a closed set; never an exception).
        step: where the outcome was decided.
        started_at: when the probe began (aware UTC).
        elapsed_s: wall-clock seconds of the whole probe, every session included.
        banner: the greeting, multi-line greetings joined by newlines (bounded).
        banner_delay_s: seconds from connect to the end of the greeting, or None.
        capabilities: EHLO keywords with their parameters, in the server's order
            (``PIPELINING``, ``SIZE 10240000``, ``STARTTLS`` ...); empty when EHLO failed.
        starttls_offered: STARTTLS was in the EHLO reply; None when EHLO was not reached.
        starttls_reply: the reply to STARTTLS (``220 2.0.0 Ready to start TLS``), or None.
        tls_version: negotiated protocol, or None without a handshake.
        cipher: negotiated cipher suite, IANA name where one is known.
        bits: secret bits of the cipher as OpenSSL reports them.
        key_exchange: key exchange of a TLS 1.2-or-older suite (``ECDHE``, ``DHE``, ``RSA``);
            None for TLS 1.3, whose group the runtime does not expose.
        certificate: the server's leaf certificate, or None.
        chain: every certificate the server sent, leaf first.
        verified: the chain verified against the trust store and the name matched; None when
            no certificate was seen.
        failure_category: the TLS failure in the logs' vocabulary, or None; for a rejected
            certificate, OpenSSL's first verification error (it stops at the first).
        accepted_versions: versions that completed a handshake when each was tried alone,
            in increasing order; None when not asked for, or when the first session never
            reached the handshake.
        error: one human sentence with the detail of the failure (OpenSSL reason, reply).
        certificate_problems: every certificate problem the evidence proves, in the fixed
            order of ``sources.certcheck.PROBLEM_ORDER`` (expired, not-yet-valid,
            self-signed, host-mismatch, not-trusted, revoked, then any other first error of
            OpenSSL); it always holds ``failure_category`` when the certificate was
            rejected, and is empty when it verified or when none was seen.
    """

    target: Target
    address: str | None
    outcome: ProbeOutcome
    step: ProbeStep
    started_at: datetime
    elapsed_s: float
    banner: str | None = None
    banner_delay_s: float | None = None
    capabilities: tuple[str, ...] = ()
    starttls_offered: bool | None = None
    starttls_reply: str | None = None
    tls_version: TlsVersion | None = None
    cipher: str | None = None
    bits: int | None = None
    key_exchange: str | None = None
    certificate: Certificate | None = None
    chain: tuple[Certificate, ...] = ()
    verified: bool | None = None
    failure_category: FailureCategory | None = None
    accepted_versions: tuple[TlsVersion, ...] | None = None
    error: str | None = None
    certificate_problems: tuple[FailureCategory, ...] = ()

    @property
    def host(self) -> str:
        return self.target.host

    @property
    def port(self) -> int:
        return self.target.port


class ProbeExit(IntEnum):
    """Exit status proposed for ``mailtls probe``: the worst over all targets."""

    OK = 0  # every target reached, STARTTLS done and the certificate verified
    TLS_PROBLEM = 1  # no STARTTLS, refused, handshake failure or unverified certificate
    USAGE = 2  # bad options (argparse's own status)
    UNREACHABLE = 3  # a target could not be examined: DNS, refused, timeout, 4xx, hostile


_EXIT_BY_OUTCOME: dict[ProbeOutcome, ProbeExit] = {
    ProbeOutcome.OK: ProbeExit.OK,
    ProbeOutcome.DNS_FAILURE: ProbeExit.UNREACHABLE,
    ProbeOutcome.CONNECTION_REFUSED: ProbeExit.UNREACHABLE,
    ProbeOutcome.TIMEOUT: ProbeExit.UNREACHABLE,
    ProbeOutcome.GREYLISTED: ProbeExit.UNREACHABLE,
    ProbeOutcome.TARPIT: ProbeExit.UNREACHABLE,
    ProbeOutcome.STARTTLS_NOT_OFFERED: ProbeExit.TLS_PROBLEM,
    ProbeOutcome.STARTTLS_REFUSED: ProbeExit.TLS_PROBLEM,
    ProbeOutcome.HANDSHAKE_FAILED: ProbeExit.TLS_PROBLEM,
    ProbeOutcome.CONNECTION_DROPPED: ProbeExit.TLS_PROBLEM,
    ProbeOutcome.PROTOCOL_ERROR: ProbeExit.UNREACHABLE,
    ProbeOutcome.OVERSIZED_RESPONSE: ProbeExit.UNREACHABLE,
}

# A drop before STARTTLS is a hostile or broken server; during the handshake it is the
# middlebox/firewall symptom, a TLS problem.
_TLS_STEPS = frozenset({ProbeStep.STARTTLS, ProbeStep.HANDSHAKE, ProbeStep.VERIFY, ProbeStep.DONE})


def exit_status(result: ProbeResult) -> ProbeExit:
    """The exit status one result asks for."""
    status = _EXIT_BY_OUTCOME[result.outcome]
    if result.outcome is ProbeOutcome.CONNECTION_DROPPED and result.step not in _TLS_STEPS:
        return ProbeExit.UNREACHABLE
    if status is ProbeExit.OK and result.verified is not True:
        return ProbeExit.TLS_PROBLEM
    return status


def overall_exit(results: Iterable[ProbeResult]) -> ProbeExit:
    """The worst exit status over ``results`` (OK for none)."""
    return max((exit_status(r) for r in results), default=ProbeExit.OK)
