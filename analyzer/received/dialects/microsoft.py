"""Microsoft Exchange 2007+, Exchange Online/EOP, and IIS SMTPSVC (received-formats.md §3.4).

2016+/Online: ``with Microsoft SMTP Server (version=TLS1_2, cipher=TLS_..._P384) id 15.x``;
2007-2013: ``with Microsoft SMTP Server (TLS) id 14.x``; no parenthesis = not encrypted
(ARCH-OBMC@a46b8d32fb48, EOP plaintext ingress). IIS ``with Microsoft SMTPSVC(6.0…)`` never
states TLS.
"""

from __future__ import annotations

from analyzer.model import Dialect, Evidence, TlsFacts
from analyzer.received.dialects.base import Context, Writer, by_keyword, detailed
from analyzer.received.forms import Form


def _exchange(ctx: Context) -> bool:
    return (ctx.protocol or "").startswith("Microsoft SMTP Server")


def _read_exchange(ctx: Context) -> TlsFacts:
    st = ctx.statement(Form.KV)
    if st is not None:
        return detailed(ctx, Dialect.EXCHANGE, st)
    if ctx.statement(Form.MARKER) is not None:
        return by_keyword(ctx, Dialect.EXCHANGE, plain_is_proof=False)
    if ctx.local:
        return TlsFacts(
            Evidence.UNKNOWN, Dialect.EXCHANGE, note="local hop: loopback or socket peer"
        )
    return TlsFacts(Evidence.PLAINTEXT, Dialect.EXCHANGE, f"with {ctx.protocol}")


def _iis(ctx: Context) -> bool:
    return (ctx.protocol or "").startswith("Microsoft SMTPSVC")


def _read_iis(ctx: Context) -> TlsFacts:
    return TlsFacts(Evidence.UNKNOWN, Dialect.IIS, note="IIS SMTPSVC never states TLS")


WRITERS = (
    Writer(Dialect.EXCHANGE, _exchange, _read_exchange),
    Writer(Dialect.IIS, _iis, _read_iis),
)
