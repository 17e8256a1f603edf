"""The ``issues`` frame, common to mailboxes and logs: everything that could not be read.

Its own module, so that reading logs does not import the Received-header modules.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from analyzer.frames.schema import Column, Kind, Schema, build_frame
from analyzer.model import IssueKind, ParseIssue

S, N, C = Kind.STRING, Kind.INT, Kind.CATEGORY

ISSUES = Schema(
    "issues",
    (
        Column("origin", S, "file (and member) the input came from"),
        Column("position", N, "byte offset, line number or message index"),
        Column("unit", S, "what was lost or degraded: message, header, line or file"),
        Column("kind", C, "closed category", tuple(k.value for k in IssueKind)),
        Column("reason", S, "what was wrong"),
        Column("raw", S, "the offending text, clipped"),
    ),
)


def _issue_row(i: ParseIssue) -> tuple[object, ...]:
    return (i.origin, i.position, i.unit, i.kind, i.reason, i.raw)


def issues_frame(issues: Iterable[ParseIssue]) -> pd.DataFrame:
    """The ``issues`` frame: everything that could not be read, with a reason."""
    return build_frame(ISSUES, issues, _issue_row)


__all__ = ["ISSUES", "issues_frame"]
