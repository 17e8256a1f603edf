"""The "encrypted" family: qmail-tls, qpsmtpd, MessageLabs, WP-SMTPD, T-Online.

qmail-tls patch (notqmail qmail-smtpd.c history): ``with ESMTPS (C encrypted)``, older
``with (C encrypted) SMTP``; MessageLabs and WP-SMTPD ``with C encrypted SMTP``; T-Online
``with (TLSv1.2:C encrypted) esmtp`` (received-formats.md §3.10, §3.24).
"""

from __future__ import annotations

import re

from analyzer.model import Dialect, Evidence, TlsFacts
from analyzer.normalize import normalize_cipher
from analyzer.received.dialects.base import Context, Writer, by_keyword, detailed, label_re
from analyzer.received.forms import Form

# MessageLabs / WP-SMTPD: the cipher is part of the with words, no parenthesis (§3.10); also
# found in damaged headers that lost their "by ... with" words, so it is sought in the text.
_INLINE = re.compile(r"(?:^| )([A-Za-z0-9_-]{1,80}) encrypted E?SMTP(?:;|$)")
# qmail received.c: "from HOST (HELO helo) (info@ip)"; the address comment is "(ip)",
# "(user@ip)", "(user@[ip])" or empty "()" — never the bracketed "([ip])" of IronPort
# (notqmail qmail-smtpd.c, received.c; SA t/rcvd_parser.t samples).
_QMAIL_ADDR = re.compile(
    r"^(?:[^\s()]{0,200}@)?(?:\[[0-9A-Fa-f:.]{2,45}\]|[0-9A-Fa-f:.]{2,45})?(?: with [a-z-]{1,20})?$"
)  # "(user@ip with plain)": the SMTP AUTH patch adds the mechanism
_QMAIL_LABEL = label_re(r"^qmail-ldap|^qpsmtpd/|^qp \d{1,9}$|^magicmail$")
# "(qmail 32666 invoked by uid 89)": bookkeeping, not a hop (received-formats.md §3.10).
_TRACE = re.compile(r"^f?qmail \d{1,10} ")


def _inline(ctx: Context) -> re.Match[str] | None:
    return _INLINE.search(ctx.clauses.text[:2048])


def _grammar(ctx: Context) -> bool:
    from_clause = ctx.clauses.first("from")
    if from_clause is None or ctx.clauses.first("id") is not None:
        return False
    if (ctx.protocol or "").upper() not in {"SMTP", "ESMTP"}:
        return False
    addr = [c for c in from_clause.comments if not c.startswith(("HELO", "EHLO", "envelope-"))]
    return len(addr) == 1 and bool(_QMAIL_ADDR.match(addr[0])) and "[" not in addr[0][:1]


def _trace(ctx: Context) -> bool:
    first = ctx.clauses.clauses[0] if ctx.clauses.clauses else None
    return first is not None and first.key == "" and any(_TRACE.match(c) for c in first.comments)


def _identify(ctx: Context) -> bool:
    if ctx.statement(Form.ENCRYPTED) is not None or _inline(ctx) is not None:
        return True
    if _trace(ctx) or (ctx.protocol or "").startswith("qmail-scanner"):
        return True
    return ctx.label(_QMAIL_LABEL) is not None or _grammar(ctx)


def _read(ctx: Context) -> TlsFacts:
    st = ctx.statement(Form.ENCRYPTED)
    if st is not None:
        dialect = Dialect.TONLINE if st.version else Dialect.QMAIL
        return detailed(ctx, dialect, st)
    m = _inline(ctx)
    if m is None:
        return _read_plain(ctx)
    cipher = m.group(1)
    return TlsFacts(
        Evidence.TLS,
        Dialect.QMAIL,
        f"with {ctx.protocol}",
        cipher=normalize_cipher(cipher),
        cipher_raw=cipher,
    )


def _read_plain(ctx: Context) -> TlsFacts:
    if _trace(ctx):
        return TlsFacts(Evidence.UNKNOWN, Dialect.QMAIL, note="qmail bookkeeping line, not a hop")
    if (ctx.protocol or "").startswith("qmail-scanner"):
        return TlsFacts(Evidence.UNKNOWN, Dialect.QMAIL, note="content filter hop")
    # The qmail-tls patch and qpsmtpd mark TLS in the protocol, but qmail's many forks and
    # older patches are not known to all do so: a plain keyword stays unknown.
    return by_keyword(ctx, Dialect.QMAIL, plain_is_proof=False)


WRITERS = (Writer(Dialect.QMAIL, _identify, _read),)
