"""One place that maps the many spellings of TLS versions and cipher suites to one vocabulary.

Versions: ``TLS1_2``, ``TLS1.2``, ``TLSv1.2``, ``TLS-1.2``, ``TLS12``, ``Tls12`` all become
``TlsVersion.TLSV1_2`` (spellings from shared reference received-formats.md §4.1).
``TLSv1/SSLv3`` is OpenSSL 1.0's cipher *family* (SSL_CIPHER_get_version), not the negotiated
version, and ``TLS``/``SSL`` alone say nothing: both give None.

Ciphers: every name is looked up in ``analyzer/data/ciphers.csv``, one row per suite with its
code point, IANA, OpenSSL and GnuTLS names and its key exchange, authentication, bulk cipher,
effective key bits, MAC and lowest protocol version. tools/gen_cipher_table.py writes that
file from what this machine's libraries print (``openssl ciphers -V -stdname``, ``gnutls-cli
-l``) and, for suites OpenSSL 3 dropped (EXPORT, RC4, DES, SEED, IDEA, anonymous, EDH- names),
from testssl.sh's etc/cipher-mapping.txt; IANA names follow the IANA "TLS Cipher Suites"
registry. Families of received-formats.md §4.2 that are not plain table names are rewritten
first: Microsoft SChannel curve suffixes, rustls ``TLS13_``, LibreSSL/BoringSSL ``AEAD-``,
the EDH-/DHE- alias, GnuTLS names from before 3.0, and the session description that Exim's
GnuTLS builds write since GnuTLS 3.6.7 (§3.3), which needs the protocol version.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from functools import lru_cache
from importlib import resources

from analyzer.model import TlsVersion

_MAX_NAME = 200  # longer "names" are not cipher names; never scanned

# ---------------------------------------------------------------------------------------------
# Versions

# Accepts every spelling of §4.1: optional "v", separator ".", "_", "-" or none, minor digit.
_VERSION = re.compile(r"(?i)^(?:(SSL)v?([23])|TLS[ _-]?v?(1)(?:[._-]?([0-3]))?)$")
_TLS_MINOR = {
    "0": TlsVersion.TLSV1_0,
    "1": TlsVersion.TLSV1_1,
    "2": TlsVersion.TLSV1_2,
    "3": TlsVersion.TLSV1_3,
}


@lru_cache(maxsize=512)
def normalize_version(raw: str | None) -> TlsVersion | None:
    """Map a written protocol version to ``TlsVersion``, or None when it is not a version."""
    if not raw or len(raw) > _MAX_NAME:
        return None
    m = _VERSION.match(raw.strip())
    if m is None:
        return None
    if m.group(1):
        return TlsVersion.SSLV2 if m.group(2) == "2" else TlsVersion.SSLV3
    return _TLS_MINOR[m.group(4) or "0"]


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


# ---------------------------------------------------------------------------------------------
# Rewrites of §4.2 families onto table names (each: upper-cased name -> candidate or None)

# Microsoft SChannel appends the curve: TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384_P384 (§3.4).
_SCHANNEL_CURVE = re.compile(r"^(TLS_\w{1,120}?)_P(?:256|384|521)$")
# LibreSSL and early BoringSSL TLS 1.3 names (§4.2; Postfix on OpenBSD, OpenSMTPD, Gmail 2019).
_LIBRESSL_AEAD = {
    "AEAD-AES128-GCM-SHA256": "TLS_AES_128_GCM_SHA256",
    "AEAD-AES256-GCM-SHA384": "TLS_AES_256_GCM_SHA384",
    "AEAD-CHACHA20-POLY1305-SHA256": "TLS_CHACHA20_POLY1305_SHA256",
}
# GnuTLS before 3.0 wrote RSA_ARCFOUR_MD5, DHE_RSA_3DES_EDE_CBC_SHA, RSA_AES_256_CBC_SHA
# (Exim 4.34-4.50 headers, §3.3); current GnuTLS says ARCFOUR_128 and SHA1.
_OLD_ARCFOUR = re.compile(r"ARCFOUR_(?!128_)")


def _schannel(name: str) -> str | None:
    m = _SCHANNEL_CURVE.match(name)
    return m.group(1) if m else None


def _rustls(name: str) -> str | None:
    # rustls: TLS13_AES_256_GCM_SHA384 (Stalwart, §3.25)
    return "TLS_" + name[6:] if name.startswith("TLS13_") else None


def _edh_alias(name: str) -> str | None:
    # "EDH- is the old OpenSSL alias of DHE-" (§4.2), both ways round.
    if name.startswith("EDH-"):
        return "DHE-" + name[4:]
    if name.startswith("DHE-"):
        return "EDH-" + name[4:]
    return None


def _old_gnutls(name: str) -> str | None:
    new = _OLD_ARCFOUR.sub("ARCFOUR_128_", name)
    if new.endswith("_SHA"):
        new += "1"
    return new if new != name else None


_REWRITES: tuple[Callable[[str], str | None], ...] = (
    _schannel,
    _rustls,
    _LIBRESSL_AEAD.get,
    _edh_alias,
    _old_gnutls,
)


def _lookup(name: str) -> _Suite | None:
    by_name = _table().by_name
    suite = by_name.get(name)
    if suite is not None:
        return suite
    for rewrite in _REWRITES:
        candidate = rewrite(name)
        if candidate is not None and candidate in by_name:
            return by_name[candidate]
    return None


# ---------------------------------------------------------------------------------------------
# GnuTLS session descriptions, as Exim writes them (§3.3)
#
# gnutls_session_get_desc() on this machine (GnuTLS 3.7.9, gnutls-cli against gnutls-serv on
# loopback) prints "(TLS1.3-X.509)-(ECDHE-SECP256R1)-(RSA-PSS-RSAE-SHA256)-(AES-256-GCM)",
# "(TLS1.2-X.509)-(ECDHE-SECP256R1)-(RSA-SHA256)-(AES-128-CBC)-(SHA1)",
# "(TLS1.2-X.509)-(RSA)-(AES-256-GCM)" and "(TLS1.2-X.509)-(DHE-FFDHE2048)-(RSA-SHA256)-...";
# Exim drops the version and writes ")-(" as "__" and "-" as "_":
# "ECDHE_SECP256R1__RSA_PSS_RSAE_SHA256__AES_256_GCM" (ARCH-HAMS@d26e1dcf0931).

# GnuTLS cipher names ("Ciphers:" of `gnutls-cli -l`, "-" as "_") -> table enc and bits.
_GNUTLS_CIPHERS: dict[str, tuple[str, int]] = {
    f"{alg}_{bits}_{mode}": (f"{alg}_{mode}", bits)
    for alg, modes in (("AES", ("GCM", "CBC", "CCM", "CCM_8")), ("CAMELLIA", ("GCM", "CBC")))
    for mode in modes
    for bits in (128, 256)
} | {
    "CHACHA20_POLY1305": ("CHACHA20_POLY1305", 256),
    "3DES_CBC": ("3DES_EDE_CBC", 168),  # GnuTLS counts 192 with parity; the table says 168
    "ARCFOUR_128": ("RC4", 128),
    "NULL": ("NULL", 0),
}
_GNUTLS_KX = {"ECDHE": "ECDHE", "DHE": "DHE", "RSA": "RSA"}
# Signature algorithm prefix -> suite authentication. EdDSA certificates use the ECDSA suites
# (RFC 8422 §5.1.1).
_GNUTLS_SIG_AU = (("RSA", "RSA"), ("ECDSA", "ECDSA"), ("EDDSA", "ECDSA"), ("DSA", "DSS"))
_GNUTLS_MACS = frozenset({"SHA1", "SHA256", "SHA384", "MD5"})


@dataclass(frozen=True, slots=True)
class _Description:
    """A parsed GnuTLS session description.

    Attributes:
        kx, au, enc, bits, mac: suite facts in the table's vocabulary (mac AEAD or a hash).
        group, signature: the extra facts the description carries.
    """

    kx: str
    au: str | None
    enc: str
    bits: int
    mac: str
    group: str | None
    signature: str | None


def _sig_au(signature: str) -> str | None:
    for prefix, au in _GNUTLS_SIG_AU:
        if signature.startswith(prefix):
            return au
    return None


def _parse_description(name: str) -> _Description | None:
    parts = name.split("__")
    if not 2 <= len(parts) <= 4:
        return None
    kx_name, _, group = parts[0].partition("_")
    kx = _GNUTLS_KX.get(kx_name)
    if kx is None:
        return None
    rest = parts[1:]
    signature = None if rest[0] in _GNUTLS_CIPHERS else rest.pop(0)
    if not rest or rest[0] not in _GNUTLS_CIPHERS or len(rest) > 2:
        return None
    enc, bits = _GNUTLS_CIPHERS[rest[0]]
    mac = rest[1] if len(rest) == 2 else "AEAD"
    if mac != "AEAD" and mac not in _GNUTLS_MACS:
        return None
    au: str | None
    if group in ("RSA", "ECDSA", "DSS"):  # old-style "(ECDHE-RSA)" kx part carries no group
        group, au = "", group
    else:
        au = _sig_au(signature) if signature else ("RSA" if kx == "RSA" else None)
    return _Description(kx, au, enc, bits, mac, group or None, signature)


def _description_info(raw: str, d: _Description, version: TlsVersion | None) -> CipherInfo:
    facts = _table().by_facts
    suite = None
    if version is TlsVersion.TLSV1_3 and d.mac == "AEAD":
        suite = facts.get(("ANY", "ANY", d.enc, d.bits, "AEAD"))
    elif version is not None or d.mac != "AEAD":  # a separate MAC never occurs in TLS 1.3
        suite = facts.get((d.kx, d.au or "", d.enc, d.bits, d.mac))
    if suite is not None:
        info = _info_from_suite(raw, suite, d.group, d.signature)
        if suite.kx == "ANY":  # TLS 1.3: the description names what the suite leaves open
            info = replace(info, kx=d.kx, au=d.au, forward_secrecy=_forward_secrecy(d.kx))
        return info
    partial = CipherInfo(
        iana=None,
        raw=raw,
        kx=d.kx,
        au=d.au,
        enc=d.enc,
        bits=d.bits,
        mac=d.mac,
        aead=d.mac == "AEAD",
        forward_secrecy=_forward_secrecy(d.kx),
        group=d.group,
        signature=d.signature,
    )
    return _with_weaknesses(partial, export=False)


# ---------------------------------------------------------------------------------------------
# Public cipher functions


@lru_cache(maxsize=8192)
def normalize_cipher_for(raw: str | None, version: TlsVersion | None = None) -> CipherInfo:
    """Everything a written cipher name says, given the protocol version written beside it.

    The version matters only for GnuTLS session descriptions, whose cipher part alone does not
    tell a TLS 1.3 suite from a TLS 1.2 one. Unknown names come back with ``iana`` None and
    only ``raw`` set.
    """
    name = (raw or "").strip()
    if not name or len(name) > _MAX_NAME:
        return CipherInfo(iana=None, raw=name)
    key = name.upper()
    suite = _lookup(key)
    if suite is not None:
        return _info_from_suite(name, suite)
    if "__" in key:
        description = _parse_description(key)
        if description is not None:
            return _description_info(name, description, version)
    return CipherInfo(iana=None, raw=name)


@lru_cache(maxsize=8192)
def normalize_cipher(raw: str | None) -> str | None:
    """Map a cipher-suite name as written to its IANA name where one is known, else keep it."""
    if not raw:
        return None
    info = normalize_cipher_for(raw, None)
    return info.iana or info.raw or None


_TLS13_PREFIXES = ("TLS_AES_", "TLS_CHACHA20_")


def infer_min_version(info: CipherInfo) -> TlsVersion | None:
    """The lowest protocol version a connection using this cipher can have had.

    The table's value where it knows the suite; otherwise TLS 1.3 for ``TLS_AES_*`` and
    ``TLS_CHACHA20_*`` names, TLS 1.2 for AEAD ciphers and SHA-256/SHA-384 MACs, else None.
    It lets a hop written ``TLSv1/SSLv3`` with an AES-GCM cipher count as TLS 1.2 or newer.
    """
    if info.min_version is not None:
        return info.min_version
    name = (info.iana or info.raw).upper()
    if name.startswith(_TLS13_PREFIXES):
        return TlsVersion.TLSV1_3
    if info.aead or info.mac in ("SHA256", "SHA384"):
        return TlsVersion.TLSV1_2
    return None


# ---------------------------------------------------------------------------------------------
# Bits

# Forms of §4.3: "256/256", "(256/256 bits)", "256 bits", "bits=128/128", "128bits", ":256".
_BITS = re.compile(
    r"(?i)^[(:]?\s{0,3}(?:bits=)?(\d{1,6})(?:\s{0,3}/\s{0,3}(\d{1,6}))?"
    r"\s{0,3}(?:bits?)?\s{0,3}\)?$"
)


def parse_bits(text: str | None) -> tuple[int | None, int | None]:
    """Read a written strength as (used bits, algorithm bits); missing parts are None."""
    if not text or len(text) > 64:
        return None, None
    m = _BITS.match(text.strip())
    if m is None:
        return None, None
    return int(m.group(1)), (int(m.group(2)) if m.group(2) else None)


# Old Exim+GnuTLS builds printed gnutls_cipher_get_key_size() without "* 8": ":16" (RC4-128,
# AES-128), ":24" (3DES), ":32" (AES-256) (§3.3, §4.3). GnuTLS's 3DES key is 24 bytes with
# parity; OpenSSL reports 168 effective bits, and so does the table, so 24 bytes become 168.
_GNUTLS_KEY_BYTES = {16: 128, 24: 168, 32: 256}


def bytes_to_bits_if_gnutls_bug(bits: int | None, info: CipherInfo | None) -> int | None:
    """Turn a key size that old Exim+GnuTLS wrote in bytes into bits; other values pass.

    With a known cipher the value is converted only when it is that cipher's key size in
    bytes (3DES: 24 bytes -> 168 bits). With an unknown cipher 16, 24 and 32 are converted
    all the same: no TLS cipher has a 16-, 24- or 32-bit key.
    """
    if bits is None or bits not in _GNUTLS_KEY_BYTES:
        return bits
    if info is None or info.bits is None:
        return _GNUTLS_KEY_BYTES[bits]
    if info.bits == _GNUTLS_KEY_BYTES[bits]:
        return info.bits
    return bits
