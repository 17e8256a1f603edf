"""Counting encrypted / plaintext / unknown: the one tally every coverage figure uses.

``encrypted`` columns are nullable booleans: True, False, or <NA> when the evidence says
nothing. <NA> is counted as unknown, never as plaintext. Shares are fractions of the total
(the three shares add up to 1), so a reader sees how much is unknown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

TALLY_COLUMNS = (
    "total",
    "encrypted",
    "plaintext",
    "unknown",
    "encrypted_share",
    "plaintext_share",
    "unknown_share",
)


def share(part: int, whole: int) -> float:
    """``part / whole``, 0.0 for an empty whole."""
    return part / whole if whole else 0.0


@dataclass(frozen=True, slots=True)
class Tally:
    """Encrypted, plaintext and unknown counts of a set of messages, hops or sessions.

    Attributes:
        total: units counted.
        encrypted: units with positive evidence of TLS.
        plaintext: units with positive evidence of no TLS.
        unknown: units whose evidence says neither.
    """

    total: int
    encrypted: int
    plaintext: int
    unknown: int

    @property
    def encrypted_share(self) -> float:
        return share(self.encrypted, self.total)

    @property
    def plaintext_share(self) -> float:
        return share(self.plaintext, self.total)

    @property
    def unknown_share(self) -> float:
        return share(self.unknown, self.total)


def _bool_series(values: pd.Series) -> pd.Series:
    return values.astype("boolean")


def tally(values: pd.Series) -> Tally:
    """The tally of a nullable boolean ``encrypted`` column."""
    flags = _bool_series(values)
    enc = int((flags == True).sum())  # noqa: E712 - nullable boolean comparison
    plain = int((flags == False).sum())  # noqa: E712
    return Tally(len(flags), enc, plain, len(flags) - enc - plain)


def tally_frame(df: pd.DataFrame, by: Sequence[str], flag: str = "encrypted") -> pd.DataFrame:
    """One row per group of ``by`` with the tally of ``flag`` and its shares.

    Missing keys are kept as their own group (<NA>). Rows are sorted by total, largest first,
    then by key, so the order is stable.
    """
    keys = list(by)
    if df.empty:
        empty = {k: pd.Series([], dtype="string") for k in keys}
        empty.update({c: pd.Series([], dtype="Int64") for c in TALLY_COLUMNS[:4]})
        empty.update({c: pd.Series([], dtype="Float64") for c in TALLY_COLUMNS[4:]})
        return pd.DataFrame(empty, columns=[*keys, *TALLY_COLUMNS])
    flags = _bool_series(df[flag])
    work = pd.DataFrame(
        {
            **{k: df[k].astype("string") for k in keys},
            "total": 1,
            "encrypted": (flags == True).fillna(False).astype(int),  # noqa: E712
            "plaintext": (flags == False).fillna(False).astype(int),  # noqa: E712
        }
    )
    out = work.groupby(keys, dropna=False, sort=False, observed=True)[
        ["total", "encrypted", "plaintext"]
    ].sum()
    out = out.reset_index()
    out["unknown"] = out["total"] - out["encrypted"] - out["plaintext"]
    for col in ("encrypted", "plaintext", "unknown"):
        out[f"{col}_share"] = (out[col] / out["total"]).astype("Float64")
    for col in TALLY_COLUMNS[:4]:
        out[col] = out[col].astype("Int64")
    out = out.sort_values(["total", *keys], ascending=[False, *([True] * len(keys))])
    return out[[*keys, *TALLY_COLUMNS]].reset_index(drop=True)


def combine(*tallies: Tally) -> Tally:
    """The tally of several disjoint sets of units (e.g. messages and sessions)."""
    return Tally(
        sum(t.total for t in tallies),
        sum(t.encrypted for t in tallies),
        sum(t.plaintext for t in tallies),
        sum(t.unknown for t in tallies),
    )
