"""Microsoft Exchange 2007+, Exchange Online/EOP, and IIS SMTPSVC (received-formats.md §3.4).

2016+/Online: ``with Microsoft SMTP Server (version=TLS1_2, cipher=TLS_..._P384) id 15.x``;
2007-2013: ``with Microsoft SMTP Server (TLS) id 14.x``; no parenthesis = not encrypted
(ARCH-OBMC@a46b8d32fb48, EOP plaintext ingress). IIS ``with Microsoft SMTPSVC(6.0…)`` never
states TLS.
"""

from __future__ import annotations

import re

from analyzer.model import Dialect, Evidence, TlsFacts
from analyzer.received.dialects.base import Context, Writer, by_keyword, detailed, label_re
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


# Exchange Online internal hops: "with mapi id 15.x", "with HTTPS via …" between
# *.outlook.com hosts; Exchange 5.5 "with SMTP (Microsoft Exchange Internet Mail Service …)"
# (received-formats.md §3.4; microsoft/MHA tests; SA Received.pm).
_OUTLOOK_BY = re.compile(r"(?:^|\.)(?:prod\.)?outlook\.com$")
_EX55 = label_re(r"^Microsoft Exchange Internet Mail Service")


def _exchange_other(ctx: Context) -> bool:
    by = (ctx.by_host or "").lower()
    return bool(_OUTLOOK_BY.search(by)) or ctx.label(_EX55) is not None


def _read_exchange_other(ctx: Context) -> TlsFacts:
    return by_keyword(ctx, Dialect.EXCHANGE, plain_is_proof=False)


def _iis(ctx: Context) -> bool:
    return (ctx.protocol or "").startswith("Microsoft SMTPSVC")


def _read_iis(ctx: Context) -> TlsFacts:
    return TlsFacts(Evidence.UNKNOWN, Dialect.IIS, note="IIS SMTPSVC never states TLS")


WRITERS = (
    Writer(Dialect.EXCHANGE, _exchange, _read_exchange),
    Writer(Dialect.IIS, _iis, _read_iis),
    Writer(Dialect.EXCHANGE, _exchange_other, _read_exchange_other),
)
