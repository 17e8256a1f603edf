"""Recognisers for the TLS statements writers put into Received headers.

Each form is one bounded regular expression over one collapsed comment (or clause), named after
the grammar it matches and citing the source or real sample of shared reference
received-formats.md. Forms only read text; which writer used it, and what its absence means,
is decided by the dialect modules. Results are cached by comment text: the same comment recurs
across a mailbox (a server's cipher rarely changes), so each distinct text is matched once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

import pyparsing as pp

from analyzer.model import ClientCert

_NAME = r"[A-Za-z0-9_.+/=-]{1,80}"  # a version or cipher token: bounded, no spaces


class Form(StrEnum):
    """The grammar a TLS statement was written in."""

    USING = "using"  # Postfix/Dovecot: (using V with cipher C (U/A bits) ...)
    KV = "kv"  # sendmail/Google/hMailServer/Cyrus/Haraka/Exchange/Mimecast: version=V cipher=C
    COLON = "colon"  # Exim/OpenSMTPD: (V:C:bits[:x])
    COURIER = "courier"  # Courier/Symantec DLP: (TLS: V,Nbits,C)
    ENCRYPTED = "encrypted"  # qmail-tls/T-Online: (C encrypted) / (V:C encrypted)
    CHASQUID = "chasquid"  # (over submission, TLS-1.3, envelope from "x")
    ECELERITY = "ecelerity"  # (cipher=C subject="...")
    EXCLAIMER = "exclaimer"  # (tlsversion=TLS12, tlscipher=C)
    DOTNET = "dotnet"  # (Tls12, Aes256, Sha384, DiffieHellmanEllipticKey384)
    GENERIC_MTA = "generic-mta"  # (Generic MTA with TLSv1.2 C 256/256)
    NVIDIA = "using-tls-colon"  # (using TLS: TLSv1.2, AES256-SHA)
    MARKER = "marker"  # (TLS), (SSL), (Using TLS), (Google Transport Security), (... with TLS)
    NOT_USING = "not-using"  # Active!gate: (not using TLS)


@dataclass(frozen=True, slots=True)
class Statement:
    """What one comment says about TLS, before normalisation.

    Attributes:
        form: the grammar matched.
        text: the comment text that matched (whitespace collapsed).
        version: the version as written, or None.
        cipher: the cipher as written, or None.
        bits: the first bit number as written (may be bytes for old Exim/GnuTLS), or None.
        alg_bits: the second number of ``U/A`` forms, or None.
        key_exchange: key exchange or group, where written.
        server_signature: server signature, where written.
        verify: the verification word as written, where present.
        extra: a fourth colon field (OpenSMTPD verify, Exim group) as written.
    """

    form: Form
    text: str
    version: str | None = None
    cipher: str | None = None
    bits: int | None = None
    alg_bits: int | None = None
    key_exchange: str | None = None
    server_signature: str | None = None
    verify: str | None = None
    extra: str | None = None


def _int(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() and len(text) < 7 else None


# Postfix src/smtpd/smtpd.c: "(using %s with cipher %s (%d/%d bits)" and, since 3.4,
# " key-exchange %s (%s) server-signature %s (%d bits) server-digest %s"; Dovecot
# src/lib-ssl-iostream "%s with cipher %s (%d/%d bits)"; Kerio/Strato/Sentrion "(256 bits)";
# Sentrion "verified FAIL"; Comcast "256/256 bits" without parentheses; Symantec SMG version
# "TLS"; rustls (Stalwart) and trex have no bits at all (received-formats.md §3.1, §3.2,
# §3.15, §3.16, §3.24, §3.25). The grammar has several optional, nested parts, so it is
# written with pyparsing; results are cached by comment text (read_comment), so each distinct
# comment is parsed once per run.
def _using_grammar() -> pp.ParserElement:
    token = pp.Regex(r"[A-Za-z0-9_.+/=-]{1,80}")
    number = pp.Regex(r"\d{1,5}")
    bits = (
        pp.Optional(pp.Suppress("("))
        + number("b")
        + pp.Optional(pp.Suppress("/") + number("a"))
        + pp.Suppress(pp.Literal("bits"))
        + pp.Optional(pp.Suppress(")"))
    )
    detail = pp.original_text_for(
        pp.Regex(r"[A-Za-z0-9_-]{1,40}")
        + pp.Optional("(" + pp.Regex(r"[A-Za-z0-9 _-]{1,40}") + ")")
    )
    return (
        pp.Regex(r"[Uu]sing")
        + token("v")
        + pp.Suppress(pp.Literal("with") + pp.Literal("cipher"))
        + token("c")
        + pp.Optional(bits)
        + pp.Optional(pp.Suppress(pp.Literal("verified")) + pp.Regex(r"[A-Za-z]{1,12}")("verify"))
        + pp.Optional(pp.Suppress(pp.Literal("key-exchange")) + detail("kx"))
        + pp.Optional(pp.Suppress(pp.Literal("server-signature")) + detail("sig"))
    )


_USING_GRAMMAR = _using_grammar()


def _strip(text: str | None) -> str | None:
    return text.strip() if text else None


def _get(result: pp.ParseResults, name: str) -> str | None:
    return str(result[name]) if name in result else None


def _read_using(text: str) -> Statement | None:
    if not text.startswith(("using ", "Using ")):
        return None
    try:
        r = _USING_GRAMMAR.parse_string(text)
    except pp.ParseException:
        return None
    return Statement(
        form=Form.USING,
        text=text,
        version=_get(r, "v"),
        cipher=_get(r, "c"),
        bits=_int(_get(r, "b")),
        alg_bits=_int(_get(r, "a")),
        key_exchange=_strip(_get(r, "kx")),
        server_signature=_strip(_get(r, "sig")),
        verify=_get(r, "verify"),
    )


# sendmail cf/m4/cfhead.m4 _REC_TLS_ "(version=${tls_version} cipher=${cipher}
# bits=${cipher_bits} verify=${verify})"; Google "(version=TLS1_3 cipher=C bits=256/256)";
# hMailServer 5.7 "(version=%s cipher=%s bits=%d)"; Cyrus "verify=YES"; Haraka
# "(version=V cipher=C verify=FAIL)"; Exchange "(version=TLS1_2, cipher=C)"; Mimecast the same
# with a comma; IBM "bits=256/256" (received-formats.md §3.2-§3.5, §3.8, §3.11, §3.14, §3.17).
_KV = re.compile(
    rf"^version=(?P<v>{_NAME}),? cipher=(?P<c>{_NAME})"
    r"(?: bits=(?P<b>\d{1,5})(?:/(?P<a>\d{1,5}))?)?"
    r"(?: verify=(?P<verify>[A-Za-z]{1,12}))?"
)
# Exim tls-openssl.c construct_cipher_name() "ver:name:bits" (+ ":group" 2025-11), GnuTLS
# "proto:suite:keybits", old forms "Cipher TLSv1:...", "tls_cipher TLS-1.0:...";
# OpenSMTPD smtp_session.c " (%s:%s:%d:%s)" with YES|NO|FAIL (received-formats.md §3.3, §3.6).
_COLON = re.compile(
    r"^(?:[Cc]ipher |tls_cipher )?(?P<v>(?:TLS|SSL)[A-Za-z0-9._-]{0,8}):(?P<c>[A-Za-z0-9_-]{1,80})"
    r":(?P<b>\d{1,5})(?::(?P<x>[A-Za-z0-9_-]{1,20}))?$"
)
# Courier "(TLS: TLSv1/SSLv3,128bits,DHE-RSA-AES128-SHA256)", GnuTLS build
# "(AUTH: CRAM-MD5 u, TLS: TLS1.3, 128bits, ECDHE_RSA_AES_128_GCM_SHA256)", Symantec DLP
# (received-formats.md §3.9); older Courier "(AUTH: LOGIN u, SSL: TLSv1/SSLv3,128bits,RC4-MD5)"
# (apache/spamassassin t/rcvd_parser.t).
_COURIER = re.compile(
    rf"(?:^|, )(?:TLS|SSL): (?P<v>{_NAME}), ?(?P<b>\d{{1,5}}) ?bits, ?(?P<c>{_NAME})$"
)
# qmail-tls "ESMTPS (C encrypted)", older "(C encrypted) SMTP", zeus03 "(C encrypted,
# authenticated)", T-Online "(TLSv1.2:C encrypted)" (received-formats.md §3.10, §3.24, §3.25).
_ENCRYPTED = re.compile(rf"^(?:(?P<v>TLS[A-Za-z0-9._-]{{0,8}}):)?(?P<c>{_NAME}) encrypted(?:,.*)?$")
# chasquid "(over submission, TLS-1.3, envelope from "x")" (received-formats.md §3.12).
_CHASQUID = re.compile(r"^over [a-z+]{1,20}, (?P<v>TLS-1\.[0-3]),")
# ecelerity "(cipher=AES256-GCM-SHA384 subject="...")" (received-formats.md §3.25).
_ECELERITY = re.compile(rf"^cipher=(?P<c>{_NAME})(?: |$)")
# Exclaimer "(tlsversion=TLS12, tlscipher=TLS_ECDHE_WITH_AES256_SHA1)" (§3.25).
_EXCLAIMER = re.compile(rf"^tlsversion=(?P<v>{_NAME}), tlscipher=(?P<c>{_NAME})$")
# .NET SslStream enum names "(Tls12, Aes256, Sha384, DiffieHellmanEllipticKey384)" (§3.25).
_DOTNET = re.compile(
    r"^(?P<v>(?:Tls|Ssl)[0-9]{1,2}), (?P<c>[A-Za-z0-9]{1,20}, [A-Za-z0-9]{1,20}, [A-Za-z0-9]{1,40})$"
)
# MediaTek/Compal "(Generic MTA with TLSv1.2 ECDHE-RSA-AES256-GCM-SHA384 256/256)" (§3.25).
_GENERIC_MTA = re.compile(
    rf" with (?P<v>TLSv[0-9.]{{1,4}}) (?P<c>{_NAME}) (?P<b>\d{{1,5}})/(?P<a>\d{{1,5}})$"
)
# NVIDIA gateway "(using TLS: TLSv1.2, AES256-SHA)" (§3.25).
_NVIDIA = re.compile(rf"^using TLS: (?P<v>{_NAME}), (?P<c>{_NAME})$")
# Markers without details: Exchange 2007-2013 "(TLS)", IceWarp "(SSL)", old Mimecast
# "(Using TLS)", Google internal "(Google Transport Security)", Cellopoint "(... with TLS)",
# CodeTwo "(TLS12)" (received-formats.md §3.4, §3.5, §3.14, §3.19, §3.25).
_MARKER = re.compile(
    r"^(?:TLS|SSL|Using TLS|Google Transport Security|(?P<v>TLS1[0-3]))$|^[A-Za-z].{0,80} with TLS$"
)
_NOT_USING = re.compile(r"^not using TLS$")  # Active!gate (received-formats.md §3.25)

_CLIENT = re.compile(
    r'^Client CN "(?P<cn>[^"]{0,200})", Issuer "[^"]{0,200}" \((?P<r>verified OK|not verified)\)$'
)
_CLIENT_STATUS = {
    "No client certificate requested": ClientCert.NOT_REQUESTED,
    "Client did not present a certificate": ClientCert.NOT_PRESENTED,
}

_SIMPLE: tuple[tuple[Form, re.Pattern[str]], ...] = (
    (Form.KV, _KV),
    (Form.COLON, _COLON),
    (Form.COURIER, _COURIER),
    (Form.ENCRYPTED, _ENCRYPTED),
    (Form.CHASQUID, _CHASQUID),
    (Form.ECELERITY, _ECELERITY),
    (Form.EXCLAIMER, _EXCLAIMER),
    (Form.DOTNET, _DOTNET),
    (Form.GENERIC_MTA, _GENERIC_MTA),
    (Form.NVIDIA, _NVIDIA),
    (Form.MARKER, _MARKER),
    (Form.NOT_USING, _NOT_USING),
)

MAX_COMMENT = 4096  # longer comments are not TLS statements; never feed them to a pattern


@lru_cache(maxsize=8192)
def read_comment(text: str) -> Statement | None:
    """The TLS statement one comment makes, or None."""
    if len(text) > MAX_COMMENT:
        return None
    using = _read_using(text)
    if using is not None:
        return using
    for form, pattern in _SIMPLE:
        m = pattern.search(text)
        if m is None:
            continue
        groups = m.groupdict()
        return Statement(
            form=form,
            text=text,
            version=groups.get("v"),
            cipher=groups.get("c"),
            bits=_int(groups.get("b")),
            alg_bits=_int(groups.get("a")),
            key_exchange=groups.get("kx"),
            server_signature=groups.get("sig"),
            verify=groups.get("verify"),
            extra=groups.get("x"),
        )
    return None


@lru_cache(maxsize=4096)
def read_client_cert(text: str) -> tuple[ClientCert, str | None] | None:
    """Postfix's client-certificate comment (smtpd.c), as a status and CN, or None."""
    if text in _CLIENT_STATUS:
        return _CLIENT_STATUS[text], None
    if len(text) > MAX_COMMENT:
        return None
    m = _CLIENT.match(text)
    if m is None:
        if text.startswith("Client RPK "):  # Postfix 3.9 raw public key
            return ClientCert.PRESENTED, None
        return None
    status = ClientCert.VERIFIED if m.group("r") == "verified OK" else ClientCert.NOT_VERIFIED
    return status, m.group("cn")
