"""Exim: ``with esmtps  (TLS1.3) tls IANA`` (>=4.93) and ``(V:C:bits)`` (<=4.92, GnuTLS).

Exim src/src/globals.c default received_header_text; tls-openssl.c construct_cipher_name()
"ver:name:bits"; tls-gnu.c (GnuTLS names, key size in bytes in old builds); protocols from
src/smtp_in.c are lowercase and always carry the "s" when TLS was used (received-formats.md
§3.3, §2.2): so an Exim header with ``esmtp``/``esmtpa``/``smtp`` is plaintext.
"""

from __future__ import annotations

import re
from dataclasses import replace

from analyzer.model import Dialect, Evidence, TlsFacts
from analyzer.normalize import normalize_version
from analyzer.received.dialects.base import (
    Context,
    Writer,
    by_keyword,
    cipher_name,
    detailed,
    label_re,
)
from analyzer.received.forms import Form

_EXIM_LABEL = label_re(r"^Exim\b")
# Exim message ids: old "1j6Pcq-0007rG-GT", 4.97+ "1tf2r0-000000005BD-FtAs" (§3.3).
_EXIM_ID = re.compile(r"^[0-9A-Za-z]{6}-[0-9A-Za-z]{6,11}-[0-9A-Za-z]{2,4}$")
_LOWER_PROTO = re.compile(r"^(?:local-)?(?:utf8)?[a-z]{3,8}$")
_VERSION_ONLY = re.compile(r"^(?:TLS|SSL)[A-Za-z0-9._-]{0,8}$")
# GnuTLS >= 3.6.7 session description "KX_GROUP__SIGALG__CIPHER" (tls-gnu.c, §3.3).
_GNUTLS_DESC = re.compile(r"^([A-Z0-9]+(?:_[A-Z0-9]+)*)__([A-Z0-9_]+?)__([A-Z0-9_]+)$")


def _identify(ctx: Context) -> bool:
    if ctx.label(_EXIM_LABEL):
        return True
    proto = ctx.protocol or ""
    if not _LOWER_PROTO.match(proto):
        return False
    if ctx.statement(Form.COLON) is not None or ctx.clauses.first("tls") is not None:
        return True
    from_clause = ctx.clauses.first("from")
    helo = from_clause is not None and any("helo=" in c for c in from_clause.comments)
    ident = ctx.clauses.first("id")
    exim_id = ident is not None and bool(_EXIM_ID.match(ident.first_word() or ""))
    return helo or exim_id


def _read(ctx: Context) -> TlsFacts:
    st = ctx.statement(Form.COLON)
    if st is not None:
        facts = detailed(ctx, Dialect.EXIM, st)
        m = _GNUTLS_DESC.match(st.cipher or "")
        if m is None:
            return facts
        return _with_description(facts, m)
    tls = ctx.clauses.first("tls")
    if tls is not None and tls.first_word():
        cipher = tls.first_word()
        version_raw = next(
            (c for c in ctx.clauses.part_comments("with") if _VERSION_ONLY.match(c)), None
        )
        return TlsFacts(
            Evidence.TLS,
            Dialect.EXIM,
            f"tls {cipher}",
            tls_version=normalize_version(version_raw),
            version_raw=version_raw,
            cipher=cipher_name(cipher, normalize_version(version_raw)),
            cipher_raw=cipher,
            client_cert=None,
        )
    return by_keyword(ctx, Dialect.EXIM, plain_is_proof=True)


def _with_description(facts: TlsFacts, m: re.Match[str]) -> TlsFacts:
    """Keep the key exchange and signature of a GnuTLS session description."""
    kx, sig, _cipher = m.groups()
    return replace(facts, key_exchange=kx, server_signature=sig)


WRITERS = (Writer(Dialect.EXIM, _identify, _read),)
