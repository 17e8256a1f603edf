"""Declared column -> dtype schemas and the one function that turns records into a DataFrame.

Every frame of mailtls is built through ``build_frame`` so that its columns and dtypes are
the same whatever the input (an empty input gives an empty frame with the right dtypes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import pandas as pd

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


def _plain(value: object) -> object:
    # StrEnum members become their str value so categoricals compare with plain strings.
    if isinstance(value, StrEnum):
        return value.value
    return value


def build_frame(
    schema: Schema,
    records: Iterable[Any],
    row: Callable[[Any], Sequence[object]],
) -> pd.DataFrame:
    """Build the frame of ``schema`` from ``records``, with ``row`` mapping a record to a tuple."""
    names = schema.names
    columns: list[list[object]] = [[] for _ in names]
    for record in records:
        values = row(record)
        if len(values) != len(names):
            raise ValueError(
                f"{schema.name}: row has {len(values)} values for {len(names)} columns"
            )
        for bucket, value in zip(columns, values, strict=True):
            bucket.append(_plain(value))
    data: dict[str, pd.Series[Any]] = {}
    for col, values in zip(schema.columns, columns, strict=True):
        if col.kind is Kind.TIME:
            stamps = pd.to_datetime(pd.Series(values, dtype=object), utc=True)
            data[col.name] = pd.Series(stamps, dtype=_dtype(col))
        else:
            data[col.name] = pd.Series(values, dtype=_dtype(col))
    return pd.DataFrame(data, columns=names)
