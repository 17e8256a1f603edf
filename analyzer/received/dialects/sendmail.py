"""Writers of the ``(version=V cipher=C bits=N verify=R)`` block: sendmail and its kin.

sendmail cf/m4/cfhead.m4 ``_REC_TLS_`` prints the block whenever ``${tls_version}`` is set, so
a sendmail header (``(8.x.y/8.x.y)`` label) without it is plaintext; 8.14 writes ``with ESMTP``
*with* the block (trap 1). Proofpoint PPS and Barracuda use the same block; Google writes it
after ``id``/``for`` with ``bits=U/A``; hMailServer 5.7 without ``verify=`` and without ``id``;
Cyrus lmtpd after ``LMTPSA``; the IBM gateway after a ``;`` (received-formats.md §3.2, §3.5,
§3.8, §3.17).
"""

from __future__ import annotations

import re

from analyzer.model import Dialect, Evidence, TlsFacts
from analyzer.received.dialects.base import (
    Context,
    Writer,
    by_keyword,
    detailed,
    details_or_keyword,
    label_re,
)
from analyzer.received.forms import Form

_SENDMAIL_LABEL = re.compile(r"^\d{1,2}\.\d{1,2}\.\d{1,2}[^/]{0,40}/\d{1,2}\.\d{1,2}|^PPS$")
_CYRUS = label_re(r"^Cyrus")
_GOOGLE_BY = re.compile(r"(?:^|\.)(?:google|gmail|googlemail)\.com$")
# Google-internal hops: "by 2002:a05:…" or "by 10.86.92.7 with SMTP id" (§3.5).
_GOOGLE_INTERNAL_BY = re.compile(r"^(?:2002:[0-9a-f:]{1,40}|10\.\d{1,3}\.\d{1,3}\.\d{1,3})$")


def _google(ctx: Context) -> bool:
    by = (ctx.by_host or "").lower().rstrip(".")
    return bool(_GOOGLE_BY.search(by)) or bool(_GOOGLE_INTERNAL_BY.match(by))


def _read_google(ctx: Context) -> TlsFacts:
    st = ctx.statement(Form.KV)
    if st is not None:
        return detailed(ctx, Dialect.GOOGLE, st)
    by = (ctx.by_host or "").lower()
    if _GOOGLE_INTERNAL_BY.match(by) or (ctx.protocol or "").upper() == "HTTP":
        return TlsFacts(Evidence.UNKNOWN, Dialect.GOOGLE, note="Google-internal hop")
    # Google writes the block for every TLS session; mx.google.com "with ESMTP" and no block
    # is a plaintext delivery.
    return by_keyword(ctx, Dialect.GOOGLE, plain_is_proof=by.startswith(("mx.", "aspmx.")))


def _ibm(ctx: Context) -> bool:
    proto = ctx.protocol or ""
    # IBM SmartCloud Notes writes its host name as the product: "with <by host> ESMTP".
    notes = bool(ctx.by_host) and proto == f"{ctx.by_host} ESMTP"
    return proto.startswith("IBM ESMTP") or notes


def _read_ibm(ctx: Context) -> TlsFacts:
    return details_or_keyword(ctx, Dialect.IBM, (Form.KV,), plain_is_proof=False)


def _cyrus(ctx: Context) -> bool:
    return ctx.label(_CYRUS) is not None


def _read_cyrus(ctx: Context) -> TlsFacts:
    return details_or_keyword(ctx, Dialect.CYRUS, (Form.KV,), plain_is_proof=False)


def _kv(ctx: Context) -> bool:
    return ctx.statement(Form.KV) is not None


def _read_kv(ctx: Context) -> TlsFacts:
    st = ctx.statement(Form.KV)
    assert st is not None  # identify() guarantees it
    # hMailServer 5.7+: "(version=%s cipher=%s bits=%d)", no verify=, no id (§3.17).
    if st.verify is None and ctx.clauses.first("id") is None:
        return detailed(ctx, Dialect.HMAILSERVER, st)
    # sendmail's _REC_TLS_ always has bits= and verify=; a bare "(version=V cipher=C)" is
    # another writer's (Tessian and others): the details stand, the writer is unknown.
    if st.verify is None and st.bits is None:
        return detailed(ctx, Dialect.GENERIC, st)
    return detailed(ctx, Dialect.SENDMAIL, st)


def _sendmail_label(ctx: Context) -> bool:
    return ctx.label(_SENDMAIL_LABEL) is not None


def _read_sendmail(ctx: Context) -> TlsFacts:
    return by_keyword(ctx, Dialect.SENDMAIL, plain_is_proof=True)


WRITERS = (
    Writer(Dialect.GOOGLE, _google, _read_google),
    Writer(Dialect.IBM, _ibm, _read_ibm),
    Writer(Dialect.CYRUS, _cyrus, _read_cyrus),
    Writer(Dialect.SENDMAIL, _kv, _read_kv),
    Writer(Dialect.SENDMAIL, _sendmail_label, _read_sendmail),
)
