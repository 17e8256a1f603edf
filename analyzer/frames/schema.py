"""Declared column -> dtype schemas and the one function that turns records into a DataFrame.

Every frame of mailtls is built through ``build_frame`` so that its columns and dtypes are
the same whatever the input (an empty input gives an empty frame with the right dtypes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from analyzer.model import TLS_VERSION_ORDER


class Kind(StrEnum):
    """The closed set of column kinds a schema may declare."""

    STRING = "string"  # pandas nullable string
    INT = "Int64"  # nullable integer
    FLOAT = "Float64"  # nullable float
    BOOL = "boolean"  # nullable boolean: True / False / <NA> (unknown)
    TIME = "datetime64[ns, UTC]"  # aware UTC timestamps
    TLS_VERSION = "tls_version"  # ordered categorical SSLv2 < ... < TLSv1.3
    CATEGORY = "category"  # closed vocabulary (unordered categorical)


@dataclass(frozen=True, slots=True)
class Column:
    """One declared column.

    Attributes:
        name: the column name.
        kind: its dtype kind.
        doc: one line for the documentation of the frame.
        categories: for CATEGORY columns, the closed vocabulary (so empty frames keep it).
    """

    name: str
    kind: Kind
    doc: str
    categories: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Schema:
    """An ordered set of columns and the function that turns one record into one row tuple.

    Attributes:
        name: the frame's name (``hops``, ``messages``, ``issues`` ...).
        columns: the columns in output order.
    """

    name: str
    columns: tuple[Column, ...]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


TLS_VERSION_DTYPE = pd.CategoricalDtype(categories=list(TLS_VERSION_ORDER), ordered=True)


def _dtype(col: Column) -> Any:
    if col.kind is Kind.TLS_VERSION:
        return TLS_VERSION_DTYPE
    if col.kind is Kind.CATEGORY:
        return pd.CategoricalDtype(categories=list(col.categories), ordered=False)
    return col.kind.value


# The range of the frames' nanosecond time columns; a time outside it (a mangled year such
# as 0026 or 0255) is kept by the records but shown as missing in the frames.
_FIRST = pd.Timestamp.min.ceil("s").tz_localize(UTC).to_pydatetime()
_LAST = pd.Timestamp.max.floor("s").tz_localize(UTC).to_pydatetime()


def frame_time(ts: datetime | None) -> datetime | None:
    """``ts`` as the frames hold it: None when a nanosecond time column cannot."""
    if ts is None or _FIRST <= (ts if ts.tzinfo else ts.replace(tzinfo=UTC)) <= _LAST:
        return ts
    return None


_ARROW_TYPES = {
    Kind.STRING: pa.large_string(),
    Kind.INT: pa.int64(),
    Kind.FLOAT: pa.float64(),
    Kind.BOOL: pa.bool_(),
    Kind.TIME: pa.timestamp("ns", tz="UTC"),
}


class FrameBuilder:
    """Builds one frame from records streamed in, holding at most ``chunk`` rows as Python
    objects: each full chunk is converted to compact Arrow arrays (strings, numbers) or
    category codes, so the memory beyond the finished frame does not grow with the input.
    With ``on_chunk``, each converted chunk is handed to it instead of kept (a worker process
    sends its chunks on to the builder of the frame, which takes them with ``add_chunk``).

    Attributes:
        schema: the frame's declared columns.
        rows: rows added so far (less those handed to ``on_chunk``).
        on_chunk: where converted chunks go instead of this builder (None: kept here).
    """

    def __init__(
        self,
        schema: Schema,
        row: Callable[[Any], Sequence[object]],
        chunk: int = 2048,
        on_chunk: Callable[[list[Any], int], None] | None = None,
    ) -> None:
        self.schema = schema
        self._row = row
        self._chunk = chunk
        self.on_chunk = on_chunk
        self._buffer: list[Sequence[object]] = []
        self._parts: list[list[Any]] = [[] for _ in schema.columns]
        self._codes = [
            {c: i for i, c in enumerate(_categories(col))} if _categories(col) else None
            for col in schema.columns
        ]
        self.rows = 0

    def add(self, record: Any) -> None:
        self._buffer.append(self._row(record))
        self.rows += 1
        if len(self._buffer) >= self._chunk:
            self._flush()

    def extend(self, records: Iterable[Any]) -> FrameBuilder:
        # The loop of ``add``, without a method call per record (one per hop on the hot path).
        row, chunk = self._row, self._chunk
        for record in records:
            buffer = self._buffer
            buffer.append(row(record))
            self.rows += 1
            if len(buffer) >= chunk:
                self._flush()
        return self

    def _flush(self) -> None:
        if not self._buffer:
            return
        width = len(self.schema.columns)
        if any(len(values) != width for values in self._buffer):
            bad = next(len(v) for v in self._buffer if len(v) != width)
            raise ValueError(f"{self.schema.name}: row has {bad} values for {width} columns")
        columns = list(zip(*self._buffer, strict=True))
        rows = len(self._buffer)
        self._buffer = []
        chunk: list[Any] = []
        for col, values, codes in zip(self.schema.columns, columns, self._codes, strict=True):
            if codes is not None:
                # StrEnum members hash and compare as their str values; a value outside the
                # vocabulary (None included) is the missing code -1.
                get = codes.get
                chunk.append(np.array([get(v, -1) for v in values], dtype=np.int16))
            elif col.kind is Kind.STRING:
                chunk.append(pa.array(values, type=pa.large_string()))
            else:  # numbers, booleans, times: compact numpy values and a null mask
                arr = arrow_array(values, _ARROW_TYPES[col.kind])
                chunk.append(_numpy_part(col.kind, arr))
        if self.on_chunk is not None:
            self.rows -= rows  # handed on: no longer this builder's
            self.on_chunk(chunk, rows)
        else:
            for parts, part in zip(self._parts, chunk, strict=True):
                parts.append(part)

    def drain(self) -> None:
        """Convert the rows still buffered (handed to ``on_chunk`` when it is set)."""
        self._flush()

    def add_chunk(self, chunk: Sequence[Any], rows: int) -> None:
        """Append a chunk of ``rows`` rows converted by another builder of the same schema
        (what its ``on_chunk`` received, e.g. in another process), after the rows so far."""
        self._flush()
        for parts, part in zip(self._parts, chunk, strict=True):
            parts.append(part)
        self.rows += rows

    def finish(self) -> pd.DataFrame:
        """The frame of every record added, with the schema's columns and dtypes."""
        self._flush()
        data: dict[str, Any] = {}
        for col, parts, codes in zip(self.schema.columns, self._parts, self._codes, strict=True):
            if codes is not None:
                joined = np.concatenate(parts) if parts else np.array([], dtype=np.int16)
                data[col.name] = pd.Categorical.from_codes(joined, dtype=_dtype(col))
            elif col.kind is Kind.STRING:
                # Arrow strings become the frame's string column without a copy.
                chunked = pa.chunked_array(parts, pa.large_string())
                data[col.name] = pd.arrays.ArrowStringArray(chunked)
            else:
                data[col.name] = _from_numpy(col.kind, parts)
            parts.clear()
        # the columns are new arrays, in the schema's order: taken as they are, not copied
        return pd.DataFrame(data, copy=False)


_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1


def _int64(value: Any) -> Any:
    """An int a 64-bit column cannot hold as None; anything else as it is (a value of the
    wrong type stays, and fails again: that is a bug, not input)."""
    if type(value) is int and not _INT64_MIN <= value <= _INT64_MAX:
        return None
    return value


def arrow_array(values: Sequence[Any], arrow_type: pa.DataType) -> pa.Array:
    """``values`` as an Arrow array of ``arrow_type``; a time a nanosecond column cannot
    hold (``frame_time``) or a number a 64-bit one cannot is missing, not an error (input
    decides them: a year 0255, a 30-digit port)."""
    try:
        return pa.array(values, type=arrow_type, from_pandas=True)
    except (pa.ArrowInvalid, OverflowError):
        if pa.types.is_timestamp(arrow_type):
            fixed = list(map(frame_time, values))
        elif pa.types.is_integer(arrow_type):
            fixed = list(map(_int64, values))
        else:
            raise
        return pa.array(fixed, type=arrow_type, from_pandas=True)


def _numpy_part(kind: Kind, arr: pa.Array) -> tuple[Any, Any]:
    mask = arr.is_null().to_numpy(zero_copy_only=False)
    if kind is Kind.TIME:
        values = arr.cast(pa.int64()).fill_null(0).to_numpy()
    elif kind is Kind.BOOL:
        values = arr.fill_null(False).to_numpy(zero_copy_only=False)
    else:
        values = arr.fill_null(0).to_numpy()
    return values, mask


def _from_numpy(kind: Kind, parts: list[tuple[Any, Any]]) -> Any:
    numpy_type = {Kind.INT: np.int64, Kind.FLOAT: np.float64, Kind.BOOL: np.bool_}
    if parts:
        values = np.concatenate([p[0] for p in parts])
        mask = np.concatenate([p[1] for p in parts])
    else:
        values = np.array([], dtype=numpy_type.get(kind, np.int64))
        mask = np.array([], dtype=np.bool_)
    # ``values`` is a new array (``np.concatenate``): taken as it is, not copied again
    if kind is Kind.TIME:
        values = values.astype(np.int64, copy=False)
        values[mask] = np.iinfo(np.int64).min  # NaT
        return pd.DatetimeIndex(values.view("M8[ns]")).tz_localize("UTC").array
    if kind is Kind.BOOL:
        return pd.arrays.BooleanArray(values.astype(np.bool_, copy=False), mask)
    if kind is Kind.INT:
        return pd.arrays.IntegerArray(values.astype(np.int64, copy=False), mask)
    return pd.arrays.FloatingArray(values.astype(np.float64, copy=False), mask)


def _categories(col: Column) -> tuple[str, ...]:
    if col.kind is Kind.TLS_VERSION:
        return TLS_VERSION_ORDER
    return col.categories if col.kind is Kind.CATEGORY else ()


def build_frame(
    schema: Schema,
    records: Iterable[Any],
    row: Callable[[Any], Sequence[object]],
) -> pd.DataFrame:
    """Build the frame of ``schema`` from ``records``, with ``row`` mapping a record to a tuple."""
    return FrameBuilder(schema, row).extend(records).finish()
