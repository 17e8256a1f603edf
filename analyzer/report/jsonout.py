"""The JSON report: every figure of the analysis, with ``schema_version``.

The document follows ``docs/report.schema.json`` (JSON Schema draft 2020-12); a test validates
real output against it. Tables are lists of objects whose keys are the metric frames' column
names, so ``jq`` and pandas read them alike. Missing values are ``null``; times are ISO 8601
in UTC. Strings are kept exactly (JSON escaping is the only escaping a data format needs).
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from analyzer.metrics.common import Tally
from analyzer.metrics.result import Analysis
from analyzer.report.sections import all_issues, column_values, time_span
from analyzer.report.tables import _json_value

MAX_ISSUES = 200


# dtypes whose values are already JSON-ready, any other value in them being a missing one
_PLAIN: dict[str, type] = {"string": str, "str": str, "Int64": int, "boolean": bool}


def _json_ready(v: Any) -> Any:
    """``_json_value(v)``, without its call for the common types it returns unchanged."""
    t = type(v)
    if t is str or t is int or t is bool or (t is float and v == v):
        return v
    return _json_value(v)


def _column(dtype: object, values: list[Any]) -> list[Any]:
    plain = _PLAIN.get(str(dtype))
    if plain is None:
        return [_json_ready(v) for v in values]
    return [v if type(v) is plain else None for v in values]


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of ``df`` as JSON-ready objects."""
    if not len(df):
        return []  # no row: no column to convert (each costs a Series)
    known = column_values(df)  # shared with the text and HTML tables of the same frame
    if known is None:
        known = {name: (column.dtype, column.tolist()) for name, column in df.items()}
    cols = [str(c) for c in known]
    values = [_column(dtype, v) for dtype, v in known.values()]
    if not values:
        return [{} for _ in range(len(df))]
    return [dict(zip(cols, row, strict=True)) for row in zip(*values, strict=True)]


def tally_object(t: Tally) -> dict[str, Any]:
    return {
        "total": t.total,
        "encrypted": t.encrypted,
        "plaintext": t.plaintext,
        "unknown": t.unknown,
        "encrypted_share": t.encrypted_share,
        "plaintext_share": t.plaintext_share,
        "unknown_share": t.unknown_share,
    }


def _utc(column: pd.Series) -> pd.Series:
    """``column`` as UTC times: itself when it already is (``to_datetime`` would copy it)."""
    dtype = column.dtype
    if isinstance(dtype, pd.DatetimeTZDtype) and str(dtype.tz) == "UTC":
        return column
    return pd.to_datetime(column, utc=True)


def _period(a: Analysis) -> dict[str, Any]:
    columns = [_utc(c) for c in (a.messages["date"], a.deliveries["timestamp"]) if len(c)]
    # min and max skip missing times; a column of only missing ones gives NaT and is left out
    spans = [span for c in columns if (span := time_span(c))[0] is not pd.NaT]
    if not spans:
        return {"first": None, "last": None}
    first, last = min(lo for lo, _ in spans), max(hi for _, hi in spans)
    return {"first": first.isoformat(), "last": last.isoformat()}


def _summary(a: Analysis) -> dict[str, Any]:
    s = a.summary
    return {
        "headlines": list(s.headlines),
        "weak_units": s.weak_units,
        "strength_units": s.strength_units,
        "incidents": s.incidents,
        "safe_domains": s.safe_domains,
        "breaking_domains": s.breaking_domains,
        "issues": s.issues,
        "headers_understood_share": s.headers_understood_share,
    }


def _coverage(a: Analysis) -> dict[str, Any]:
    c = a.coverage
    return {
        "messages": tally_object(c.messages),
        "hops": tally_object(c.hops),
        "sessions": tally_object(c.sessions),
        "by_role": records(c.by_role),
        "by_direction": records(c.by_direction),
        "by_peer": records(c.by_peer),
        "by_week": records(c.by_week),
    }


def _fallback(a: Analysis) -> dict[str, Any]:
    f = a.fallback
    return {
        "delivered": f.delivered,
        "encrypted": f.encrypted,
        "plaintext": f.plaintext,
        "unknown": f.unknown,
        "rate": f.rate,
        "by_reason": dict(f.by_reason),
        "by_domain": records(a.fallback_by_domain),
        "by_week": records(a.fallback_by_week),
    }


def _yield(a: Analysis) -> dict[str, Any]:
    y = a.parse_yield
    return {
        "headers": y.headers,
        "headers_understood": y.headers_understood,
        "header_share": y.header_share,
        "lines": y.lines,
        "lines_understood": y.lines_understood,
        "line_share": y.line_share,
        "by_dialect": records(y.table),
        "examples": records(y.examples),
    }


def _issues(a: Analysis) -> dict[str, Any]:
    both = all_issues(a)
    by_kind: dict[str, int] = {}
    if len(both):  # counting an empty column costs more than the rest of this section
        kinds = both["kind"].astype("string").value_counts(sort=False)
        by_kind = {str(k): int(n) for k, n in sorted(kinds.items())}
    return {
        "total": len(both),
        "by_kind": by_kind,
        "gaps": a.parse_yield.gaps,
        "examples": records(both.head(MAX_ISSUES)),
    }


def document(a: Analysis) -> dict[str, Any]:
    """The JSON report as a Python object."""
    f = a.filters
    return {
        "schema_version": a.schema_version,
        "inputs": [{"path": i.path, "kind": i.kind, "detail": i.detail} for i in a.inputs],
        "filters": {
            "since": f.since.isoformat() if f.since else None,
            "until": f.until.isoformat() if f.until else None,
            "domain": f.domain,
            "direction": f.direction,
            "trusted_hosts": list(f.trusted_hosts),
        },
        "counts": {
            "messages_read": a.messages_read,
            "messages_lost": a.messages_lost,
            "headers_read": a.headers_read,
            "headers_lost": a.headers_lost,
            "messages": len(a.messages),
            "hops": len(a.hops),
            "events": len(a.events),
            "deliveries": len(a.deliveries),
        },
        "period": _period(a),
        "summary": _summary(a),
        "coverage": _coverage(a),
        "fallback": _fallback(a),
        "strength": {
            "units": len(a.strength),
            "versions": records(a.versions),
            "ciphers": records(a.ciphers),
            "weaknesses": records(a.weaknesses),
        },
        "incidents": records(a.incidents),
        "handshake_failures": {"by_category": records(a.failures), "top_errors": records(a.errors)},
        "readiness": {
            "domains": records(a.readiness.table),
            "safe_to_force": list(a.readiness.safe_outbound),
            "would_break": list(a.readiness.breaking_outbound),
            "postfix_policy_map": a.readiness.policy_map,
        },
        "parse_yield": _yield(a),
        "header_log_join": records(a.join),
        "issues": _issues(a),
        **({"probes": records(a.probes)} if a.probes is not None else {}),
    }


def render(a: Analysis, color: bool = False) -> str:
    """The JSON report (``color`` is ignored: JSON has none)."""
    del color
    return json.dumps(document(a), ensure_ascii=False, indent=2) + "\n"
