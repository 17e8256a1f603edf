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

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache

from analyzer.model import TlsVersion
from analyzer.normalize.suites import (
    CipherInfo,
    Weakness,
    _forward_secrecy,
    _info_from_suite,
    _Suite,
    _table,
    _with_weaknesses,
    cipher_suites,
)
from analyzer.normalize.versions import _MAX_NAME, normalize_version

__all__ = [
    "CipherInfo",
    "Weakness",
    "bytes_to_bits_if_gnutls_bug",
    "cipher_suites",
    "infer_min_version",
    "normalize_cipher",
    "normalize_cipher_for",
    "normalize_version",
    "parse_bits",
]


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
