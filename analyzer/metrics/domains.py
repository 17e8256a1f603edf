"""The organisation a host name belongs to, without a network lookup.

Without the Public Suffix List (a data file this package does not ship) the registrable
domain is approximated: the last two labels, or three under a two-letter country code whose
second level is a generic one (``co.uk``, ``ac.uk``, ``com.au``, ``ac.za``). Address literals,
``unknown`` and single labels have no domain.
"""

from __future__ import annotations

import functools
import ipaddress

_GENERIC_SECOND_LEVEL = frozenset(
    {"ac", "co", "com", "edu", "gov", "govt", "mil", "net", "or", "org", "ne", "go", "gv"}
)


def _is_address(host: str) -> bool:
    literal = host.strip("[]").removeprefix("IPv6:").removeprefix("ipv6:")
    # an address ends in a digit (IPv4) or holds ":" (IPv6); most names do neither and skip
    # the parse (and its exception)
    if not literal[-1:].isdigit() and ":" not in literal:
        return False
    try:
        ipaddress.ip_address(literal)
    except ValueError:
        return False
    return True


def registrable_domain(host: object) -> str | None:
    """The registrable domain of ``host`` (lower case), or None when it has none."""
    if not isinstance(host, str):
        return None
    return _registrable(host)


@functools.lru_cache(maxsize=1 << 16)
def _registrable(host: str) -> str | None:
    # several metrics ask for the same hosts; the answer depends on the string alone
    name = host.strip().strip(".").lower()
    if not name or name == "unknown" or len(name) > 253 or _is_address(name):
        return None
    labels = name.split(".")
    if len(labels) < 2 or not all(labels):
        return None
    tld, second = labels[-1], labels[-2]
    if len(tld) == 2 and second in _GENERIC_SECOND_LEVEL and len(labels) >= 3:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])
