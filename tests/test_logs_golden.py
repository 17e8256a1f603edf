"""Golden cases: real log lines (with provenance) and the whole records they must give.

Each ``tests/data/logs/<dialect>/NNNN-name.json`` holds ``provenance``, the ``lines`` as
published, the ``reference`` time (year inference) and ``timezone``, and ``expected``: one
entry per line, either the whole event (every field but ``raw`` and ``origin``), an issue,
or null for a line that says nothing we use. Lines are read in order through the
correlator, so shutdown noise after a good session is checked too.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from analyzer.logs.correlate import Correlator
from analyzer.logs.prefix import PrefixContext
from analyzer.logs.registry import read_line
from analyzer.model.common import ParseIssue
from analyzer.model.logs import TlsEvent

DATA = Path(__file__).resolve().parent / "data" / "logs"
CASES = sorted(p for p in DATA.glob("*/*.json"))


def _plain(value: object) -> object:
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _record(item: TlsEvent | ParseIssue | None) -> dict[str, Any] | None:
    if item is None:
        return None
    fields = asdict(item)
    if isinstance(item, ParseIssue):
        return {"issue": {k: _plain(v) for k, v in fields.items() if k != "raw"}}
    return {k: _plain(v) for k, v in fields.items() if k not in ("raw", "origin")}


def run_case(case: dict[str, Any]) -> list[dict[str, Any] | None]:
    """The records of a case's lines, read in order through the correlator."""
    ctx = PrefixContext(
        "golden", datetime.fromisoformat(case["reference"]), ZoneInfo(case["timezone"])
    )
    correlator = Correlator()
    out: list[dict[str, Any] | None] = []
    for no, text in enumerate(case["lines"], 1):
        _, item = read_line(text, ctx, no)
        if isinstance(item, TlsEvent):
            item = correlator.feed(item)
            assert item.raw == text
        out.append(_record(item))
    return out


@pytest.mark.parametrize("path", CASES, ids=[f"{p.parent.name}/{p.name}" for p in CASES])
def test_golden(path: Path) -> None:
    case = json.loads(path.read_text())
    assert case["provenance"]
    assert run_case(case) == case["expected"]
