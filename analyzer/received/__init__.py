"""Received headers: pure text in, ``ReceivedHeader`` records out (no I/O, no pandas)."""

from __future__ import annotations

from analyzer.model import ReceivedHeader, clip
from analyzer.received import fields
from analyzer.received.dialects import TABLE, Context, keyword
from analyzer.received.scan import Clauses, split_clauses

MAX_HEADER = 64 * 1024
"""Headers longer than this are read from their first 64 KiB only (the caller records an issue);
no real Received header comes near it, and it bounds the work any input can cause."""


def parse_received(value: str) -> ReceivedHeader:
    """Parse one Received header value (without the ``Received:`` name). Never raises."""
    text = value if len(value) <= MAX_HEADER else value[:MAX_HEADER]
    clauses = split_clauses(text)
    host, helo, rdns, ip = fields.peer(clauses.first("from"))
    ctx = Context(clauses, ip, host)
    for writer in TABLE:
        if writer.identify(ctx):
            tls = writer.read(ctx)
            break
    else:
        tls = keyword.GENERIC.read(ctx)
    date_raw, when = fields.date(clauses)
    return ReceivedHeader(
        raw=clip(clauses.text),
        from_host=host,
        from_helo=helo,
        from_rdns=rdns,
        from_ip=ip,
        by_host=ctx.by_host,
        via=_via(clauses),
        protocol=ctx.protocol,
        id=fields.word_after(clauses, "id"),
        for_=fields.recipient(clauses),
        date_raw=date_raw,
        timestamp=when,
        tls=tls,
    )


def _via(clauses: Clauses) -> str | None:
    clause = clauses.first("via")
    if clause is None:
        return None
    return " ".join(clause.words) or None


__all__ = ["MAX_HEADER", "parse_received"]
