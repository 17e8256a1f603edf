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
from pandas.arrays import ArrowStringArray

from analyzer.metrics.common import group_codes

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
    # Building the empty arrays costs about 0.1 ms a column, and a report without logs asks
    # for the same few empty frames again and again: one of each, copied.
    return pd.DataFrame({c: _array([], dtype=t) for c, t in schema}, columns=[c for c, _ in schema])


def isin(series: pd.Series, values: Iterable[object]) -> np.ndarray:
    """``series.isin(values)`` as a numpy bool array; Arrow-backed strings go through
    ``pyarrow.compute.is_in`` (pandas converts them to Python objects first: 25x slower)."""
    if isinstance(series.array, ArrowStringArray):
        arr = pa.array(series.array)
        chosen = pa.array([str(v) for v in values], type=arr.type)
        found = pc.is_in(arr, value_set=chosen, skip_nulls=True)
        return np.asarray(found.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
    return series.isin(list(values)).fillna(False).to_numpy(dtype=bool)


def per_distinct(
    df: pd.DataFrame, keys: list[str], build: Callable[[pd.DataFrame], pd.DataFrame]
) -> pd.DataFrame:
    """``build(df[keys])`` for a row-by-row ``build``, computed on one row per distinct
    combination of ``keys`` and spread back to every row (``df``'s index).

    Log frames repeat a few hundred hosts over millions of rows: string work done once per
    host instead of once per row.
    """
    codes, first = group_codes(df, keys)
    few = build(df[keys].iloc[first].reset_index(drop=True))
    return pd.DataFrame({c: few[c].array.take(codes) for c in few.columns}, index=df.index)


def period_start(stamps: pd.Series, freq: str) -> pd.Series:
    """The first day (``YYYY-MM-DD``, UTC) of the period (``D``, ``W``, ``M``) of each time
    stamp, <NA> for none; formatted once per distinct day, not once per row."""
    naive = pd.to_datetime(stamps, utc=True).dt.tz_localize(None)
    codes, distinct = pd.factorize(naive.dt.floor("D") if freq in ("D", "W", "M") else naive)
    labels = pd.Series(distinct).dt.to_period(freq).dt.start_time.dt.strftime("%Y-%m-%d")
    picked = pd.array(labels.tolist(), dtype="string").take(codes, allow_fill=True)
    return pd.Series(picked, index=stamps.index)


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
