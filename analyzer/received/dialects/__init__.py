"""The dialect table: one row per writer grammar, tried in order; the first that recognises a
header reads its TLS statement. A new MTA dialect is one module plus its rows here.

Order matters only where grammars overlap: writers identified by their own label or keyword
come before the shared comment forms (the ``(version=…)`` block is written by sendmail, Google,
Exchange, Mimecast, Haraka and others), and the generic keyword reader comes last.
"""

from __future__ import annotations

from analyzer.received.dialects import (
    courier,
    exim,
    gateways,
    keyword,
    microsoft,
    opensmtpd,
    postfix,
    qmail,
    rfc8314,
    sendmail,
)
from analyzer.received.dialects.base import Context, Writer

TABLE: tuple[Writer, ...] = (
    *microsoft.WRITERS,
    *gateways.WRITERS,
    *rfc8314.WRITERS,
    *opensmtpd.WRITERS,
    *exim.WRITERS,
    *courier.WRITERS,
    *qmail.WRITERS,
    *sendmail.WRITERS,
    *postfix.WRITERS,
    *keyword.WRITERS,
    *rfc8314.LAST_WRITERS,
)

__all__ = ["TABLE", "Context", "Writer", "keyword"]
