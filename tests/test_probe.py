"""`mailtls probe` against real SMTP servers on loopback (lab/peers.py), one per scenario.

Every name lookup is injected (no DNS query leaves the machine) and every connection goes
to 127.0.0.1.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from analyzer.frames.probes import PROBES, probes_frame
from analyzer.model.common import TlsVersion
from analyzer.model.logs import FailureCategory
from analyzer.model.probe import (
    Certificate,
    ProbeExit,
    ProbeOutcome,
    ProbeResult,
    ProbeStep,
    Target,
    exit_status,
    overall_exit,
)
from analyzer.report.probe_text import escape, render_json, render_one, render_text
from analyzer.sources.probe import (
    LookupFailed,
    Resolver,
    mx_targets,
    parse_target,
    probe_domain,
    probe_many,
)
from lab.certs import Pki, make_pki
from lab.peer_scenarios import legacy_tls_available, scenario
from lab.peers import PeerServer

HOST = "mx.lab.test"
CAPS: tuple[str, ...] = (
    "PIPELINING",
    "SIZE 10240000",
    "STARTTLS",
    "ENHANCEDSTATUSCODES",
    "8BITMIME",
    "DSN",
    "SMTPUTF8",
)
BANNER = f"220 {HOST} ESMTP mailtls-lab-peer"
READY = "220 2.0.0 Ready to start TLS"
TLS13 = ("TLSv1.3", "TLS_AES_256_GCM_SHA384", 256)


def _loopback(host: str, port: int) -> list[str]:
    if host.endswith(".lab.test"):
        return ["127.0.0.1"]
    raise LookupFailed(f"{host}: no such host in the test resolver")


RESOLVER = Resolver(addresses=_loopback, mx=lambda domain: [])


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def peers(pki: Pki) -> Iterator[dict[str, PeerServer]]:
    names = [
        "valid",
        "expired",
        "not-yet-valid",
        "self-signed",
        "wrong-name",
        "untrusted-ca",
        "no-starttls",
        "refuse-starttls",
        "disjoint-ciphers",
        "drop-after-starttls",
        "silent",
        "greylist",
        "flood",
    ]
    servers = {n: PeerServer(scenario(n, pki)).start() for n in names}
    yield servers
    for server in servers.values():
        server.stop()


def _probe(
    server: PeerServer, pki: Pki, *, host: str = HOST, timeout: float = 3.0, **kw: object
) -> ProbeResult:
    results = probe_many(
        [Target(host, server.port)],
        timeout=timeout,
        ca_file=pki.ca_cert,
        resolver=RESOLVER,
        **kw,  # type: ignore[arg-type]
    )
    assert len(results) == 1
    return results[0]


def _expected_cert(path: Path, now: datetime) -> Certificate:
    """The facts of a PEM file, computed independently of the probe's code."""
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return Certificate(
        subject=cert.subject.rfc4514_string(),
        sans=tuple(san.get_values_for_type(x509.DNSName))
        + tuple(str(ip) for ip in san.get_values_for_type(x509.IPAddress)),
        issuer=cert.issuer.rfc4514_string(),
        serial=f"{cert.serial_number:X}",
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        days_left=int((cert.not_valid_after_utc - now).total_seconds() / 86400),
        key_type="RSA",
        key_bits=2048,
        key_curve=None,
        # lab CAs are ECDSA P-256; a self-signed leaf signs with its own RSA key
        signature_algorithm=(
            "sha256WithRSAEncryption" if cert.subject == cert.issuer else "ecdsa-with-SHA256"
        ),
        sha256=cert.fingerprint(hashes.SHA256()).hex(":").upper(),
        self_issued=cert.subject == cert.issuer,
        dns_sans=tuple(san.get_values_for_type(x509.DNSName)),
        ip_sans=tuple(str(ip) for ip in san.get_values_for_type(x509.IPAddress)),
        common_names=tuple(
            str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        ),
        names_known=True,
        # the lab's self-signed leaf signs with its own key; CA-issued leaves are not checked
        self_signed=True if cert.subject == cert.issuer else None,
    )


def _tls(r: ProbeResult) -> tuple[str | None, str | None, int | None]:
    return (r.tls_version.value if r.tls_version else None, r.cipher, r.bits)


# -- certificates -----------------------------------------------------------------------------


def test_valid_certificate_whole_record(peers: dict[str, PeerServer], pki: Pki) -> None:
    r = _probe(peers["valid"], pki)
    assert r.outcome is ProbeOutcome.OK
    assert r.step is ProbeStep.DONE
    assert (r.address, r.banner, r.capabilities) == ("127.0.0.1", BANNER, CAPS)
    assert (r.starttls_offered, r.starttls_reply) == (True, READY)
    assert _tls(r) == TLS13
    assert r.key_exchange is None  # TLS 1.3: the group is not exposed by Python's ssl
    assert (r.verified, r.failure_category, r.error, r.accepted_versions) == (
        True,
        None,
        None,
        None,
    )
    assert r.certificate_problems == ()
    assert r.certificate == _expected_cert(pki.pairs["valid"].cert, r.started_at)
    assert r.certificate is not None
    assert r.certificate.subject == "CN=mx.lab.test,O=mailtls lab"
    assert r.certificate.sans == ("mx.lab.test", "127.0.0.1")
    assert r.certificate.issuer == "CN=mailtls Lab Root CA,O=mailtls lab"
    assert r.certificate.days_left == 364
    assert r.chain == (r.certificate,)
    assert 0 < r.elapsed_s < 2


@pytest.mark.parametrize(
    ("name", "category", "message"),
    [
        ("expired", FailureCategory.CERTIFICATE_EXPIRED, "certificate has expired"),
        (
            "not-yet-valid",
            FailureCategory.CERTIFICATE_NOT_YET_VALID,
            "certificate is not yet valid",
        ),
        ("self-signed", FailureCategory.CERTIFICATE_SELF_SIGNED, "self-signed certificate"),
        (
            "untrusted-ca",
            FailureCategory.CERTIFICATE_NOT_TRUSTED,
            "unable to get local issuer certificate",
        ),
        (
            "wrong-name",
            FailureCategory.CERTIFICATE_HOST_MISMATCH,
            "Hostname mismatch, certificate is not valid for 'mx.lab.test'.",
        ),
    ],
)
def test_bad_certificates(
    peers: dict[str, PeerServer], pki: Pki, name: str, category: FailureCategory, message: str
) -> None:
    r = _probe(peers[name], pki)
    # The handshake completes without verification, so the certificate is always described.
    assert (r.outcome, r.capabilities, r.starttls_reply) == (ProbeOutcome.OK, CAPS, READY)
    assert _tls(r) == TLS13
    assert (r.verified, r.failure_category) == (False, category)
    assert r.certificate_problems == (category,)  # one problem each, and nothing guessed
    assert r.error == f"certificate verification failed: {message}"
    assert r.certificate == _expected_cert(pki.pairs[name].cert, r.started_at)


def test_expired_and_wrong_name_facts(peers: dict[str, PeerServer], pki: Pki) -> None:
    expired = _probe(peers["expired"], pki).certificate
    assert expired is not None
    assert expired.days_left == -30
    wrong = _probe(peers["wrong-name"], pki).certificate
    assert wrong is not None
    assert (wrong.subject, wrong.sans) == ("CN=wrong.lab.test,O=mailtls lab", ("wrong.lab.test",))
    self_signed = _probe(peers["self-signed"], pki).certificate
    assert self_signed is not None
    assert self_signed.self_issued
    assert self_signed.signature_algorithm == "sha256WithRSAEncryption"


def test_system_trust_store_does_not_know_the_lab_ca(peers: dict[str, PeerServer]) -> None:
    r = probe_many([Target(HOST, peers["valid"].port)], timeout=3, resolver=RESOLVER)[0]
    assert (r.outcome, r.verified) == (ProbeOutcome.OK, False)
    assert r.failure_category is FailureCategory.CERTIFICATE_NOT_TRUSTED
    assert r.certificate_problems == (FailureCategory.CERTIFICATE_NOT_TRUSTED,)


def test_ip_literal_target_checks_the_ip_san(peers: dict[str, PeerServer], pki: Pki) -> None:
    r = _probe(peers["valid"], pki, host="127.0.0.1")
    assert (r.outcome, r.verified, r.address) == (ProbeOutcome.OK, True, "127.0.0.1")
    wrong = _probe(peers["wrong-name"], pki, host="127.0.0.1")
    assert wrong.failure_category is FailureCategory.CERTIFICATE_HOST_MISMATCH
    assert wrong.error == (
        "certificate verification failed: IP address mismatch, "
        "certificate is not valid for '127.0.0.1'."
    )


# -- STARTTLS and handshakes ------------------------------------------------------------------


def test_no_starttls(peers: dict[str, PeerServer], pki: Pki) -> None:
    r = _probe(peers["no-starttls"], pki)
    assert (r.outcome, r.step) == (ProbeOutcome.STARTTLS_NOT_OFFERED, ProbeStep.EHLO)
    assert r.capabilities == tuple(c for c in CAPS if c != "STARTTLS")
    assert (r.starttls_offered, r.starttls_reply, r.tls_version) == (False, None, None)
    assert (r.verified, r.certificate, r.chain) == (None, None, ())
    assert r.failure_category is FailureCategory.STARTTLS_NOT_SUPPORTED


def test_starttls_refused(peers: dict[str, PeerServer], pki: Pki) -> None:
    r = _probe(peers["refuse-starttls"], pki)
    assert (r.outcome, r.step) == (ProbeOutcome.STARTTLS_REFUSED, ProbeStep.STARTTLS)
    assert r.starttls_reply == "454 4.7.0 TLS not available due to local problem"
    assert r.failure_category is FailureCategory.STARTTLS_REJECTED
    assert (r.tls_version, r.verified) == (None, None)


def test_drop_after_starttls_is_connection_lost(peers: dict[str, PeerServer], pki: Pki) -> None:
    r = _probe(peers["drop-after-starttls"], pki)
    assert (r.outcome, r.step) == (ProbeOutcome.CONNECTION_DROPPED, ProbeStep.HANDSHAKE)
    assert (r.starttls_offered, r.starttls_reply) == (True, READY)
    assert r.failure_category is FailureCategory.CONNECTION_LOST
    # EOF or RST depending on whether the ClientHello was still unread when the peer closed
    assert r.error in {
        "connection closed during the TLS handshake (SSLEOFError)",
        "connection closed during the TLS handshake (ConnectionResetError)",
    }
    assert exit_status(r) is ProbeExit.TLS_PROBLEM


def test_disjoint_ciphers(peers: dict[str, PeerServer], pki: Pki) -> None:
    r = _probe(peers["disjoint-ciphers"], pki)
    assert (r.outcome, r.step) == (ProbeOutcome.HANDSHAKE_FAILED, ProbeStep.HANDSHAKE)
    assert r.failure_category is FailureCategory.NO_SHARED_CIPHER
    assert r.error is not None
    assert "SSLV3_ALERT_HANDSHAKE_FAILURE" in r.error


def test_accepted_versions_of_a_modern_server(pki: Pki) -> None:
    import ssl

    config = scenario("valid", pki, min_version=ssl.TLSVersion.TLSv1_2)
    with PeerServer(config) as server:
        r = _probe(server, pki, versions=True)
    assert r.accepted_versions == (TlsVersion.TLSV1_2, TlsVersion.TLSV1_3)
    assert _tls(r) == TLS13


@pytest.mark.skipif(
    not legacy_tls_available(),
    reason="this OpenSSL build cannot negotiate TLS 1.0 even at security level 0",
)
def test_tls10_only_server(pki: Pki) -> None:
    with PeerServer(scenario("tls10-only", pki)) as server:
        r = _probe(server, pki, versions=True)
    assert r.outcome is ProbeOutcome.OK
    assert _tls(r) == ("TLSv1.1", "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", 256)
    assert r.key_exchange == "ECDHE"
    assert r.accepted_versions == (TlsVersion.TLSV1_0, TlsVersion.TLSV1_1)
    assert (r.verified, r.failure_category) == (True, None)


# -- unreachable and hostile servers ----------------------------------------------------------


def test_silent_server_times_out_within_the_limit(peers: dict[str, PeerServer], pki: Pki) -> None:
    r = _probe(peers["silent"], pki, timeout=0.5, versions=True)
    assert (r.outcome, r.step, r.banner) == (ProbeOutcome.TIMEOUT, ProbeStep.BANNER, None)
    assert r.accepted_versions is None  # no version sessions after a dead first session
    assert r.error == "no reply within 0.5 s"
    assert 0.5 <= r.elapsed_s < 1.2
    assert exit_status(r) is ProbeExit.UNREACHABLE


def test_greylist_421(peers: dict[str, PeerServer], pki: Pki) -> None:
    r = _probe(peers["greylist"], pki)
    assert (r.outcome, r.step) == (ProbeOutcome.GREYLISTED, ProbeStep.BANNER)
    assert r.banner == "421 4.7.0 Try again later"
    assert r.error == "server answered 421 4.7.0 Try again later"


def test_ten_megabyte_banner_flood_is_bounded(peers: dict[str, PeerServer], pki: Pki) -> None:
    tracemalloc.start()
    try:
        r = _probe(peers["flood"], pki)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (r.outcome, r.step) == (ProbeOutcome.OVERSIZED_RESPONSE, ProbeStep.BANNER)
    assert r.error == "reply over 100 lines or 65536 bytes"
    assert peak < 2 * 1024 * 1024
    assert r.elapsed_s < 2


def test_tarpit_banner(pki: Pki) -> None:
    with PeerServer(scenario("valid", pki, banner_delay_s=0.6)) as server:
        r = _probe(server, pki, tarpit_s=0.3)
    assert r.outcome is ProbeOutcome.TARPIT
    assert r.banner_delay_s is not None
    assert 0.6 <= r.banner_delay_s < 1.5
    assert (_tls(r), r.verified) == (TLS13, True)  # still fully examined


def _one_shot_server(payload: bytes) -> tuple[socket.socket, threading.Thread]:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)

    def serve() -> None:
        conn, _ = listener.accept()
        conn.settimeout(5)
        try:
            conn.sendall(payload)
            conn.shutdown(socket.SHUT_WR)  # then EOF: the probe must decide on what it got
        except OSError:
            pass
        finally:
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener, thread


@pytest.mark.parametrize(
    ("payload", "outcome", "error"),
    [
        (b"220 " + b"x" * 5_000_000, ProbeOutcome.OVERSIZED_RESPONSE, "line over 2048 bytes"),
        (
            b"HTTP/1.1 400 Bad Request\r\n\r\n",
            ProbeOutcome.PROTOCOL_ERROR,
            "not an SMTP reply: 'HTTP/1.1 400 Bad Request'",
        ),
        (b"220-partial\r\n", ProbeOutcome.CONNECTION_DROPPED, "connection closed by the server"),
        (b"554 5.7.1 No SMTP service here\r\n", ProbeOutcome.PROTOCOL_ERROR, None),
    ],
    ids=["long-line", "not-smtp", "drop-in-banner", "banner-554"],
)
def test_hostile_banners(
    pki: Pki, payload: bytes, outcome: ProbeOutcome, error: str | None
) -> None:
    listener, thread = _one_shot_server(payload)
    with listener:
        port = listener.getsockname()[1]
        r = probe_many([Target("127.0.0.1", port)], timeout=2, resolver=RESOLVER)[0]
        thread.join(5)
    assert (r.outcome, r.step) == (outcome, ProbeStep.BANNER)
    assert r.error == (error or "server answered 554 5.7.1 No SMTP service here")
    assert exit_status(r) is ProbeExit.UNREACHABLE


def test_connection_refused_and_dns_failure() -> None:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        port = sock.getsockname()[1]
    refused, unknown = probe_many(
        [Target("127.0.0.1", port), Target("nowhere.invalid", 25)], timeout=2, resolver=RESOLVER
    )
    assert (refused.outcome, refused.step) == (ProbeOutcome.CONNECTION_REFUSED, ProbeStep.CONNECT)
    assert refused.error == "Connection refused"
    assert (unknown.outcome, unknown.step, unknown.address) == (
        ProbeOutcome.DNS_FAILURE,
        ProbeStep.RESOLVE,
        None,
    )
    assert unknown.error == "nowhere.invalid: no such host in the test resolver"


# -- concurrency ------------------------------------------------------------------------------


def test_concurrent_across_hosts_serial_per_host(pki: Pki) -> None:
    with (
        PeerServer(scenario("silent", pki)) as one,
        PeerServer(scenario("silent", pki)) as two,
    ):
        across = [Target("a.lab.test", one.port), Target("b.lab.test", two.port)]
        start = time.monotonic()
        results = probe_many(across, timeout=0.5, resolver=RESOLVER)
        parallel = time.monotonic() - start
        same = [Target("a.lab.test", one.port), Target("a.lab.test", two.port)]
        start = time.monotonic()
        probe_many(same, timeout=0.5, resolver=RESOLVER)
        serial = time.monotonic() - start
    assert [r.target for r in results] == across  # input order kept
    assert parallel < 0.9
    assert serial >= 1.0


# -- MX lookup --------------------------------------------------------------------------------


def test_mx_targets_in_preference_order() -> None:
    records = {
        "example.test": [
            (20, "mx2.example.test."),
            (10, "MX1.example.test."),
            (10, "a.example.test"),
        ]
    }
    resolver = Resolver(addresses=_loopback, mx=lambda d: records.get(d, []))
    assert mx_targets("example.test", resolver=resolver) == [
        Target("a.example.test", 25, "example.test", 10),
        Target("mx1.example.test", 25, "example.test", 10),
        Target("mx2.example.test", 25, "example.test", 20),
    ]
    assert mx_targets("nomx.test", port=587, resolver=resolver) == [
        Target("nomx.test", 587, "nomx.test", None)
    ]
    null = Resolver(addresses=_loopback, mx=lambda d: [(0, ".")])
    with pytest.raises(LookupFailed, match="null MX"):
        mx_targets("null.test", resolver=null)


def test_probe_domain(peers: dict[str, PeerServer], pki: Pki) -> None:
    resolver = Resolver(addresses=_loopback, mx=lambda d: [(10, HOST)])
    (r,) = probe_domain(
        "lab.test", port=peers["valid"].port, ca_file=pki.ca_cert, resolver=resolver
    )
    assert r.target == Target(HOST, peers["valid"].port, "lab.test", 10)
    assert (r.outcome, r.verified) == (ProbeOutcome.OK, True)

    def missing(domain: str) -> list[tuple[int, str]]:
        raise LookupFailed(f"{domain}: The DNS query name does not exist")

    (failed,) = probe_domain("gone.test", resolver=Resolver(addresses=_loopback, mx=missing))
    assert (failed.outcome, failed.target.domain) == (ProbeOutcome.DNS_FAILURE, "gone.test")
    assert failed.error == "gone.test: The DNS query name does not exist"


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("mx1.example.com:587", Target("mx1.example.com", 587)),
        ("MX.Example.COM.", Target("mx.example.com", 25)),
        ("192.0.2.7", Target("192.0.2.7", 25)),
        ("192.0.2.7:2525", Target("192.0.2.7", 2525)),
        ("[2001:db8::1]:465", Target("2001:db8::1", 465)),
        ("2001:db8::1", Target("2001:db8::1", 25)),
    ],
)
def test_parse_target(text: str, target: Target) -> None:
    assert parse_target(text) == target


@pytest.mark.parametrize("text", ["", "host:0", "host:70000", "a b", "[nothex]:25", "h:25:25"])
def test_parse_target_rejects(text: str) -> None:
    with pytest.raises(ValueError, match=r"not a host|port out of range|not an IPv6"):
        parse_target(text)


# -- frame, text, JSON, exit codes ------------------------------------------------------------


def test_probes_frame(peers: dict[str, PeerServer], pki: Pki) -> None:
    results = probe_many(
        [
            Target(HOST, peers["valid"].port),
            Target(HOST, peers["expired"].port),
            Target(HOST, peers["no-starttls"].port),
        ],
        timeout=3,
        ca_file=pki.ca_cert,
        resolver=RESOLVER,
    )
    frame = probes_frame(results)
    assert list(frame.columns) == PROBES.names
    assert frame["tls_version"].dtype == pd.CategoricalDtype(
        ["SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"], ordered=True
    )
    assert str(frame["verified"].dtype) == "boolean"
    assert str(frame["cert_not_after"].dtype) == "datetime64[ns, UTC]"
    assert frame["outcome"].tolist() == ["ok", "ok", "starttls-not-offered"]
    assert frame["verified"].tolist() == [True, False, pd.NA]
    assert frame["failure_category"].tolist()[1:] == [
        "certificate-expired",
        "starttls-not-supported",
    ]
    assert pd.isna(frame["failure_category"].iloc[0])
    assert frame["certificate_problems"].tolist()[:2] == ["", "certificate-expired"]
    assert pd.isna(frame["certificate_problems"].iloc[2])  # no certificate seen
    assert frame["cert_days_left"].tolist() == [364, -30, pd.NA]
    assert (
        frame["capabilities"].iloc[2]
        == "PIPELINING, SIZE 10240000, ENHANCEDSTATUSCODES, 8BITMIME, DSN, SMTPUTF8"
    )
    assert frame["tls_version"].tolist()[:2] == ["TLSv1.3", "TLSv1.3"]
    empty = probes_frame([])
    assert list(empty.columns) == PROBES.names
    assert len(empty) == 0
    assert str(empty["starttls_offered"].dtype) == "boolean"


def _fixed_result() -> ProbeResult:
    moment = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    cert = Certificate(
        subject="CN=mx.example.test",
        sans=("mx.example.test",),
        issuer="CN=Example CA",
        serial="1F",
        not_before=datetime(2026, 1, 1, tzinfo=UTC),
        not_after=datetime(2026, 11, 15, tzinfo=UTC),
        days_left=-12,
        key_type="EC",
        key_bits=256,
        key_curve="secp256r1",
        signature_algorithm="ecdsa-with-SHA256",
        sha256="AB:CD",
        self_issued=False,
    )
    return ProbeResult(
        target=Target("mx.example.test", 25, "example.test", 10),
        address="192.0.2.1",
        outcome=ProbeOutcome.OK,
        step=ProbeStep.DONE,
        started_at=moment,
        elapsed_s=0.25,
        banner="220 mx.example.test ESMTP \x1b]0;pwned\x07\x1b[2J",
        banner_delay_s=0.01,
        capabilities=("PIPELINING", "STARTTLS"),
        starttls_offered=True,
        starttls_reply=READY,
        tls_version=TlsVersion.TLSV1_2,
        cipher="TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        bits=128,
        key_exchange="ECDHE",
        certificate=cert,
        chain=(cert,),
        verified=False,
        failure_category=FailureCategory.CERTIFICATE_EXPIRED,
        error="certificate verification failed: certificate has expired",
        certificate_problems=(FailureCategory.CERTIFICATE_EXPIRED,),
    )


def test_render_text_escapes_server_output() -> None:
    assert render_one(_fixed_result()) == "\n".join(
        [
            "mx.example.test:25 [192.0.2.1] (MX 10 of example.test): ok, certificate NOT verified (certificate-expired) (0.25 s)",
            "  banner       220 mx.example.test ESMTP \\x1b]0;pwned\\x07\\x1b[2J",
            "  EHLO         PIPELINING, STARTTLS",
            "  STARTTLS     offered",
            "  reply        220 2.0.0 Ready to start TLS",
            "  TLS          TLSv1.2 TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 (128 bits),"
            " key exchange ECDHE",
            "  subject      CN=mx.example.test",
            "  SANs         mx.example.test",
            "  issuer       CN=Example CA",
            "  serial       1F",
            "  valid        2026-01-01 00:00:00 UTC to 2026-11-15 00:00:00 UTC"
            " (expired 12 days ago)",
            "  key          EC 256 (secp256r1), signed ecdsa-with-SHA256",
            "  sha256       AB:CD",
            "  chain        1 certificate(s) sent",
            "  verified     NO: certificate-expired",
            "  detail       certificate verification failed: certificate has expired",
        ]
    )
    assert escape("a\u202eb\x9bc\td") == "a\\u202eb\\x9bc\\x09d"
    assert render_text([]) == "\n"


def test_render_json_round_trip() -> None:
    (data,) = json.loads(render_json([_fixed_result()]))
    assert data["banner"] == "220 mx.example.test ESMTP \x1b]0;pwned\x07\x1b[2J"
    assert "\x1b" not in render_json([_fixed_result()])  # escaped on the wire
    assert data["certificate"]["not_after"] == "2026-11-15T00:00:00+00:00"
    assert (data["tls_version"], data["failure_category"]) == ("TLSv1.2", "certificate-expired")
    assert (data["verified"], data["accepted_versions"], data["mx_preference"]) == (False, None, 10)
    assert data["certificate_problems"] == ["certificate-expired"]


def test_exit_codes() -> None:
    bad_cert = _fixed_result()
    assert exit_status(bad_cert) is ProbeExit.TLS_PROBLEM
    from dataclasses import replace

    good = replace(
        bad_cert, verified=True, failure_category=None, error=None, certificate_problems=()
    )
    assert exit_status(good) is ProbeExit.OK
    down = replace(good, outcome=ProbeOutcome.TIMEOUT, step=ProbeStep.BANNER)
    assert overall_exit([good, bad_cert, down]) is ProbeExit.UNREACHABLE
    assert overall_exit([good, bad_cert]) is ProbeExit.TLS_PROBLEM
    assert overall_exit([]) is ProbeExit.OK
