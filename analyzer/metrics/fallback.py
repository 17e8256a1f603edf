"""Fallback to plaintext: the share of outbound deliveries that went plain, and why.

Over outbound deliveries that were delivered (a deferred attempt carried no mail):

* ``tls-failed-then-plain``: the ``fallback`` column (an earlier attempt failed TLS, this one
  went in plaintext), or a TLS failure logged for this very attempt;
* ``starttls-not-offered``: plaintext with failure category ``starttls-not-supported``;
* ``reason-not-logged``: plaintext with no reason in the log. Postfix at level ``may`` logs
  nothing when the peer does not offer STARTTLS, nor when TLS is disabled locally, so these
  two cannot be told apart from the log (log-formats.md; issue 3 scope 7).

Deliveries whose encryption the log does not prove are ``unknown``, not plaintext.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import pandas as pd

from analyzer.metrics.columns import empty_frame, period_start, text
from analyzer.metrics.common import share


class FallbackReason(StrEnum):
    """Why a delivered message went in plaintext."""

    TLS_FAILED_THEN_PLAIN = "tls-failed-then-plain"
    STARTTLS_NOT_OFFERED = "starttls-not-offered"
    REASON_NOT_LOGGED = "reason-not-logged"


@dataclass(frozen=True, slots=True)
class FallbackSummary:
    """Plaintext deliveries among outbound delivered mail.

    Attributes:
        delivered: outbound deliveries with outcome ``delivered``.
        encrypted: of those, proved encrypted.
        plaintext: of those, proved plaintext.
        unknown: of those, not proved either way.
        by_reason: plaintext deliveries per ``FallbackReason`` value (every reason present).
    """

    delivered: int
    encrypted: int
    plaintext: int
    unknown: int
    by_reason: tuple[tuple[str, int], ...]

    @property
    def rate(self) -> float:
        """Plaintext deliveries over all delivered (unknown ones stay in the denominator)."""
        return share(self.plaintext, self.delivered)


def delivered_outbound(deliveries: pd.DataFrame) -> pd.DataFrame:
    """Outbound deliveries with outcome ``delivered``, with a ``reason`` column added."""
    if deliveries.empty:
        return deliveries.assign(reason=pd.Series([], dtype="string"))
    # compared as they are (categorical or string): <NA> is not equal, so not kept
    keep = (deliveries["direction"] == "outbound") & (deliveries["outcome"] == "delivered")
    d = deliveries[keep.fillna(False).to_numpy(dtype=bool)].copy()
    plain = (d["encrypted"] == False).fillna(False)  # noqa: E712
    category = text(d["failure_category"])
    failed = d["fallback"].astype("boolean").fillna(False) | (
        category.fillna("").ne("") & category.ne("starttls-not-supported").fillna(True)
    )
    not_offered = category == "starttls-not-supported"
    reason = pd.Series(pd.NA, index=d.index, dtype="string")
    reason = reason.mask(plain, FallbackReason.REASON_NOT_LOGGED.value)
    reason = reason.mask(
        plain & not_offered.fillna(False), FallbackReason.STARTTLS_NOT_OFFERED.value
    )
    reason = reason.mask(plain & failed, FallbackReason.TLS_FAILED_THEN_PLAIN.value)
    d["reason"] = reason
    return d


def summary_of(d: pd.DataFrame) -> FallbackSummary:
    """``fallback_summary`` of deliveries already passed through ``delivered_outbound``."""
    if d.empty:
        return FallbackSummary(0, 0, 0, 0, tuple((r.value, 0) for r in FallbackReason))
    enc = int((d["encrypted"] == True).sum())  # noqa: E712
    plain = int((d["encrypted"] == False).sum())  # noqa: E712
    counts = d["reason"].value_counts()
    by_reason = tuple((r.value, int(counts.get(r.value, 0))) for r in FallbackReason)
    return FallbackSummary(len(d), enc, plain, len(d) - enc - plain, by_reason)


def fallback_summary(deliveries: pd.DataFrame) -> FallbackSummary:
    """The fallback-to-plaintext figures of outbound delivered mail."""
    return summary_of(delivered_outbound(deliveries))


_COUNTS = ("delivered", "plaintext", "unknown", *(r.value for r in FallbackReason))


def _empty_by(keys: list[str]) -> pd.DataFrame:
    return empty_frame({**dict.fromkeys(keys, "string"), **dict.fromkeys(_COUNTS, "Int64"),
                        "rate": "Float64"})  # fmt: skip


def by_of(d: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """``fallback_by`` of deliveries already passed through ``delivered_outbound``."""
    keys = list(by)
    if d.empty:
        return _empty_by(keys)
    if "period" in by:
        d = d.assign(period=period_start(d["timestamp"], "W"))
    work = pd.DataFrame({k: d[k].astype("string") for k in keys})
    work["delivered"] = 1
    work["plaintext"] = (d["encrypted"] == False).fillna(False).astype(int)  # noqa: E712
    work["unknown"] = d["encrypted"].isna().astype(int)
    for r in FallbackReason:
        work[r.value] = (d["reason"] == r.value).fillna(False).astype(int)
    counts = list(_COUNTS)
    out = work.groupby(keys, dropna=False, sort=False)[counts].sum().reset_index()
    out["rate"] = (out["plaintext"] / out["delivered"]).astype("Float64")
    for c in counts:
        out[c] = out[c].astype("Int64")
    out = out.sort_values(
        ["plaintext", "delivered", *keys], ascending=[False, False, *[True] * len(keys)]
    )
    return out.reset_index(drop=True)


def fallback_by(deliveries: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Per group of ``by`` (``recipient_domain``, ``peer_host``, or ``period`` for weeks):
    delivered, plaintext, unknown, rate, and one column per reason."""
    return by_of(delivered_outbound(deliveries), by)
