"""Join the hop our own MTA wrote to the log line of the same message, and compare them.

Postfix writes its queue id in the ``id`` clause of its Received header and in every log line
of the message (shared reference peers.md §6.3; Exim its message id likewise). A hop whose
``id`` equals the ``queue_id`` of an inbound delivery row is the same reception seen twice:
what the header claims and what the MTA logged. They disagree when both state the encryption
(or the version) and differ.
"""

from __future__ import annotations

import pandas as pd

from analyzer.metrics.columns import blank_to_na, empty_frame, isin, rows_where, text

JOIN_COLUMNS = (
    "source", "message_id", "hop", "by_host", "queue_id", "header_encrypted", "log_encrypted",
    "header_version", "log_version", "agree",
)  # fmt: skip


_EMPTY_JOIN = {
    "source": "string", "message_id": "string", "hop": "Int64", "by_host": "string",
    "queue_id": "string", "header_encrypted": "boolean", "log_encrypted": "boolean",
    "header_version": "string", "log_version": "string", "agree": "boolean",
}  # fmt: skip


def header_log_join(hops: pd.DataFrame, deliveries: pd.DataFrame) -> pd.DataFrame:
    """One row per hop whose ``id`` is the queue id of an inbound log row (``JOIN_COLUMNS``).

    ``agree`` is False when header and log both state encryption (or version) and differ,
    <NA> when either is silent, True otherwise.
    """
    if deliveries.empty:
        return empty_frame(_EMPTY_JOIN)
    inbound = isin(deliveries["direction"], ("inbound",))
    d = rows_where(deliveries, inbound, ["queue_id", "encrypted", "tls_version"])
    logged = pd.DataFrame(
        {
            "queue_id": blank_to_na(d["queue_id"]),
            "log_encrypted": d["encrypted"].astype("boolean"),
            "log_version": text(d["tls_version"]),
        }
    ).dropna(subset=["queue_id"])
    logged = logged.drop_duplicates("queue_id")
    if logged.empty:  # nothing to join (no inbound log row): skip converting every hop
        return empty_frame(_EMPTY_JOIN)
    h = pd.DataFrame(
        {
            "source": text(hops["source"]),
            "message_id": text(hops["message_id"]),
            "hop": hops["hop"].astype("Int64"),
            "by_host": text(hops["by_host"]),
            "queue_id": blank_to_na(hops["id"]),
            "header_encrypted": hops["encrypted"].astype("boolean"),
            "header_version": text(hops["tls_version"]),
        }
    ).dropna(subset=["queue_id"])
    out = h.merge(logged, on="queue_id", how="inner")
    enc_known = out["header_encrypted"].notna() & out["log_encrypted"].notna()
    ver_known = out["header_version"].notna() & out["log_version"].notna()
    differ = (enc_known & (out["header_encrypted"] != out["log_encrypted"])).fillna(False) | (
        ver_known & (out["header_version"] != out["log_version"])
    ).fillna(False)
    agree = pd.Series(pd.NA, index=out.index, dtype="boolean")
    agree = agree.mask(enc_known.fillna(False), True).mask(differ, False)
    out["agree"] = agree
    return out[list(JOIN_COLUMNS)].reset_index(drop=True)
