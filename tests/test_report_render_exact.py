"""The shortcuts of the renderers give what the plain ways give: HTML escaping as markupsafe's,
tables and JSON records from shared column values as from the frame's own columns."""

from __future__ import annotations

import math
from typing import Any

import markupsafe
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.report import sections
from analyzer.report.html import escape
from analyzer.report.jsonout import records
from analyzer.report.sections import cell, pct, table
from analyzer.report.tables import _json_value


@settings(max_examples=500, deadline=None)
@given(st.text() | st.text(alphabet=st.sampled_from("&<>'\"a;#é\x00")))
def test_escape_is_markupsafes(text: str) -> None:
    assert escape(text) == str(markupsafe.escape(text))


def test_escape_replaces_the_five() -> None:
    assert escape("""<a href="x" title='&amp;'>""") == (
        "&lt;a href=&#34;x&#34; title=&#39;&amp;amp;&#39;&gt;"
    )


def frame(rows: int) -> pd.DataFrame:
    """A frame of every dtype the metric frames use, missing values in each."""
    n = np.arange(rows)
    stamps = pd.Series(pd.date_range("2026-01-01", periods=rows, freq="37min", tz="UTC"))
    return pd.DataFrame(
        {
            "name": pd.array([None if i % 7 == 3 else f"peer{i}" for i in n], dtype="string"),
            "text": [None if i % 5 == 1 else f"t{i % 3}" for i in n],
            "count": pd.array([None if i % 6 == 2 else int(i) * 1000 for i in n], dtype="Int64"),
            "share": pd.array([None if i % 4 == 0 else i / 7 for i in n], dtype="Float64"),
            "ratio": [math.nan if i % 3 == 0 else i / 3 for i in n],
            "plain": n.astype("int64"),
            "flag": n % 2 == 0,
            "maybe": pd.array([None if i % 3 == 0 else bool(i % 2) for i in n], dtype="boolean"),
            "when": stamps.where(n % 8 != 5),
            "kind": pd.Categorical([None if i % 9 == 4 else "ab"[i % 2] for i in n]),
            "mixed": [None if i % 4 == 1 else (i if i % 2 else f"m{i}") for i in n],
        }
    )


COLUMNS: tuple[sections.Column, ...] = (
    ("name", "name", cell), ("text", "text", cell), ("count", "count", cell),
    ("share", "share", pct), ("ratio", "ratio", cell), ("plain", "plain", cell),
    ("flag", "flag", cell), ("maybe", "maybe", cell), ("when", "when", cell),
    ("kind", "kind", cell), ("mixed", "mixed", cell),
)  # fmt: skip


@pytest.mark.parametrize("rows", [0, 1, 19, 20, 45])
def test_table_from_shared_columns_is_the_table_of_the_frame(
    rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    order = list(range(rows))[::-1]
    shared = table(frame(rows), COLUMNS, "t"), table(frame(rows), COLUMNS, "t", 20, order)
    monkeypatch.setattr(sections, "WHOLE_ROWS", -1)  # every frame read as a big one
    own = table(frame(rows), COLUMNS, "t"), table(frame(rows), COLUMNS, "t", 20, order)
    assert shared == own
    reversed_frame = frame(rows).iloc[order]
    assert shared[1] == table(reversed_frame, COLUMNS, "t")
    if rows == 45:
        assert shared[0].numeric == (False, False, True, True, True, True, False, False, False,
                                     False, False)  # fmt: skip
        assert shared[0].more == 25
        assert shared[0].rows[2] == ("peer2", "t2", "", "28.6%", "0.7", "2", "yes", "no",
                                     "2026-01-01 01:14:00Z", "a", "m2")  # fmt: skip


def reference_records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Every value through ``_json_value``, column by column (what ``records`` shortens)."""
    columns = {str(c): [_json_value(v) for v in df[c].tolist()] for c in df.columns}
    return [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)]


@pytest.mark.parametrize("rows", [0, 1, 45])
def test_records_are_every_value_as_json(rows: int, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = reference_records(frame(rows))
    shared = frame(rows)
    table(shared, COLUMNS)  # its columns now shared
    assert records(shared) == expected
    monkeypatch.setattr(sections, "WHOLE_ROWS", -1)
    assert records(frame(rows)) == expected
    if rows == 45:
        assert expected[2] == {
            "name": "peer2", "text": "t2", "count": None, "share": 2 / 7, "ratio": 2 / 3,
            "plain": 2, "flag": True, "maybe": False, "when": "2026-01-01T01:14:00+00:00",
            "kind": "a", "mixed": "m2",
        }  # fmt: skip


def test_shared_columns_go_with_their_frame() -> None:
    df = frame(3)
    assert sections.column_values(df) is sections.column_values(df)
    key = id(df)
    assert key in sections._COLUMNS
    del df
    assert key not in sections._COLUMNS
