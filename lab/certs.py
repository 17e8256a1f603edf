"""A small test PKI for loopback SMTP peers: one trusted CA, one untrusted CA, and leaves.

Everything is written as PEM files with deterministic names under one directory, so the
MTA lab scripts and the tests can point an MTA's configuration at the same paths.
``make_pki`` is idempotent: the two CAs are reused when their files exist (so a trust
bundle handed to an MTA stays valid across runs) and the leaves are re-issued only when
missing or when the host names they were made for changed.
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_NAME = "mailtls Lab Root CA"
OTHER_CA_NAME = "mailtls Lab Untrusted CA"
WRONG_NAME = "wrong.lab.test"
CLIENT_NAME = "client.lab.test"
LEAF_NAMES = (
    "valid",
    "expired",
    "not-yet-valid",
    "self-signed",
    "wrong-name",
    "untrusted-ca",
    "client",
)
# Leaves with two problems at once, made on demand by ``make_combined`` (outside
# ``LEAF_NAMES``, so the MTA lab's standard set is unchanged): issuer, validity, names.
COMBINED_NAMES = ("untrusted-expired", "expired-wrong-name", "self-signed-expired")
_MANIFEST = "pki.json"

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class CertPair:
    """A certificate and its private key, as PEM files.

    Attributes:
        cert: the PEM certificate file.
        key: the PEM (PKCS#8, unencrypted) private key file, mode 0600.
    """

    cert: Path
    key: Path


@dataclass(frozen=True)
class Pki:
    """The files of one lab PKI.

    Attributes:
        directory: where every file lives.
        ca_cert: the trusted root ("mailtls Lab Root CA"): the CA bundle to trust.
        ca_key: its private key.
        other_ca_cert: a second root that nobody trusts (for the "untrusted-ca" leaf).
        pairs: leaf certificates by scenario name (see ``LEAF_NAMES``).
    """

    directory: Path
    ca_cert: Path
    ca_key: Path
    other_ca_cert: Path
    pairs: dict[str, CertPair]


def _write_key(path: Path, key: PrivateKey) -> None:
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    path.chmod(0o600)


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _load_key(path: Path) -> PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise TypeError(f"{path}: unsupported key type {type(key).__name__}")
    return key


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "mailtls lab"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _make_ca(directory: Path, stem: str, common_name: str, now: datetime) -> tuple[Path, Path]:
    cert_path, key_path = directory / f"{stem}.crt", directory / f"{stem}.key"
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(common_name)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_key(key_path, key)
    _write_cert(cert_path, cert)
    return cert_path, key_path


def _san(hostnames: Sequence[str], ip_san: bool) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = [x509.DNSName(h) for h in hostnames]
    if ip_san:
        entries.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    return x509.SubjectAlternativeName(entries)


def _leaf_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=True,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def issue(
    pki: Pki,
    name: str,
    hostnames: Sequence[str],
    *,
    not_before: datetime,
    not_after: datetime,
    issuer: str = "ca",
    client: bool = False,
    ip_san: bool = True,
) -> CertPair:
    """Issue a leaf certificate ``<name>.crt``/``<name>.key`` (RSA 2048) in the PKI directory.

    ``issuer`` is ``"ca"`` (the trusted root), ``"other-ca"`` (the untrusted root) or
    ``"self"`` (self-signed). The subject CN is the first host name; every host name is a
    SAN dNSName, and 127.0.0.1 is a SAN iPAddress unless ``ip_san`` is False. ``client``
    makes a client-auth certificate.
    """
    if not hostnames:
        raise ValueError("issue() needs at least one host name")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = _name(hostnames[0])
    if issuer == "self":
        signer: PrivateKey = key
        issuer_name = subject
    elif issuer in ("ca", "other-ca"):
        ca_path = pki.ca_cert if issuer == "ca" else pki.other_ca_cert
        key_path = pki.ca_key if issuer == "ca" else pki.directory / "other-ca.key"
        ca_cert = x509.load_pem_x509_certificate(ca_path.read_bytes())
        signer = _load_key(key_path)
        issuer_name = ca_cert.subject
    else:
        raise ValueError(f"unknown issuer {issuer!r}: use 'ca', 'other-ca' or 'self'")
    usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_leaf_usage(), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(_san(hostnames, ip_san), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()),
            critical=False,
        )
    )
    cert = builder.sign(signer, hashes.SHA256())
    pair = CertPair(cert=pki.directory / f"{name}.crt", key=pki.directory / f"{name}.key")
    _write_key(pair.key, key)
    _write_cert(pair.cert, cert)
    return pair


def _leaf_plan(
    hostname: str, names: list[str], now: datetime
) -> dict[str, tuple[list[str], datetime, datetime, str]]:
    year = timedelta(days=365)
    month = timedelta(days=30)
    return {
        "valid": (names, now - timedelta(days=1), now + year, "ca"),
        "expired": (names, now - year, now - month, "ca"),
        "not-yet-valid": (names, now + month, now + year, "ca"),
        "self-signed": (names, now - timedelta(days=1), now + year, "self"),
        "wrong-name": ([WRONG_NAME], now - timedelta(days=1), now + year, "ca"),
        "untrusted-ca": (names, now - timedelta(days=1), now + year, "other-ca"),
        "client": ([CLIENT_NAME], now - timedelta(days=1), now + year, "ca"),
    }


def make_pki(
    directory: Path,
    hostname: str = "mx.lab.test",
    *,
    now: datetime | None = None,
    extra_names: Sequence[str] = (),
) -> Pki:
    """Create (or reuse) the lab PKI in ``directory`` and return its file paths.

    Leaves (RSA 2048, SHA-256, issued by an ECDSA P-256 root): ``valid``, ``expired``
    (ended 30 days ago), ``not-yet-valid`` (starts in 30 days), ``self-signed``,
    ``wrong-name`` (only ``wrong.lab.test``, no IP address), ``untrusted-ca`` (issued by
    the second root) and ``client`` (client-auth, ``client.lab.test``).
    """
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    ca_cert, ca_key = _make_ca(directory, "ca", CA_NAME, moment)
    other_cert, _ = _make_ca(directory, "other-ca", OTHER_CA_NAME, moment)
    pki = Pki(directory, ca_cert, ca_key, other_cert, {})
    names = [hostname, *[n for n in extra_names if n != hostname]]
    stamp = {"layout": 2, "hostnames": names}
    manifest = directory / _MANIFEST
    fresh = manifest.exists() and json.loads(manifest.read_text()) == stamp
    for leaf, (hosts, start, end, issuer) in _leaf_plan(hostname, names, moment).items():
        pair = CertPair(directory / f"{leaf}.crt", directory / f"{leaf}.key")
        if not (fresh and pair.cert.exists() and pair.key.exists()):
            pair = issue(
                pki,
                leaf,
                hosts,
                not_before=start,
                not_after=end,
                issuer=issuer,
                client=leaf == "client",
                # "wrong-name" must not match any name a client may use, not even 127.0.0.1.
                ip_san=leaf not in ("wrong-name", "client"),
            )
        pki.pairs[leaf] = pair
    manifest.write_text(json.dumps(stamp))
    return pki


def make_combined(
    pki: Pki, hostname: str = "mx.lab.test", *, now: datetime | None = None
) -> dict[str, CertPair]:
    """Issue the leaves of ``COMBINED_NAMES`` in the PKI directory (always afresh).

    ``untrusted-expired``: issued by the untrusted root and ended 30 days ago.
    ``expired-wrong-name``: issued by the trusted root, ended 30 days ago, only
    ``wrong.lab.test`` (no IP address). ``self-signed-expired``: self-signed, ended 30 days
    ago. Each also goes into ``pki.pairs`` under its name.
    """
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    start, end = moment - timedelta(days=365), moment - timedelta(days=30)
    plan: dict[str, tuple[list[str], str, bool]] = {
        "untrusted-expired": ([hostname], "other-ca", True),
        "expired-wrong-name": ([WRONG_NAME], "ca", False),
        "self-signed-expired": ([hostname], "self", True),
    }
    made = {
        leaf: issue(pki, leaf, hosts, not_before=start, not_after=end, issuer=issuer, ip_san=ip)
        for leaf, (hosts, issuer, ip) in plan.items()
    }
    pki.pairs.update(made)
    return made
