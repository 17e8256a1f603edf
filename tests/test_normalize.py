"""Normalisation of protocol versions, cipher names and bit strengths.

Every spelling and cipher below is quoted from shared reference received-formats.md §3-§4 (the
section and the sample it comes from are given beside each case).
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import FrozenInstanceError
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.model import TlsVersion
from analyzer.normalize import (
    CipherInfo,
    Weakness,
    bytes_to_bits_if_gnutls_bug,
    cipher_suites,
    infer_min_version,
    normalize_cipher,
    normalize_cipher_for,
    normalize_version,
    parse_bits,
)

V10, V12, V13, S3 = TlsVersion.TLSV1_0, TlsVersion.TLSV1_2, TlsVersion.TLSV1_3, TlsVersion.SSLV3
NFS, TDES, RC4, MD5, ANON = (
    Weakness.NO_FORWARD_SECRECY,
    Weakness.TRIPLE_DES,
    Weakness.RC4,
    Weakness.MD5,
    Weakness.ANONYMOUS,
)

# ---------------------------------------------------------------------------------------------
# Versions: §4.1, every spelling seen


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("SSLv3", TlsVersion.SSLV3),  # Gmail 2009
        ("TLSv1", V10),  # Postfix, sendmail, Gmail <=2015
        ("TLS1", V10),  # Gmail 2021: (version=TLS1 cipher=AES128-SHA bits=128/128)
        ("TLS1.0", V10),  # Exim 4.71/GnuTLS: (TLS1.0:DHE_RSA_AES_256_CBC_SHA1:32)
        ("TLS-1.0", V10),  # old Exim/GnuTLS: (TLS-1.0:RSA_ARCFOUR_MD5:16)
        ("TLSv1.2", V12),
        ("TLS1.2", V12),  # Exim >=4.93: (TLS1.2) tls TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
        ("TLS1_2", V12),  # Microsoft: (version=TLS1_2, cipher=...)
        ("TLS12", V12),  # CodeTwo: (TLS12), Exclaimer: tlsversion=TLS12
        ("Tls12", V12),  # .NET: (Tls12, Aes256, Sha384, DiffieHellmanEllipticKey384)
        ("TLS-1.2", V12),  # chasquid: (over submission+TLS, TLS-1.2, ...)
        ("TLSv1.3", V13),
        ("TLS1.3", V13),
        ("TLS1_3", V13),  # Microsoft: (version=TLS1_3, cipher=TLS_AES_256_GCM_SHA384)
        ("TLS-1.3", V13),  # chasquid
        (" TLSv1.2 ", V12),
        ("TLSv1/SSLv3", None),  # OpenSSL 1.0 cipher family, not a version
        ("TLS", None),  # Symantec: (using TLS with cipher AES128-SHA256 (128/128 bits))
        ("SSL", None),  # IceWarp: with ESMTP (SSL)
        ("", None),
        (None, None),
        ("TLS1.4", None),
    ],
)
def test_normalize_version(raw: str | None, expected: TlsVersion | None) -> None:
    assert normalize_version(raw) is expected


# ---------------------------------------------------------------------------------------------
# Ciphers: (raw, version, IANA, bits, aead, forward secrecy, weaknesses, minimum version)

CASES: list[tuple[str, TlsVersion | None, str, int, bool, bool, tuple[Weakness, ...], TlsVersion]]
CASES = [
    # §3.1 Postfix ARCH-USRP@aa7751badd2f: (using TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384
    ("ECDHE-RSA-AES256-GCM-SHA384", None, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
     256, True, True, (), V12),
    # §3.1 ARCH-USRP@cabacd93b473: (using TLSv1.3 with cipher TLS_AES_128_GCM_SHA256 (128/128
    ("TLS_AES_128_GCM_SHA256", None, "TLS_AES_128_GCM_SHA256", 128, True, True, (), V13),
    # §3.1 ARCH-USRP@ec875d601531, §3.5 Gmail, §3.7 Dovecot
    ("TLS_AES_256_GCM_SHA384", None, "TLS_AES_256_GCM_SHA384", 256, True, True, (), V13),
    # §3.1 ARCH-USRP@4aa1de6e9b70: (using TLSv1 with cipher AES128-SHA (128/128 bits))
    ("AES128-SHA", None, "TLS_RSA_WITH_AES_128_CBC_SHA", 128, False, False, (NFS,), S3),
    # §3.1 2005: (using TLSv1 with cipher EDH-RSA-DES-CBC3-SHA (168/168 bits))
    ("EDH-RSA-DES-CBC3-SHA", None, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA",
     168, False, True, (TDES,), S3),
    # §3.1 SpamAssassin noneko.eml: (using TLSv1.3 with cipher AEAD-AES128-GCM-SHA256
    ("AEAD-AES128-GCM-SHA256", None, "TLS_AES_128_GCM_SHA256", 128, True, True, (), V13),
    # §3.2 sendmail 8.14: (version=TLSv1/SSLv3 cipher=AES128-GCM-SHA256 bits=128 verify=NOT)
    ("AES128-GCM-SHA256", None, "TLS_RSA_WITH_AES_128_GCM_SHA256",
     128, True, False, (NFS,), V12),
    # §3.2 Barracuda: (version=TLSv1.2 cipher=ECDHE-RSA-AES128-GCM-SHA256 bits=128 verify=NO)
    ("ECDHE-RSA-AES128-GCM-SHA256", None, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
     128, True, True, (), V12),
    # §3.2 IBM gateway: (version=TLSv1/SSLv3 cipher=AES256-GCM-SHA384 bits=256/256)
    ("AES256-GCM-SHA384", None, "TLS_RSA_WITH_AES_256_GCM_SHA384",
     256, True, False, (NFS,), V12),
    # §3.2 older PPS: (version=TLSv1.2 cipher=AES256-SHA bits=256 verify=NOT)
    ("AES256-SHA", None, "TLS_RSA_WITH_AES_256_CBC_SHA", 256, False, False, (NFS,), S3),
    # §3.3 Exim 4.97.1: with esmtps  (TLS1.2) tls TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
    ("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", None, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
     256, True, True, (), V12),
    # §3.3 Exim 4.93: (TLS1.2) tls TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
    ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", None, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
     128, True, True, (), V12),
    # §3.3 ARCH-USRP@9e12c82e533d: (TLSv1.2:AECDH-AES256-SHA:256)
    ("AECDH-AES256-SHA", None, "TLS_ECDH_anon_WITH_AES_256_CBC_SHA",
     256, False, True, (ANON,), V10),
    # §3.3 Exim 4.92 GnuTLS: (TLS1.2:ECDHE_RSA_AES_256_GCM_SHA384:256)
    ("ECDHE_RSA_AES_256_GCM_SHA384", None, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
     256, True, True, (), V12),
    # §3.3 ARCH-HAMS@d26e1dcf0931: (TLS1.3:ECDHE_SECP256R1__RSA_PSS_RSAE_SHA256__AES_256_GCM:256)
    ("ECDHE_SECP256R1__RSA_PSS_RSAE_SHA256__AES_256_GCM", V13, "TLS_AES_256_GCM_SHA384",
     256, True, True, (), V13),
    # the same description under TLS 1.2 (brief of the normalisation task, §4.2 rule)
    ("ECDHE_SECP256R1__RSA_PSS_RSAE_SHA256__AES_256_GCM", V12,
     "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", 256, True, True, (), V12),
    # §3.3 ARCH-HAMS@d761999d3681: (TLS1.3:ECDHE_X25519__RSA_PSS_RSAE_SHA256__AES_256_GCM:256)
    ("ECDHE_X25519__RSA_PSS_RSAE_SHA256__AES_256_GCM", V13, "TLS_AES_256_GCM_SHA384",
     256, True, True, (), V13),
    # §3.3 ARCH-HAMS@0ed97319a8bc
    ("ECDHE_SECP256R1__ECDSA_SECP256R1_SHA256__CHACHA20_POLY1305", V13,
     "TLS_CHACHA20_POLY1305_SHA256", 256, True, True, (), V13),
    # §3.3 Exim 3.31: (Cipher TLSv1:DES-CBC3-SHA:168); §3.25 NVIDIA gateway 2020
    ("DES-CBC3-SHA", None, "TLS_RSA_WITH_3DES_EDE_CBC_SHA", 168, False, False, (TDES, NFS), S3),
    # §3.3 Exim 4.41: (TLSv1:DHE-RSA-AES256-SHA:256); §3.17 hMailServer
    ("DHE-RSA-AES256-SHA", None, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA", 256, False, True, (), S3),
    # §3.3 Exim 4.50: (TLS-1.0:DHE_RSA_3DES_EDE_CBC_SHA:24)
    ("DHE_RSA_3DES_EDE_CBC_SHA", None, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA",
     168, False, True, (TDES,), S3),
    # §3.3 Exim 4.50: (tls_cipher TLS-1.0:RSA_AES_256_CBC_SHA:32)
    ("RSA_AES_256_CBC_SHA", None, "TLS_RSA_WITH_AES_256_CBC_SHA", 256, False, False, (NFS,), S3),
    # §3.3 Exim 4.34: (TLS-1.0:RSA_ARCFOUR_MD5:16)
    ("RSA_ARCFOUR_MD5", None, "TLS_RSA_WITH_RC4_128_MD5", 128, False, False, (RC4, NFS, MD5), S3),
    # §3.3 Exim 4.71 (2019): (TLS1.0:DHE_RSA_AES_256_CBC_SHA1:32)
    ("DHE_RSA_AES_256_CBC_SHA1", None, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA",
     256, False, True, (), S3),
    # §4.2 GnuTLS classic example
    ("DHE_RSA_3DES_EDE_CBC_SHA1", None, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA",
     168, False, True, (TDES,), S3),
    # §3.4 Exchange cipher values in the sample
    ("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", None, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
     256, False, True, (), V12),
    # §3.4 ARCH-USRP@88f796d26070:
    # (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384_P384)
    ("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384_P384", None, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
     256, False, True, (), V12),
    ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", None, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
     128, False, True, (), V12),
    ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256_P256", None,
     "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", 128, False, True, (), V12),
    # §3.4 "…_SHA384_P256" and "…_P521" suffixes
    ("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384_P256", None,
     "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", 256, False, True, (), V12),
    ("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384_P521", None,
     "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", 256, False, True, (), V12),
    ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", None, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
     128, False, True, (), V10),
    ("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", None, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
     256, False, True, (), V10),
    # §3.4 ARCH-OBMC@bf868f1d8a2c: (version=TLS1_2, cipher=TLS_RSA_WITH_AES_256_GCM_SHA384)
    ("TLS_RSA_WITH_AES_256_GCM_SHA384", None, "TLS_RSA_WITH_AES_256_GCM_SHA384",
     256, True, False, (NFS,), V12),
    # §3.5 Gmail 2008-2012: (version=TLSv1/SSLv3 cipher=RC4-MD5)
    ("RC4-MD5", None, "TLS_RSA_WITH_RC4_128_MD5", 128, False, False, (RC4, NFS, MD5), S3),
    # §3.5 Gmail 2014: (version=TLSv1 cipher=ECDHE-RSA-RC4-SHA bits=128/128)
    ("ECDHE-RSA-RC4-SHA", None, "TLS_ECDHE_RSA_WITH_RC4_128_SHA", 128, False, True, (RC4,), S3),
    # §3.5 ARCH-USRP@d9432100758e: (version=TLS1_3 cipher=AEAD-AES256-GCM-SHA384 bits=256/256)
    ("AEAD-AES256-GCM-SHA384", None, "TLS_AES_256_GCM_SHA384", 256, True, True, (), V13),
    # §3.5 ARCH-USRP@4a36898f09b0: cipher=ECDHE-ECDSA-AES128-GCM-SHA256 bits=128/128
    ("ECDHE-ECDSA-AES128-GCM-SHA256", None, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
     128, True, True, (), V12),
    # §3.6 OpenSMTPD: (TLSv1.2:ECDHE-RSA-CHACHA20-POLY1305:256:FAIL)
    ("ECDHE-RSA-CHACHA20-POLY1305", None, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
     256, True, True, (), V12),
    # §3.9 Courier: (TLS: TLSv1/SSLv3,128bits,DHE-RSA-AES128-SHA256)
    ("DHE-RSA-AES128-SHA256", None, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256",
     128, False, True, (), V12),
    # §3.9 Courier/GnuTLS: (TLS: TLS1.3, 128bits, ECDHE_RSA_AES_128_GCM_SHA256)
    ("ECDHE_RSA_AES_128_GCM_SHA256", None, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
     128, True, True, (), V12),
    # §3.10 MessageLabs: with ECDHE-RSA-AES256-SHA encrypted SMTP
    ("ECDHE-RSA-AES256-SHA", None, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
     256, False, True, (), V10),
    # §3.13 IronPort and §3.15 Symantec.cloud: DHE-RSA-AES256-GCM-SHA384
    ("DHE-RSA-AES256-GCM-SHA384", None, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
     256, True, True, (), V12),
    # §3.13 IronPort ciphers after ESMTP/TLS/
    ("AES256-SHA256", None, "TLS_RSA_WITH_AES_256_CBC_SHA256", 256, False, False, (NFS,), V12),
    ("ECDHE-RSA-AES256-SHA384", None, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
     256, False, True, (), V12),
    ("DHE-RSA-AES256-SHA256", None, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256",
     256, False, True, (), V12),
    ("ECDHE-RSA-AES128-SHA256", None, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
     128, False, True, (), V12),
    # §3.15 Symantec Messaging Gateway: (using TLS with cipher AES128-SHA256 (128/128 bits))
    ("AES128-SHA256", None, "TLS_RSA_WITH_AES_128_CBC_SHA256", 128, False, False, (NFS,), V12),
    # §3.12 chasquid: tls TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
    ("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", None, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
     256, True, True, (), V12),
    # §3.25 Stalwart (rustls): (using TLSv1.3 with cipher TLS13_AES_256_GCM_SHA384)
    ("TLS13_AES_256_GCM_SHA384", None, "TLS_AES_256_GCM_SHA384", 256, True, True, (), V13),
    # §4.2 rustls and LibreSSL families
    ("TLS13_CHACHA20_POLY1305_SHA256", None, "TLS_CHACHA20_POLY1305_SHA256",
     256, True, True, (), V13),
    ("AEAD-CHACHA20-POLY1305-SHA256", None, "TLS_CHACHA20_POLY1305_SHA256",
     256, True, True, (), V13),
    ("TLS_CHACHA20_POLY1305_SHA256", None, "TLS_CHACHA20_POLY1305_SHA256",
     256, True, True, (), V13),
]


@pytest.mark.parametrize(
    ("raw", "version", "iana", "bits", "aead", "fs", "weak", "min_version"),
    CASES,
    ids=[f"{c[0]}@{c[1] or '-'}" for c in CASES],
)
def test_cipher_cases(
    raw: str,
    version: TlsVersion | None,
    iana: str,
    bits: int,
    aead: bool,
    fs: bool,
    weak: tuple[Weakness, ...],
    min_version: TlsVersion,
) -> None:
    info = normalize_cipher_for(raw, version)
    assert (info.iana, info.raw, info.bits, info.aead, info.forward_secrecy, info.weak) == (
        iana, raw, bits, aead, fs, weak,
    )
    assert info.min_version is min_version
    assert infer_min_version(info) is min_version
    if "__" not in raw:  # a GnuTLS description needs its version; every other name does not
        assert normalize_cipher(raw) == iana
        assert normalize_cipher_for(raw, None) == info


def test_whole_record_of_an_exim_gnutls_description() -> None:
    # §3.3 ARCH-HAMS@d26e1dcf0931, written beside (TLS1.3: ... :256)
    info = normalize_cipher_for("ECDHE_SECP256R1__RSA_PSS_RSAE_SHA256__AES_256_GCM", V13)
    assert info == CipherInfo(
        iana="TLS_AES_256_GCM_SHA384",
        raw="ECDHE_SECP256R1__RSA_PSS_RSAE_SHA256__AES_256_GCM",
        kx="ECDHE",
        au="RSA",
        enc="AES_GCM",
        bits=256,
        mac="AEAD",
        aead=True,
        forward_secrecy=True,
        min_version=V13,
        weak=(),
        code="0x13,0x02",
        group="SECP256R1",
        signature="RSA_PSS_RSAE_SHA256",
    )


def test_description_without_version_keeps_its_facts_but_no_name() -> None:
    raw = "ECDHE_SECP256R1__RSA_PSS_RSAE_SHA256__AES_256_GCM"
    info = normalize_cipher_for(raw, None)
    assert info == CipherInfo(
        iana=None, raw=raw, kx="ECDHE", au="RSA", enc="AES_GCM", bits=256, mac="AEAD",
        aead=True, forward_secrecy=True, min_version=None, weak=(), group="SECP256R1",
        signature="RSA_PSS_RSAE_SHA256",
    )
    assert normalize_cipher(raw) == raw
    assert infer_min_version(info) is V12


def test_description_with_a_separate_mac_is_tls12_without_version() -> None:
    # GnuTLS 3.7.9 here: "(TLS1.2-X.509)-(ECDHE-SECP256R1)-(RSA-SHA256)-(AES-128-CBC)-(SHA1)"
    info = normalize_cipher_for("ECDHE_SECP256R1__RSA_SHA256__AES_128_CBC__SHA1", None)
    assert (info.iana, info.bits, info.aead, info.group, info.signature) == (
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", 128, False, "SECP256R1", "RSA_SHA256",
    )
    # "(TLS1.2-X.509)-(RSA)-(AES-256-GCM)": static RSA, no signature part
    info = normalize_cipher_for("RSA__AES_256_GCM", V12)
    assert (info.iana, info.forward_secrecy, info.weak) == (
        "TLS_RSA_WITH_AES_256_GCM_SHA384", False, (NFS,),
    )


@pytest.mark.parametrize(
    "raw",
    [
        "OTHER",  # Gmail 2011: (version=TLSv1/SSLv3 cipher=OTHER)
        "TLS_ECDHE_WITH_AES256_SHA1",  # Exclaimer: tlscipher=TLS_ECDHE_WITH_AES256_SHA1
        "Aes256",  # .NET: (Tls12, Aes256, Sha384, DiffieHellmanEllipticKey384)
    ],
)
def test_non_standard_names_stay_raw(raw: str) -> None:
    assert normalize_cipher(raw) == raw
    assert normalize_cipher(f"  {raw}\t") == raw
    assert normalize_cipher_for(raw) == CipherInfo(iana=None, raw=raw)


def test_empty_and_case() -> None:
    assert normalize_cipher(None) is None
    assert normalize_cipher("") is None
    assert normalize_cipher("   ") is None
    lower = normalize_cipher("ecdhe-rsa-aes256-gcm-sha384")
    assert lower == "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"
    assert normalize_cipher_for(None) == CipherInfo(iana=None, raw="")


def test_old_suites_openssl3_dropped_come_from_the_table() -> None:
    exp = normalize_cipher_for("EXP-RC4-MD5")
    assert (exp.iana, exp.bits, exp.weak) == (
        "TLS_RSA_EXPORT_WITH_RC4_40_MD5", 40,
        (Weakness.EXPORT, RC4, Weakness.UNDER_128_BITS, NFS, MD5),
    )
    des = normalize_cipher_for("EDH-RSA-DES-CBC-SHA")
    assert (des.iana, des.bits, des.weak) == (
        "TLS_DHE_RSA_WITH_DES_CBC_SHA", 56, (Weakness.DES, Weakness.UNDER_128_BITS),
    )
    # OpenSSL 1.1 renamed EDH- to DHE-; both spellings reach the row
    assert normalize_cipher("DHE-RSA-DES-CBC3-SHA") == "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA"
    assert normalize_cipher("SEED-SHA") == "TLS_RSA_WITH_SEED_CBC_SHA"
    assert normalize_cipher("IDEA-CBC-SHA") == "TLS_RSA_WITH_IDEA_CBC_SHA"
    null = normalize_cipher_for("NULL-SHA")
    assert (null.iana, null.bits, null.weak) == ("TLS_RSA_WITH_NULL_SHA", 0, (Weakness.NULL, NFS))
    # no IANA name exists for the EXPORT1024 drafts: the facts are known, the name stays raw
    exp1024 = normalize_cipher_for("EXP1024-DES-CBC-SHA")
    assert (exp1024.iana, exp1024.bits, exp1024.code) == (None, 56, "0x00,0x62")
    assert normalize_cipher("EXP1024-DES-CBC-SHA") == "EXP1024-DES-CBC-SHA"


def test_cipher_info_is_frozen() -> None:
    info = normalize_cipher_for("AES128-SHA")
    with pytest.raises(FrozenInstanceError):
        info.bits = 1  # type: ignore[misc]


# ---------------------------------------------------------------------------------------------
# Bits: §4.3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(256/256 bits)", (256, 256)),  # Postfix, Dovecot
        ("(168/168 bits)", (168, 168)),  # Postfix 3DES, 2005
        ("(40/128 bits)", (40, 128)),  # export ciphers
        ("256/256 bits", (256, 256)),  # Comcast
        ("(256 bits)", (256, None)),  # Kerio, Strato, Sentrion, Symantec.cloud
        ("bits=256", (256, None)),  # sendmail, PPS, Barracuda, hMailServer
        ("bits=128/128", (128, 128)),  # Gmail, IBM, Cyrus
        (":256", (256, None)),  # Exim (OpenSSL), OpenSMTPD
        ("168bits", (168, None)),  # Courier, Symantec DLP
        ("128bits", (128, None)),
        ("256/256", (256, 256)),  # MediaTek gateway
        ("256", (256, None)),
        ("(authenticated bits=0)", (None, None)),  # SASL SSF, not TLS
        ("", (None, None)),
        (None, (None, None)),
        ("lots", (None, None)),
    ],
)
def test_parse_bits(text: str | None, expected: tuple[int | None, int | None]) -> None:
    assert parse_bits(text) == expected


@pytest.mark.parametrize(
    ("bits", "cipher", "expected"),
    [
        (24, "DHE_RSA_3DES_EDE_CBC_SHA", 168),  # (TLS-1.0:DHE_RSA_3DES_EDE_CBC_SHA:24)
        (32, "RSA_AES_256_CBC_SHA", 256),  # (tls_cipher TLS-1.0:RSA_AES_256_CBC_SHA:32)
        (16, "RSA_ARCFOUR_MD5", 128),  # (TLS-1.0:RSA_ARCFOUR_MD5:16)
        (32, "DHE_RSA_AES_256_CBC_SHA1", 256),  # (TLS1.0:DHE_RSA_AES_256_CBC_SHA1:32)
        (256, "ECDHE_RSA_AES_256_GCM_SHA384", 256),  # (TLS1.2:ECDHE_RSA_AES_256_GCM_SHA384:256)
        (168, "DES-CBC3-SHA", 168),  # Exim 3: (Cipher TLSv1:DES-CBC3-SHA:168)
        (16, "RSA_AES_256_CBC_SHA", 16),  # not this cipher's key size: left alone
        (24, "OTHER", 168),  # unknown cipher: 24 bytes can only be 3DES
        (32, "OTHER", 256),
        (None, "RSA_ARCFOUR_MD5", None),
    ],
)
def test_bytes_to_bits_if_gnutls_bug(bits: int | None, cipher: str, expected: int | None) -> None:
    assert bytes_to_bits_if_gnutls_bug(bits, normalize_cipher_for(cipher)) == expected


def test_bytes_to_bits_without_cipher() -> None:
    assert bytes_to_bits_if_gnutls_bug(32, None) == 256
    assert bytes_to_bits_if_gnutls_bug(128, None) == 128


# ---------------------------------------------------------------------------------------------
# The table


def _csv_rows() -> list[dict[str, str]]:
    text = resources.files("analyzer").joinpath("data/ciphers.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(line for line in text.splitlines() if not line.startswith("#")))


def test_table_codes_and_names_are_unique() -> None:
    rows = _csv_rows()
    assert len(rows) > 300
    for column in ("code", "iana", "openssl", "gnutls"):
        counts = Counter(r[column] for r in rows if r[column])
        assert [name for name, n in counts.items() if n > 1] == [], column


def test_table_columns_are_closed_sets() -> None:
    rows = _csv_rows()
    assert {r["mac"] for r in rows} >= {"AEAD", "SHA1", "SHA256", "SHA384", "MD5"}
    assert {r["min_version"] for r in rows} == {"SSLv3", "TLSv1.0", "TLSv1.2", "TLSv1.3"}
    assert {r["export"] for r in rows} == {"0", "1"}
    assert all(r["bits"].isdigit() for r in rows)
    assert all(r["source"].split("+")[0] in ("openssl", "testssl") for r in rows)
    # the row the brief names as the example of every column
    row = next(r for r in rows if r["code"] == "0xC0,0x30")
    assert row == {
        "code": "0xC0,0x30", "iana": "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        "openssl": "ECDHE-RSA-AES256-GCM-SHA384", "gnutls": "ECDHE_RSA_AES_256_GCM_SHA384",
        "kx": "ECDHE", "au": "RSA", "enc": "AES_GCM", "bits": "256", "mac": "AEAD",
        "export": "0", "min_version": "TLSv1.2", "aliases": "", "source": "openssl+gnutls",
    }


def test_every_table_name_normalises_to_its_own_row() -> None:
    for info in cipher_suites():
        if info.iana:
            assert normalize_cipher(info.raw) == info.iana
            assert normalize_cipher_for(info.iana).code == info.code


_TOOLS = shutil.which("openssl") and shutil.which("gnutls-cli")
_TESTSSL = Path("/etc/testssl/cipher-mapping.txt")


@pytest.mark.skipif(not (_TOOLS and _TESTSSL.exists()), reason="openssl, gnutls-cli, testssl.sh")
def test_generator_reproduces_the_committed_rows(tmp_path: Path) -> None:
    out = tmp_path / "ciphers.csv"
    root = Path(__file__).resolve().parent.parent
    subprocess.run(
        [sys.executable, str(root / "tools" / "gen_cipher_table.py"), "--out", str(out)],
        check=True, capture_output=True,
    )
    committed = root / "analyzer" / "data" / "ciphers.csv"

    def rows(path: Path) -> list[str]:
        return [x for x in path.read_text(encoding="utf-8").splitlines() if not x.startswith("#")]

    assert rows(out) == rows(committed)


def test_generator_parsers_on_real_lines() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
    try:
        import gen_cipher_table as gen
    finally:
        sys.path.pop(0)
    # verbatim lines of `openssl ciphers -V -stdname`, cipher-mapping.txt and `gnutls-cli -l`
    ossl = gen.read_openssl(
        "          0xC0,0x30 - TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384         - "
        "ECDHE-RSA-AES256-GCM-SHA384    TLSv1.2 Kx=ECDH     Au=RSA   Enc=AESGCM(256)"
        "            Mac=AEAD\n"
    )
    legacy = gen.read_testssl(
        "      0x00,0x62 - EXP1024-DES-CBC-SHA            TLS_RSA_EXPORT1024_WITH_DES_CBC_SHA"
        "                SSLv3      Kx=RSA(1024)   Au=RSA     Enc=DES(56)                    "
        "Mac=SHA1     export    \n"
        " 0x07,0x00,0xC0 - DES-CBC3-MD5                   SSL_CK_DES_192_EDE3_CBC_WITH_MD5"
        "                   SSLv2      Kx=RSA         Au=RSA     Enc=3DES(168)"
        "                  Mac=MD5                \n"
    )
    gnu = gen.read_gnutls(
        "TLS_ECDHE_RSA_AES_256_GCM_SHA384                  \t0xc0, 0x30\tTLS1.2\n"
    )
    assert ossl["0xC0,0x30"].iana == "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"
    assert (ossl["0xC0,0x30"].kx, ossl["0xC0,0x30"].enc, ossl["0xC0,0x30"].bits) == (
        "ECDHE", "AES_GCM", "256",
    )
    assert list(legacy) == ["0x00,0x62"]  # SSLv2 three-byte codes are left out
    row = legacy["0x00,0x62"]
    assert (row.iana, row.openssl, row.export, row.bits, row.kx) == (
        "", "EXP1024-DES-CBC-SHA", "1", "56", "RSA",
    )
    assert gnu == {"0xC0,0x30": "ECDHE_RSA_AES_256_GCM_SHA384"}


# ---------------------------------------------------------------------------------------------
# Properties and speed

_NAMEISH = st.text(alphabet="ACDEGHLMNOPRSTVWX_-0123456789 ./:()", max_size=120)


@settings(max_examples=400, deadline=50)
@given(raw=st.one_of(st.none(), st.text(max_size=400), _NAMEISH),
       version=st.one_of(st.none(), st.sampled_from(TlsVersion)))
def test_never_raises_and_is_fast(raw: str | None, version: TlsVersion | None) -> None:
    result = normalize_cipher(raw)
    assert result is None or isinstance(result, str)
    info = normalize_cipher_for(raw, version)
    assert info.raw == (raw or "").strip() or len((raw or "").strip()) > 200
    assert info.iana is None or info.iana.startswith("TLS_")
    normalize_version(raw)
    parse_bits(raw)
    infer_min_version(info)


@settings(max_examples=200, deadline=50)
@given(parts=st.lists(st.sampled_from(
    ["ECDHE_SECP256R1", "RSA", "DHE_FFDHE2048", "RSA_PSS_RSAE_SHA256", "AES_256_GCM",
     "AES_128_CBC", "SHA1", "CHACHA20_POLY1305", "ECDSA_SECP256R1_SHA256", "", "X"]),
    max_size=6), version=st.one_of(st.none(), st.sampled_from(TlsVersion)))
def test_descriptions_never_raise(parts: list[str], version: TlsVersion | None) -> None:
    info = normalize_cipher_for("__".join(parts), version)
    assert info.iana is None or info.iana.startswith("TLS_")


def test_long_input_is_not_scanned() -> None:
    raw = "A" * 1_000_000
    start = time.perf_counter()
    assert normalize_cipher(raw) == raw
    assert normalize_version(raw) is None
    assert parse_bits(raw) == (None, None)
    assert time.perf_counter() - start < 0.05
