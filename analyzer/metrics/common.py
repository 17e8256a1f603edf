"""Counting encrypted / plaintext / unknown: the one tally every coverage figure uses.

``encrypted`` columns are nullable booleans: True, False, or <NA> when the evidence says
nothing. <NA> is counted as unknown, never as plaintext. Shares are fractions of the total
(the three shares add up to 1), so a reader sees how much is unknown.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pandas.arrays import ArrowExtensionArray

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


def tally(values: pd.Series, where: np.ndarray | None = None) -> Tally:
    """The tally of a nullable boolean ``encrypted`` column (of its rows where ``where`` is
    true, when given), counted on numpy arrays."""
    flags = _bool_series(values).array
    true = flags.to_numpy(dtype=bool, na_value=False)
    false = (~flags).to_numpy(dtype=bool, na_value=False)
    if where is not None:
        true, false = true & where, false & where
    total = len(flags) if where is None else int(np.count_nonzero(where))
    enc, plain = int(np.count_nonzero(true)), int(np.count_nonzero(false))
    return Tally(total, enc, plain, total - enc - plain)


_MEMO: dict[tuple[str | int, ...], tuple[tuple[weakref.ref[Any], ...], Any]] = {}


def _arrow_data(columns: Sequence[pd.Series]) -> list[Any] | None:
    """The pyarrow data of each column, or None unless all are Arrow-backed."""
    data = []
    for column in columns:
        values = column.array
        if not isinstance(values, ArrowExtensionArray):
            return None
        data.append(values.__arrow_array__())
    return data


def _remembered(what: str, data: list[Any], compute: Callable[[], Any]) -> Any:
    """``compute()``, remembered as ``what`` of ``data`` while every array of ``data`` lives
    (pyarrow arrays are immutable: the same data always gives the same result)."""
    key: tuple[str | int, ...] = (what, *(id(d) for d in data))
    hit = _MEMO.get(key)
    if hit is not None and all(r() is d for r, d in zip(hit[0], data, strict=True)):
        return hit[1]
    result = compute()
    _MEMO[key] = (tuple(weakref.ref(d, _forgetter(key)) for d in data), result)
    return result


def _forgetter(key: tuple[str | int, ...]) -> Callable[[weakref.ref[Any]], None]:
    """The callback that drops what was remembered under ``key`` once its data is gone."""

    def forget(_: weakref.ref[Any]) -> None:
        _MEMO.pop(key, None)

    return forget


def _factorize(series: pd.Series) -> tuple[np.ndarray, Any]:
    codes, distinct = pd.factorize(series, use_na_sentinel=False)
    codes.flags.writeable = False
    return codes, distinct


def factorized(series: pd.Series) -> tuple[np.ndarray, Any]:
    """``pandas.factorize(series, use_na_sentinel=False)``: a code per row (missing values are
    a value of their own) and the distinct values; the codes are read-only.

    Remembered for an Arrow-backed column while its data lives: one analysis groups the
    same log columns (peer host and address, queue id...) in several metrics, and
    factorizing 500,000 strings costs 5 to 25 ms each time.
    """
    data = _arrow_data([series])
    if data is None:
        return pd.factorize(series, use_na_sentinel=False)
    result: tuple[np.ndarray, Any] = _remembered("factorized", data, lambda: _factorize(series))
    return result


def remember_factorized(values: Any, codes: np.ndarray, distinct: Any) -> None:
    """Record what ``factorized`` of ``values`` (an array or column) is, when it is known
    without hashing every row (values spread from one row per group): an Arrow-backed
    array only."""
    data = _arrow_data([pd.Series(values, copy=False)])
    if data is not None:
        codes.flags.writeable = False
        _remembered("factorized", data, lambda: (codes, distinct))


def group_codes(df: pd.DataFrame, keys: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Group number of each row over ``keys`` (missing values are a group of their own) and the
    position of the first row of each group; groups are numbered in order of appearance.

    Hash-based (``pandas.factorize`` per key, the codes combined arithmetically): no sort.
    Remembered, as ``factorized``, when every key column is Arrow-backed; the arrays
    returned are read-only.
    """
    data = _arrow_data([df[k] for k in keys])
    if data is None:
        return _group_codes(df, keys)
    result: tuple[np.ndarray, np.ndarray] = _remembered(
        "group_codes", data, lambda: _group_codes(df, keys)
    )
    return result


def _group_codes(df: pd.DataFrame, keys: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    combined = np.zeros(len(df), dtype=np.int64)
    scale = 1
    for k in keys:
        codes, distinct = factorized(df[k])
        width = len(distinct) + 1
        if scale * width >= 1 << 62:  # renumber before the product could overflow
            combined = pd.factorize(combined)[0].astype(np.int64)
            scale = int(combined.max()) + 1
        combined = combined * width + codes
        scale *= width
    groups = pd.factorize(combined)[0]
    # numbered by first appearance: a group starts where the running maximum grows
    seen = np.maximum.accumulate(groups) if len(groups) else groups
    first = (
        np.flatnonzero(np.concatenate(([True], groups[1:] > seen[:-1]))) if len(groups) else groups
    )
    groups.flags.writeable = first.flags.writeable = False
    return groups, first


def _key_order(columns: Sequence[Sequence[object]], totals: np.ndarray | None) -> list[int]:
    """Row order: total descending (unless ``totals`` is None), then each key ascending with
    missing keys last."""

    def key(i: int) -> tuple[object, ...]:
        parts: list[object] = [] if totals is None else [-int(totals[i])]
        for col in columns:
            v = col[i]
            parts += [1, ""] if v is None or v is pd.NA else [0, v]
        return tuple(parts)

    return sorted(range(len(columns[0]) if columns else 0), key=key)


def tally_frame(df: pd.DataFrame, by: Sequence[str], flag: str = "encrypted") -> pd.DataFrame:
    """One row per group of ``by`` with the tally of ``flag`` and its shares.

    Missing keys are kept as their own group (<NA>). Rows are sorted by total, largest first,
    then by key, so the order is stable.
    """
    return tally_rows(df, by, flag, by_total=True)


def tally_rows(df: pd.DataFrame, by: Sequence[str], flag: str, *, by_total: bool) -> pd.DataFrame:
    """``tally_frame``, its rows sorted by total then key (``by_total``) or by key alone."""
    keys = list(by)
    if df.empty:
        empty = {k: pd.Series([], dtype="string") for k in keys}
        empty.update({c: pd.Series([], dtype="Int64") for c in TALLY_COLUMNS[:4]})
        empty.update({c: pd.Series([], dtype="Float64") for c in TALLY_COLUMNS[4:]})
        return pd.DataFrame(empty, columns=[*keys, *TALLY_COLUMNS])
    # group numbers from the columns as they are (categorical codes, no string conversion of
    # every row), counts with numpy, order with one sort of the (few) groups
    codes, first = group_codes(df, keys)
    values = [df[k].array.take(first).astype("string").tolist() for k in keys]
    flags = _bool_series(df[flag]).array  # <NA> is neither encrypted nor plaintext
    n = len(first)
    enc = np.bincount(codes, weights=flags.to_numpy(dtype=bool, na_value=False), minlength=n)
    plain = np.bincount(codes, weights=(~flags).to_numpy(dtype=bool, na_value=False), minlength=n)
    counts = {"total": np.bincount(codes, minlength=n), "encrypted": enc.astype(np.int64),
              "plaintext": plain.astype(np.int64)}  # fmt: skip
    counts["unknown"] = counts["total"] - counts["encrypted"] - counts["plaintext"]
    order = np.array(_key_order(values, counts["total"] if by_total else None), dtype=np.intp)
    out: dict[str, object] = {
        k: pd.array([v[i] for i in order], dtype="string")
        for k, v in zip(keys, values, strict=True)
    }
    for col in TALLY_COLUMNS[:4]:
        out[col] = pd.array(counts[col][order], dtype="Int64")
    for col in TALLY_COLUMNS[1:4]:
        out[f"{col}_share"] = pd.array(counts[col][order] / counts["total"][order], dtype="Float64")
    return pd.DataFrame(out)  # keys, then TALLY_COLUMNS: in order (``columns=`` doubles the cost)


def combine(*tallies: Tally) -> Tally:
    """The tally of several disjoint sets of units (e.g. messages and sessions)."""
    return Tally(
        sum(t.total for t in tallies),
        sum(t.encrypted for t in tallies),
        sum(t.plaintext for t in tallies),
        sum(t.unknown for t in tallies),
    )
