"""Writers that state TLS only through the ``with`` keyword or a bare marker, and those that
never state it: MDaemon, IceWarp/Merak, CommuniGate, Zoho, Yahoo, Amazon SES, amavis, ZMailer,
hMailServer <= 5.6, and the generic fallback (received-formats.md §3.17-§3.23, §3.25).

For all of them a keyword without ``S`` is ``unknown``: none is known to implement RFC 3848
consistently (trap 3: SES requires TLS yet writes ``with SMTP``).
"""

from __future__ import annotations

import re

from analyzer.model import Dialect, Evidence, TlsFacts
from analyzer.received.dialects.base import Context, Writer, by_keyword, label_re

_MDAEMON = label_re(r"^MDaemon ")
_ICEWARP = label_re(r"^IceWarp |^Merak ")
_COMMUNIGATE = label_re(r"^CommuniGate Pro")
_YAHOO = label_re(r"^VZM Hermes")
_SES_LABEL = label_re(r"^SimpleEmailService")
_AMAVIS = label_re(r"^amavisd?(?:-new)?,? ")
_ZOHO_BY = re.compile(r"(?:^|\.)zoho(?:mail)?\.(?:com|eu|in)$")
_SES_BY = re.compile(r"(?:^|\.)amazonaws\.com$")


def _simple(dialect: Dialect, identify: re.Pattern[str], note: str | None = None) -> Writer:
    def _identify(ctx: Context) -> bool:
        return ctx.label(identify) is not None

    def _read(ctx: Context) -> TlsFacts:
        return by_keyword(ctx, dialect, plain_is_proof=False, note=note)

    return Writer(dialect, _identify, _read)


def _zoho(ctx: Context) -> bool:
    return bool(_ZOHO_BY.search((ctx.by_host or "").lower()))


def _read_zoho(ctx: Context) -> TlsFacts:
    return by_keyword(ctx, Dialect.ZOHO, plain_is_proof=False)


def _ses(ctx: Context) -> bool:
    return ctx.label(_SES_LABEL) is not None or bool(_SES_BY.search((ctx.by_host or "").lower()))


def _read_ses(ctx: Context) -> TlsFacts:
    return by_keyword(
        ctx,
        Dialect.AMAZON_SES,
        plain_is_proof=False,
        note="Amazon SES writes 'with SMTP' whatever the transport (its SMTP endpoint requires TLS)",
    )


def _zmailer(ctx: Context) -> bool:
    from_clause = ctx.clauses.first("from")
    return from_clause is not None and any("rhost-flags" in c for c in from_clause.comments)


def _read_zmailer(ctx: Context) -> TlsFacts:
    return by_keyword(ctx, Dialect.ZMAILER, plain_is_proof=False)


def _hmail_old(ctx: Context) -> bool:
    # hMailServer <= 5.6 Utilities.cpp: "from %s (%s [%s])\r\n\tby %s\r\n\t; %s", no with.
    keys = [c.key for c in ctx.clauses.clauses]
    by = ctx.clauses.first("by")
    return keys == ["from", "by", "date"] and by is not None and by.items == [by.first_word()]


def _read_hmail_old(ctx: Context) -> TlsFacts:
    return TlsFacts(
        Evidence.UNKNOWN, Dialect.HMAILSERVER, note="hMailServer <= 5.6 writes no protocol"
    )


def _read_generic(ctx: Context) -> TlsFacts:
    return by_keyword(ctx, Dialect.GENERIC, plain_is_proof=False)


WRITERS = (
    _simple(Dialect.MDAEMON, _MDAEMON),
    _simple(Dialect.ICEWARP, _ICEWARP),
    _simple(Dialect.COMMUNIGATE, _COMMUNIGATE),
    _simple(Dialect.YAHOO, _YAHOO, "Yahoo writes ESMTPA without stating TLS"),
    _simple(Dialect.AMAVIS, _AMAVIS, "content filter hop"),
    Writer(Dialect.AMAZON_SES, _ses, _read_ses),
    Writer(Dialect.ZOHO, _zoho, _read_zoho),
    Writer(Dialect.ZMAILER, _zmailer, _read_zmailer),
    Writer(Dialect.HMAILSERVER, _hmail_old, _read_hmail_old),
)
GENERIC = Writer(Dialect.GENERIC, lambda ctx: True, _read_generic)
