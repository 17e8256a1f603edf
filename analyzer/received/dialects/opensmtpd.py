"""OpenSMTPD: ``by host (OpenSMTPD) with ESMTPS id X (V:C:bits:YES|NO|FAIL)``.

OpenSMTPD usr.sbin/smtpd/smtp_session.c writes the block for every TLS session, so an
OpenSMTPD header without it is plaintext (received-formats.md §3.6).
"""

from __future__ import annotations

from analyzer.model import Dialect, TlsFacts
from analyzer.received.dialects.base import (
    Context,
    Writer,
    details_or_keyword,
    label_re,
)
from analyzer.received.forms import Form

_LABEL = label_re(r"^OpenSMTPD$")
_VERIFY = frozenset({"YES", "NO", "FAIL"})


def _block(ctx: Context) -> bool:
    st = ctx.statement(Form.COLON)
    return st is not None and st.extra in _VERIFY


def _identify(ctx: Context) -> bool:
    # "from localhost (host [local])": OpenSMTPD's to.c writes "[local]" for a socket peer.
    from_clause = ctx.clauses.first("from")
    local = from_clause is not None and any(c.endswith("[local]") for c in from_clause.comments)
    return _block(ctx) or ctx.label(_LABEL) is not None or local


def _read(ctx: Context) -> TlsFacts:
    return details_or_keyword(ctx, Dialect.OPENSMTPD, (Form.COLON,), plain_is_proof=True)


WRITERS = (Writer(Dialect.OPENSMTPD, _identify, _read),)
