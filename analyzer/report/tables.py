"""Renderers for frames as files: CSV, JSON Lines and Parquet.

Every string in these frames came from attacker-controlled mail or logs. CSV cells that a
spreadsheet would run as a formula (leading ``=``, ``+``, ``-``, ``@``, tab or carriage return;
OWASP "CSV injection") are prefixed with a single quote. JSON Lines and Parquet are data
formats and keep values exactly.
"""

from __future__ import annotations

import io
import json
from enum import StrEnum
from typing import Any

import pandas as pd

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class TableFormat(StrEnum):
    """The file formats a frame can be written in."""

    CSV = "csv"
    JSONL = "jsonl"
    PARQUET = "parquet"


def neutralise(value: object) -> object:
    """A CSV cell that cannot start a spreadsheet formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def to_csv(df: pd.DataFrame) -> str:
    safe = df.copy()
    for col in safe.columns:
        if safe[col].dtype == "string" or safe[col].dtype == object:
            safe[col] = safe[col].map(neutralise, na_action="ignore")
    return safe.to_csv(index=False, date_format="%Y-%m-%dT%H:%M:%S%z")


def _json_value(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and value != value:  # NaN
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def to_jsonl(df: pd.DataFrame) -> str:
    """One JSON object per row, the frame's column names as keys, null for missing."""
    out = io.StringIO()
    columns = list(df.columns)
    for row in df.itertuples(index=False, name=None):
        obj = {c: _json_value(v) for c, v in zip(columns, row, strict=True)}
        out.write(json.dumps(obj, ensure_ascii=False))
        out.write("\n")
    return out.getvalue()


def to_parquet(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()


def render_table(df: pd.DataFrame, fmt: TableFormat) -> str | bytes:
    """The frame in ``fmt``: text for csv/jsonl, bytes for parquet."""
    if fmt is TableFormat.CSV:
        return to_csv(df)
    if fmt is TableFormat.JSONL:
        return to_jsonl(df)
    return to_parquet(df)
