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

_MDAEMON = label_re(r"^MDaemon[ .]")
_MDAEMON_ID = re.compile(r"^md5\d{1,20}\.msg$")  # "id md50001359993.msg" (§3.18)
_ICEWARP = label_re(r"^IceWarp |^Merak |^VisNetic")
_YAHOO_BY = re.compile(r"(?:^|\.)yahoo\.com$")
# hMailServer <= 5.6 Utilities.cpp "from %s (%s [%s])\r\n\tby %s\r\n\t; %s" (§3.17).
_HMAIL_FROM = re.compile(r"^\S{1,255} \[[0-9A-Fa-f:.]{2,45}\]$")
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


def _mdaemon(ctx: Context) -> bool:
    ident = ctx.clauses.first("id")
    by_id = ident is not None and bool(_MDAEMON_ID.match(ident.first_word() or ""))
    return ctx.label(_MDAEMON) is not None or by_id


def _read_mdaemon(ctx: Context) -> TlsFacts:
    return by_keyword(ctx, Dialect.MDAEMON, plain_is_proof=False)


def _icewarp(ctx: Context) -> bool:
    # IceWarp/Merak and look-alikes: "with ESMTP (SSL) id …", "with ASMTP (SSL) id …" (§3.19).
    with_clause = ctx.clauses.first("with")
    ssl = with_clause is not None and "SSL" in with_clause.comments
    return ctx.label(_ICEWARP) is not None or ssl


def _read_icewarp(ctx: Context) -> TlsFacts:
    return by_keyword(ctx, Dialect.ICEWARP, plain_is_proof=False)


def _communigate(ctx: Context) -> bool:
    return ctx.label(_COMMUNIGATE) is not None


def _read_communigate(ctx: Context) -> TlsFacts:
    # CommuniGate Pro marks TLS in the keyword (ESMTP-TLS in 3.x/4.x, ESMTPS in 5.x+; §3.20),
    # but no source shows every version does: a plain keyword stays unknown.
    return by_keyword(ctx, Dialect.COMMUNIGATE, plain_is_proof=False)


def _yahoo_by(ctx: Context) -> bool:
    return bool(_YAHOO_BY.search((ctx.by_host or "").lower()))


def _read_yahoo(ctx: Context) -> TlsFacts:
    return by_keyword(ctx, Dialect.YAHOO, plain_is_proof=False)


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
    # ZMailer: '([ip]:port "EHLO x" rhost-flags-OK-OK-OK-OK)' and "(ORCPT <rfc822;…>)" (§3.25).
    return any("rhost-flags" in c or c.startswith("ORCPT ") for c in ctx.clauses.comments())


def _read_zmailer(ctx: Context) -> TlsFacts:
    return by_keyword(ctx, Dialect.ZMAILER, plain_is_proof=False)


def _hmail_old(ctx: Context) -> bool:
    # hMailServer <= 5.6 Utilities.cpp: "from %s (%s [%s])\r\n\tby %s\r\n\t; %s", no with.
    keys = [c.key for c in ctx.clauses.clauses]
    by = ctx.clauses.first("by")
    from_clause = ctx.clauses.first("from")
    if keys != ["from", "by", "date"] or by is None or from_clause is None:
        return False
    comments = from_clause.comments
    return (
        by.items == [by.first_word()]
        and " ; " in ctx.clauses.text
        and len(comments) == 1
        and bool(_HMAIL_FROM.match(comments[0]))
    )


def _read_hmail_old(ctx: Context) -> TlsFacts:
    return TlsFacts(
        Evidence.UNKNOWN, Dialect.HMAILSERVER, note="hMailServer <= 5.6 writes no protocol"
    )


def _read_generic(ctx: Context) -> TlsFacts:
    return by_keyword(ctx, Dialect.GENERIC, plain_is_proof=False)


WRITERS = (
    Writer(Dialect.MDAEMON, _mdaemon, _read_mdaemon),
    Writer(Dialect.ICEWARP, _icewarp, _read_icewarp),
    Writer(Dialect.COMMUNIGATE, _communigate, _read_communigate),
    _simple(Dialect.YAHOO, _YAHOO, "Yahoo writes ESMTPA without stating TLS"),
    Writer(Dialect.YAHOO, _yahoo_by, _read_yahoo),
    _simple(Dialect.AMAVIS, _AMAVIS, "content filter hop"),
    Writer(Dialect.AMAZON_SES, _ses, _read_ses),
    Writer(Dialect.ZOHO, _zoho, _read_zoho),
    Writer(Dialect.ZMAILER, _zmailer, _read_zmailer),
    Writer(Dialect.HMAILSERVER, _hmail_old, _read_hmail_old),
)
GENERIC = Writer(Dialect.GENERIC, lambda ctx: True, _read_generic)
