"""Assemble a message's Received headers into hops: numbering, delays, roles, trust boundary.

Headers are stacked newest first (RFC 5321 §4.4: each relay prepends its own), so hop 1 is the
bottom-most header. Trust is decided top-down: the receiving organisation wrote the top headers;
the first header (from the top) whose sending side is not one of the trusted hosts is the
*boundary*, where the mail entered; everything below it was written by others and is
forgeable (shared reference received-formats.md §7 point 12, trap 16).
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from analyzer.model import Dialect, Hop, ReceivedHeader, Role
from analyzer.received.fields import as_ip

_LOOPBACK = frozenset({"127.0.0.1", "::1", "::ffff:127.0.0.1"})
_LOCAL_HOSTS = frozenset(
    {"localhost", "localhost.localdomain", "local", "[local]", "[unix socket]"}
)
_LMTP = re.compile(r"(?i)^(?:utf8)?lmtps?a?$")
# Country-code second-level registrations (co.uk, com.au, ...) need three labels to name an
# organisation; without a public-suffix list this short-label rule is the documented heuristic.
_SHORT_SLD = 3


@dataclass(frozen=True, slots=True)
class TrustPolicy:
    """Which hosts belong to the receiving organisation.

    Attributes:
        patterns: shell-style patterns (``*.example.com``, ``mx?.example.org``, ``10.*``)
            matched case-insensitively against host names and addresses. Empty means: infer
            from the top-most ``by`` host of each message.
    """

    patterns: tuple[str, ...] = ()


@lru_cache(maxsize=4096)
def org_domain(host: str | None) -> str | None:
    """The organisation part of a host name: the last two labels (three under ``co.uk``-style
    suffixes). None for addresses and single labels."""
    if not host:
        return None
    name = host.lower().rstrip(".")
    if _is_ip(name) or "." not in name:
        return None
    labels = name.split(".")
    if len(labels) >= 3 and len(labels[-1]) == 2 and len(labels[-2]) <= _SHORT_SLD:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def _is_ip(text: str) -> bool:
    return as_ip(text) is not None


def is_local(h: ReceivedHeader) -> bool:
    """Loopback, unix socket, local pickup, LMTP store or content-filter reinjection (trap 16).

    Loopback means the conventional 127.0.0.1 and ::1 (or a peer named localhost): other
    127/8 addresses are used to stand in for remote hosts on test machines (as in the lab),
    so they are judged like any other peer.
    """
    ip = h.from_ip
    if ip in _LOOPBACK:
        return True
    if ip is None:
        if (h.from_host or "").lower() in _LOCAL_HOSTS:
            return True
    elif ip.startswith("127.") and (h.from_rdns or "").lower() in _LOCAL_HOSTS:
        return True
    dialect = h.tls.dialect
    if dialect is Dialect.AMAVIS:
        return True
    # Postfix pickup "by host (Postfix, from userid 0) id X" and locally generated bounces
    # "by host (Postfix) id X": no peer and no protocol at all.
    if h.from_host is None and h.protocol is None and dialect is Dialect.POSTFIX:
        return True
    return _is_lmtp(h.protocol or "") and (ip is None or _private(ip))


@lru_cache(maxsize=256)
def _is_lmtp(protocol: str) -> bool:
    return bool(_LMTP.match(protocol))


@lru_cache(maxsize=4096)
def _private(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip.split("%", 1)[0]).is_private
    except ValueError:
        return False


def _matches(policy: TrustPolicy, *names: str | None) -> bool:
    for name in names:
        if not name:
            continue
        low = name.lower().rstrip(".")
        if any(fnmatch.fnmatchcase(low, p.lower()) for p in policy.patterns):
            return True
    return False


def _trusted_sender(h: ReceivedHeader, policy: TrustPolicy, orgs: set[str]) -> bool:
    if policy.patterns:
        return _matches(policy, h.from_rdns, h.from_host, h.from_ip)
    names = (h.from_rdns, h.from_host)
    if any(org_domain(n) in orgs for n in names if n):
        return True
    # Without patterns, an internal (private) address seen by one of our hosts is ours.
    return h.from_ip is not None and _private(h.from_ip) and h.from_rdns is None


def roles(headers: Sequence[ReceivedHeader], policy: TrustPolicy) -> list[Role]:
    """The role of each header, in the order given (top, newest, first)."""
    local = [is_local(h) for h in headers]
    orgs: set[str] = set()
    if not policy.patterns:
        for h, is_loc in zip(headers, local, strict=True):
            if not is_loc and (org := org_domain(h.by_host)):
                orgs.add(org)
                break
    out: list[Role] = []
    crossed = False
    for h, is_loc in zip(headers, local, strict=True):
        if is_loc:
            out.append(Role.LOCAL)
        elif crossed:
            out.append(Role.EXTERNAL)
        elif _trusted_sender(h, policy, orgs):
            out.append(Role.INTERNAL)
        else:
            out.append(Role.BOUNDARY)
            crossed = True
    return out


def delays(headers: Sequence[ReceivedHeader]) -> list[float | None]:
    """Seconds from the previous (older) dated header to each header, bottom (hop 1) first;
    None for the oldest dated one and for undated ones."""
    out: list[float | None] = []
    previous = None
    for index in range(len(headers) - 1, -1, -1):
        when = headers[index].timestamp
        if when is None:
            out.append(None)
            continue
        out.append((when - previous).total_seconds() if previous is not None else None)
        previous = when
    return out


def skewed(delay: float | None) -> bool:
    """Whether a hop's delay proves clock skew: it arrived before the hop below it sent it."""
    return delay is not None and delay < 0


def assemble(
    source: str,
    message_id: str | None,
    headers: Sequence[ReceivedHeader],
    policy: TrustPolicy,
) -> list[Hop]:
    """Hops of one message from its headers in file order (top first); returned bottom first."""
    hop_roles = roles(headers, policy)
    last = len(headers) - 1
    return [
        Hop(
            source=source,
            message_id=message_id,
            hop=number,
            role=hop_roles[last - number + 1],
            delay_s=delay,
            clock_skew=skewed(delay),
            header=headers[last - number + 1],
        )
        for number, delay in enumerate(delays(headers), start=1)
    ]
