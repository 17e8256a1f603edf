"""The one frame builder: declared dtypes, chunked conversion, and misuse errors."""

from __future__ import annotations

import pandas as pd
import pytest

from analyzer.frames.schema import Column, FrameBuilder, Kind, Schema

SCHEMA = Schema(
    "demo",
    (
        Column("name", Kind.STRING, "a string"),
        Column("n", Kind.INT, "an integer"),
        Column("ok", Kind.BOOL, "a boolean"),
        Column("kind", Kind.CATEGORY, "a closed set", ("a", "b")),
    ),
)
ROWS = [("x", 1, True, "a"), (None, None, None, None), ("z", 3, False, "c"), ("w", 4, None, "b")]


def _same(row: tuple[object, ...]) -> tuple[object, ...]:
    return row


def test_rows_become_typed_columns_whatever_the_chunk_size() -> None:
    expected = pd.DataFrame(
        {
            "name": pd.array(["x", None, "z", "w"], dtype="string[pyarrow]"),
            "n": pd.array([1, None, 3, 4], dtype="Int64"),
            "ok": pd.array([True, None, False, None], dtype="boolean"),
            # "c" is outside the vocabulary: missing, like None
            "kind": pd.Categorical(["a", None, None, "b"], categories=["a", "b"]),
        }
    )
    for chunk in (1, 2, 3, 2048):
        frame = FrameBuilder(SCHEMA, _same, chunk=chunk).extend(iter(ROWS)).finish()
        pd.testing.assert_frame_equal(frame, expected, check_dtype=False)
        assert [str(t) for t in frame.dtypes] == ["string", "Int64", "boolean", "category"]
    one_by_one = FrameBuilder(SCHEMA, _same, chunk=3)
    for row in ROWS:
        one_by_one.add(row)
    assert one_by_one.rows == 4
    pd.testing.assert_frame_equal(one_by_one.finish(), expected, check_dtype=False)


def test_a_row_of_the_wrong_width_is_a_clear_error() -> None:
    builder = FrameBuilder(SCHEMA, _same)
    builder.extend([("x", 1, True, "a"), ("y", 2)])
    with pytest.raises(ValueError, match=r"^demo: row has 2 values for 4 columns$"):
        builder.finish()
