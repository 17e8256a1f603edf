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

Computing the key is most of the work of a hit, so part of it is remembered too: after the
first comment (the peer's), the masked text is the same for every message through the same
relay, and no mask matches across the space there, so that part is masked once per distinct
text (``ReceivedParser._shape``; bounded by ``size`` as well).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from analyzer.model import ReceivedHeader, TlsFacts, clip
from analyzer.model.received import make_received_header
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


def _value_after(text: str, low: str, needle: str) -> tuple[int, int] | None:
    """Start and end of the value after the first ``needle`` (`` by `` ...) in ``low`` (the
    lower-cased ``text``), or at its very start without the leading space; None if absent."""
    at = low.find(needle)
    if at >= 0:
        start = at + len(needle)
    elif low.startswith(needle[1:]):
        start = len(needle) - 1
    else:
        return None
    m = _WORD_END.search(text, start)
    end = m.start() if m else len(text)
    return (start, end) if end > start else None


class _Spots(NamedTuple):
    """Where the clause values a shape and a light read need are, found once per header
    (a named tuple: built for every header, so cheaper to make than a frozen dataclass).

    Attributes:
        low: the header lower-cased.
        by: span of the by host.
        id: span of the queue id.
        rcpt: span of the for value.
        semi: offset of the last ``;`` (-1 without one).
    """

    low: str
    by: tuple[int, int] | None
    id: tuple[int, int] | None
    rcpt: tuple[int, int] | None
    semi: int


def _spots(text: str) -> _Spots:
    low = text.lower()
    return _Spots(
        low,
        _value_after(text, low, " by "),
        _value_after(text, low, " id "),
        _value_after(text, low, " for "),
        text.rfind(";"),
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


def _helo_class(m: re.Match[str]) -> str:
    # the same as the template r"\1E", which re expands in Python for every match
    return f"{m.group(1)}E"


def _rdns_class(m: re.Match[str]) -> str:
    return m.group(0) if m.group(1).lower() in _LOCAL_NAMES else "(R ["


def _id_class(value: str) -> str:
    # the first character test of each pattern first: most ids are neither
    if value[6:7] == "-" and _EXIM_ID.match(value):
        return "E"
    return "M" if value.startswith("md5") and _MDAEMON_ID.match(value) else "X"


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


def shape(text: str, spots: _Spots | None = None) -> str:
    """The key of a collapsed header: its text with per-message values masked."""
    at = spots or _spots(text)
    return _masked_rest(*_masked_head(_spliced(text, at), at.low))


def _spliced(text: str, at: _Spots) -> str:
    """The text with the from word, by host, queue id and date replaced by their classes."""
    low, by, ident, semi = at.low, at.by, at.id, at.semi
    stop = -1
    if low.startswith("from "):
        word_end = _WORD_END.search(text, 5)
        stop = word_end.start() if word_end else len(text)
    if stop >= 0 and by and ident and stop <= by[0] and by[1] <= ident[0] and ident[1] <= semi:
        # the common order, from < by < id < date, without overlaps: spliced directly
        return "".join((
            text[:5], _from_class(text[5:stop]), text[stop : by[0]],
            _by_class(text[by[0] : by[1]]), text[by[1] : ident[0]],
            _id_class(text[ident[0] : ident[1]]), text[ident[1] : semi],
            _DATE.sub("D", text[semi:]),
        ))  # fmt: skip
    spans: list[tuple[int, int, str]] = []
    if stop >= 0:
        spans.append((5, stop, _from_class(text[5:stop])))
    if by:
        spans.append((by[0], by[1], _by_class(text[by[0] : by[1]])))
    if ident:
        spans.append((ident[0], ident[1], _id_class(text[ident[0] : ident[1]])))
    if semi >= 0:
        spans.append((semi, len(text), _DATE.sub("D", text[semi:])))
    spans.sort()
    out: list[str] = []
    done = 0
    for start, end, repl in spans:
        if start >= done:  # an overlapping span is dropped: the first one is kept
            out.append(text[done:start])
            out.append(repl)
            done = end
    out.append(text[done:])
    return "".join(out)


def _masked_head(s: str, low: str) -> tuple[str, bool, bool]:
    """The first masks, over the whole text; then whether the others can apply (``[`` and
    ``@`` present: no later mask adds or removes either of them where it decides)."""
    if "<" in s:
        s = _ANGLE.sub("<A>", s)
    if "elo" in low:
        s = _HELO.sub(_helo_class, s)
    return s, "[" in s, "@" in s


def _masked_rest(s: str, bracket: bool, at_sign: bool) -> str:
    """The other masks. None of them matches a space unless a ``[`` follows it, so the text
    may be cut at any other space and each piece masked apart, with the same result (the
    flags, taken over the whole text, decide as before; within a piece a mask is skipped
    only where it cannot match: no ``[`` or no ``]:`` in it)."""
    if bracket:
        if "[" in s:
            s = _RDNS.sub(_rdns_class, s)
            s = _LITERAL.sub(_literal_class, s)
        if "]:" in s:
            s = _PORT.sub("]:P", s)
    if at_sign:
        s = _USER.sub("(U@", s)
    return _PAREN_IP.sub(_paren_ip_class, s)


@lru_cache(maxsize=2048)
def _peer_of(part: str) -> tuple[str | None, str | None, str | None, str | None]:
    fast = fields.peer_fast(part)
    if fast is not None:
        return fast
    clause = Clause("from", _tokens(part))
    clause.seal()
    return fields.peer(clause)


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
        self._tails: dict[tuple[str, bool, bool], str] = {}
        self.hits = 0
        self.misses = 0

    def parse(self, value: str) -> ReceivedHeader:
        """The same record as ``parse_received(value)``."""
        if len(value) > MAX_HEADER:
            return parse_received(value)
        text = collapse(value)
        spots = _spots(text)
        key = self._shape(text, spots)
        entry = self._cache.get(key, _UNSEEN)
        if isinstance(entry, _Template):
            self.hits += 1
            return _record(text, spots, entry)
        full = parse_received(value)
        self.misses += 1
        if entry is _UNSEEN:
            self._remember(key, full, text, spots)
        return full

    def _shape(self, text: str, spots: _Spots) -> str:
        """``shape(text)``, the masks of the part after the peer's comment remembered: it is
        the same for every message through the same relay (the values in it are masked)."""
        s, bracket, at_sign = _masked_head(_spliced(text, spots), spots.low)
        cut = s.find(") ", 5) + 1  # the space after the first comment
        if cut <= 0 or s.startswith("[", cut + 1):
            return _masked_rest(s, bracket, at_sign)
        tail = (s[cut:], bracket, at_sign)
        done = self._tails.get(tail)
        if done is None:
            if len(self._tails) >= self._size:
                self._tails.pop(next(iter(self._tails)))
            done = self._tails[tail] = _masked_rest(*tail)
        return _masked_rest(s[:cut], bracket, at_sign) + done

    def _remember(self, key: str, full: ReceivedHeader, text: str, spots: _Spots) -> None:
        if len(self._cache) >= self._size:
            self._cache.pop(next(iter(self._cache)))  # oldest first: bounded memory
        template = _Template(full.tls, full.via, full.protocol)
        same = _record(text, spots, template) == full
        self._cache[key] = template if same else _FULL


def _record(text: str, at: _Spots, t: _Template) -> ReceivedHeader:
    """The header's record from its template and its volatile fields, read the light way
    (without the dialect table)."""
    by, ident, recipient = at.by, at.id, at.rcpt
    host = helo = rdns = ip = None
    if at.low.startswith("from "):
        host, helo, rdns, ip = _peer_of(text[5 : by[0] - 4 if by else len(text)])
    date_raw = None
    if at.semi >= 0:
        tail = text[at.semi + 1 :]
        if tail.endswith(")"):  # the pattern is anchored at the end, on a ")"
            tail = _TRAILING_COMMENTS.sub("", tail)
        date_raw = tail.strip() or None
    header: ReceivedHeader = make_received_header(  # the fields in their order
        clip(text),  # raw
        host,  # from_host
        helo,  # from_helo
        rdns,  # from_rdns
        ip,  # from_ip
        text[by[0] : by[1]] if by else None,  # by_host
        t.via,
        t.protocol,
        text[ident[0] : ident[1]] if ident else None,  # id
        (text[recipient[0] : recipient[1]].strip("<>") or None) if recipient else None,  # for_
        date_raw,
        fields.parse_date(date_raw) if date_raw else None,  # timestamp
        t.tls,
    )
    return header


__all__ = ["ReceivedParser", "shape"]
