"""The columns of the log-side frames (issue 3, scope 6) that the metrics read.

The frames themselves are built in ``analyzer.frames``; this module only names the columns the
metrics rely on, and gives an empty frame of each for analyses without logs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.arrays import ArrowExtensionArray, ArrowStringArray

from analyzer.metrics.common import group_codes, remember_factorized

EVENT_COLUMNS: tuple[str, ...] = (
    "timestamp", "host", "mta", "service", "pid", "queue_id", "direction", "peer_host",
    "peer_ip", "event", "trust", "tls_version", "cipher", "bits", "failure_category",
    "rfc8460_result_type", "detail", "source", "line", "raw",
)  # fmt: skip
DELIVERY_COLUMNS: tuple[str, ...] = (
    "timestamp", "mta", "direction", "queue_id", "message_id", "sender", "recipient_domain",
    "peer_host", "peer_ip", "encrypted", "tls_version", "cipher", "bits", "outcome",
    "fallback", "failure_category",
)  # fmt: skip
_DTYPES = {
    "timestamp": "datetime64[ns, UTC]",
    "pid": "Int64",
    "bits": "Int64",
    "line": "Int64",
    "encrypted": "boolean",
    "fallback": "boolean",
}


# pandas-stubs types ``pd.array`` per literal dtype name; the schemas here are data
_array: Any = pd.array


def empty_frame(schema: Mapping[str, str]) -> pd.DataFrame:
    """A frame without rows whose columns have the dtypes of ``schema`` (column -> dtype)."""
    return _empty_of(tuple(schema.items())).copy()


@lru_cache(maxsize=64)
def _empty_of(schema: tuple[tuple[str, str], ...]) -> pd.DataFrame:
    # A report without logs asks for the same few empty frames again and again: one of each,
    # copied; their columns share one empty array per dtype (building one costs about 0.1 ms).
    return pd.DataFrame({c: _empty_array(t) for c, t in schema})


@lru_cache(maxsize=32)
def _empty_array(dtype: str) -> Any:
    return _array([], dtype=dtype)


def isin(series: pd.Series, values: Iterable[object]) -> np.ndarray:
    """``series.isin(values)`` as a numpy bool array; Arrow-backed strings go through
    ``pyarrow.compute.is_in`` (pandas converts them to Python objects first: 25x slower)."""
    if isinstance(series.array, ArrowStringArray):
        arr = pa.array(series.array)
        chosen = pa.array([str(v) for v in values], type=arr.type)
        found = pc.is_in(arr, value_set=chosen, skip_nulls=True)
        return np.asarray(found.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
    if isinstance(series.dtype, pd.CategoricalDtype):
        # what ``Categorical.isin`` does, without its checks on the values (3 ms a call on
        # 500,000 rows): the categories equal to a value, then a test on the codes
        chosen = series.cat.categories.get_indexer_for(pd.Index(list(values)))
        return np.isin(series.cat.codes.to_numpy(), chosen[chosen >= 0])
    return series.isin(list(values)).fillna(False).to_numpy(dtype=bool)


def take(series: pd.Series, positions: np.ndarray) -> pd.Series:
    """``series.iloc[positions]`` numbered from 0 (positions are not negative).

    An Arrow column in chunks (the log frames' strings) is filtered by a mask of the positions
    instead: pyarrow's ``take`` on a chunked array first concatenates every chunk, copying
    the whole column (0.7 s for the 300 MB ``raw`` column of 1.9 million events, to pick ten
    lines), while a filter copies only the rows kept. Repeated or unordered positions are put
    back in their order on the rows kept.
    """
    pos = np.asarray(positions, dtype=np.intp)
    values = series.array
    if not isinstance(values, ArrowExtensionArray) or not len(pos):
        return pd.Series(values.take(pos), name=series.name)
    ordered = bool(np.all(pos[1:] > pos[:-1]))
    distinct, inverse = (pos, None) if ordered else np.unique(pos, return_inverse=True)
    mask = np.zeros(len(values), dtype=bool)
    mask[distinct] = True
    picked = values[mask]
    return pd.Series(picked if inverse is None else picked.take(inverse), name=series.name)


def take_rows(df: pd.DataFrame, positions: np.ndarray, columns: Iterable[str]) -> pd.DataFrame:
    """The rows of ``df`` at ``positions`` (``take``), ``columns`` only, numbered from 0."""
    return pd.DataFrame({c: take(df[c], positions) for c in columns})


def rows_where(df: pd.DataFrame, keep: np.ndarray, columns: Iterable[str]) -> pd.DataFrame:
    """The rows of ``df`` where the boolean array ``keep`` is true, ``columns`` only, numbered
    from 0: each column filtered on its own (``df.loc[keep, columns]`` takes the columns out
    of the frame's blocks first, then filters them: a copy more of each)."""
    return pd.DataFrame({c: df[c].array[keep] for c in columns})


def per_distinct(
    df: pd.DataFrame, keys: list[str], build: Callable[[pd.DataFrame], pd.DataFrame]
) -> pd.DataFrame:
    """``build(df[keys])`` for a row-by-row ``build``, computed on one row per distinct
    combination of ``keys`` and spread back to every row (``df``'s index).

    Log frames repeat a few hundred hosts over millions of rows: string work done once per
    host instead of once per row.
    """
    codes, first = group_codes(df, keys)
    few = build(take_rows(df, first, keys))
    out = {}
    for c in few.columns:
        out[c] = few[c].array.take(codes)
        # groups are numbered in order of appearance, so the few rows' factorization, spread,
        # is the column's own: remembered for the metrics that group by it
        number, distinct = pd.factorize(few[c], use_na_sentinel=False)
        remember_factorized(out[c], number[codes], distinct)
    return pd.DataFrame(out, index=df.index)


def period_start(stamps: pd.Series, freq: str) -> pd.Series:
    """The first day (``YYYY-MM-DD``, UTC) of the period (``D``, ``W``, ``M``) of each time
    stamp, <NA> for none; formatted once per distinct day, not once per row.

    Day, week and month are counted on numpy day numbers (weeks start on Monday, as
    pandas' ``W`` periods do; day 0, 1970-01-01, was a Thursday); any other ``freq`` goes
    through pandas periods. ``tests/test_metrics_columns.py`` holds the two equal.
    """
    naive = pd.to_datetime(stamps, utc=True).dt.tz_localize(None)
    if freq not in _DAY_PERIODS:
        return _period_start_pandas(naive, freq)
    days = naive.to_numpy().astype("datetime64[D]")
    missing = np.isnat(days)
    if freq == "W":
        number = days.astype(np.int64)
        days = (number - (number + 3) % 7).astype("datetime64[D]")
    elif freq == "M":
        days = days.astype("datetime64[M]").astype("datetime64[D]")
    # hashed, not sorted; a missing stamp is one more day number (NaT), labelled <NA>: the
    # codes are then exactly ``factorized`` of the labels, remembered for the tally that
    # groups by them
    number = np.where(missing, np.datetime64("NaT", "D"), days).view(np.int64)
    codes, distinct = pd.factorize(number)
    named = distinct.astype("datetime64[D]")
    names = np.datetime_as_string(named, unit="D").astype(object)
    names[np.isnat(named)] = None
    labels = pd.array(names.tolist(), dtype="string")
    out = labels.take(codes)
    remember_factorized(out, codes, pd.Index(labels))
    return pd.Series(out, index=stamps.index)


_DAY_PERIODS = frozenset({"D", "W", "M"})


def _period_start_pandas(naive: pd.Series, freq: str) -> pd.Series:
    codes, distinct = pd.factorize(naive)
    labels = pd.Series(distinct).dt.to_period(freq).dt.start_time.dt.strftime("%Y-%m-%d")
    picked = pd.array(labels.tolist(), dtype="string").take(codes, allow_fill=True)
    return pd.Series(picked, index=naive.index)


def _empty(columns: tuple[str, ...]) -> pd.DataFrame:
    return empty_frame({c: _DTYPES.get(c, "string") for c in columns})


def empty_events() -> pd.DataFrame:
    """An ``events`` frame without rows."""
    return _empty(EVENT_COLUMNS)


def empty_deliveries() -> pd.DataFrame:
    """A ``deliveries`` frame without rows."""
    return _empty(DELIVERY_COLUMNS)


def text(series: pd.Series) -> pd.Series:
    """A column as nullable strings (categoricals and enums compare as their values)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        # convert the few categories, then pick by code: ~20x faster than converting each row
        names = pd.array(series.cat.categories.astype(str).to_numpy(dtype=object), dtype="string")
        picked = names.take(series.cat.codes.to_numpy(), allow_fill=True)
        return pd.Series(picked, index=series.index, name=series.name)
    return series.astype("string")


def blank_to_na(series: pd.Series) -> pd.Series:
    """A column as nullable strings with empty strings turned into <NA>."""
    s = series.astype("string")
    return s.mask(s == "")


def map_unique(series: pd.Series, func: Callable[[Any], Any]) -> pd.Series:
    """``series.map(func)`` calling ``func`` once per distinct value (missing stay missing)."""
    codes, values = pd.factorize(series)  # missing values get code -1
    mapped = np.array([func(v) for v in values] + [None], dtype=object)
    return pd.Series(mapped[codes], index=series.index, name=series.name, dtype=object)
