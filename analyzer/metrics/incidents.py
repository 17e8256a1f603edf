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

import pandas as pd

from analyzer.metrics.columns import blank_to_na, text

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
_FAILURE_EVENTS = ("tls-failed", "certificate-failed", "connection-lost")


def _peer(df: pd.DataFrame) -> pd.Series:
    host = blank_to_na(df["peer_host"])
    host = host.mask(host == "unknown")
    return host.fillna(blank_to_na(df["peer_ip"])).fillna("(unknown)")


def _runs(stamps: pd.Series, gap: timedelta) -> pd.Series:
    """Run number of each (sorted) timestamp: a new run after a silence longer than ``gap``."""
    return (stamps.diff() > pd.Timedelta(gap)).cumsum()


def _categories(categories: pd.Series) -> str:
    counts = categories.value_counts()
    specific = [str(c) for c in counts.index if c != _GENERIC]
    return ", ".join(specific or [_GENERIC])


def _outcomes(d: pd.DataFrame, start: object, end: object) -> tuple[int, int, int, int, int]:
    """What happened to the deliveries ``d`` (already those of the MX) inside the window."""
    inside = (d["timestamp"] >= start) & (d["timestamp"] <= end)
    w = d[inside.fillna(False)]
    outcome = text(w["outcome"])
    delivered = outcome == "delivered"
    untrusted = int((delivered & (w["encrypted"] == True)).fillna(False).sum())  # noqa: E712
    fell_back = int((delivered & (w["encrypted"] == False)).fillna(False).sum())  # noqa: E712
    messages = int(blank_to_na(w["queue_id"]).dropna().nunique())
    deferred = int((outcome == "deferred").fillna(False).sum())
    bounced = int((outcome == "bounced").fillna(False).sum())
    return messages, untrusted, fell_back, deferred, bounced


def certificate_incidents(
    events: pd.DataFrame, deliveries: pd.DataFrame, gap: timedelta = timedelta(days=1)
) -> pd.DataFrame:
    """One row per incident (columns ``INCIDENT_COLUMNS``), longest-lasting first."""
    category = text(events["failure_category"])
    e = events[category.isin(list(CERTIFICATE_CATEGORIES)).fillna(False)].copy()
    e = e[e["timestamp"].notna()]
    e["peer"] = _peer(e)
    e = e.sort_values("timestamp", kind="stable")
    peers, ips = _peer(deliveries), text(deliveries["peer_ip"])
    by_peer = {str(k): g.index for k, g in deliveries.groupby(peers, sort=False)}
    by_ip = {str(k): g.index for k, g in deliveries.groupby(ips, sort=False, dropna=True)}
    rows: list[tuple[object, ...]] = []
    for peer, group in e.groupby("peer", sort=True):
        for _, run in group.groupby(_runs(group["timestamp"], gap), sort=True):
            cat = _categories(text(run["failure_category"]))
            first, last = run["timestamp"].min(), run["timestamp"].max()
            ips = blank_to_na(run["peer_ip"]).dropna()
            ip = str(ips.iloc[0]) if len(ips) else ""
            near = by_peer.get(str(peer), pd.Index([])).union(
                by_ip.get(ip, pd.Index([])) if ip else pd.Index([])
            )
            outcome = _outcomes(deliveries.loc[near], first, last)
            sessions = len(run) - int((text(run["failure_category"]) == _GENERIC).sum())
            rows.append(
                (peer, ip or None, cat, first, last, (last - first).total_seconds(),
                 sessions or len(run), *outcome)
            )  # fmt: skip
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


def _failures(events: pd.DataFrame) -> pd.DataFrame:
    kind = text(events["event"])
    has_category = text(events["failure_category"]).notna()
    return events[(kind.isin(list(_FAILURE_EVENTS)).fillna(False)) & has_category.fillna(False)]


def handshake_failures(events: pd.DataFrame) -> pd.DataFrame:
    """Failed TLS attempts per failure category and RFC 8460 result type, by direction.

    Columns: ``failure_category``, ``rfc8460_result_type`` (``(none)`` where RFC 8460 has no
    type), ``direction``, ``count``, ``peers`` (distinct peers).
    """
    f = _failures(events)
    work = pd.DataFrame(
        {
            "failure_category": text(f["failure_category"]),
            "rfc8460_result_type": text(f["rfc8460_result_type"]).fillna("(none)"),
            "direction": text(f["direction"]).fillna("(unknown)"),
            "peer": _peer(f),
        }
    )
    keys = ["failure_category", "rfc8460_result_type", "direction"]
    if work.empty:
        out = pd.DataFrame({k: pd.Series([], dtype="string") for k in keys})
        out["count"] = pd.Series([], dtype="Int64")
        out["peers"] = pd.Series([], dtype="Int64")
        return out
    g = work.groupby(keys, sort=True)
    out = pd.DataFrame({"count": g.size(), "peers": g["peer"].nunique()}).reset_index()
    out["count"] = out["count"].astype("Int64")
    out["peers"] = out["peers"].astype("Int64")
    return out.sort_values(["count", *keys], ascending=[False, True, True, True]).reset_index(
        drop=True
    )


def top_errors(events: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The ``n`` most frequent raw error texts (``detail``) of failed TLS attempts.

    Columns: ``failure_category``, ``detail``, ``count``, ``example`` (one raw line).
    """
    f = _failures(events)
    work = pd.DataFrame(
        {
            "failure_category": text(f["failure_category"]),
            "detail": text(f["detail"]).fillna(""),
            "raw": text(f["raw"]).fillna(""),
        }
    )
    if work.empty:
        cols = {c: pd.Series([], dtype="string") for c in ("failure_category", "detail")}
        return pd.DataFrame({**cols, "count": pd.Series([], dtype="Int64"),
                             "example": pd.Series([], dtype="string")})  # fmt: skip
    g = work.groupby(["failure_category", "detail"], sort=True)
    out = pd.DataFrame({"count": g.size(), "example": g["raw"].first()}).reset_index()
    out["count"] = out["count"].astype("Int64")
    out = out.sort_values(["count", "failure_category", "detail"], ascending=[False, True, True])
    return out.head(n).reset_index(drop=True)
