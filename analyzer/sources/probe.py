"""``mailtls probe``: check a mail server's STARTTLS and certificate, as an admin would by hand.

One probe is one SMTP session per target (``probe_session.run_session``) with verification
on, against the system trust store or ``ca_file`` and the target's host name. When the
certificate is rejected, a second session with verification off collects its facts, so the
certificate is always described. ``versions`` adds one session per protocol version.
OpenSSL reports only its first verification error; ``certcheck.certificate_problems`` adds
what the leaf certificate proves beside it (expired and untrusted, not only untrusted).

Name lookups go through an injectable ``Resolver`` (tests never touch DNS); MX lookups use
dnspython. Targets run concurrently across hosts, never two connections at once to one host.
Nothing is probed unless named by the caller.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import ssl
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.oid import NameOID

from analyzer.model.common import TlsVersion
from analyzer.model.probe import (
    DEFAULT_SMTP_PORT,
    Certificate,
    ProbeOutcome,
    ProbeResult,
    ProbeStep,
    Target,
)
from analyzer.sources.certcheck import certificate_problems
from analyzer.sources.probe_session import SessionFacts, SessionLimits, run_session

DEFAULT_TIMEOUT = 10.0
DEFAULT_TARPIT_S = 5.0
MAX_WORKERS = 8

# The probe wants to see what an opportunistic MTA would get: every protocol from TLS 1.0
# and every cipher except NULL encryption, at OpenSSL security level 0.
PERMISSIVE_CIPHERS = "ALL:!eNULL:@SECLEVEL=0"

_SSL_VERSION: dict[TlsVersion, ssl.TLSVersion] = {
    TlsVersion.TLSV1_0: ssl.TLSVersion.TLSv1,
    TlsVersion.TLSV1_1: ssl.TLSVersion.TLSv1_1,
    TlsVersion.TLSV1_2: ssl.TLSVersion.TLSv1_2,
    TlsVersion.TLSV1_3: ssl.TLSVersion.TLSv1_3,
}


class LookupFailed(Exception):
    """A name has no usable address or MX record (the probe's ``dns-failure``)."""


AddressLookup = Callable[[str, int], Sequence[str]]
MxLookup = Callable[[str], Sequence[tuple[int, str]]]


def system_addresses(host: str, port: int) -> list[str]:
    """Addresses of ``host`` from the system resolver, in its order, without duplicates."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise LookupFailed(f"{host}: {exc}") from None
    seen: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in seen:
            seen.append(address)
    return seen


def dns_mx(domain: str) -> list[tuple[int, str]]:
    """MX records of ``domain`` as (preference, host) pairs, using dnspython.

    A domain without MX records gives ``[]`` (RFC 5321 §5.1: the domain itself is the
    implicit MX); a name that does not exist raises LookupFailed.
    """
    # dnspython is needed for --domain only, so it is imported where used.
    import dns.exception
    import dns.resolver

    try:
        answer = dns.resolver.resolve(domain, "MX", lifetime=DEFAULT_TIMEOUT)
    except (dns.resolver.NoAnswer, dns.resolver.NoNameservers) as exc:
        if isinstance(exc, dns.resolver.NoAnswer):
            return []
        raise LookupFailed(f"{domain}: {exc}") from None
    except (dns.resolver.NXDOMAIN, dns.exception.DNSException) as exc:
        raise LookupFailed(f"{domain}: {exc}") from None
    return [(int(r.preference), r.exchange.to_text(omit_final_dot=True)) for r in answer]


@dataclass(frozen=True, slots=True)
class Resolver:
    """The name lookups of the probe, injectable so that tests never query DNS.

    Attributes:
        addresses: host name and port -> IP addresses (raises LookupFailed).
        mx: domain -> (preference, host) MX pairs, [] for none (raises LookupFailed).
    """

    addresses: AddressLookup = system_addresses
    mx: MxLookup = dns_mx


@dataclass(frozen=True, slots=True)
class ProbeOptions:
    """How to probe.

    Attributes:
        timeout: seconds allowed for each step (connect, each reply, the handshake).
        ca_file: PEM bundle to trust instead of the system store.
        versions: also try each protocol version alone (TLS 1.0 to 1.3).
        tarpit_s: a banner slower than this (but within the timeout) is a tarpit.
        ehlo_name: the name sent with EHLO.
    """

    timeout: float = DEFAULT_TIMEOUT
    ca_file: Path | None = None
    versions: bool = False
    tarpit_s: float = DEFAULT_TARPIT_S
    ehlo_name: str = "localhost"


# host, [v6 address], or v6 address alone; optional :port (RFC 3986 authority forms).
_TARGET = re.compile(
    r"\[(?P<v6>[0-9A-Fa-f:.]+)\](?::(?P<p6>\d{1,5}))?|(?P<host>[^:\s\[\]]+)(?::(?P<port>\d{1,5}))?"
)
_HOSTNAME = re.compile(
    r"(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_-]{1,63})*\.?"
)


def parse_target(text: str) -> Target:
    """``mx1.example.com:587`` -> Target; port 25 when none; ``[2001:db8::1]:25`` for IPv6.

    Raises ValueError for anything that is not a host name or address with a valid port.
    """
    raw = text.strip()
    if _is_ip(raw):
        return Target(raw, DEFAULT_SMTP_PORT)
    m = _TARGET.fullmatch(raw)
    if m is None:
        raise ValueError(f"not a host or host:port: {text!r}")
    host = m.group("v6") or m.group("host")
    port_text = m.group("p6") or m.group("port")
    port = int(port_text) if port_text else DEFAULT_SMTP_PORT
    if not 0 < port < 65536:
        raise ValueError(f"port out of range in {text!r}")
    if m.group("v6") and not _is_ip(host):
        raise ValueError(f"not an IPv6 address: {host!r}")
    if not (_is_ip(host) or _HOSTNAME.fullmatch(host)):
        raise ValueError(f"not a host name: {host!r}")
    return Target(host.rstrip(".").lower() if not _is_ip(host) else host, port)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def mx_targets(
    domain: str, *, port: int = DEFAULT_SMTP_PORT, resolver: Resolver | None = None
) -> list[Target]:
    """The MX hosts of ``domain`` in preference order (then by name).

    No MX record: the domain itself (RFC 5321 §5.1 implicit MX). A null MX (RFC 7505,
    ``0 .``) or a missing domain raises LookupFailed.
    """
    lookup = (resolver or Resolver()).mx
    records = sorted((pref, host.rstrip(".").lower()) for pref, host in lookup(domain))
    if not records:
        return [Target(domain.lower(), port, domain.lower(), None)]
    if any(host == "" for _, host in records):
        raise LookupFailed(f"{domain}: null MX (RFC 7505), the domain accepts no mail")
    return [Target(host, port, domain.lower(), pref) for pref, host in records]


def client_context(
    options: ProbeOptions, *, verify: bool, version: TlsVersion | None = None
) -> ssl.SSLContext:
    """The client TLS context of one session: verifying or not, or pinned to one version."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.set_ciphers(PERMISSIVE_CIPHERS)
    with warnings.catch_warnings():
        # TLS 1.0/1.1 are deprecated in Python; seeing whether a server still takes them
        # is the point of the probe.
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        if version is not None:
            ctx.minimum_version = ctx.maximum_version = _SSL_VERSION[version]
    if verify:
        if options.ca_file is not None:
            ctx.load_verify_locations(cafile=str(options.ca_file))
        else:
            ctx.load_default_certs()
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def certificate_facts(der: bytes, now: datetime) -> Certificate | None:
    """The facts of one DER certificate, or None when cryptography cannot read it."""
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        return None
    key_type, key_bits, curve = _key_facts(cert)
    names = _names(cert)
    oid = cert.signature_algorithm_oid
    return Certificate(
        subject=cert.subject.rfc4514_string(),
        sans=(names[0] + names[1]) if names else (),
        issuer=cert.issuer.rfc4514_string(),
        serial=format(cert.serial_number, "X"),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        days_left=int((cert.not_valid_after_utc - now).total_seconds() / 86400),
        key_type=key_type,
        key_bits=key_bits,
        key_curve=curve,
        signature_algorithm=str(getattr(oid, "_name", oid.dotted_string)),
        sha256=cert.fingerprint(hashes.SHA256()).hex(":").upper(),
        self_issued=cert.subject == cert.issuer,
        dns_sans=names[0] if names else (),
        ip_sans=names[1] if names else (),
        common_names=names[2] if names else (),
        names_known=names is not None,
        self_signed=_self_signed(cert),
    )


def _names(cert: x509.Certificate) -> tuple[tuple[str, ...], ...] | None:
    """(dNSName SANs, iPAddress SANs, subject CNs), or None when a name part is unreadable:
    then no host-name finding may be drawn from the names."""
    try:
        cns = tuple(str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME))
        try:
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except x509.ExtensionNotFound:
            return ((), (), cns)
        dns = tuple(str(v) for v in san.get_values_for_type(x509.DNSName))
        ips = tuple(str(v) for v in san.get_values_for_type(x509.IPAddress))
    except ValueError:
        return None
    return (dns, ips, cns)


def _self_signed(cert: x509.Certificate) -> bool | None:
    """Whether a self-issued certificate's signature verifies with its own key (None: not
    self-issued, or a key or signature cryptography cannot check)."""
    if cert.subject != cert.issuer:
        return None
    try:
        cert.verify_directly_issued_by(cert)
    except InvalidSignature:
        return False
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return None
    return True


def _key_facts(cert: x509.Certificate) -> tuple[str, int | None, str | None]:
    try:
        key = cert.public_key()
    except (ValueError, TypeError):
        return "unknown", None, None
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size, None
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "EC", key.curve.key_size, key.curve.name
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256, None
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 456, None
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA", key.key_size, None
    return "unknown", None, None


def probe(target: Target, options: ProbeOptions, resolver: Resolver | None = None) -> ProbeResult:
    """Probe one target; every network outcome is a result, never an exception."""
    started = datetime.now(UTC)
    t0 = time.monotonic()
    try:
        addresses = (
            [target.host]
            if _is_ip(target.host)
            else list((resolver or Resolver()).addresses(target.host, target.port))
        )
        if not addresses:
            raise LookupFailed(f"{target.host}: no address")
    except LookupFailed as exc:
        return ProbeResult(
            target,
            None,
            ProbeOutcome.DNS_FAILURE,
            ProbeStep.RESOLVE,
            started,
            time.monotonic() - t0,
            error=str(exc),
        )
    limits = SessionLimits(options.timeout, options.ehlo_name)
    # Python sends no SNI for an address literal and then checks the certificate's IP SANs.
    sni = target.host
    address = addresses[0]
    first = run_session(address, target.port, client_context(options, verify=True), sni, limits)
    facts, verified = first, (True if first.outcome is ProbeOutcome.OK else None)
    if first.verify_code is not None:
        verified = False
        second = run_session(
            address, target.port, client_context(options, verify=False), sni, limits
        )
        if second.outcome is ProbeOutcome.OK:
            facts = _with_verdict(second, first)
    # One session per version only where a handshake was reached at all: no point in four
    # more timeouts against a server that never answered.
    reached = first.step in (ProbeStep.HANDSHAKE, ProbeStep.VERIFY, ProbeStep.DONE)
    accepted = (
        _accepted_versions(address, target, options, sni, limits)
        if options.versions and reached
        else None
    )
    return _result(target, facts, verified, accepted, started, time.monotonic() - t0, options)


def _with_verdict(facts: SessionFacts, verdict: SessionFacts) -> SessionFacts:
    facts.category, facts.detail, facts.verify_code = (
        verdict.category,
        verdict.detail,
        verdict.verify_code,
    )
    return facts


def _accepted_versions(
    address: str, target: Target, options: ProbeOptions, sni: str | None, limits: SessionLimits
) -> tuple[TlsVersion, ...]:
    accepted: list[TlsVersion] = []
    for version in _SSL_VERSION:
        ctx = client_context(options, verify=False, version=version)
        if run_session(address, target.port, ctx, sni, limits).outcome is ProbeOutcome.OK:
            accepted.append(version)
    return tuple(accepted)


def _result(
    target: Target,
    facts: SessionFacts,
    verified: bool | None,
    accepted: tuple[TlsVersion, ...] | None,
    started: datetime,
    elapsed: float,
    options: ProbeOptions,
) -> ProbeResult:
    parsed = [certificate_facts(der, started) for der in facts.chain_der]
    chain = tuple(c for c in parsed if c)
    # The leaf is the first certificate sent: never an intermediate standing in for it.
    leaf = parsed[0] if parsed else None
    problems = certificate_problems(
        leaf,
        started,
        target.host,
        facts.verify_code,
        common_name_fallback=_checks_common_name(),
    )
    outcome = facts.outcome
    slow = facts.banner_delay_s is not None and facts.banner_delay_s > options.tarpit_s
    if outcome is ProbeOutcome.OK and slow:
        outcome = ProbeOutcome.TARPIT
    if facts.verify_code is not None and outcome is ProbeOutcome.HANDSHAKE_FAILED:
        # The certificate was rejected and the facts session did not complete: the
        # network outcome is still a completed handshake, the verdict says the rest.
        outcome = ProbeOutcome.OK if not slow else ProbeOutcome.TARPIT
    return ProbeResult(
        target=target,
        address=facts.address,
        outcome=outcome,
        step=facts.step,
        started_at=started,
        elapsed_s=elapsed,
        banner=facts.banner,
        banner_delay_s=facts.banner_delay_s,
        capabilities=facts.capabilities,
        starttls_offered=facts.starttls_offered,
        starttls_reply=facts.starttls_reply,
        tls_version=facts.tls_version,
        cipher=facts.cipher,
        bits=facts.bits,
        key_exchange=facts.key_exchange,
        certificate=leaf,
        chain=chain,
        verified=verified,
        failure_category=facts.category,
        accepted_versions=accepted,
        error=facts.detail,
        certificate_problems=problems,
    )


@cache
def _checks_common_name() -> bool:
    # client_context() never changes it, so a fresh client context tells what it is.
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).hostname_checks_common_name


def probe_many(
    targets: Iterable[Target],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    ca_file: Path | None = None,
    versions: bool = False,
    resolver: Resolver | None = None,
    tarpit_s: float = DEFAULT_TARPIT_S,
    ehlo_name: str = "localhost",
    max_workers: int = MAX_WORKERS,
) -> list[ProbeResult]:
    """Probe ``targets`` concurrently across hosts, one connection at a time per host.

    Results come back in the order of ``targets``.
    """
    options = ProbeOptions(timeout, ca_file, versions, tarpit_s, ehlo_name)
    items = list(targets)
    groups: dict[str, list[int]] = {}
    for index, target in enumerate(items):
        groups.setdefault(target.host.lower(), []).append(index)
    results: list[ProbeResult | None] = [None] * len(items)

    def run_group(indexes: list[int]) -> None:
        for index in indexes:  # sequential: at most one connection to this host
            results[index] = probe(items[index], options, resolver)

    if groups:
        with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(groups)))) as pool:
            for future in [pool.submit(run_group, idx) for idx in groups.values()]:
                future.result()
    return [r for r in results if r is not None]


def probe_domain(
    domain: str,
    *,
    port: int = DEFAULT_SMTP_PORT,
    timeout: float = DEFAULT_TIMEOUT,
    ca_file: Path | None = None,
    versions: bool = False,
    resolver: Resolver | None = None,
    tarpit_s: float = DEFAULT_TARPIT_S,
) -> list[ProbeResult]:
    """Probe the MX hosts of ``domain``; a failed MX lookup is one dns-failure result."""
    started = datetime.now(UTC)
    try:
        targets = mx_targets(domain, port=port, resolver=resolver)
    except LookupFailed as exc:
        target = Target(domain.lower(), port, domain.lower(), None)
        return [
            ProbeResult(
                target,
                None,
                ProbeOutcome.DNS_FAILURE,
                ProbeStep.RESOLVE,
                started,
                0.0,
                error=str(exc),
            )
        ]
    return probe_many(
        targets,
        timeout=timeout,
        ca_file=ca_file,
        versions=versions,
        resolver=resolver,
        tarpit_s=tarpit_s,
    )
