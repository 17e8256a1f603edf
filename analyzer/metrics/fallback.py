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
from typing import cast

import numpy as np
import pandas as pd

from analyzer.metrics.columns import empty_frame, isin, period_start, rows_where
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


_REASONS = pd.array([pd.NA, *(r.value for r in FallbackReason)], dtype="string")
_NONE, _FAILED, _NOT_OFFERED, _NOT_LOGGED = range(4)  # positions in ``_REASONS``


def delivered_outbound(
    deliveries: pd.DataFrame, columns: Sequence[str] | None = None
) -> pd.DataFrame:
    """Outbound deliveries with outcome ``delivered``, with a ``reason`` column added.

    ``columns``: keep only these columns of ``deliveries`` (and those the reason is read
    from: ``encrypted``, ``failure_category``, ``fallback``), numbered from 0; by default
    every column, with the index of ``deliveries``.
    """
    if deliveries.empty:
        return deliveries.assign(reason=pd.Series([], dtype="string"))
    # compared as they are (categorical or string): <NA> is not equal, so not kept
    outbound = isin(deliveries["direction"], ("outbound",))
    keep = outbound & isin(deliveries["outcome"], ("delivered",))
    d: pd.DataFrame
    if columns is None:
        d = deliveries[keep].copy()
    else:
        read = ("encrypted", "failure_category", "fallback")
        d = rows_where(deliveries, keep, list(dict.fromkeys([*columns, *read])))
    encrypted = cast(pd.arrays.BooleanArray, d["encrypted"].astype("boolean").array)
    plain = (~encrypted).to_numpy(dtype=bool, na_value=False)
    category = d["failure_category"]
    not_offered = isin(category, ("starttls-not-supported",))
    logged = category.notna().to_numpy(dtype=bool) & ~isin(category, ("",))
    fallback = d["fallback"].astype("boolean").array.to_numpy(dtype=bool, na_value=False)
    failed = fallback | (logged & ~not_offered)
    reason = np.where(plain, _NOT_LOGGED, _NONE)
    reason[plain & not_offered] = _NOT_OFFERED
    reason[plain & failed] = _FAILED  # the later rule wins
    d["reason"] = pd.Series(_REASONS.take(reason), index=d.index)
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
