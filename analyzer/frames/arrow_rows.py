"""Frames built from Arrow columns: the ``EVENTS`` and ``DELIVERIES`` columns of records as
Arrow tables (category columns as text), and the frame ``build_frame`` gives for them.

The vectorised Postfix reader holds its rows as Arrow tables, block by block; ``frame_of``
turns them into the same columns and dtypes as ``analyzer.frames.schema.build_frame``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from operator import attrgetter
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analyzer.frames.logs import DELIVERIES, EVENTS, _event_row, frame_time
from analyzer.frames.schema import Kind, Schema, _categories, _dtype, _from_numpy, _numpy_part
from analyzer.model.logs import Delivery, TlsEvent

ARROW = {
    Kind.STRING: pa.large_string(),
    Kind.INT: pa.int64(),
    Kind.BOOL: pa.bool_(),
    Kind.TIME: pa.timestamp("ns", tz="UTC"),
    Kind.CATEGORY: pa.large_string(),
    Kind.TLS_VERSION: pa.large_string(),
}


def arrow_types(schema: Schema) -> pa.Schema:
    """The Arrow types this module holds the columns of ``schema`` in."""
    return pa.schema([(c.name, ARROW[c.kind]) for c in schema.columns])


EVENT_TYPES = arrow_types(EVENTS)
DELIVERY_TYPES = arrow_types(DELIVERIES)


def _table(types: pa.Schema, rows: Iterable[Sequence[object]]) -> pa.Table:
    columns = list(zip(*rows, strict=True))
    if not columns:
        return types.empty_table()
    arrays = [
        pa.array(values, type=field.type, from_pandas=True)
        for values, field in zip(columns, types, strict=True)
    ]
    return pa.Table.from_arrays(arrays, schema=types)


def events_table(events: Sequence[TlsEvent]) -> pa.Table:
    """``EVENTS`` columns (category columns as text) of records read line by line."""
    return _table(EVENT_TYPES, map(_event_row, events))


# ``Delivery`` attributes in the order of the DELIVERIES columns (as ``_delivery_row``).
_DELIVERY_FIELDS = [{"source": "origin", "line": "line_no"}.get(n, n) for n in DELIVERIES.names]


def deliveries_table(found: Sequence[Delivery]) -> pa.Table:
    """``DELIVERIES`` columns (category columns as text) of ``found``: the values of
    ``_delivery_row``, gathered a column at a time."""
    if not found:
        return DELIVERY_TYPES.empty_table()
    arrays = []
    for name, field in zip(_DELIVERY_FIELDS, DELIVERY_TYPES, strict=True):
        values = list(map(attrgetter(name), found))
        if name == "timestamp":
            values = list(map(frame_time, values))
        arrays.append(pa.array(values, type=field.type, from_pandas=True))
    return pa.Table.from_arrays(arrays, schema=DELIVERY_TYPES)


def frame_of(schema: Schema, table: pa.Table) -> pd.DataFrame:
    """The frame ``build_frame`` gives for the same rows, from their Arrow columns."""
    data: dict[str, Any] = {}
    for col in schema.columns:
        column = table[col.name]
        chunks = column.chunks or [pa.array([], column.type)]
        if col.kind in (Kind.CATEGORY, Kind.TLS_VERSION):
            cats = pa.array(list(_categories(col)), pa.large_string())
            codes = [pc.fill_null(pc.index_in(c, value_set=cats), -1) for c in chunks]
            joined = np.concatenate([c.to_numpy().astype(np.int16) for c in codes])
            data[col.name] = pd.Categorical.from_codes(joined, dtype=_dtype(col))
        elif col.kind is Kind.STRING:
            data[col.name] = pd.arrays.ArrowStringArray(pa.chunked_array(chunks, column.type))
        else:
            data[col.name] = _from_numpy(col.kind, [_numpy_part(col.kind, c) for c in chunks])
    return pd.DataFrame(data, columns=schema.names)
