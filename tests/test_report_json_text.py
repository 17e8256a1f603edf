"""``jsonout.dumps`` writes exactly what ``json.dumps(doc, ensure_ascii=False, indent=2)`` does:
on real reports and on generated documents (scalars of every kind, rows, nesting, odd keys)."""

from __future__ import annotations

import json
import math
from enum import IntEnum, StrEnum
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.analysis import analyze
from analyzer.report.jsonout import document, dumps

ROOT = Path(__file__).resolve().parent.parent


class Colour(StrEnum):
    RED = "red"
    ODD = 'q"\n\\'


class Level(IntEnum):
    LOW = 1
    HIGH = 20


def stdlib(doc: object) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=2)


def test_real_report_is_the_standard_text() -> None:
    doc = document(analyze([str(ROOT / "sample_data")]))
    text = dumps(doc)
    assert text == stdlib(doc)
    assert text.startswith('{\n  "schema_version": "1.0",\n  "inputs": [\n    {\n      "path": ')


def test_rows_and_nesting_by_hand() -> None:
    doc = {
        "rows": [{"a": 1, "b": None}, {"c": "x\ny", "d": 1.5}],
        "mixed": [{"a": [1]}, {"b": {}}, {}, [], 3],
        "empty": {"l": [], "d": {}, "t": ()},
        "keys": {1: "one", 2.5: True, None: False, False: -0.0},
        "deep": [[[{"x": [float("nan"), math.inf, -math.inf]}]]],
    }
    assert dumps(doc) == stdlib(doc)
    assert dumps({"rows": [{"a": 1}, {"b": "c"}]}) == (
        '{\n  "rows": [\n    {\n      "a": 1\n    },\n    {\n      "b": "c"\n    }\n  ]\n}'
    )


def test_what_json_refuses_raises_the_same() -> None:
    for bad in ({"a": {1, 2}}, [{"k": object()}], {"a": {(1, 2): 3}}, {"x": [{(1,): 2}]}):
        with pytest.raises(TypeError) as ours:
            dumps(bad)
        with pytest.raises(TypeError) as theirs:
            stdlib(bad)
        assert str(ours.value) == str(theirs.value)
    loop: list[Any] = []
    loop.append({"again": loop})
    with pytest.raises(ValueError, match="Circular reference detected"):
        dumps(loop)


scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
    | st.text(alphabet=st.sampled_from('\n\r\t\x00\x1f"\\\u2028\u00e9{}[],: '))
    | st.sampled_from([Colour.RED, Colour.ODD, Level.LOW, Level.HIGH])
)
keys = st.text(max_size=8) | st.sampled_from(["a", "b", "c", Colour.ODD])
odd_keys = keys | st.integers() | st.floats() | st.booleans() | st.none()
rows = st.lists(st.dictionaries(keys, scalars, max_size=6), max_size=6)
documents = st.recursive(
    scalars | rows,
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(keys, inner, max_size=5)
        | st.dictionaries(odd_keys, inner, max_size=3)
    ),
    max_leaves=40,
)


@settings(max_examples=600, deadline=None)
@given(documents)
def test_generated_documents_are_the_standard_text(doc: object) -> None:
    assert dumps(doc) == stdlib(doc)
