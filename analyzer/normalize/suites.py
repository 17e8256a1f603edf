"""The cipher-suite table and its records (part of ``analyzer.normalize``).

``analyzer/data/ciphers.csv`` holds one row per suite with its code point, IANA, OpenSSL and
GnuTLS names and its key exchange, authentication, bulk cipher, effective key bits, MAC and
lowest protocol version; tools/gen_cipher_table.py writes it. This module loads and indexes
the table and turns its rows into ``CipherInfo`` records with their weaknesses.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from functools import lru_cache
from importlib import resources

from analyzer.model import TlsVersion
from analyzer.normalize.versions import normalize_version

# ---------------------------------------------------------------------------------------------
# Cipher records


class Weakness(StrEnum):
    """A known weakness of a cipher suite, derived from the table's columns.

    UNDER_128_BITS counts effective key bits as OpenSSL does (3DES is 168, so not under 128;
    its 112-bit security is flagged by TRIPLE_DES instead). NULL suites are flagged NULL only.
    """

    NULL = "null"
    EXPORT = "export"
    ANONYMOUS = "anonymous"
    RC4 = "rc4"
    DES = "des"
    TRIPLE_DES = "3des"
    UNDER_128_BITS = "under-128-bits"
    NO_FORWARD_SECRECY = "no-forward-secrecy"
    MD5 = "md5"


@dataclass(frozen=True, slots=True)
class CipherInfo:
    """What a written cipher name says about the connection.

    Attributes:
        iana: IANA registry name, or None when the name maps to no registered suite.
        raw: the name as written, stripped of surrounding blanks.
        kx: key exchange: RSA, DHE, ECDHE, DH, ECDH, PSK, DHE_PSK, ECDHE_PSK, RSA_PSK, KRB5,
            SRP; ANY for TLS 1.3 suites (negotiated separately).
        au: authentication: RSA, DSS, ECDSA, NONE (anonymous), PSK, DH/ECDH (static), ANY.
        enc: bulk cipher: AES_GCM, AES_CBC, AES_CCM, CHACHA20_POLY1305, 3DES_EDE_CBC, RC4, ...
        bits: effective key bits as OpenSSL reports them (AES-256 256, 3DES 168, export 40).
        mac: AEAD, SHA1, SHA256, SHA384, MD5, ...
        aead: True for AEAD ciphers (GCM, CCM, ChaCha20-Poly1305).
        forward_secrecy: True for ephemeral key exchanges, False for RSA/static/PSK ones.
        min_version: the lowest protocol version the suite can be negotiated with.
        weak: known weaknesses, in the order of ``Weakness``.
        code: two-byte code point, ``0xC0,0x30``.
        group: key-exchange group when the name carries one (GnuTLS descriptions).
        signature: signature algorithm when the name carries one (GnuTLS descriptions).
    """

    iana: str | None
    raw: str
    kx: str | None = None
    au: str | None = None
    enc: str | None = None
    bits: int | None = None
    mac: str | None = None
    aead: bool | None = None
    forward_secrecy: bool | None = None
    min_version: TlsVersion | None = None
    weak: tuple[Weakness, ...] = ()
    code: str | None = None
    group: str | None = None
    signature: str | None = None


@dataclass(frozen=True, slots=True)
class _Suite:
    """One row of ciphers.csv, typed.

    Attributes:
        code: code point. iana/openssl/gnutls: names ("" when none).
        kx, au, enc, bits, mac, export, min_version: the table's columns.
    """

    code: str
    iana: str
    openssl: str
    gnutls: str
    kx: str
    au: str
    enc: str
    bits: int
    mac: str
    export: bool
    min_version: TlsVersion | None


_FORWARD_SECRET = frozenset({"DHE", "ECDHE", "DHE_PSK", "ECDHE_PSK", "ANY"})  # ANY: TLS 1.3
_NOT_FORWARD_SECRET = frozenset({"RSA", "DH", "ECDH", "PSK", "RSA_PSK", "KRB5", "NULL"})


def _forward_secrecy(kx: str | None) -> bool | None:
    if kx in _FORWARD_SECRET:
        return True
    if kx in _NOT_FORWARD_SECRET:
        return False
    return None


# Each weakness and the columns it follows from, in the order of ``Weakness``.
_WEAKNESS_RULES: tuple[tuple[Weakness, Callable[[CipherInfo, bool], bool]], ...] = (
    (Weakness.NULL, lambda info, _: info.enc == "NULL"),
    (Weakness.EXPORT, lambda _, export: export),
    (Weakness.ANONYMOUS, lambda info, _: info.au == "NONE"),
    (Weakness.RC4, lambda info, _: info.enc == "RC4"),
    (Weakness.DES, lambda info, _: info.enc == "DES_CBC"),
    (Weakness.TRIPLE_DES, lambda info, _: info.enc == "3DES_EDE_CBC"),
    (Weakness.UNDER_128_BITS, lambda info, _: info.bits is not None and 0 < info.bits < 128),
    (Weakness.NO_FORWARD_SECRECY, lambda info, _: info.forward_secrecy is False),
    (Weakness.MD5, lambda info, _: info.mac == "MD5"),
)


def _with_weaknesses(info: CipherInfo, export: bool) -> CipherInfo:
    return replace(info, weak=tuple(w for w, rule in _WEAKNESS_RULES if rule(info, export)))


def _info_from_suite(
    raw: str, suite: _Suite, group: str | None = None, signature: str | None = None
) -> CipherInfo:
    info = CipherInfo(
        iana=suite.iana or None,
        raw=raw,
        kx=suite.kx,
        au=suite.au,
        enc=suite.enc,
        bits=suite.bits,
        mac=suite.mac,
        aead=suite.mac == "AEAD",
        forward_secrecy=_forward_secrecy(suite.kx),
        min_version=suite.min_version,
        code=suite.code,
        group=group,
        signature=signature,
    )
    return _with_weaknesses(info, suite.export)


# ---------------------------------------------------------------------------------------------
# The table


@dataclass(frozen=True, slots=True)
class _Table:
    """The loaded table and its indexes.

    Attributes:
        suites: every row in file order.
        by_name: upper-cased IANA, OpenSSL and GnuTLS names (with and without ``TLS_``).
        by_facts: (kx, au, enc, bits, mac) of named suites, for GnuTLS descriptions.
    """

    suites: tuple[_Suite, ...]
    by_name: dict[str, _Suite]
    by_facts: dict[tuple[str, str, str, int, str], _Suite]


def _read_rows(text: str) -> tuple[_Suite, ...]:
    lines = (line for line in text.splitlines() if line and not line.startswith("#"))
    return tuple(
        _Suite(
            code=row["code"],
            iana=row["iana"],
            openssl=row["openssl"],
            gnutls=row["gnutls"],
            kx=row["kx"],
            au=row["au"],
            enc=row["enc"],
            bits=int(row["bits"]),
            mac=row["mac"],
            export=row["export"] == "1",
            min_version=normalize_version(row["min_version"]),
        )
        for row in csv.DictReader(lines)
    )


@lru_cache(maxsize=1)
def _table() -> _Table:
    text = resources.files("analyzer").joinpath("data/ciphers.csv").read_text(encoding="utf-8")
    suites = _read_rows(text)
    by_name: dict[str, _Suite] = {}
    # Precedence: an IANA name wins over an OpenSSL name, which wins over a GnuTLS one.
    for column in ("iana", "openssl", "gnutls"):
        for suite in suites:
            name = getattr(suite, column).upper()
            if name:
                by_name.setdefault(name, suite)
    for suite in suites:  # gnutls-cli -l spells them with a TLS_ prefix
        if suite.gnutls:
            by_name.setdefault("TLS_" + suite.gnutls.upper(), suite)
    by_facts: dict[tuple[str, str, str, int, str], _Suite] = {}
    for suite in suites:
        if suite.iana:
            by_facts.setdefault((suite.kx, suite.au, suite.enc, suite.bits, suite.mac), suite)
    return _Table(suites=suites, by_name=by_name, by_facts=by_facts)


def cipher_suites() -> tuple[CipherInfo, ...]:
    """Every suite of the table, as ``CipherInfo`` with ``raw`` set to its IANA or OpenSSL name."""
    return tuple(_info_from_suite(s.iana or s.openssl, s) for s in _table().suites)
