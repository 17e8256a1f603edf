#!/usr/bin/env python3
"""Write analyzer/data/ciphers.csv, the cipher-suite table behind analyzer.normalize.

Every row comes from a cipher list that a TLS library or tool prints on this machine, never
from memory. Sources, in order of precedence (the ``source`` column names them per row):

``openssl``
    ``openssl ciphers -V -stdname 'ALL:COMPLEMENTOFALL:@SECLEVEL=0'`` (OpenSSL 3.0): code
    point, IANA name (``-stdname``), OpenSSL name, protocol, Kx, Au, Enc(bits), Mac.
``testssl``
    ``etc/cipher-mapping.txt`` of testssl.sh (Debian package ``testssl.sh``, installed at
    /etc/testssl/cipher-mapping.txt), the table that shared reference received-formats.md
    §4.2 names for old suites: same columns as OpenSSL plus an ``export`` flag. Used only for
    two-byte code points that OpenSSL 3 no longer lists (EXPORT, RC4, DES, 3DES, SEED, IDEA,
    anonymous, static DH/ECDH, KRB5, EDH- names). SSLv2 (three-byte) rows are left out:
    SMTP never negotiates SSLv2 cipher kinds.
``gnutls``
    ``gnutls-cli -l`` (Debian package ``gnutls-bin``; GnuTLS 3.7): suite name and code point.
    The ``gnutls`` column holds the name without its ``TLS_`` prefix, the spelling Exim's
    GnuTLS builds write into Received headers (received-formats.md §3.3:
    ``ECDHE_RSA_AES_256_GCM_SHA384``).

IANA names: OpenSSL's ``-stdname`` is taken as is. For testssl rows the IANA column is kept
only for code points that the IANA "TLS Cipher Suites" registry assigns; the registry leaves
0x00,0x47-0x00,0x66 and 0x00,0x6E-0x00,0x83 reserved or unassigned (the EXPORT1024 and GOST
drafts live there), reserves first bytes 0xFE and 0xFF for private use (RFC 8447 §8), and never
assigned the pre-standard ChaCha20 points 0xCC,0x13-0xCC,0x15 nor Google's CECPQ1 0x16,0xB7-BA.
Rows at those code points keep their OpenSSL name and facts but no IANA name. The IANA names
of the remaining testssl rows were compared with the registry snapshot that Exim ships
(src/src/tls-cipher-stdname.c, "pulled on 2019/02/03 from ... tls-parameters.xhtml").

Usage: ``python tools/gen_cipher_table.py [--testssl PATH] [--out PATH] [--check]``.
``--check`` exits 1 when the committed file differs from what the sources give now.
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "analyzer" / "data" / "ciphers.csv"
TESTSSL = Path("/etc/testssl/cipher-mapping.txt")

OPENSSL_CMD = ["openssl", "ciphers", "-V", "-stdname", "ALL:COMPLEMENTOFALL:@SECLEVEL=0"]
GNUTLS_CMD = ["gnutls-cli", "-l"]

COLUMNS = (
    "code", "iana", "openssl", "gnutls", "kx", "au", "enc", "bits", "mac", "export",
    "min_version", "aliases", "source",
)

# `      0xC0,0x30 - TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 - ECDHE-RSA-AES256-GCM-SHA384
#  TLSv1.2 Kx=ECDH     Au=RSA   Enc=AESGCM(256)            Mac=AEAD` (openssl ciphers -V -stdname)
_OPENSSL_LINE = re.compile(
    r"^\s*(0x[0-9A-F]{2},0x[0-9A-F]{2}) - (\S+)\s+- (\S+)\s+(\S+)\s+"
    r"Kx=(\S+)\s+Au=(\S+)\s+Enc=(\S+)\s+Mac=(\S+)"
)
# `      0x00,0x16 - EDH-RSA-DES-CBC3-SHA  TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA  SSLv3  Kx=DH
#  Au=RSA  Enc=3DES(168)  Mac=SHA1` and `... Mac=SHA1     export` (testssl cipher-mapping.txt)
_TESTSSL_LINE = re.compile(
    r"^\s*(0x[0-9A-F]{2},0x[0-9A-F]{2}) - (\S+)\s+(\S+)\s+(\S+)\s+"
    r"Kx=(\S+)\s+Au=(\S+)\s+Enc=(\S+)\s+Mac=(\S+)\s*(export)?"
)
# `TLS_ECDHE_RSA_AES_256_GCM_SHA384                  \t0xc0, 0x30\tTLS1.2` (gnutls-cli -l)
_GNUTLS_LINE = re.compile(r"^TLS_(\S+)\s+0x([0-9a-f]{2}), 0x([0-9a-f]{2})\s+\S+")

_ENC_BITS = re.compile(r"^(.+?)\((\d+)\)$")

# OpenSSL/testssl Enc names -> one spelling close to the IANA name parts.
ENC_NAMES = {
    "AESGCM": "AES_GCM", "AES": "AES_CBC", "AESCCM": "AES_CCM", "AESCCM8": "AES_CCM_8",
    "CHACHA20/POLY1305": "CHACHA20_POLY1305", "ChaCha20": "CHACHA20_POLY1305",
    "Camellia": "CAMELLIA_CBC", "CamelliaGCM": "CAMELLIA_GCM", "ARIA": "ARIA_CBC",
    "ARIAGCM": "ARIA_GCM", "3DES": "3DES_EDE_CBC", "DES": "DES_CBC", "RC4": "RC4",
    "RC2": "RC2_CBC", "IDEA": "IDEA_CBC", "SEED": "SEED_CBC", "None": "NULL", "GOST": "GOST",
}
MAC_NAMES = {"Null": "NULL"}
VERSIONS = {"SSLv3": "SSLv3", "TLSv1": "TLSv1.0", "TLSv1.2": "TLSv1.2", "TLSv1.3": "TLSv1.3"}
# OpenSSL Kx -> key exchange; "DH"/"ECDH" alone are ephemeral in OpenSSL's vocabulary, the
# static kinds are written "DH/RSA", "ECDH/ECDSA"; "(512)"/"(1024)" mark export key sizes.
KX_NAMES = {
    "RSA": "RSA", "DH": "DHE", "ECDH": "ECDHE", "DH/RSA": "DH", "DH/DSS": "DH",
    "ECDH/RSA": "ECDH", "ECDH/ECDSA": "ECDH", "PSK": "PSK", "DHEPSK": "DHE_PSK",
    "ECDHEPSK": "ECDHE_PSK", "RSAPSK": "RSA_PSK", "SRP": "SRP", "KRB5": "KRB5",
    "GOST": "GOST", "GOST18": "GOST", "any": "ANY", "None": "NULL",
}
AU_NAMES = {"None": "NONE", "any": "ANY"}


@dataclass(frozen=True, slots=True)
class Row:
    """One suite of the table.

    Attributes:
        code: two-byte code point, ``0xC0,0x30``.
        iana: IANA registry name, empty where the registry assigns none.
        openssl: OpenSSL name, empty where OpenSSL never named it.
        gnutls: GnuTLS name without ``TLS_``, empty where GnuTLS lacks the suite.
        kx: key exchange (RSA, DHE, ECDHE, DH, ECDH, PSK, DHE_PSK, ...; ANY for TLS 1.3).
        au: authentication (RSA, DSS, ECDSA, NONE for anonymous, PSK, ...; ANY for TLS 1.3).
        enc: bulk cipher (AES_GCM, AES_CBC, 3DES_EDE_CBC, RC4, NULL, ...).
        bits: effective key bits as OpenSSL counts them (3DES 168, export 40).
        mac: AEAD, SHA1, SHA256, SHA384, MD5, ...
        export: ``1`` for export-grade suites, else ``0``.
        min_version: lowest protocol version OpenSSL allows the suite with.
        aliases: other names the sources give the same code point, ``|``-separated.
        source: which sources contributed, ``+``-separated.
    """

    code: str
    iana: str
    openssl: str
    gnutls: str
    kx: str
    au: str
    enc: str
    bits: str
    mac: str
    export: str
    min_version: str
    aliases: str
    source: str


def _non_iana(code: str) -> bool:
    hi, lo = (int(part, 16) for part in code.split(","))
    return (
        hi in (0xFE, 0xFF)
        or (hi == 0x00 and (0x47 <= lo <= 0x66 or 0x6E <= lo <= 0x83))
        or (hi == 0xCC and 0x13 <= lo <= 0x15)
        or (hi == 0x16 and 0xB7 <= lo <= 0xBA)
    )


def _row(m: re.Match[str], iana: str, openssl: str, source: str) -> Row:
    code, _, _, version, kx, au, enc, mac = m.groups()[:8]
    export = m.group(9) if m.re.groups > 8 else None
    enc_bits = _ENC_BITS.match(enc)
    enc_name, bits = (enc_bits.group(1), enc_bits.group(2)) if enc_bits else (enc, "0")
    kx_base = kx.split("(")[0]
    return Row(
        code=code,
        iana=iana,
        openssl="" if openssl == "-" else openssl,
        gnutls="",
        kx=KX_NAMES.get(kx_base, kx_base),
        au=AU_NAMES.get(au, au),
        enc=ENC_NAMES.get(enc_name, enc_name),
        bits=bits,
        mac=MAC_NAMES.get(mac, mac),
        export="1" if export or "(" in kx else "0",
        min_version=VERSIONS.get(version, ""),
        aliases="",
        source=source,
    )


def read_openssl(text: str) -> dict[str, Row]:
    rows: dict[str, Row] = {}
    for line in text.splitlines():
        m = _OPENSSL_LINE.match(line)
        if m is None:
            continue
        rows[m.group(1)] = _row(m, m.group(2), m.group(3), "openssl")
    return rows


def read_testssl(text: str) -> dict[str, Row]:
    rows: dict[str, Row] = {}
    for line in text.splitlines():
        m = _TESTSSL_LINE.match(line)
        if m is None:
            continue
        code, name, iana = m.group(1), m.group(2), m.group(3)
        if m.group(5) == "None" and code != "0x00,0x00":
            continue  # signalling values, not suites
        iana = "" if _non_iana(code) or not iana.startswith("TLS_") else iana
        rows[code] = _row(m, iana, name, "testssl")
    return rows


def read_gnutls(text: str) -> dict[str, str]:
    names: dict[str, str] = {}
    for line in text.splitlines():
        m = _GNUTLS_LINE.match(line)
        if m is not None:
            names[f"0x{m.group(2).upper()},0x{m.group(3).upper()}"] = m.group(1)
    return names


def merge(openssl: dict[str, Row], testssl: dict[str, Row], gnutls: dict[str, str]) -> list[Row]:
    rows = dict(openssl)
    for code, legacy in testssl.items():
        known = rows.get(code)
        if known is None:
            rows[code] = legacy
        elif legacy.openssl and legacy.openssl != known.openssl:
            rows[code] = replace(known, aliases=legacy.openssl, source=known.source + "+testssl")
    for code, name in gnutls.items():
        known = rows.get(code)
        if known is None:
            print(f"gnutls suite {name} {code} has no facts in the other sources; skipped",
                  file=sys.stderr)
            continue
        rows[code] = replace(known, gnutls=name, source=known.source + "+gnutls")
    return sorted(rows.values(), key=lambda r: tuple(int(p, 16) for p in r.code.split(",")))


def render(rows: list[Row], versions: str) -> str:
    out = io.StringIO()
    out.write(
        "# Cipher-suite table for analyzer.normalize, written by tools/gen_cipher_table.py; "
        "do not edit by hand.\n"
        f"# Sources: {versions}\n"
        "# source column: openssl = `openssl ciphers -V -stdname`; testssl = testssl.sh "
        "etc/cipher-mapping.txt (suites OpenSSL 3 dropped); gnutls = `gnutls-cli -l`.\n"
        "# bits = effective key bits as OpenSSL counts them (3DES 168); iana empty where the "
        "IANA registry assigns no name.\n"
    )
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in rows:
        writer.writerow([getattr(r, c) for c in COLUMNS])
    return out.getvalue()


def _run(cmd: list[str]) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout  # noqa: S603


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--testssl", type=Path, default=TESTSSL)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args(argv)
    openssl_version = _run(["openssl", "version"]).split("(")[0].strip()
    gnutls_version = _run(["gnutls-cli", "--version"]).splitlines()[0].strip()
    testssl_text = args.testssl.read_text(encoding="utf-8")
    rows = merge(read_openssl(_run(OPENSSL_CMD)), read_testssl(testssl_text),
                 read_gnutls(_run(GNUTLS_CMD)))
    text = render(rows, f"{openssl_version}; {gnutls_version}; testssl.sh {args.testssl}")
    if args.check:
        same = args.out.exists() and args.out.read_text(encoding="utf-8") == text
        print("up to date" if same else f"{args.out} differs from the sources", file=sys.stderr)
        return 0 if same else 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {len(rows)} suites to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
