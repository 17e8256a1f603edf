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

from datetime import timedelta

import numpy as np
import pandas as pd

from analyzer.metrics.columns import blank_to_na, empty_frame, isin, per_distinct, text
from analyzer.metrics.common import group_codes

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


def _peer_frame(df: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"peer": _peer(df)})


def _peers(df: pd.DataFrame) -> pd.Series:
    """``_peer`` of every row, computed once per distinct (host, address)."""
    return per_distinct(df, ["peer_host", "peer_ip"], _peer_frame)["peer"]


def _runs(stamps: pd.Series, gap: timedelta) -> pd.Series:
    """Run number of each (sorted) timestamp: a new run after a silence longer than ``gap``."""
    return (stamps.diff() > pd.Timedelta(gap)).cumsum()


def _categories(categories: pd.Series) -> str:
    counts = categories.value_counts()
    specific = [str(c) for c in counts.index if c != _GENERIC]
    return ", ".join(specific or [_GENERIC])


class _DeliveriesNear:
    """The deliveries of each MX (same peer name, or same address) and what happened to them
    inside a window: positions per peer and per address, and one numpy array per fact, built
    once for all incidents."""

    def __init__(self, deliveries: pd.DataFrame) -> None:
        self.by_peer = deliveries.groupby(_peers(deliveries), sort=False).indices
        ips = text(deliveries["peer_ip"])
        self.by_ip = deliveries.groupby(ips, sort=False, dropna=True).indices
        stamps = pd.to_datetime(deliveries["timestamp"], utc=True).dt.tz_localize(None)
        self.stamps = stamps.to_numpy(dtype="datetime64[ns]")
        outcome = text(deliveries["outcome"])
        self.outcome = {o: (outcome == o).fillna(False).to_numpy(dtype=bool)
                        for o in ("delivered", "deferred", "bounced")}  # fmt: skip
        encrypted = deliveries["encrypted"].astype("boolean")
        self.encrypted = (encrypted == True).fillna(False).to_numpy(dtype=bool)  # noqa: E712
        self.plain = (encrypted == False).fillna(False).to_numpy(dtype=bool)  # noqa: E712
        self.queue = pd.factorize(blank_to_na(deliveries["queue_id"]))[0]  # -1: none

    def outcomes(
        self, peer: str, ip: str, start: pd.Timestamp, end: pd.Timestamp
    ) -> tuple[int, int, int, int, int]:
        """Messages, delivered untrusted, fell back, deferred, bounced inside the window."""
        none = np.array([], dtype=np.intp)
        near = np.union1d(self.by_peer.get(peer, none), self.by_ip.get(ip, none) if ip else none)
        lo, hi = (t.tz_convert("UTC").tz_localize(None).to_datetime64() for t in (start, end))
        w = near[(self.stamps[near] >= lo) & (self.stamps[near] <= hi)]
        delivered, queues = self.outcome["delivered"][w], self.queue[w]
        return (
            len(np.unique(queues[queues >= 0])),
            int((delivered & self.encrypted[w]).sum()),
            int((delivered & self.plain[w]).sum()),
            int(self.outcome["deferred"][w].sum()),
            int(self.outcome["bounced"][w].sum()),
        )


def _incident(peer: str, run: pd.DataFrame, near_mx: _DeliveriesNear) -> tuple[object, ...]:
    """One incident row from its run of failure events."""
    categories = text(run["failure_category"])
    first, last = run["timestamp"].min(), run["timestamp"].max()
    ips = blank_to_na(run["peer_ip"]).dropna()
    ip = str(ips.iloc[0]) if len(ips) else ""
    outcome = near_mx.outcomes(peer, ip, first, last)
    sessions = len(run) - int((categories == _GENERIC).sum())
    return (peer, ip or None, _categories(categories), first, last,
            (last - first).total_seconds(), sessions or len(run), *outcome)  # fmt: skip


def certificate_incidents(
    events: pd.DataFrame, deliveries: pd.DataFrame, gap: timedelta = timedelta(days=1)
) -> pd.DataFrame:
    """One row per incident (columns ``INCIDENT_COLUMNS``), longest-lasting first."""
    if events.empty:
        return empty_frame(_EMPTY_INCIDENTS)
    cert = isin(events["failure_category"], CERTIFICATE_CATEGORIES)
    e = events.loc[cert, ["timestamp", "peer_host", "peer_ip", "failure_category"]]
    e = e[e["timestamp"].notna()]
    e = e.assign(peer=_peers(e)).sort_values("timestamp", kind="stable")
    if e.empty:
        return empty_frame(_EMPTY_INCIDENTS)
    near_mx = _DeliveriesNear(deliveries)
    rows: list[tuple[object, ...]] = []
    for peer, group in e.groupby("peer", sort=True):
        for _, run in group.groupby(_runs(group["timestamp"], gap), sort=True):
            rows.append(_incident(str(peer), run, near_mx))
    out = pd.DataFrame(rows, columns=list(INCIDENT_COLUMNS))
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


def _peer_codes(df: pd.DataFrame) -> np.ndarray:
    """A number per distinct ``_peer`` value of each row, computed once per (host, address)."""
    pairs, first = group_codes(df, ["peer_host", "peer_ip"])
    peers = pd.factorize(_peer(df.iloc[first]))[0]
    return np.asarray(peers[pairs], dtype=np.int64)


def _ordered(names: list[list[object]], counts: np.ndarray) -> list[int]:
    """Group order: count descending, then the key strings ascending."""
    return sorted(range(len(counts)), key=lambda i: (-int(counts[i]), *(str(k[i]) for k in names)))


def handshake_failures(events: pd.DataFrame) -> pd.DataFrame:
    """Failed TLS attempts per failure category and RFC 8460 result type, by direction.

    Columns: ``failure_category``, ``rfc8460_result_type`` (``(none)`` where RFC 8460 has no
    type), ``direction``, ``count``, ``peers`` (distinct peers).
    """
    keys = ["failure_category", "rfc8460_result_type", "direction"]
    empty = {**dict.fromkeys(keys, "string"), "count": "Int64", "peers": "Int64"}
    if events.empty:
        return empty_frame(empty)
    f = events[[*keys, "peer_host", "peer_ip"]].iloc[_failure_rows(events)]
    if f.empty:
        return empty_frame(empty)
    work = pd.DataFrame(
        {
            "failure_category": text(f["failure_category"]),
            "rfc8460_result_type": text(f["rfc8460_result_type"]).fillna("(none)"),
            "direction": text(f["direction"]).fillna("(unknown)"),
        }
    )
    codes, first = group_codes(work, keys)
    names = [work[k].iloc[first].tolist() for k in keys]
    count = np.bincount(codes, minlength=len(first))
    peer = _peer_codes(f)
    width = int(peer.max()) + 1
    pairs = np.unique(codes.astype(np.int64) * width + peer)  # distinct (group, peer)
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
    f = events[["failure_category", "detail"]].iloc[rows]
    if f.empty:
        return empty_frame(empty)
    work = pd.DataFrame(
        {"failure_category": text(f["failure_category"]), "detail": text(f["detail"]).fillna("")}
    )
    codes, first = group_codes(work, ["failure_category", "detail"])
    names = [work[k].iloc[first].tolist() for k in ("failure_category", "detail")]
    count = np.bincount(codes, minlength=len(first))
    order = _ordered(names, count)[:n]
    raw = text(events["raw"].iloc[rows[first[order]]]).fillna("")
    return pd.DataFrame({
        "failure_category": pd.array([names[0][i] for i in order], dtype="string"),
        "detail": pd.array([names[1][i] for i in order], dtype="string"),
        "count": pd.array(count[order], dtype="Int64"),
        "example": pd.array(raw.tolist(), dtype="string"),
    })  # fmt: skip
