"""Courier's ``(TLS: V,Nbits,C)`` in the from part, with ``id`` after the date; Symantec DLP.

Courier writes the TLS comment before ``by`` and the queue id after the date (SA Received.pm,
stalwartlabs/mail-parser resources/received.json; received-formats.md §3.9). Symantec DLP
Network Prevent writes the same string after ``with smtp`` (ARCH-USRP@88f796d26070).
"""

from __future__ import annotations

import re

from analyzer.model import Dialect, TlsFacts
from analyzer.received.dialects.base import Context, Writer, by_keyword, detailed
from analyzer.received.forms import Form, read_comment


def _statement_part(ctx: Context) -> str | None:
    """The clause whose comment holds the ``TLS:`` statement."""
    for clause in ctx.clauses.clauses:
        for comment in clause.comments:
            st = read_comment(comment)
            if st is not None and st.form is Form.COURIER:
                return clause.key
    return None


_LOWER = re.compile(r"^(?:esmtp|smtp|esmtpa|esmtps|esmtpsa)$")


def _identify(ctx: Context) -> bool:
    if ctx.statement(Form.COURIER) is not None:
        return True
    # Without TLS: the id after the date is Courier's signature; so is a lowercase keyword
    # with no id at all (Exim, the other lowercase writer, always writes one and is tried
    # first) (SA Received.pm couriertcpd samples).
    keys = [c.key for c in ctx.clauses.clauses]
    if "date" in keys and "id" in keys and keys.index("id") > keys.index("date"):
        return True
    return bool(_LOWER.match(ctx.protocol or "")) and "id" not in keys and "from" in keys


def _read(ctx: Context) -> TlsFacts:
    st = ctx.statement(Form.COURIER)
    if st is not None:
        dialect = Dialect.SYMANTEC if _statement_part(ctx) == "with" else Dialect.COURIER
        return detailed(ctx, dialect, st)
    return by_keyword(ctx, Dialect.COURIER, plain_is_proof=True)


WRITERS = (Writer(Dialect.COURIER, _identify, _read),)
