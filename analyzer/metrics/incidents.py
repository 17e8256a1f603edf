"""Certificate incidents and handshake failures from the events frame.

An **incident** is a run of certificate failures (categories ``certificate-*``) for one peer
MX, split where no failure was seen for ``gap`` (default one day). Its ``failure_category``
lists the categories seen, most frequent first; ``certificate-unverified`` (Postfix's generic
"Server certificate not verified", logged beside the specific reason) is listed only when no
specific reason was logged in the run. For each
incident: first and last seen, duration, failure events (sessions), and what happened to the
mail sent to that MX during the window, from the deliveries frame (same peer host or address,
timestamp within the window): delivered untrusted (encrypted, so TLS went on without a valid
certificate), fell back to plaintext, deferred, bounced; messages = distinct queue ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import cast

import numpy as np
import pandas as pd

from analyzer.metrics.columns import (
    blank_to_na,
    empty_frame,
    isin,
    rows_where,
    take,
    take_rows,
    text,
)
from analyzer.metrics.common import factorized, group_codes

CERTIFICATE_CATEGORIES: tuple[str, ...] = (
    "certificate-expired",
    "certificate-not-yet-valid",
    "certificate-revoked",
    "certificate-self-signed",
    "certificate-not-trusted",
    "certificate-host-mismatch",
    "certificate-unverified",
)
INCIDENT_COLUMNS = (
    "peer", "peer_ip", "failure_category", "first_seen", "last_seen", "duration_s", "sessions",
    "messages", "delivered_untrusted", "fell_back", "deferred", "bounced",
)  # fmt: skip
_GENERIC = "certificate-unverified"
_EMPTY_INCIDENTS = {
    "peer": "string", "peer_ip": "string", "failure_category": "string",
    "first_seen": "datetime64[s, UTC]", "last_seen": "datetime64[s, UTC]", "duration_s": "Float64",
    **dict.fromkeys(INCIDENT_COLUMNS[6:], "Int64"),
}  # fmt: skip
_FAILURE_EVENTS = ("tls-failed", "certificate-failed", "connection-lost")


def _peer(df: pd.DataFrame) -> pd.Series:
    host = blank_to_na(df["peer_host"])
    host = host.mask(host == "unknown")
    return host.fillna(blank_to_na(df["peer_ip"])).fillna("(unknown)")


def _naive(stamps: pd.Series) -> np.ndarray:
    """Time stamps as numpy UTC datetimes (NaT for none)."""
    return pd.to_datetime(stamps, utc=True).dt.tz_localize(None).to_numpy()


def _positions(codes: np.ndarray, wanted: dict[str, int]) -> dict[str, np.ndarray]:
    """For each key of ``wanted``, the positions (ascending) of the rows whose code is its
    value: one pass over the rows kept, not one per key."""
    keep = np.flatnonzero(np.isin(codes, np.fromiter(wanted.values(), dtype=np.int64)))
    picked = codes[keep]
    order = np.argsort(picked, kind="stable")
    sorted_codes = picked[order]
    out: dict[str, np.ndarray] = {}
    for key, code in wanted.items():
        lo, hi = np.searchsorted(sorted_codes, [code, code + 1])
        out[key] = keep[order[lo:hi]]
    return out


def _is(series: pd.Series, value: str) -> np.ndarray:
    """``text(series) == value`` as a numpy bool array (missing is False); a categorical is
    compared on its codes."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        names = series.cat.categories.astype(str).to_numpy(dtype=object)
        return np.isin(series.cat.codes.to_numpy(), np.flatnonzero(names == value))
    return isin(series, (value,))


class _DeliveriesNear:
    """The deliveries of each MX (same peer name, or same address) and what happened to them
    inside a window: positions per peer and per address (of the ``peers`` and ``ips`` asked
    about), and one numpy array per fact, built once for all incidents."""

    def __init__(self, deliveries: pd.DataFrame, peers: set[str], ips: set[str]) -> None:
        peer_codes, names = _peer_numbers(deliveries)
        self.by_peer = _positions(peer_codes, {n: k for k, n in enumerate(names) if n in peers})
        ip_codes, ip_names = factorized(deliveries["peer_ip"])
        logged = pd.Series(ip_names).notna().tolist()
        ip_wanted = {str(n): k for k, n in enumerate(ip_names) if logged[k] and str(n) in ips}
        self.by_ip = _positions(np.asarray(ip_codes, dtype=np.int64), ip_wanted)
        self.stamps = _naive(deliveries["timestamp"])
        self.outcome = {o: _is(deliveries["outcome"], o) for o in ("delivered", "deferred",
                                                                   "bounced")}  # fmt: skip
        encrypted = cast(pd.arrays.BooleanArray, deliveries["encrypted"].astype("boolean").array)
        self.encrypted = encrypted.to_numpy(dtype=bool, na_value=False)
        self.plain = (~encrypted).to_numpy(dtype=bool, na_value=False)
        queue, queues = factorized(deliveries["queue_id"])
        ids = pd.Series(queues)
        none = np.flatnonzero(ids.isna().to_numpy(dtype=bool) | isin(ids, ("",)))
        self.queue: np.ndarray = np.where(np.isin(queue, none), -1, queue)  # -1: no queue id

    def _window(self, near: np.ndarray | None, lo: np.datetime64, hi: np.datetime64) -> np.ndarray:
        if near is None:
            return np.array([], dtype=np.intp)
        return np.asarray(near[(self.stamps[near] >= lo) & (self.stamps[near] <= hi)])

    def outcomes(
        self, peer: str, ip: str, start: pd.Timestamp, end: pd.Timestamp
    ) -> tuple[int, int, int, int, int]:
        """Messages, delivered untrusted, fell back, deferred, bounced inside the window."""
        lo, hi = (t.tz_convert("UTC").tz_localize(None).to_datetime64() for t in (start, end))
        # each list cut to the window first, then the two joined (a delivery counts once)
        by_peer = self._window(self.by_peer.get(peer), lo, hi)
        by_ip = self._window(self.by_ip.get(ip) if ip else None, lo, hi)
        if len(by_peer) + len(by_ip) > len(self.stamps) // 64:  # many: one mask, no sort
            mask = np.zeros(len(self.stamps), dtype=bool)
            mask[by_peer] = mask[by_ip] = True
            w = np.flatnonzero(mask)
        else:
            w = np.union1d(by_peer, by_ip)
        delivered, queues = self.outcome["delivered"][w], self.queue[w]
        return (
            len(np.unique(queues[queues >= 0])),
            int((delivered & self.encrypted[w]).sum()),
            int((delivered & self.plain[w]).sum()),
            int(self.outcome["deferred"][w].sum()),
            int(self.outcome["bounced"][w].sum()),
        )


@dataclass(frozen=True, slots=True)
class _Runs:
    """Certificate failure events put in runs: ordered by peer name, then by time (stable).

    Attributes:
        starts: start of each run in that order, then the number of events.
        peers: peer name of each run.
        ips: first address logged in each run ("" for none).
        stamps: time stamp of each event (tz-aware, as logged), in that order.
        categories: category number of each event (-1: none), in that order.
        names: category of each number.
    """

    starts: np.ndarray
    peers: list[str]
    ips: list[str]
    stamps: pd.arrays.DatetimeArray
    categories: np.ndarray
    names: list[str]


def _runs(e: pd.DataFrame, gap: timedelta) -> _Runs:
    """The runs of ``e``: a new one at each peer, and after a silence longer than ``gap``."""
    peer, names = _peer_numbers(e)
    rank = np.empty(len(names), dtype=np.int64)
    rank[sorted(range(len(names)), key=names.__getitem__)] = np.arange(len(names))
    stamps = _naive(e["timestamp"])
    order = np.lexsort((stamps, rank[peer]))  # stable: equal stamps keep the log's order
    peer, stamps = peer[order], stamps[order]
    new = np.ones(len(order), dtype=bool)
    new[1:] = (peer[1:] != peer[:-1]) | (np.diff(stamps) > np.timedelta64(gap))
    starts = np.append(np.flatnonzero(new), len(order))
    codes, categories = pd.factorize(e["failure_category"])  # -1: none
    return _Runs(
        starts, [names[p] for p in peer[starts[:-1]].tolist()], _first_ips(e, order, starts),
        e["timestamp"].array.take(order), codes[order], [str(c) for c in categories],
    )  # fmt: skip


def _first_ips(e: pd.DataFrame, order: np.ndarray, starts: np.ndarray) -> list[str]:
    """The first address logged (not missing, not empty) in each run ("" for none)."""
    ip = e["peer_ip"]
    logged = ip.notna().to_numpy(dtype=bool) & ~isin(ip, ("",))
    seen = np.flatnonzero(logged[order])
    at = np.searchsorted(seen, starts[:-1])
    found = [k < len(seen) and seen[k] < end for k, end in zip(at, starts[1:], strict=True)]
    picked = take(ip, order[seen[at[found]]]).tolist()
    values = iter(str(v) for v in picked)
    return [next(values) if hit else "" for hit in found]


def _categories(codes: np.ndarray, names: list[str]) -> tuple[str, int]:
    """The categories of a run, most frequent first (ties: first seen first), the generic one
    only when alone; and the run's events of the generic category."""
    known = codes[codes >= 0]
    distinct, first, counts = np.unique(known, return_index=True, return_counts=True)
    order = sorted(range(len(distinct)), key=lambda i: (-int(counts[i]), int(first[i])))
    listed = [names[distinct[i]] for i in order]
    generic = sum(int(counts[i]) for i in order if names[distinct[i]] == _GENERIC)
    specific = [c for c in listed if c != _GENERIC]
    return ", ".join(specific or [_GENERIC]), generic


def _incident(runs: _Runs, n: int, near_mx: _DeliveriesNear) -> tuple[object, ...]:
    """Incident row of run ``n``."""
    lo, hi = int(runs.starts[n]), int(runs.starts[n + 1])
    peer, ip = runs.peers[n], runs.ips[n]
    first, last = cast(pd.Timestamp, runs.stamps[lo]), cast(pd.Timestamp, runs.stamps[hi - 1])
    outcome = near_mx.outcomes(peer, ip, first, last)
    categories, generic = _categories(runs.categories[lo:hi], runs.names)
    sessions = hi - lo - generic
    return (peer, ip or None, categories, first, last, (last - first).total_seconds(),
            sessions or hi - lo, *outcome)  # fmt: skip


def certificate_incidents(
    events: pd.DataFrame, deliveries: pd.DataFrame, gap: timedelta = timedelta(days=1)
) -> pd.DataFrame:
    """One row per incident (columns ``INCIDENT_COLUMNS``), longest-lasting first."""
    if events.empty:
        return empty_frame(_EMPTY_INCIDENTS)
    cert = isin(events["failure_category"], CERTIFICATE_CATEGORIES) & events[
        "timestamp"
    ].notna().to_numpy(dtype=bool)
    if not cert.any():
        return empty_frame(_EMPTY_INCIDENTS)
    e = rows_where(events, cert, ["timestamp", "peer_host", "peer_ip", "failure_category"])
    runs = _runs(e, gap)
    near_mx = _DeliveriesNear(deliveries, set(runs.peers), set(runs.ips))
    out = pd.DataFrame([_incident(runs, n, near_mx) for n in range(len(runs.peers))],
                       columns=list(INCIDENT_COLUMNS))  # fmt: skip
    for col in ("peer", "peer_ip", "failure_category"):
        out[col] = out[col].astype("string")
    for col in ("first_seen", "last_seen"):
        out[col] = pd.to_datetime(out[col], utc=True)
    out["duration_s"] = out["duration_s"].astype("Float64")
    for col in INCIDENT_COLUMNS[6:]:
        out[col] = out[col].astype("Int64")
    out = out.sort_values(["duration_s", "sessions", "peer"], ascending=[False, False, True])
    return out.reset_index(drop=True)


def _failure_rows(events: pd.DataFrame) -> np.ndarray:
    """Positions of the failed TLS attempts (events with a failure category)."""
    kind = isin(events["event"], _FAILURE_EVENTS)
    return np.flatnonzero(kind & events["failure_category"].notna().to_numpy(dtype=bool))


def _peer_numbers(df: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """A number per distinct ``_peer`` value of each row, and the values so numbered;
    ``_peer`` is computed once per distinct (host, address)."""
    pairs, first = group_codes(df, ["peer_host", "peer_ip"])
    peers, names = pd.factorize(_peer(take_rows(df, first, ["peer_host", "peer_ip"])))
    return np.asarray(peers[pairs], dtype=np.int64), [str(n) for n in names]


def _ordered(names: Sequence[Sequence[object]], counts: np.ndarray) -> list[int]:
    """Group order: count descending, then the key strings ascending."""
    return sorted(range(len(counts)), key=lambda i: (-int(counts[i]), *(str(k[i]) for k in names)))


def _coded(series: pd.Series, fill: str | None) -> tuple[np.ndarray, list[str | None]]:
    """``text(series).fillna(fill)`` as a number per row and the text of each number, without
    a string per row (a categorical is numbered on its codes)."""
    codes, distinct = pd.factorize(series)  # missing: -1
    names: list[str | None] = [str(v) for v in distinct]
    at = names.index(fill) if fill is not None and fill in names else len(names)
    if at == len(names):
        names.append(fill)
    return np.where(codes < 0, at, codes), names


def _grouped(
    f: pd.DataFrame, fills: dict[str, str | None]
) -> tuple[np.ndarray, np.ndarray, list[list[str | None]]]:
    """Group number of each row of ``f`` over the columns of ``fills`` (each as ``_coded``),
    the first row of each group, and each group's text per column."""
    coded = {k: _coded(f[k], fill) for k, fill in fills.items()}
    codes, first = group_codes(pd.DataFrame({k: c for k, (c, _) in coded.items()}), list(fills))
    names = [[n[i] for i in c[first].tolist()] for c, n in coded.values()]
    return codes, first, names


def handshake_failures(events: pd.DataFrame) -> pd.DataFrame:
    """Failed TLS attempts per failure category and RFC 8460 result type, by direction.

    Columns: ``failure_category``, ``rfc8460_result_type`` (``(none)`` where RFC 8460 has no
    type), ``direction``, ``count``, ``peers`` (distinct peers).
    """
    keys = ["failure_category", "rfc8460_result_type", "direction"]
    empty = {**dict.fromkeys(keys, "string"), "count": "Int64", "peers": "Int64"}
    if events.empty:
        return empty_frame(empty)
    rows = _failure_rows(events)
    if not len(rows):
        return empty_frame(empty)
    f = take_rows(events, rows, [*keys, "peer_host", "peer_ip"])
    fills = {"failure_category": None, "rfc8460_result_type": "(none)", "direction": "(unknown)"}
    codes, first, names = _grouped(f, fills)
    count = np.bincount(codes, minlength=len(first))
    peer = _peer_numbers(f)[0]
    width = int(peer.max()) + 1
    pairs = pd.unique(codes.astype(np.int64) * width + peer)  # distinct (group, peer)
    peers = np.bincount(pairs // width, minlength=len(first))
    order = _ordered(names, count)
    out = {
        k: pd.array([v[i] for i in order], dtype="string") for k, v in zip(keys, names, strict=True)
    }
    return pd.DataFrame({**out, "count": pd.array(count[order], dtype="Int64"),
                         "peers": pd.array(peers[order], dtype="Int64")})  # fmt: skip


def top_errors(events: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The ``n`` most frequent raw error texts (``detail``) of failed TLS attempts.

    Columns: ``failure_category``, ``detail``, ``count``, ``example`` (one raw line).
    """
    empty = {"failure_category": "string", "detail": "string", "count": "Int64",
             "example": "string"}  # fmt: skip
    if events.empty:
        return empty_frame(empty)
    rows = _failure_rows(events)
    if not len(rows):
        return empty_frame(empty)
    f = take_rows(events, rows, ["failure_category", "detail"])
    codes, first, names = _grouped(f, {"failure_category": None, "detail": ""})
    count = np.bincount(codes, minlength=len(first))
    order = _ordered(names, count)[:n]
    raw = text(take(events["raw"], rows[first[order]])).fillna("")
    return pd.DataFrame({
        "failure_category": pd.array([names[0][i] for i in order], dtype="string"),
        "detail": pd.array([names[1][i] for i in order], dtype="string"),
        "count": pd.array(count[order], dtype="Int64"),
        "example": pd.array(raw.tolist(), dtype="string"),
    })  # fmt: skip
