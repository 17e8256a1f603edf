"""The loopback SMTP peers of lab/ behave as each scenario says (checked with smtplib/ssl)."""

from __future__ import annotations

import mailbox
import re
import smtplib
import socket
import ssl
import time
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from lab.certs import CA_NAME, Pki, make_pki
from lab.peer_scenarios import legacy_tls_available, scenario
from lab.peers import PeerServer

HOST = "mx.lab.test"
POSTFIX_LIKE_EHLO = [
    HOST,
    "PIPELINING",
    "SIZE 10240000",
    "STARTTLS",
    "ENHANCEDSTATUSCODES",
    "8BITMIME",
    "DSN",
    "SMTPUTF8",
]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def _peer(name: str, pki: Pki, **overrides: object) -> Iterator[PeerServer]:
    with PeerServer(scenario(name, pki, **overrides)) as server:
        yield server


def _client_ctx(pki: Pki) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(pki.ca_cert))


def _starttls(smtp: smtplib.SMTP, pki: Pki, context: ssl.SSLContext | None = None) -> int:
    # smtplib verifies against the connect() host (here 127.0.0.1); check the MX name instead.
    smtp._host = HOST  # type: ignore[attr-defined]
    code, _ = smtp.starttls(context=context or _client_ctx(pki))
    return code


def _ehlo_lines(smtp: smtplib.SMTP) -> list[str]:
    code, text = smtp.ehlo("client.lab.test")
    assert code == 250
    return text.decode().split("\n")


def test_make_pki_files_and_facts(pki: Pki, tmp_path: Path) -> None:
    assert sorted(pki.pairs) == sorted(
        ["valid", "expired", "not-yet-valid", "self-signed", "wrong-name", "untrusted-ca", "client"]
    )
    ca = x509.load_pem_x509_certificate(pki.ca_cert.read_bytes())
    assert ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == CA_NAME
    valid = x509.load_pem_x509_certificate(pki.pairs["valid"].cert.read_bytes())
    san = valid.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == [HOST]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert valid.issuer == ca.subject
    expired = x509.load_pem_x509_certificate(pki.pairs["expired"].cert.read_bytes())
    ago = datetime.now(UTC) - expired.not_valid_after_utc
    assert timedelta(days=29) < ago < timedelta(days=31)
    wrong = x509.load_pem_x509_certificate(pki.pairs["wrong-name"].cert.read_bytes())
    wrong_san = wrong.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert wrong_san.get_values_for_type(x509.DNSName) == ["wrong.lab.test"]
    assert pki.pairs["valid"].key.stat().st_mode & 0o777 == 0o600
    # Idempotent: a second call keeps the same CA and the same leaves.
    again = make_pki(pki.directory)
    assert again.ca_cert.read_bytes() == pki.ca_cert.read_bytes()
    assert again.pairs["valid"].cert.read_bytes() == pki.pairs["valid"].cert.read_bytes()
    other = make_pki(tmp_path, "mx2.lab.test", extra_names=["alt.lab.test"])
    other_cert = x509.load_pem_x509_certificate(other.pairs["valid"].cert.read_bytes())
    other_san = other_cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert other_san.get_values_for_type(x509.DNSName) == ["mx2.lab.test", "alt.lab.test"]


def test_valid_peer_full_session_and_mailbox(pki: Pki, tmp_path: Path) -> None:
    box = tmp_path / "inbox.mbox"
    for server in _peer("valid", pki, mailbox=box):
        with smtplib.SMTP(*server.address, timeout=5) as smtp:
            assert smtp.docmd("NOOP") == (250, b"2.0.0 Ok")
            assert _ehlo_lines(smtp) == POSTFIX_LIKE_EHLO
            assert _starttls(smtp, pki) == 220
            sock = smtp.sock
            assert isinstance(sock, ssl.SSLSocket)
            assert sock.version() == "TLSv1.3"
            peer_cert = sock.getpeercert()
            assert peer_cert is not None
            rdns = cast(tuple[tuple[tuple[str, str], ...], ...], peer_cert["subject"])
            subject = {k: v for rdn in rdns for k, v in rdn}
            assert subject == {"organizationName": "mailtls lab", "commonName": HOST}
            assert "STARTTLS" not in _ehlo_lines(smtp)
            refused = smtp.sendmail(
                "alice@lab.test", ["bob@lab.test"], "Subject: hi\r\n\r\n.dotted line\r\nend\r\n"
            )
            assert refused == {}
        assert server.transcript[:3] == [
            "!: connection from 127.0.0.1",
            f"S: 220 {HOST} ESMTP mailtls-lab-peer",
            "C: NOOP",
        ]
    messages = list(mailbox.mbox(box))
    assert len(messages) == 1
    msg = messages[0]
    assert msg.get_from().startswith("alice@lab.test ")
    received = msg["Received"]
    assert re.fullmatch(
        r"from client\.lab\.test \(localhost \[127\.0\.0\.1\]\)\n"
        r"\t\(using TLSv1\.3 with cipher TLS_AES_256_GCM_SHA384 \(256/256 bits\)\)\n"
        r"\tby mx\.lab\.test \(mailtls-lab-peer\) with ESMTPS id [0-9A-F]{10}\n"
        r"\tfor <bob@lab\.test>; \w{3}, [ \d]\d \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4} \(\w+\)",
        received,
    ), received
    assert msg.get_payload() == ".dotted line\nend\n"


@pytest.mark.parametrize(
    ("name", "code", "message"),
    [
        ("expired", 10, "certificate has expired"),
        ("not-yet-valid", 9, "certificate is not yet valid"),
        ("self-signed", 18, "self-signed certificate"),
        ("untrusted-ca", 20, "unable to get local issuer certificate"),
        ("wrong-name", 62, "Hostname mismatch, certificate is not valid for 'mx.lab.test'."),
    ],
)
def test_bad_certificates_fail_verification(pki: Pki, name: str, code: int, message: str) -> None:
    for server in _peer(name, pki):
        with smtplib.SMTP(*server.address, timeout=5) as smtp:
            smtp.ehlo("client.lab.test")
            with pytest.raises(ssl.SSLCertVerificationError) as err:
                _starttls(smtp, pki)
            assert err.value.verify_code == code
            assert err.value.verify_message == message


def test_no_starttls_and_refused_starttls(pki: Pki) -> None:
    for server in _peer("no-starttls", pki):
        with smtplib.SMTP(*server.address, timeout=5) as smtp:
            lines = _ehlo_lines(smtp)
            assert "STARTTLS" not in lines
            assert lines == [x for x in POSTFIX_LIKE_EHLO if x != "STARTTLS"]
            assert smtp.docmd("STARTTLS") == (502, b"5.5.1 Error: command not implemented")
    for server in _peer("refuse-starttls", pki):
        with smtplib.SMTP(*server.address, timeout=5) as smtp:
            assert "STARTTLS" in _ehlo_lines(smtp)
            reply = smtp.docmd("STARTTLS")
            assert reply == (454, b"4.7.0 TLS not available due to local problem")


def test_drop_after_starttls(pki: Pki) -> None:
    for server in _peer("drop-after-starttls", pki):
        with socket.create_connection(server.address, timeout=5) as sock:
            reader = sock.makefile("rb")
            assert reader.readline() == f"220 {HOST} ESMTP mailtls-lab-peer\r\n".encode()
            sock.sendall(b"EHLO client.lab.test\r\n")
            while not reader.readline().startswith(b"250 "):
                pass
            sock.sendall(b"STARTTLS\r\n")
            assert reader.readline() == b"220 2.0.0 Ready to start TLS\r\n"
            assert reader.readline() == b""  # closed by the peer


def test_silent_peer_never_speaks(pki: Pki) -> None:
    for server in _peer("silent", pki):
        with socket.create_connection(server.address, timeout=0.3) as sock:
            start = time.monotonic()
            with pytest.raises(TimeoutError):
                sock.recv(1)
            assert 0.25 < time.monotonic() - start < 2


def test_greylist_421(pki: Pki) -> None:
    for server in _peer("greylist", pki):
        with pytest.raises(smtplib.SMTPConnectError) as err:
            smtplib.SMTP(*server.address, timeout=5)
        assert err.value.smtp_code == 421
        assert err.value.smtp_error == b"4.7.0 Try again later"


def test_banner_delay(pki: Pki) -> None:
    for server in _peer("valid", pki, banner_delay_s=0.4):
        start = time.monotonic()
        with smtplib.SMTP(*server.address, timeout=5) as smtp:
            assert time.monotonic() - start >= 0.4
            assert smtp.noop()[0] == 250


def test_flood_sends_ten_megabytes_then_banner(pki: Pki) -> None:
    for server in _peer("flood", pki):
        with socket.create_connection(server.address, timeout=5) as sock:
            reader = sock.makefile("rb")
            total, lines = 0, 0
            while True:
                line = reader.readline(200)
                total += len(line)
                lines += 1
                if line.startswith(b"220 "):
                    break
            assert line == f"220 {HOST} ESMTP mailtls-lab-peer\r\n".encode()
            flood = total - len(line)
            assert 10 * 1024 * 1024 <= flood < 10 * 1024 * 1024 + 76
            assert flood % 76 == 0


def test_require_tls_rejects_plain_mail(pki: Pki) -> None:
    for server in _peer("valid", pki, require_tls=True):
        with smtplib.SMTP(*server.address, timeout=5) as smtp:
            smtp.ehlo("client.lab.test")
            assert smtp.mail("a@lab.test") == (530, b"5.7.0 Must issue a STARTTLS command first")
            _starttls(smtp, pki)
            smtp.ehlo("client.lab.test")
            assert smtp.mail("a@lab.test") == (250, b"2.1.0 Ok")
            assert smtp.rcpt("b@lab.test") == (250, b"2.1.5 Ok")
            assert smtp.rset() == (250, b"2.0.0 Ok")
            assert smtp.docmd("DATA") == (503, b"5.5.1 Error: need RCPT command")
            assert smtp.docmd("VRFY x") == (502, b"5.5.2 Error: command not recognized")


def test_disjoint_ciphers_fail_with_default_client(pki: Pki) -> None:
    for server in _peer("disjoint-ciphers", pki):
        with smtplib.SMTP(*server.address, timeout=5) as smtp:
            smtp.ehlo("client.lab.test")
            with pytest.raises(ssl.SSLError) as err:
                _starttls(smtp, pki)
            assert err.value.reason in {"SSLV3_ALERT_HANDSHAKE_FAILURE", "NO_CIPHERS_AVAILABLE"}


@pytest.mark.skipif(
    not legacy_tls_available(), reason="local OpenSSL cannot negotiate TLS 1.0 even at SECLEVEL=0"
)
def test_tls10_only_peer(pki: Pki) -> None:
    for server in _peer("tls10-only", pki):
        with smtplib.SMTP(*server.address, timeout=5) as smtp:
            smtp.ehlo("client.lab.test")
            with pytest.raises(ssl.SSLError):
                _starttls(smtp, pki)
        legacy = _client_ctx(pki)
        legacy.set_ciphers("DEFAULT:@SECLEVEL=0")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            legacy.minimum_version = ssl.TLSVersion.TLSv1
        with smtplib.SMTP(*server.address, timeout=5) as smtp:
            smtp.ehlo("client.lab.test")
            _starttls(smtp, pki, legacy)
            assert isinstance(smtp.sock, ssl.SSLSocket)
            assert smtp.sock.version() == "TLSv1.1"
            assert smtp.sock.cipher() == ("ECDHE-RSA-AES256-SHA", "TLSv1.0", 256)


def test_stop_ends_sessions_quickly(pki: Pki) -> None:
    server = PeerServer(scenario("silent", pki)).start()
    sock = socket.create_connection(server.address, timeout=5)
    start = time.monotonic()
    server.stop()
    assert time.monotonic() - start < 2
    try:
        assert sock.recv(1) == b""
    except ConnectionResetError:
        pass  # an RST after shutdown() is just as closed
    finally:
        sock.close()
