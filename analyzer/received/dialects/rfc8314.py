"""The RFC 8314 ``tls <cipher>`` clause and its writers: Haraka and chasquid.

Haraka connection.js received_line(): ``id <uuid> envelope-from <x>`` then ``tls NAME``
(since 2021, "RFC 8314 compliant") or earlier ``(version=V cipher=C[ verify=OK|NO])``;
chasquid ``with ESMTPSA tls IANA (over submission, TLS-1.3, envelope from "x")``
(received-formats.md §2.1, §3.11, §3.12).
"""

from __future__ import annotations

from analyzer.model import Dialect, Evidence, TlsFacts
from analyzer.normalize import normalize_cipher, normalize_version
from analyzer.received.dialects.base import Context, Writer, by_keyword, detailed, label_re
from analyzer.received.forms import Form

_HARAKA = label_re(r"^Haraka")
_CHASQUID = label_re(r"^chasquid$")


def _haraka(ctx: Context) -> bool:
    if ctx.label(_HARAKA):
        return True
    ident = ctx.clauses.first("id")
    return ident is not None and "envelope-from" in ident.words


def _tls_clause(ctx: Context, dialect: Dialect) -> TlsFacts | None:
    clause = ctx.clauses.first("tls")
    cipher = clause.first_word() if clause else None
    if cipher is None:
        return None
    over = ctx.statement(Form.CHASQUID)
    version_raw = over.version if over else None
    return TlsFacts(
        Evidence.TLS,
        dialect,
        f"tls {cipher}",
        tls_version=normalize_version(version_raw),
        version_raw=version_raw,
        cipher=normalize_cipher(cipher),
        cipher_raw=cipher,
    )


def _read_haraka(ctx: Context) -> TlsFacts:
    facts = _tls_clause(ctx, Dialect.HARAKA)
    if facts is not None:
        return facts
    st = ctx.statement(Form.KV)
    if st is not None:
        return detailed(ctx, Dialect.HARAKA, st)
    # Haraka adds the S and a TLS statement with TLS (connection.js), but plugins rewrite the
    # header; without a statement the hop stays unknown.
    return by_keyword(ctx, Dialect.HARAKA, plain_is_proof=False)


def _chasquid(ctx: Context) -> bool:
    return ctx.label(_CHASQUID) is not None or ctx.statement(Form.CHASQUID) is not None


def _read_chasquid(ctx: Context) -> TlsFacts:
    facts = _tls_clause(ctx, Dialect.CHASQUID)
    return facts if facts is not None else by_keyword(ctx, Dialect.CHASQUID, plain_is_proof=False)


def _rfc8314(ctx: Context) -> bool:
    clause = ctx.clauses.first("tls")
    return clause is not None and clause.first_word() is not None


def _read_rfc8314(ctx: Context) -> TlsFacts:
    facts = _tls_clause(ctx, Dialect.RFC8314)
    assert facts is not None  # identify() guarantees it
    return facts


WRITERS = (
    Writer(Dialect.HARAKA, _haraka, _read_haraka),
    Writer(Dialect.CHASQUID, _chasquid, _read_chasquid),
)
LAST_WRITERS = (Writer(Dialect.RFC8314, _rfc8314, _read_rfc8314),)
