"""Frames built from Arrow columns: the ``EVENTS`` and ``DELIVERIES`` columns of records as
Arrow tables (category columns as text, or as dictionary arrays: ``CODED``), and the frame
``build_frame`` gives for them.

The vectorised Postfix reader holds its rows as Arrow tables, block by block; ``frame_of``
(or ``FrameParts``, a table at a time) turns them into the same columns and dtypes as
``analyzer.frames.schema.build_frame``.
"""

from __future__ import annotations

import ctypes
import platform
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import repeat
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analyzer.frames.logs import DELIVERIES, EVENTS, _event_row
from analyzer.frames.schema import (
    Kind,
    Schema,
    _categories,
    _dtype,
    _from_numpy,
    _numpy_part,
    arrow_array,
    frame_time,
)
from analyzer.logs.delivery_rows import DeliveryRow
from analyzer.model.common import slot_fields
from analyzer.model.logs import TlsEvent

ARROW = {
    Kind.STRING: pa.large_string(),
    Kind.INT: pa.int64(),
    Kind.BOOL: pa.bool_(),
    Kind.TIME: pa.timestamp("ns", tz="UTC"),
    Kind.CATEGORY: pa.large_string(),
    Kind.TLS_VERSION: pa.large_string(),
}


# A category column of the events read the vectorised way: each distinct value once, and an
# index per row. The reading process gathers a column from its parts without copying the text
# of every row, hands over a quarter of the bytes, and the correlator and the frame read the
# few distinct values, not a text per row.
CODED = pa.dictionary(pa.int32(), pa.large_string())
_CODED_KINDS = (Kind.CATEGORY, Kind.TLS_VERSION)


def arrow_types(schema: Schema, *, coded: bool = False) -> pa.Schema:
    """The Arrow types this module holds the columns of ``schema`` in; with ``coded``, the
    category columns as ``CODED`` (else as text)."""
    return pa.schema(
        [
            (c.name, CODED if coded and c.kind in _CODED_KINDS else ARROW[c.kind])
            for c in schema.columns
        ]
    )


R = TypeVar("R")


def build_records(cls: type[R], columns: Sequence[Sequence[Any]]) -> list[R]:
    """The records of the frozen, slotted dataclass ``cls`` whose fields (in their order) take
    the values of ``columns``, of equal length.

    Each field is set a column at a time through its slot, one C call per value, where
    ``map(cls, *columns)`` runs the Python ``__init__`` of a frozen dataclass per record (a
    call of ``object.__setattr__`` per field): two to three times faster for ``TlsEvent``,
    the same records (``tests/test_logs_consumer.py``). Only for a dataclass whose
    ``__init__`` just sets its fields (no ``__post_init__``, no field left out of it).
    """
    names = slot_fields(cls)
    if len(columns) != len(names) or len({len(c) for c in columns}) > 1:
        raise ValueError("one column per field, all of the same length")
    out: list[R] = list(map(object.__new__, repeat(cls, len(columns[0]))))
    for name, values in zip(names, columns, strict=True):
        deque(map(getattr(cls, name).__set__, out, values), maxlen=0)
    return out


EVENT_TYPES = arrow_types(EVENTS, coded=True)
SYSTEM_POOL = pa.system_memory_pool()
DELIVERY_TYPES = arrow_types(DELIVERIES)


def _table(types: pa.Schema, rows: Iterable[Sequence[object]]) -> pa.Table:
    columns = list(zip(*rows, strict=True))
    if not columns:
        return types.empty_table()
    arrays = [arrow_array(values, field.type) for values, field in zip(columns, types, strict=True)]
    return pa.Table.from_arrays(arrays, schema=types)


def events_table(events: Sequence[TlsEvent]) -> pa.Table:
    """``EVENTS`` columns (category columns as text) of records read line by line."""
    return _table(EVENT_TYPES, map(_event_row, events))


# Where the DELIVERIES columns are in a ``DeliveryRow`` (the values of ``_delivery_row``).
_DELIVERY_AT = [
    DeliveryRow._fields.index({"source": "origin", "line": "line_no"}.get(n, n))
    for n in DELIVERIES.names
]


# ``DeliveryRow`` as one Arrow struct, its fields in their order, typed as the DELIVERIES columns.
_DELIVERY_STRUCT = pa.struct(
    [(name, DELIVERY_TYPES.field(DELIVERIES.names[_DELIVERY_AT.index(at)]).type)
     for at, name in enumerate(DeliveryRow._fields)]
)  # fmt: skip


def deliveries_table(found: Sequence[DeliveryRow]) -> pa.Table:
    """``DELIVERIES`` columns (category columns as text) of ``found``.

    The rows are read as one struct array, a row at a time in Arrow's converter (half the
    time of gathering 25 columns in Python first, as ``_deliveries_by_column`` does); a
    time or a number the frame cannot hold makes that fail, and then the columns are
    gathered one by one, those values missing."""
    if not found:
        return DELIVERY_TYPES.empty_table()
    try:
        rows = pa.array(found, type=_DELIVERY_STRUCT)
    except (pa.ArrowInvalid, OverflowError):
        return _deliveries_by_column(found)
    return pa.Table.from_arrays([rows.field(at) for at in _DELIVERY_AT], schema=DELIVERY_TYPES)


def _deliveries_by_column(found: Sequence[DeliveryRow]) -> pa.Table:
    """``deliveries_table``, the values of ``_delivery_row`` gathered a column at a time
    (``arrow_array``: what a column cannot hold is missing)."""
    columns: list[tuple[Any, ...]] = list(zip(*found, strict=True))
    arrays = []
    for at, field in zip(_DELIVERY_AT, DELIVERY_TYPES, strict=True):
        values = columns[at]
        if field.name == "timestamp":
            values = tuple(map(frame_time, values))
        arrays.append(arrow_array(values, field.type))
    return pa.Table.from_arrays(arrays, schema=DELIVERY_TYPES)


def take_rows(table: pa.Table, indices: pa.Array) -> pa.Table:
    """``table.take(indices)``, a column at a time: over a table of many chunks (concatenated
    parts) ``Table.take`` took about three times as long."""
    return pa.Table.from_arrays([c.take(indices) for c in table.columns], schema=table.schema)


@contextmanager
def system_allocations() -> Iterator[None]:
    """Arrow allocates from the system allocator (``pa.system_memory_pool()``) inside, and
    from the pool it used before after.

    The log reader allocates a few megabytes per block, gathers and regex results, over and
    over, while what it keeps grows. With Arrow's default pool (mimalloc) each block's memory
    was faulted in afresh: reading 2,000,376 benchmark lines took 16.9 s with it and 14.2 s
    with the system allocator, whose peak memory was lower too (1,796 against 2,024 MiB).
    Buffers remember their pool, so frames made inside outlive the block safely.
    """
    before = pa.default_memory_pool()
    pa.set_memory_pool(SYSTEM_POOL)
    try:
        yield
    finally:
        if pa.default_memory_pool().backend_name == SYSTEM_POOL.backend_name:
            pa.set_memory_pool(before)  # unless someone chose another pool meanwhile


def _category_codes(chunk: pa.Array, categories: pa.Array) -> pa.Array:
    """Where the value of each row of ``chunk`` is among ``categories`` (null if nowhere);
    a dictionary chunk is looked up a distinct value at a time."""
    if isinstance(chunk, pa.DictionaryArray):
        return pc.index_in(chunk.dictionary, value_set=categories).take(chunk.indices)
    return pc.index_in(chunk, value_set=categories)


class FrameParts:
    """The frame of ``schema`` that ``frame_of`` gives, made a table at a time: each table's
    columns are converted as it is added (category codes, numbers and their masks, texts as
    they are), and ``frame`` joins the parts. A caller that waits now and then (for the
    reading process) converts its tables while it waits, instead of all of them at the end.
    """

    def __init__(self, schema: Schema, types: pa.Schema) -> None:
        """``types``: the Arrow types of the tables that will be added."""
        self.schema = schema
        self.types = types
        self._parts: list[list[Any]] = [[] for _ in schema.columns]
        self._categories = [
            pa.array(list(_categories(col)), pa.large_string())
            if col.kind in _CODED_KINDS
            else None
            for col in schema.columns
        ]

    def add(self, table: pa.Table) -> None:
        """Convert the columns of ``table`` (of ``types``) and keep them."""
        for at, col in enumerate(self.schema.columns):
            parts = self._parts[at]
            for chunk in table[col.name].chunks:
                parts.append(self._part(at, chunk))

    def _part(self, at: int, chunk: pa.Array) -> Any:
        col, cats = self.schema.columns[at], self._categories[at]
        if cats is not None:
            return pc.fill_null(_category_codes(chunk, cats), -1).to_numpy().astype(np.int16)
        if col.kind is Kind.STRING:
            return chunk
        return _numpy_part(col.kind, chunk)

    def frame(self) -> pd.DataFrame:
        """The frame of every row added (the parts are let go).

        Each numeric or category column is joined from its parts, which are then freed, and
        their memory handed back (``give_back_freed_memory``) before the next column is
        joined: else glibc keeps it in the heap, and the join at the end held about a second
        copy of those columns. The peak memory of ``read_logs`` + ``deliveries`` went from
        1156 to 1035 MiB at 2,000,376 benchmark lines (976 MiB of frames), and from 2160 to
        1917 MiB at twice the lines, for 16 to 32 ms of calls."""
        data: dict[str, Any] = {}
        for at, col in enumerate(self.schema.columns):
            parts = self._parts[at]
            if not parts:
                parts.append(self._part(at, pa.array([], self.types.field(col.name).type)))
            if self._categories[at] is not None:
                joined = np.concatenate(parts)
                data[col.name] = pd.Categorical.from_codes(joined, dtype=_dtype(col))
            elif col.kind is Kind.STRING:
                kind = self.types.field(col.name).type
                data[col.name] = pd.arrays.ArrowStringArray(pa.chunked_array(parts, kind))
            else:
                data[col.name] = _from_numpy(col.kind, parts)
            self._parts[at] = []
            if col.kind is not Kind.STRING:  # (text parts are the frame's own chunks)
                give_back_freed_memory()
        # the columns are new arrays, in the schema's order: taken as they are, not copied
        return pd.DataFrame(data, copy=False)


def give_back_freed_memory() -> None:
    """Hand the memory freed inside the C heap back to the system (glibc's ``malloc_trim``;
    nothing elsewhere)."""
    if _TRIM is not None:
        _TRIM(0)


def _malloc_trim() -> Any:
    if platform.libc_ver()[0] != "glibc":
        return None
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = (ctypes.c_size_t,)
    trim.restype = ctypes.c_int
    return trim


_TRIM = _malloc_trim()


def frame_of(schema: Schema, table: pa.Table) -> pd.DataFrame:
    """The frame ``build_frame`` gives for the same rows, from their Arrow columns."""
    parts = FrameParts(schema, table.schema)
    parts.add(table)
    return parts.frame()
