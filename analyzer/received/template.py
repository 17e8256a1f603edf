"""A template cache for Received headers: parse each *shape* of header once.

A mailbox holds thousands of headers but few shapes: every message that passed the same relay
carries the same header text except for its volatile parts (queue id, date, recipient,
envelope sender, client address and names). The TLS statement, the writer's dialect, the
protocol and the via clause depend only on the rest. So the cache key is the header with those
parts masked (keeping the classes the dialect rules look at: loopback or not, Exim- or
MDaemon-shaped ids, local host names), and on a hit only the volatile fields are read afresh,
with the same code the full parser uses for them.

The cache verifies itself: the first header of each shape is parsed in full, and its volatile
fields are read again the light way; a shape where the two disagree is marked to be parsed in
full every time. Results are therefore identical to ``parse_received`` (a property the tests
check on the golden corpus and on mutated copies of it). Memory is bounded by ``size``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from analyzer.model import ReceivedHeader, TlsFacts, clip
from analyzer.received import MAX_HEADER, fields, parse_received
from analyzer.received.scan import Clause, _tokens, collapse

_LOOPBACK = frozenset({"127.0.0.1", "::1", "::ffff:127.0.0.1"})
_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "local"})

# Masks. Each keeps what the dialect rules can see and hides per-message values; cheap string
# operations find the clause keywords, and the few regular expressions all start with a literal
# character, so they scan quickly.
_DATE = re.compile(
    r"(?:[A-Z][a-z]{2}, ?)?\d{1,2} [A-Z][a-z]{2} \d{2,4} \d\d:\d\d(?::\d\d)?(?:\.\d{1,9})?"
    r" [+-]\d{4}(?: \([^()]{0,40}\))?"
    r"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d{1,9})? [+-]\d{4}(?: UTC)?(?: m=\+[0-9.]{1,30})?"
)
_ANGLE = re.compile(r"<[^<>\s]{0,300}>")
_RDNS = re.compile(r"\(([^\s\[\]()@]{1,255}) ?\[")
_HELO = re.compile(r'(helo=|HELO |EHLO |LHLO )"?[^\s)"]{0,255}"?')
_LITERAL = re.compile(r"\[[^\[\]\s]{1,64}\]")
_PAREN_IP = re.compile(
    r"([(@])(\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?|[0-9A-Fa-f]{0,4}:[0-9A-Fa-f:.%]{2,60})\)"
)
_USER = re.compile(r"\(([^\s()@\[]{1,200})@")
_PORT = re.compile(r"\]:\d{1,5}")
_EXIM_ID = re.compile(r"^[0-9A-Za-z]{6}-[0-9A-Za-z]{6,11}-[0-9A-Za-z]{2,4}$")
_MDAEMON_ID = re.compile(r"^md5\d{1,20}\.msg$")
_DIGITS = str.maketrans("0123456789", "0000000000")
_WORD_END = re.compile(r"[\s;()\[\]\"]")
_TRAILING_COMMENTS = re.compile(r"(?: \([^()]{0,40}\))+$")


def _keyword(text: str, low: str, word: str) -> tuple[int, int] | None:
    """Start and end of the value after the first `` word `` (case-insensitive), or None."""
    at = low.find(_NEEDLES[word])
    if at < 0:
        if not low.startswith(_STARTS[word]):
            return None
        at = -1
    start = at + len(word) + 2
    m = _WORD_END.search(text, start)
    end = m.start() if m else len(text)
    return (start, end) if end > start else None


_NEEDLES = {w: f" {w} " for w in ("by", "id", "for")}
_STARTS = {w: f"{w} " for w in ("by", "id", "for")}


class _Spots(NamedTuple):
    """Where the clause values a shape and a light read need are, found once per header
    (a named tuple: built for every header, so cheaper to make than a frozen dataclass).

    Attributes:
        low: the header lower-cased.
        by: span of the by host.
        id: span of the queue id.
        rcpt: span of the for value.
    """

    low: str
    by: tuple[int, int] | None
    id: tuple[int, int] | None
    rcpt: tuple[int, int] | None


def _spots(text: str) -> _Spots:
    low = text.lower()
    return _Spots(
        low, _keyword(text, low, "by"), _keyword(text, low, "id"), _keyword(text, low, "for")
    )


def _literal_class(m: re.Match[str]) -> str:
    ip = fields.as_ip(m.group(0))
    if ip is None:
        return m.group(0)  # "[local]", "[unix socket]": not addresses, kept as they are
    return "[L]" if ip in _LOOPBACK else "[I]"


def _paren_ip_class(m: re.Match[str]) -> str:
    ip = fields.as_ip(m.group(2))
    if ip is None:
        return m.group(0)
    return f"{m.group(1)}{'L' if ip in _LOOPBACK else 'N'})"


def _rdns_class(m: re.Match[str]) -> str:
    return m.group(0) if m.group(1).lower() in _LOCAL_NAMES else "(R ["


def _id_class(value: str) -> str:
    return "E" if _EXIM_ID.match(value) else "M" if _MDAEMON_ID.match(value) else "X"


@lru_cache(maxsize=4096)
def _from_class(word: str) -> str:
    if word.lower() in _LOCAL_NAMES:
        return word
    ip = fields.as_ip(word)
    if ip is not None:
        return "[L]" if ip in _LOOPBACK else "[I]"
    return "H"


@lru_cache(maxsize=4096)
def _by_class(host: str) -> str:
    ip = fields.as_ip(host)
    if ip is not None:  # Google-internal "by 2002:…" and "by 10.x" are told by prefix
        return f"IP:{ip[:5]}"
    first, dot, rest = host.partition(".")
    if first != first.translate(_DIGITS):  # a digit in the first label: a per-host name
        first = "H"
    return first + dot + rest.translate(_DIGITS)


def _splice(text: str, spans: list[tuple[int, int, str]]) -> str:
    out: list[str] = []
    at = 0
    for start, end, repl in sorted(spans):
        if start < at:
            continue  # overlapping span: keep the first
        out.append(text[at:start])
        out.append(repl)
        at = end
    out.append(text[at:])
    return "".join(out)


def shape(text: str, spots: _Spots | None = None) -> str:
    """The key of a collapsed header: its text with per-message values masked."""
    at = spots or _spots(text)
    low = at.low
    spans: list[tuple[int, int, str]] = []
    if low.startswith("from "):
        end = _WORD_END.search(text, 5)
        stop = end.start() if end else len(text)
        spans.append((5, stop, _from_class(text[5:stop])))
    if at.by:
        spans.append((at.by[0], at.by[1], _by_class(text[at.by[0] : at.by[1]])))
    if at.id:
        spans.append((at.id[0], at.id[1], _id_class(text[at.id[0] : at.id[1]])))
    semi = text.rfind(";")
    if semi >= 0:
        spans.append((semi, len(text), _DATE.sub("D", text[semi:])))
    s = _splice(text, spans)
    if "<" in s:
        s = _ANGLE.sub("<A>", s)
    if "elo" in low:
        s = _HELO.sub(r"\1E", s)
    if "[" in s:
        s = _RDNS.sub(_rdns_class, s)
        s = _LITERAL.sub(_literal_class, s)
        s = _PORT.sub("]:P", s)
    if "@" in s:
        s = _USER.sub("(U@", s)
    return _PAREN_IP.sub(_paren_ip_class, s)


class _Light(NamedTuple):
    """The volatile fields of a header, read without the dialect table (a named tuple, as
    ``_Spots``).

    Attributes:
        from_host: first word of the from part.
        from_helo: HELO name of the from part.
        from_rdns: looked-up name of the from part.
        from_ip: observed address of the from part.
        by_host: first word after ``by``.
        id: the queue id.
        for_: the recipient.
        date_raw: the date text.
    """

    from_host: str | None
    from_helo: str | None
    from_rdns: str | None
    from_ip: str | None
    by_host: str | None
    id: str | None
    for_: str | None
    date_raw: str | None


@lru_cache(maxsize=2048)
def _peer_of(part: str) -> tuple[str | None, str | None, str | None, str | None]:
    fast = fields.peer_fast(part)
    if fast is not None:
        return fast
    clause = Clause("from", _tokens(part))
    clause.seal()
    return fields.peer(clause)


def _light(text: str, spots: _Spots | None = None) -> _Light:
    at = spots or _spots(text)
    by, ident, recipient = at.by, at.id, at.rcpt
    host = helo = rdns = ip = None
    if at.low.startswith("from "):
        host, helo, rdns, ip = _peer_of(text[5 : by[0] - 4 if by else len(text)])
    date_raw = None
    semi = text.rfind(";")
    if semi >= 0:
        tail = text[semi + 1 :]
        if tail.endswith(")"):  # the pattern is anchored at the end, on a ")"
            tail = _TRAILING_COMMENTS.sub("", tail)
        date_raw = tail.strip() or None
    return _Light(
        from_host=host,
        from_helo=helo,
        from_rdns=rdns,
        from_ip=ip,
        by_host=text[by[0] : by[1]] if by else None,
        id=text[ident[0] : ident[1]] if ident else None,
        for_=(text[recipient[0] : recipient[1]].strip("<>") or None) if recipient else None,
        date_raw=date_raw,
    )


@dataclass(frozen=True, slots=True)
class _Template:
    """What a shape fixes: the TLS statement and the clauses that carry no per-message value.

    Attributes:
        tls: the TLS facts.
        via: the via clause.
        protocol: the with keyword.
    """

    tls: TlsFacts
    via: str | None
    protocol: str | None


_FULL = None  # a shape whose volatile fields cannot be read the light way
_UNSEEN = object()


class ReceivedParser:
    """``parse_received`` with a bounded template cache; one per batch of input.

    Attributes:
        hits: headers answered from the cache.
        misses: headers parsed in full.
    """

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._cache: dict[str, _Template | None] = {}
        self.hits = 0
        self.misses = 0

    def parse(self, value: str) -> ReceivedHeader:
        """The same record as ``parse_received(value)``."""
        if len(value) > MAX_HEADER:
            return parse_received(value)
        text = collapse(value)
        spots = _spots(text)
        key = shape(text, spots)
        entry = self._cache.get(key, _UNSEEN)
        if isinstance(entry, _Template):
            self.hits += 1
            return _header(text, entry, _light(text, spots))
        full = parse_received(value)
        self.misses += 1
        if entry is _UNSEEN:
            self._remember(key, full, text)
        return full

    def _remember(self, key: str, full: ReceivedHeader, text: str) -> None:
        if len(self._cache) >= self._size:
            self._cache.pop(next(iter(self._cache)))  # oldest first: bounded memory
        template = _Template(full.tls, full.via, full.protocol)
        same = _header(text, template, _light(text)) == full
        self._cache[key] = template if same else _FULL


def _header(text: str, t: _Template, light: _Light) -> ReceivedHeader:
    when = fields.parse_date(light.date_raw) if light.date_raw else None
    return ReceivedHeader(
        raw=clip(text),
        from_host=light.from_host,
        from_helo=light.from_helo,
        from_rdns=light.from_rdns,
        from_ip=light.from_ip,
        by_host=light.by_host,
        via=t.via,
        protocol=t.protocol,
        id=light.id,
        for_=light.for_,
        date_raw=light.date_raw,
        timestamp=when,
        tls=t.tls,
    )


__all__ = ["ReceivedParser", "shape"]
