"""Helpers shared by the dialect modules: peers, local hops, event construction."""

from __future__ import annotations

import re
from typing import Any

from analyzer.model.common import clip
from analyzer.model.logs import Direction, EventKind, LogLine, Mta, TlsEvent

DETAIL_LIMIT = 500
RAW_LINE_LIMIT = 2000

# ``host[ip]:port`` / ``[ip]:port`` / ``unknown[ip]`` / ``host[private/dovecot-lmtp]``
# (log-formats.md §7.15 "Host and address forms").
PEER = re.compile(r"(?P<host>[^\s\[\]]{0,255})\[(?P<ip>[^\s\[\]]{1,128})\](?::(?P<port>\d{1,5}))?")


# Content-filter reinjection ports (amavis 10024/10025, log-formats.md §2.8); a loopback peer
# on another port may be a real MTA under test, so loopback alone is not "local".
CONTENT_FILTER_PORTS = frozenset({10024, 10025, 10026, 10027, 10028})


def local_address(ip: str, host: str = "", port: int | None = None) -> bool:
    """Unix sockets, content filters on loopback and Postfix's local transports are local hops.

    log-formats.md §2.8: ``relay=...[private/dovecot-lmtp]``, ``relay=local``, content
    filters on 127.0.0.1:10024/10025.
    """
    if ip.startswith(("private/", "public/", "/")):
        return True
    if ip.startswith("127.") or ip in ("::1", "::ffff:127.0.0.1"):
        return port in CONTENT_FILTER_PORTS
    return not ip and host in ("local", "virtual", "dovecot")


def small_number(text: str, digits: int = 5) -> int | None:
    """``text`` as a number when it is ASCII digits, at most ``digits`` of them (key bits,
    ports): None otherwise. ``str.isdigit`` alone admits "²", which ``int`` refuses, and a
    run of digits can outgrow the frames' 64-bit columns."""
    if 0 < len(text) <= digits and text.isascii() and text.isdigit():
        return int(text)
    return None


def split_peer(text: str) -> tuple[str, str, int | None]:
    """``(host, ip, port)`` of a ``host[ip]:port`` peer, or ``(text, "", None)``."""
    m = PEER.match(text)
    if m is None:
        return text, "", None
    port = m["port"]
    return m["host"], m["ip"], int(port) if port else None


def make_event(line: LogLine, raw: str, mta: Mta, kind: EventKind, **fields: Any) -> TlsEvent:
    """A ``TlsEvent`` of ``line`` (read from ``raw``), prefix fields filled, texts bounded."""
    if "detail" in fields:
        fields["detail"] = clip(fields["detail"], DETAIL_LIMIT)
    return TlsEvent(
        origin=line.origin,
        line_no=line.line_no,
        timestamp=line.timestamp,
        host=line.host,
        mta=mta,
        service=line.program,
        pid=line.pid,
        kind=kind,
        raw=clip(raw, RAW_LINE_LIMIT),
        **fields,
    )


def peer_direction(base: Direction, ip: str, host: str = "", port: int | None = None) -> Direction:
    """``base`` unless the peer is a local hop."""
    return Direction.LOCAL if local_address(ip, host, port) else base
