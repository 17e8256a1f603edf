"""Every certificate problem a probe proves, not only OpenSSL's first (issue 5).

Three layers: the pure function on exact inputs; its host-name rule against the local
OpenSSL (in-memory handshakes, no socket); and whole probes of loopback peers (lab/peers.py)
whose certificates have one or two problems at once.
"""

from __future__ import annotations

import ipaddress
import json
import ssl
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from analyzer.frames.probes import probes_frame
from analyzer.model.logs import FailureCategory
from analyzer.model.probe import Certificate, ProbeOutcome, ProbeResult, Target
from analyzer.report.probe_text import render_json, render_one
from analyzer.sources.certcheck import certificate_problems, dns_name_matches, host_matches
from analyzer.sources.probe import Resolver, certificate_facts, probe_many
from lab.certs import COMBINED_NAMES, Pki, make_combined, make_pki
from lab.peer_scenarios import scenario
from lab.peers import PeerServer

EXPIRED = FailureCategory.CERTIFICATE_EXPIRED
NOT_YET = FailureCategory.CERTIFICATE_NOT_YET_VALID
SELF = FailureCategory.CERTIFICATE_SELF_SIGNED
MISMATCH = FailureCategory.CERTIFICATE_HOST_MISMATCH
UNTRUSTED = FailureCategory.CERTIFICATE_NOT_TRUSTED
REVOKED = FailureCategory.CERTIFICATE_REVOKED
UNVERIFIED = FailureCategory.CERTIFICATE_UNVERIFIED

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
HOST = "mx.example.com"


def _cert(
    *,
    dns: tuple[str, ...] = (HOST,),
    ips: tuple[str, ...] = (),
    cns: tuple[str, ...] = (HOST,),
    not_before: datetime = NOW - timedelta(days=10),
    not_after: datetime = NOW + timedelta(days=80),
    self_signed: bool | None = None,
    names_known: bool = True,
) -> Certificate:
    return Certificate(
        subject=f"CN={cns[0]}" if cns else "O=x",
        sans=dns + ips,
        issuer="CN=Example CA",
        serial="1F",
        not_before=not_before,
        not_after=not_after,
        days_left=int((not_after - NOW).total_seconds() / 86400),
        key_type="EC",
        key_bits=256,
        key_curve="secp256r1",
        signature_algorithm="ecdsa-with-SHA256",
        sha256="AB:CD",
        self_issued=self_signed is not None,
        dns_sans=dns,
        ip_sans=ips,
        common_names=cns,
        names_known=names_known,
        self_signed=self_signed,
    )


# -- the pure function on exact inputs --------------------------------------------------------


@pytest.mark.parametrize(
    ("leaf", "host", "code", "expected"),
    [
        # OpenSSL stops at 20 (no issuer); the dates prove the expiry too.
        (_cert(not_after=NOW - timedelta(days=3)), HOST, 20, (EXPIRED, UNTRUSTED)),
        (_cert(not_before=NOW + timedelta(days=3)), HOST, 9, (NOT_YET,)),
        (_cert(not_before=NOW + timedelta(days=3)), HOST, 20, (NOT_YET, UNTRUSTED)),
        (_cert(), HOST, 20, (UNTRUSTED,)),
        (_cert(), "other.example.com", 20, (MISMATCH, UNTRUSTED)),
        (_cert(dns=("wrong.example.com",)), HOST, 62, (MISMATCH,)),
        (_cert(dns=("wrong.example.com",), not_after=NOW - timedelta(1)), HOST, 62, (EXPIRED, MISMATCH)),
        # self-signed: OpenSSL's 18, or a leaf that signs itself once OpenSSL rejected it
        (_cert(self_signed=True), HOST, 18, (SELF,)),
        (_cert(self_signed=True, not_after=NOW - timedelta(1)), HOST, 18, (EXPIRED, SELF)),
        (_cert(self_signed=True, not_after=NOW - timedelta(1)), HOST, 10, (EXPIRED, SELF)),
        (_cert(), HOST, 19, (SELF,)),
        # self-issued whose signature does not verify with its own key: not self-signed
        (_cert(self_signed=False), HOST, 20, (UNTRUSTED,)),
        (_cert(not_after=NOW - timedelta(1)), HOST, 23, (EXPIRED, REVOKED)),
        # an OpenSSL verdict outside the fixed order comes last (26: unsupported purpose)
        (_cert(not_after=NOW - timedelta(1)), HOST, 26, (EXPIRED, UNVERIFIED)),
        # OpenSSL's first error is kept even when the leaf alone does not show it
        (_cert(), HOST, 10, (EXPIRED,)),
        (None, HOST, 20, (UNTRUSTED,)),
        # RFC 5280 §4.1.2.5: notAfter itself is still inside the validity period
        (_cert(not_after=NOW), HOST, 20, (UNTRUSTED,)),
        # names not read from a certificate: no host-name finding from them
        (_cert(dns=(), cns=(), names_known=False), HOST, 20, (UNTRUSTED,)),
    ],
    ids=[
        "expired+untrusted", "not-yet-valid", "not-yet-valid+untrusted", "untrusted",
        "untrusted+wrong-name", "wrong-name", "expired+wrong-name", "self-signed",
        "self-signed+expired", "self-signed-trusted+expired", "self-signed-in-chain",
        "self-issued-not-self-signed", "revoked+expired", "other-verdict-last",
        "first-error-kept", "no-leaf", "not-after-inclusive", "names-unknown",
    ],
)  # fmt: skip
def test_certificate_problems(
    leaf: Certificate | None, host: str, code: int, expected: tuple[FailureCategory, ...]
) -> None:
    assert certificate_problems(leaf, NOW, host, code) == expected


def test_verified_chain_has_no_problems() -> None:
    # OpenSSL's pass is the verdict: nothing is added, not even from dates.
    assert certificate_problems(_cert(), NOW, HOST, None) == ()
    late = _cert(not_after=NOW - timedelta(days=1), dns=("x.test",))
    assert certificate_problems(late, NOW, HOST, None) == ()


@pytest.mark.parametrize(
    ("pattern", "name", "matches"),
    [
        ("*.example.com", "a.example.com", True),
        ("*.example.com", "a.b.example.com", False),  # one label only
        ("*.example.com", "example.com", False),  # the "*" needs at least one character
        ("*.EXAMPLE.com", "A.example.COM", True),  # ASCII case-insensitive
        ("*.example.com", "xn--bcher-kva.example.com", True),  # a whole-label "*" takes A-labels
        ("*.example.com", "a_b.example.com", False),  # letters, digits, hyphens only
        ("*.example.com", "*.example.com", True),  # OpenSSL lets "*" match a literal "*"
        ("a*.example.com", "ab.example.com", False),  # no partial-label wildcards
        ("*a.example.com", "ba.example.com", False),
        ("a.*.example.com", "a.b.example.com", False),  # left-most label only
        ("*.*.example.com", "a.b.example.com", False),
        ("*.com", "a.com", False),  # at least two dots: "*.com" is only a literal name
        ("*.example.com.", "a.example.com", False),
        ("mx.example.com", "MX.Example.Com", True),
        ("mx.example.com", "mx.example.com.", False),
        ("mx.example.com\x00.evil.test", "mx.example.com", False),
    ],
)
def test_dns_name_matches(pattern: str, name: str, matches: bool) -> None:
    assert dns_name_matches(pattern, name) is matches


def test_ip_sans_and_common_name_fallback() -> None:
    ip_cert = _cert(dns=(), ips=("192.0.2.1", "2001:db8::1"), cns=("mx.example.com",))
    assert host_matches(ip_cert, "192.0.2.1") is True
    assert host_matches(ip_cert, "2001:db8:0::1") is True  # compared as octets
    assert host_matches(ip_cert, "192.0.2.2") is False
    # X509_check_ip looks at iPAddress entries only, never at DNS names or the CN.
    assert host_matches(_cert(dns=("192.0.2.1",), cns=("192.0.2.1",)), "192.0.2.1") is False
    # The CN counts only when there is no DNS SAN (IP SANs do not switch it off) ...
    assert host_matches(ip_cert, "mx.example.com") is True
    assert host_matches(_cert(dns=(), cns=("mx.example.com",)), "mx.example.com") is True
    assert host_matches(_cert(dns=(), cns=("*.example.com",)), "mx.example.com") is True
    # ... never beside a DNS SAN, and not at all when the context turns it off.
    assert host_matches(_cert(dns=("a.example.com",), cns=(HOST,)), HOST) is False
    no_cn = _cert(dns=(), cns=(HOST,))
    assert host_matches(no_cn, HOST, common_name_fallback=False) is False
    assert certificate_problems(no_cn, NOW, HOST, 20, common_name_fallback=False) == (
        MISMATCH,
        UNTRUSTED,
    )
    # IDN: the A-label Python hands to OpenSSL is what is compared.
    assert host_matches(_cert(dns=("xn--bcher-kva.example.com",)), "bücher.example.com") is True
    # Nothing is claimed where the names or the reference name are unknown.
    assert host_matches(_cert(names_known=False), "other.example.com") is None
    assert host_matches(_cert(), ".example.com") is None


# -- the host-name rule against the local OpenSSL ---------------------------------------------

_CASES: list[tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], str]] = [
    (("*.example.com",), (), (), "a.example.com"),
    (("*.example.com",), (), (), "a.b.example.com"),
    (("*.example.com",), (), (), "example.com"),
    (("*.example.com",), (), (), "A.EXAMPLE.COM"),
    (("a*.example.com",), (), (), "ab.example.com"),
    (("*.com",), (), (), "a.com"),
    (("mx.example.com",), (), ("other.example.com",), "other.example.com"),
    (("mx.example.com",), (), ("other.example.com",), "mx.example.com"),
    ((), (), ("cn.example.com",), "cn.example.com"),
    ((), (), ("cn.example.com",), "x.example.com"),
    ((), ("127.0.0.1",), ("cn.example.com",), "cn.example.com"),
    ((), ("127.0.0.1",), ("cn.example.com",), "127.0.0.2"),
    (("127.0.0.1",), (), ("127.0.0.1",), "127.0.0.1"),
    ((), ("::1",), (), "::1"),
    ((), ("::1",), (), "127.0.0.1"),
]


@pytest.fixture(scope="module")
def test_ca() -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "check_host test CA")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(datetime.now(UTC) - timedelta(days=1))
        .not_valid_after(datetime.now(UTC) + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _openssl_verify_code(
    ca: x509.Certificate,
    leaf: x509.Certificate,
    key: ec.EllipticCurvePrivateKey,
    host: str,
    tmp: Path,
) -> int:
    """0 when a Python client verifying ``host`` accepts ``leaf``, else OpenSSL's code."""
    cert_path, key_path = tmp / "leaf.crt", tmp / "leaf.key"
    cert_path.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_path, key_path)
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.load_verify_locations(cadata=ca.public_bytes(serialization.Encoding.PEM).decode())
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    c = client.wrap_bio(c_in, c_out, server_hostname=host)
    s = server.wrap_bio(s_in, s_out, server_side=True)
    for _ in range(10):
        for end in (c, s):
            try:
                end.do_handshake()
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLCertVerificationError as exc:
                return int(exc.verify_code)
        s_in.write(c_out.read())
        c_in.write(s_out.read())
    return 0


@pytest.mark.parametrize(("dns", "ips", "cns", "host"), _CASES)
def test_host_rule_agrees_with_openssl(
    test_ca: tuple[ec.EllipticCurvePrivateKey, x509.Certificate],
    tmp_path: Path,
    dns: tuple[str, ...],
    ips: tuple[str, ...],
    cns: tuple[str, ...],
    host: str,
) -> None:
    ca_key, ca = test_ca
    key = ec.generate_private_key(ec.SECP256R1())
    subject = [x509.NameAttribute(NameOID.COMMON_NAME, cn) for cn in cns]
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(subject or [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "o")]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime.now(UTC) - timedelta(hours=1))
        .not_valid_after(datetime.now(UTC) + timedelta(hours=1))
    )
    if dns or ips:
        names: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
        names += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    leaf = builder.sign(ca_key, hashes.SHA256())
    facts = certificate_facts(leaf.public_bytes(serialization.Encoding.DER), datetime.now(UTC))
    assert facts is not None
    assert (facts.dns_sans, facts.ip_sans, facts.common_names) == (dns, ips, cns)
    code = _openssl_verify_code(ca, leaf, key, host, tmp_path)
    assert code in (0, 62, 64)
    assert host_matches(facts, host) is (code == 0)


# -- whole probes of loopback peers ------------------------------------------------------------

LAB_HOST = "mx.lab.test"
RESOLVER = Resolver(addresses=lambda host, port: ["127.0.0.1"], mx=lambda domain: [])


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    pki = make_pki(tmp_path_factory.mktemp("pki"))
    make_combined(pki)
    return pki


LEAVES = ("valid", "expired", "self-signed", "wrong-name", "untrusted-ca", *COMBINED_NAMES)


@pytest.fixture(scope="module")
def peers(pki: Pki) -> Iterator[dict[str, PeerServer]]:
    servers = {n: PeerServer(scenario("valid", pki, cert=pki.pairs[n])).start() for n in LEAVES}
    yield servers
    for server in servers.values():
        server.stop()


def _probe(server: PeerServer, pki: Pki, host: str = LAB_HOST) -> ProbeResult:
    (result,) = probe_many(
        [Target(host, server.port)], timeout=3, ca_file=pki.ca_cert, resolver=RESOLVER
    )
    return result


@pytest.mark.parametrize(
    ("leaf", "host", "first", "problems"),
    [
        ("valid", LAB_HOST, None, ()),
        ("expired", LAB_HOST, EXPIRED, (EXPIRED,)),
        ("untrusted-expired", LAB_HOST, UNTRUSTED, (EXPIRED, UNTRUSTED)),
        ("wrong-name", LAB_HOST, MISMATCH, (MISMATCH,)),
        ("wrong-name", "127.0.0.1", MISMATCH, (MISMATCH,)),
        ("self-signed", LAB_HOST, SELF, (SELF,)),
        ("expired-wrong-name", LAB_HOST, MISMATCH, (EXPIRED, MISMATCH)),
        ("self-signed-expired", LAB_HOST, SELF, (EXPIRED, SELF)),
        ("untrusted-ca", "other.lab.test", UNTRUSTED, (MISMATCH, UNTRUSTED)),
        ("untrusted-expired", "other.lab.test", UNTRUSTED, (EXPIRED, MISMATCH, UNTRUSTED)),
    ],
)
def test_probe_reports_every_problem(
    peers: dict[str, PeerServer],
    pki: Pki,
    leaf: str,
    host: str,
    first: FailureCategory | None,
    problems: tuple[FailureCategory, ...],
) -> None:
    r = _probe(peers[leaf], pki, host)
    assert r.outcome is ProbeOutcome.OK
    assert (r.verified, r.failure_category, r.certificate_problems) == (
        first is None,
        first,
        problems,
    )
    assert r.certificate is not None
    assert r.certificate.names_known


def test_untrusted_and_expired_in_every_output(peers: dict[str, PeerServer], pki: Pki) -> None:
    r = _probe(peers["untrusted-expired"], pki)
    assert r.error == "certificate verification failed: unable to get local issuer certificate"
    text = render_one(r).split("\n")
    assert text[0].endswith(
        ": ok, certificate NOT verified (certificate-expired, certificate-not-trusted)"
        f" ({r.elapsed_s:.2f} s)"
    )
    assert "  verified     NO: certificate-expired, certificate-not-trusted" in text
    (doc,) = json.loads(render_json([r]))
    assert (doc["failure_category"], doc["certificate_problems"]) == (
        "certificate-not-trusted",
        ["certificate-expired", "certificate-not-trusted"],
    )
    valid = _probe(peers["valid"], pki)
    (valid_doc,) = json.loads(render_json([valid]))
    assert valid_doc["certificate_problems"] == []


def test_probes_frame_column(peers: dict[str, PeerServer], pki: Pki) -> None:
    results = [
        _probe(peers["untrusted-expired"], pki),
        _probe(peers["valid"], pki),
        _probe(peers["self-signed-expired"], pki),
    ]
    # no certificate seen at all (STARTTLS refused): null, not ""
    refused = replace(results[1], verified=None, certificate=None, chain=(), tls_version=None)
    frame = probes_frame([*results, refused])
    assert str(frame["certificate_problems"].dtype) == str(frame["cert_subject"].dtype)
    assert frame["certificate_problems"].tolist()[:3] == [
        "certificate-expired, certificate-not-trusted",
        "",
        "certificate-expired, certificate-self-signed",
    ]
    assert frame["certificate_problems"].isna().tolist() == [False, False, False, True]
    assert frame["failure_category"].tolist()[::2] == [
        "certificate-not-trusted",
        "certificate-self-signed",
    ]


def test_combined_leaves_facts(pki: Pki) -> None:
    now = datetime.now(UTC)
    facts = {}
    for name in COMBINED_NAMES:
        cert = x509.load_pem_x509_certificate(pki.pairs[name].cert.read_bytes())
        facts[name] = certificate_facts(cert.public_bytes(serialization.Encoding.DER), now)
    untrusted, wrong, self_signed = (facts[n] for n in COMBINED_NAMES)
    assert untrusted is not None
    assert wrong is not None
    assert self_signed is not None
    assert untrusted.issuer == "CN=mailtls Lab Untrusted CA,O=mailtls lab"
    assert (untrusted.days_left, untrusted.dns_sans, untrusted.ip_sans) == (
        -30,
        (LAB_HOST,),
        ("127.0.0.1",),
    )
    assert (wrong.days_left, wrong.dns_sans, wrong.ip_sans) == (-30, ("wrong.lab.test",), ())
    assert wrong.issuer == "CN=mailtls Lab Root CA,O=mailtls lab"
    assert (self_signed.days_left, self_signed.self_issued, self_signed.self_signed) == (
        -30,
        True,
        True,
    )
    assert untrusted.self_signed is None  # not self-issued: not checked


def test_unreadable_leaf_is_not_replaced_by_the_next_certificate(pki: Pki) -> None:
    from analyzer.model.probe import ProbeStep
    from analyzer.sources.probe import ProbeOptions, _result
    from analyzer.sources.probe_session import SessionFacts

    expired = x509.load_pem_x509_certificate(pki.pairs["expired"].cert.read_bytes())
    facts = SessionFacts(
        address="127.0.0.1",
        step=ProbeStep.DONE,
        category=UNTRUSTED,
        verify_code=20,
        chain_der=(b"not DER", expired.public_bytes(serialization.Encoding.DER)),
    )
    now = datetime.now(UTC)
    r = _result(Target(LAB_HOST, 25), facts, False, None, now, 0.1, ProbeOptions())
    # The second certificate's expiry is not the leaf's: only OpenSSL's verdict is known.
    assert (r.certificate, len(r.chain)) == (None, 1)
    assert (r.failure_category, r.certificate_problems) == (UNTRUSTED, (UNTRUSTED,))
