"""Encryption coverage of messages, hops and sessions: overall, by direction, peer, period.

Definitions (each a tally of a nullable ``encrypted`` flag, see ``common``):

* a **message** (mailbox) is encrypted when every hop inside the trust boundary (the boundary
  hop and internal hops) was: the ``encrypted_inside`` column of the messages frame; a message
  without transport headers, or with no hop inside the boundary, is unknown;
* a **hop** counts when we can vouch for it: roles ``boundary`` and ``internal`` by default
  (``external`` hops are claims written by others; ``local`` hops are loopback);
* a **session** is one row of the deliveries frame (a delivery attempt or a received message).

``observations`` puts messages and sessions in one frame of units (columns ``unit``,
``direction``, ``peer_domain``, ``peer``, ``timestamp``, ``encrypted``) so that the breakdowns
by direction, by peer domain and MX, and over time are the same function for both.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analyzer.metrics.columns import (
    blank_to_na,
    isin,
    map_unique,
    per_distinct,
    period_start,
    text,
)
from analyzer.metrics.common import Tally, remember_factorized, tally, tally_frame, tally_rows
from analyzer.metrics.domains import registrable_domain

VOUCHED_ROLES: tuple[str, ...] = ("boundary", "internal")
OBSERVATION_COLUMNS = ("unit", "direction", "peer_domain", "peer", "timestamp", "encrypted")


def message_coverage(messages: pd.DataFrame) -> Tally:
    """Tally of messages by ``encrypted_inside`` (no-evidence messages are unknown)."""
    return tally(messages["encrypted_inside"])


def hop_coverage(hops: pd.DataFrame, roles: Sequence[str] = VOUCHED_ROLES) -> Tally:
    """Tally of the hops whose role is in ``roles``."""
    return tally(hops["encrypted"], isin(hops["role"], roles))


def session_coverage(deliveries: pd.DataFrame) -> Tally:
    """Tally of the sessions (delivery attempts and received messages) of the logs."""
    return tally(deliveries["encrypted"])


def _mailbox_units(messages: pd.DataFrame) -> pd.DataFrame:
    peer = text(messages["boundary_from"])
    return pd.DataFrame(
        {
            "unit": "message",
            "direction": "inbound",
            "peer_domain": map_unique(peer, registrable_domain).astype("string"),
            "peer": peer,
            "timestamp": messages["date"],
            "encrypted": messages["encrypted_inside"].astype("boolean"),
        }
    )


def _session_units(deliveries: pd.DataFrame) -> pd.DataFrame:
    keys = ["direction", "peer_host", "peer_ip", "recipient_domain"]
    units = per_distinct(deliveries, keys, _session_peers)
    units.insert(0, "unit", pd.Series(_repeated("session", len(units)), index=units.index))
    units["timestamp"] = deliveries["timestamp"]
    units["encrypted"] = deliveries["encrypted"].astype("boolean")
    return units


def _repeated(value: str, n: int) -> pd.api.extensions.ExtensionArray:
    """``value`` ``n`` times as nullable strings, its factorization remembered (all zeros)."""
    one = pd.Series([value], dtype="string")
    zeros = np.zeros(n, dtype=np.intp)
    out = one.array.take(zeros)
    if n:
        remember_factorized(out, zeros, pd.factorize(one, use_na_sentinel=False)[1])
    return out


def _session_peers(deliveries: pd.DataFrame) -> pd.DataFrame:
    direction = text(deliveries["direction"])
    host = blank_to_na(deliveries["peer_host"])
    peer = host.mask(host == "unknown").fillna(blank_to_na(deliveries["peer_ip"]))
    peer_domain = map_unique(peer, registrable_domain).astype("string")
    outbound = direction == "outbound"
    recipient = blank_to_na(deliveries["recipient_domain"]).str.lower()
    peer_domain = peer_domain.mask(outbound.fillna(False), recipient)
    return pd.DataFrame({"direction": direction, "peer_domain": peer_domain, "peer": peer})


def observations(messages: pd.DataFrame, deliveries: pd.DataFrame) -> pd.DataFrame:
    """Mailbox messages (inbound) and log sessions as one frame of units.

    ``peer_domain`` is the recipient domain for outbound sessions and the registrable domain
    of the peer host otherwise (for messages: of the boundary hop's peer).
    """
    parts = [_mailbox_units(messages)]
    if len(deliveries) or not len(messages):
        parts.append(_session_units(deliveries))
    filled = [p for p in parts if len(p)] or parts[:1]
    frame = filled[0] if len(filled) == 1 else pd.concat(filled, ignore_index=True)
    # one new frame, numbered from 0, its columns in their dtypes (no copy step by step)
    columns = {c: frame[c].astype("string").array for c in ("unit", "direction", "peer_domain",
                                                             "peer")}  # fmt: skip
    columns["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True).array
    columns["encrypted"] = frame["encrypted"].array
    return pd.DataFrame({c: columns[c] for c in OBSERVATION_COLUMNS}, copy=False)


def coverage_by(units: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Tally per group of ``by`` (e.g. ``["unit", "direction"]``, ``["peer_domain"]``)."""
    return tally_frame(units, by)


def coverage_over_time(
    units: pd.DataFrame, freq: str = "W", by: Sequence[str] = ("unit",)
) -> pd.DataFrame:
    """Tally per period (``D`` day, ``W`` week starting Monday, ``M`` month) and ``by``.

    The ``period`` column is the first day of the period as ``YYYY-MM-DD``; units without a
    timestamp are left out (their count is the difference to the overall total).
    """
    stamped = units["timestamp"].notna().to_numpy(dtype=bool)
    dated = units if stamped.all() else units[stamped]
    narrow = {"period": period_start(dated["timestamp"], freq)}  # only what is tallied
    narrow.update((k, dated[k]) for k in (*by, "encrypted"))
    return tally_rows(pd.DataFrame(narrow), ["period", *by], "encrypted", by_total=False)
