"""Clause fields of a Received header: peer names and address, by, with, id, for, date.

The address forms are those of trap 12 in shared reference received-formats.md §6:
``[IPv6:2001:…]``, bare ``[2a02:…]``, ``[::ffff:195.135.220.2]``, Microsoft's unbracketed
``(2603:10b6:…)``, zone ids ``[fe80::…%3]``, Exim ``([ip]:port helo=…)``, ZMailer
``([ip]:port "EHLO …")``, Cellopoint ``[(10.110.15.173)]``, qmail ``(user@ip)``, Kopano
``(ip:port)``, ``[local]`` and ``[unix socket]`` (not addresses).
"""

from __future__ import annotations

import ipaddress
import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_tz
from functools import lru_cache

from analyzer.received.scan import Clause, Clauses

_BRACKETED = re.compile(
    r"\[\(?(?:IPv6:|IPV6:|ipv6:)?([0-9A-Fa-f:.]{2,45}(?:%[A-Za-z0-9]{1,16})?)\)?\]"
)
_IPV4_SHAPE = re.compile(r"^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$")
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = re.compile(rf"^{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}$")  # no leading zeros, as ipaddress
_IP_PORT = re.compile(r"^(\d{1,3}(?:\.\d{1,3}){3})[:.]\d{1,5}$")  # Exim 3 "[ip.port]" too
_RDNS = re.compile(r"^(?:[^\s@()]{0,64}@)?([^\s\[\]()@]{1,255}) ?\[")
_NAME_ONLY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,253}$")
# The client's own HELO claim, removed before looking for the observed address and name.
_HELO_PART = re.compile(r'(?:\bhelo=|\b(?:HELO|EHLO|LHLO) )"?[^\s)"]{0,255}"?')
_NOT_NAMES = frozenset({"unverified", "verified", "may be forged"})
# Exim "(helo=x)" / "([ip]:port helo=x)", qmail and IronPort "(HELO x)", Zimbra "(LHLO x)",
# ZMailer '"EHLO x"', CommuniGate "(account nazgul HELO x)" (received-formats.md §3.3-§3.20).
_HELO = re.compile(r'(?:\bhelo=|\b(?:HELO|EHLO|LHLO) )"?([^\s)"]{1,255})')


# The commonest case, "[192.0.2.1]" or "192.0.2.1" with valid octets, in one match: for
# exactly these texts the steps below give the address itself.
_PLAIN_V4 = re.compile(
    rf"\[({_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET})\]|({_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET})"
)


@lru_cache(maxsize=4096)
def as_ip(text: str) -> str | None:
    """``text`` without brackets/prefix/port if it is an IPv4 or IPv6 address, else None."""
    plain = _PLAIN_V4.fullmatch(text)
    if plain is not None:
        return plain.group(1) or plain.group(2)
    candidate = text.strip()
    bracketed = _BRACKETED.fullmatch(candidate)
    if bracketed:
        candidate = bracketed.group(1)
    with_port = _IP_PORT.match(candidate)
    if with_port:
        candidate = with_port.group(1)
    if _IPV4_SHAPE.match(candidate):  # the common case, without ipaddress's cost
        return candidate if _IPV4.match(candidate) else None
    if ":" not in candidate:
        return None
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return None
    return candidate


def _comment_ip(comment: str) -> str | None:
    """The peer address a from-part comment states, skipping HELO literals."""
    comment = _HELO_PART.sub("", comment)  # "(HELO [10.1.1.1])" is a claim, not observed
    for m in _BRACKETED.finditer(comment):
        ip = as_ip(m.group(1))
        if ip:
            return ip
    # Unbracketed forms: Microsoft "(10.1.1.1)", qmail "(user@ip)" and "(user@[ip])",
    # Kopano "(ip:port)", a token before a bare IPv6 address (received-formats.md trap 12).
    for word in comment.split(" "):
        ip = as_ip(word.rsplit("@", 1)[-1])
        if ip:
            return ip
    return None


def _comment_rdns(comment: str) -> str | None:
    m = _RDNS.match(_HELO_PART.sub("", comment).strip())
    if m is None or m.group(1).startswith(("IPv6:", "IPV6:")):
        return None
    name = m.group(1).rstrip(".")
    return name or None


def peer(from_clause: Clause | None) -> tuple[str | None, str | None, str | None, str | None]:
    """(from_host, from_helo, from_rdns, from_ip) of the ``from`` clause."""
    if from_clause is None:
        return None, None, None, None
    host = from_clause.first_word()
    helo = rdns = ip = None
    for comment in from_clause.comments:
        if len(comment) > 600:
            continue
        if helo is None:
            m = _HELO.search(comment)
            if m:
                helo = m.group(1)
        if ip is None:
            ip = _comment_ip(comment)
            if ip is not None or "[local]" in comment or "[unix socket]" in comment:
                rdns = _comment_rdns(comment)
    if ip is None:
        # A literal after the from word, outside any comment (fetchmail, MDaemon, GMX):
        # "from host [1.2.3.4] by", "from host [(1.2.3.4)] by"; else the from word itself.
        for word in [*from_clause.words[1:], host or ""]:
            if word.startswith("[") and (ip := as_ip(word)):
                break
        else:
            ip = as_ip(host) if host else None
    if ip is None and rdns is None:
        names = [c for c in from_clause.comments if _NAME_ONLY.match(c) and c not in _NOT_NAMES]
        if len(names) == 1 and len(from_clause.comments) == 1:
            rdns = names[0]  # "(unknown)", "(NODE50)": a looked-up name without an address
    return host, helo, rdns, ip


# The from parts most writers use, read directly when nothing else in the part could change
# the result (no HELO label elsewhere, no IDENT "user@"); anything else, or an address that
# does not parse, goes through the tokeniser and ``peer``:
#   Postfix, sendmail: "host (rdns [address]) ..."        (received-formats.md §3.1, §3.2)
#   Exim <= 4.92, Gmail: "host ([address]:port)", "[a] ([a])" (§3.3, §3.5)
#   Exchange: "host (10.1.2.3)", "host (2603:10b6::21)"     (§3.4)
#   Exim: "[address] (helo=name)"                          (§3.3)
_HOST = r"(\[[^\[\]\s]{1,60}\]|[^\s()\[\]]{1,255})"
_COMMON_FROM = re.compile(_HOST + r" \(([^\s()\[\]@]{1,255}) (\[[^\[\]\s]{2,60}\])\)(?= |$)")
_LITERAL_FROM = re.compile(_HOST + r" \((\[[^\[\]\s]{2,60}\])(?::\d{1,5})?\)(?= |$)")
_BARE_FROM = re.compile(_HOST + r" \(([0-9A-Fa-f:.]{2,45})\)(?= |$)")
_HELO_FROM = re.compile(r"(\[[^\[\]\s]{2,60}\]) \(helo=([^\s)\"]{1,255})\)")


def peer_fast(part: str) -> tuple[str | None, str | None, str | None, str | None] | None:
    """``peer`` of a from part (text after ``from`` up to ``by``) in a common form, else None."""
    m = _HELO_FROM.fullmatch(part)
    if m is not None:
        ip = as_ip(m.group(1))
        return (m.group(1), m.group(2), None, ip) if ip is not None else None
    if "helo=" in part or "HELO " in part or "EHLO " in part or "LHLO " in part:
        return None
    m = _COMMON_FROM.match(part)
    if m is not None:
        ip = as_ip(m.group(3))
        name = m.group(2)
        if ip is None or name.startswith(("IPv6:", "IPV6:")):
            return None
        return m.group(1), None, name.rstrip(".") or None, ip
    m = _LITERAL_FROM.match(part) or _BARE_FROM.match(part)
    if m is not None:
        ip = as_ip(m.group(2))
        return (m.group(1), None, None, ip) if ip is not None else None
    return None


def protocol(clause: Clause | None) -> str | None:
    """The ``with`` keyword as written: its words up to the first comment after a word."""
    if clause is None:
        return None
    words: list[str] = []
    for item in clause.items:
        if item.startswith("("):
            if words:
                break
            continue
        words.append(item)
    return " ".join(words) or None


def word_after(clauses: Clauses, key: str) -> str | None:
    clause = clauses.first(key)
    if clause is None:
        return None
    word = clause.first_word()
    return word.rstrip(";") if word else None


def recipient(clauses: Clauses) -> str | None:
    word = word_after(clauses, "for")
    if word is None:
        return None
    return word.strip("<>") or None


# SendGrid's filter writes Go's time.String() without ";": "2020-03-01 00:43:01.144647825 +0000
# UTC m=+393876.418737966" (received-formats.md §3.25).
_GO_TIME = re.compile(
    r"(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.\d{1,9})? ([+-])(\d\d)(\d\d)"
)
# IBM writes the date without ";" at the end (received-formats.md §3.2).
_TRAILING_DATE = re.compile(
    r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?\d{1,2} [A-Z][a-z]{2} \d{2,4} \d\d:\d\d(?::\d\d(?:\.\d{1,9})?)? [+-]\d{4}$"
)


_FRACTION = re.compile(r"(\d\d:\d\d:\d\d)\.(\d{1,9})")
_TRAILING_COMMENT = re.compile(r"(?: \([^()]{0,40}\))+$")


# The RFC 5322 form nearly every writer uses: "[Mon, ]20 Feb 2023 20:05:16[.987] +0200[ (EET)]".
# Read directly (email.utils is several times slower); anything else goes the tolerant way.
_RFC5322 = re.compile(
    r"(?:[A-Z][a-z]{2}, ?)?(\d{1,2}) ([A-Z][a-z]{2}) (\d{4}) (\d\d):(\d\d)(?::(\d\d))?"
    r"(?:\.(\d{1,9}))? ([+-])(\d\d)(\d\d)(?: \([^()]{0,40}\))?"
)
_MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
)}  # fmt: skip


def _fast_date(text: str) -> datetime | None:
    m = _RFC5322.fullmatch(text)
    if m is None or m.group(2) not in _MONTHS:
        return None
    day, mon, year, hh, mm, ss, frac, sign, oh, om = m.groups()
    try:
        naive = datetime(
            int(year), _MONTHS[mon], int(day), int(hh), int(mm), int(ss or 0),
            int((frac or "0")[:6].ljust(6, "0")),
        )  # fmt: skip
    except ValueError:
        return None
    offset = timedelta(hours=int(oh), minutes=int(om))
    return (naive - offset if sign == "+" else naive + offset).replace(tzinfo=UTC)


@lru_cache(maxsize=2048)
def parse_date(text: str) -> datetime | None:
    """An RFC 5322 date (tolerant: no weekday, 2-digit years, comments) as aware UTC; None
    when unreadable, or outside the calendar once in UTC ("31 Dec 9999 23:59:59 -0500")."""
    if not text or len(text) > 200:
        return None
    try:
        return _parse_date(text)
    except OverflowError:
        return None


def _parse_date(text: str) -> datetime | None:
    fast = _fast_date(text)
    if fast is not None:
        return fast
    micro = 0
    fraction = _FRACTION.search(text)
    if fraction:  # SendGrid "02:54:16.987 +0000": email.utils cannot read fractions
        micro = int(fraction.group(2)[:6].ljust(6, "0"))
        text = text[: fraction.start()] + fraction.group(1) + text[fraction.end() :]
    parts = parsedate_tz(text)
    if parts is not None and parts[9] is not None:
        try:
            naive = datetime(*parts[:6])
        except ValueError:
            return None
        return (naive - timedelta(seconds=parts[9])).replace(tzinfo=UTC, microsecond=micro)
    m = _GO_TIME.search(text)
    if m:
        y, mo, d, h, mi, s, sign, oh, om = m.groups()
        offset = (int(oh) * 60 + int(om)) * (1 if sign == "+" else -1)
        try:
            naive = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s))
        except ValueError:
            return None
        return (naive - timedelta(minutes=offset)).replace(tzinfo=UTC)
    return None


def date(clauses: Clauses) -> tuple[str | None, datetime | None]:
    """The date text and its UTC value; falls back to a date at the end of the header."""
    clause = clauses.first("date")
    if clause is not None:
        text = " ".join(clause.words)
        when = parse_date(text)
        if when is not None or text:
            return text or None, when
    m = _TRAILING_DATE.search(_TRAILING_COMMENT.sub("", clauses.text[-120:]))
    if m:
        return m.group(0), parse_date(m.group(0))
    m2 = _GO_TIME.search(clauses.text)
    if m2:
        return m2.group(0), parse_date(m2.group(0))
    return None, None
