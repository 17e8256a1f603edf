"""The columns of the log-side frames (issue 3, scope 6) that the metrics read.

The frames themselves are built in ``analyzer.frames``; this module only names the columns the
metrics rely on, and gives an empty frame of each for analyses without logs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

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


def _empty(columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame(
        {c: pd.Series([], dtype=_DTYPES.get(c, "string")) for c in columns}, columns=list(columns)
    )


def empty_events() -> pd.DataFrame:
    """An ``events`` frame without rows."""
    return _empty(EVENT_COLUMNS)


def empty_deliveries() -> pd.DataFrame:
    """A ``deliveries`` frame without rows."""
    return _empty(DELIVERY_COLUMNS)


def text(series: pd.Series) -> pd.Series:
    """A column as nullable strings (categoricals and enums compare as their values)."""
    return series.astype("string")


def blank_to_na(series: pd.Series) -> pd.Series:
    """A column as nullable strings with empty strings turned into <NA>."""
    s = series.astype("string")
    return s.mask(s == "")


def map_unique(series: pd.Series, func: Callable[[Any], Any]) -> pd.Series:
    """``series.map(func)`` calling ``func`` once per distinct value (missing stay missing)."""
    values = series.dropna().unique()
    table = {v: func(v) for v in values}
    return series.map(table)
