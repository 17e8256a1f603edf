"""Writers of the Postfix ``(using V with cipher C (U/A bits))`` comment and their look-alikes.

Postfix src/smtpd/smtpd.c writes the comment only with smtpd_tls_received_header=yes and adds
RFC 3848 letters since 2.5, for ESMTP only (received-formats.md §3.1): so ``(Postfix) with
ESMTP`` without a comment is plaintext, but ``with SMTP`` (a HELO client) proves nothing.
Dovecot (§3.7), Kerio (§3.16), Symantec SMG and .cloud (§3.15), Stalwart (§3.25), Strato RZmta
and Comcast (§3.24) write the same comment.
"""

from __future__ import annotations

import re

from analyzer.model import Dialect, TlsFacts
from analyzer.received.dialects.base import Context, Writer, by_keyword, detailed, label_re
from analyzer.received.forms import Form

_POSTFIX_LABEL = re.compile(r"^Postfix(?:,.*)?$|^Sophos Email Appliance$")
_KERIO = label_re(r"^Kerio Connect")
_SYMANTEC = label_re(r"^Symantec Messaging Gateway")
_STALWART = label_re(r"^Stalwart")
_SENTRION = label_re(r"^Sentrion-MTA")
_TREX = label_re(r"^trex/")
_DOVECOT_LMTP = re.compile(r"(?i)^LMTPS?A?$")


def _using(ctx: Context) -> bool:
    return ctx.statement(Form.USING) is not None


def _read_using(ctx: Context) -> TlsFacts:
    st = ctx.statement(Form.USING)
    assert st is not None  # identify() guarantees it
    return detailed(ctx, _which(ctx), st)


def _which(ctx: Context) -> Dialect:
    if ctx.label(_KERIO):
        return Dialect.KERIO
    if ctx.label(_SYMANTEC) or (ctx.by_host or "").endswith(".symcld.net"):
        return Dialect.SYMANTEC
    if ctx.label(_STALWART):
        return Dialect.STALWART
    if ctx.label(_TREX):  # "by 0.0.0.0:465 (trex/5.7.12)": not Postfix, writer unknown
        return Dialect.GENERIC
    if ctx.label(_SENTRION):  # "(using … (256 bits) verified FAIL)" after id (§3.2)
        return Dialect.SENTRION
    if ctx.label(_POSTFIX_LABEL):
        return Dialect.POSTFIX
    # Dovecot LMTP/submission: "(using …) by host with LMTPS id …" and no product label
    # (dovecot/core src/lib-smtp/smtp-server-transaction.c).
    unlabelled = not ctx.labels or all(c.startswith("envelope-from") for c in ctx.labels)
    if unlabelled and _DOVECOT_LMTP.match(ctx.protocol or ""):
        return Dialect.DOVECOT
    return Dialect.POSTFIX


# Postfix-inside appliances that replace the by host with their product name (§3.1).
_APPLIANCE_BY = ("Forcepoint Email", "Websense Email Security Gateway")


def _postfix_label(ctx: Context) -> bool:
    if ctx.label(_POSTFIX_LABEL) is not None:
        return True
    by = ctx.clauses.first("by")
    return by is not None and " ".join(by.words).startswith(_APPLIANCE_BY)


def _read_postfix(ctx: Context) -> TlsFacts:
    proto = (ctx.protocol or "").upper()
    # RFC 3848 letters are added for ESMTP only: a plain "SMTP" hop may have used TLS.
    proof = proto in {"ESMTP", "ESMTPA", "UTF8SMTP", "UTF8SMTPA"}
    return by_keyword(ctx, Dialect.POSTFIX, plain_is_proof=proof)


def _kerio(ctx: Context) -> bool:
    return ctx.label(_KERIO) is not None


def _read_kerio(ctx: Context) -> TlsFacts:
    # Kerio's samples with TLS carry a using comment, but no source shows it always does.
    return by_keyword(ctx, Dialect.KERIO, plain_is_proof=False)


def _symantec(ctx: Context) -> bool:
    return ctx.label(_SYMANTEC) is not None


def _read_symantec(ctx: Context) -> TlsFacts:
    # SMG states TLS with "(using TLS with cipher …)", but whether every TLS session gets it
    # is not established from a source: a bare "with SMTP" stays unknown.
    return by_keyword(ctx, Dialect.SYMANTEC, plain_is_proof=False)


WRITERS = (
    Writer(Dialect.POSTFIX, _using, _read_using),
    Writer(Dialect.POSTFIX, _postfix_label, _read_postfix),
    Writer(Dialect.KERIO, _kerio, _read_kerio),
    Writer(Dialect.SYMANTEC, _symantec, _read_symantec),
)
