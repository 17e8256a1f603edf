"""The report as renderer-neutral sections: the one place that decides what a report says.

Text, Markdown and HTML render the same ``Section`` list (each in its own syntax), so their
figures cannot drift apart. Cells are already formatted strings; strings from input are kept
raw here and escaped by each renderer for its own medium.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import pandas as pd
from pandas.arrays import DatetimeArray

from analyzer.metrics.common import Tally
from analyzer.metrics.result import Analysis

if TYPE_CHECKING:
    import numpy as np
    from pandas.api.extensions import ExtensionDtype

MAX_ROWS = 20


@dataclass(frozen=True, slots=True)
class Table:
    """A table of formatted cells.

    Attributes:
        title: a short caption, or ``""``.
        headers: column titles.
        rows: cell strings, one tuple per row.
        numeric: per column, True when it holds numbers (right-aligned, sorted as numbers).
        more: rows left out for length (they are in the JSON output).
    """

    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...]
    more: int = 0


@dataclass(frozen=True, slots=True)
class Code:
    """A block of preformatted text (a configuration snippet).

    Attributes:
        title: a short caption.
        text: the text, kept exactly.
    """

    title: str
    text: str


Block = str | Table | Code


@dataclass(frozen=True, slots=True)
class Section:
    """One section of the report.

    Attributes:
        key: a stable identifier (HTML anchors, chart placement).
        title: the heading.
        blocks: paragraphs (plain strings), tables and code blocks, in order.
    """

    key: str
    title: str
    blocks: tuple[Block, ...]


def pct(x: object) -> str:
    if x is None or x is pd.NA or (isinstance(x, float) and x != x):
        return ""
    return f"{100 * float(str(x)):.1f}%"


def cell(value: object) -> str:
    """A value as table text: empty for missing, ISO minutes for times, ``1,234`` for ints."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if hasattr(value, "item") and not isinstance(value, pd.Timestamp):
        value = value.item()  # numpy scalars: numpy.bool_ is not bool
    if isinstance(value, float) and value != value:
        return ""
    if isinstance(value, pd.Timestamp):
        return value.tz_convert("UTC").strftime("%Y-%m-%d %H:%M:%SZ")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return str(value)


Column = tuple[str, str, Callable[[Any], str]]  # (frame column, header, formatter)


_NUMERIC: dict[np.dtype[Any] | ExtensionDtype, bool] = {}


def _numeric(dtype: np.dtype[Any] | ExtensionDtype) -> bool:
    """True for a number dtype other than booleans (cached: the checks cost microseconds)."""
    known = _NUMERIC.get(dtype)
    if known is None:
        known = _NUMERIC[dtype] = pd.api.types.is_numeric_dtype(
            dtype
        ) and not pd.api.types.is_bool_dtype(dtype)
    return known


V = TypeVar("V")


def _once(table: dict[int, V], owner: object, build: Callable[[], V]) -> V:
    """``build()``, made once per ``owner`` object while it lives: remembered in ``table`` by
    its identity and dropped when it is garbage-collected (not remembered at all for an
    object without weak references)."""
    key = id(owner)
    known = table.get(key)
    if known is None:
        known = build()
        try:
            weakref.finalize(owner, table.pop, key, None)
        except TypeError:
            return known
        table[key] = known
    return known


ColumnValues = tuple["np.dtype[Any] | ExtensionDtype", list[Any]]  # (dtype, Series.tolist())
WHOLE_ROWS = 2_000
_COLUMNS: dict[int, dict[Hashable, ColumnValues]] = {}


def column_values(df: pd.DataFrame) -> dict[Hashable, ColumnValues] | None:
    """Every column of ``df`` as its dtype and its values (``Series.tolist()``), or None for a
    frame of more than ``WHOLE_ROWS`` rows (its renderers read only its first rows).

    The text, Markdown and HTML tables and the JSON records read the same metric frames, and
    getting a frame's column costs more than formatting a table's cells: each frame's columns
    are read once, then shared, until the frame is garbage-collected. Frames are not changed
    after the analysis that holds them is built.
    """
    if len(df) > WHOLE_ROWS:
        return None
    return _once(_COLUMNS, df, lambda: {name: (c.dtype, c.tolist()) for name, c in df.items()})


def column_list(df: pd.DataFrame, column: Hashable) -> list[Any]:
    """``df[column].tolist()``, shared as ``column_values`` shares it."""
    known = column_values(df)
    return df[column].tolist() if known is None else known[column][1]


def time_span(column: pd.Series) -> tuple[Any, Any]:
    """The earliest and latest time of ``column``, missing ones skipped (NaT when none):
    ``column.min()`` and ``column.max()``, read from the array of times when the column holds
    times with a zone (the Series methods cost ten times more on their first call)."""
    values = column.array
    if isinstance(values, DatetimeArray) and values.tz is not None:
        return values.min(), values.max()
    return column.min(), column.max()


def table(
    df: pd.DataFrame,
    columns: Sequence[Column],
    title: str = "",
    limit: int = MAX_ROWS,
    order: Sequence[int] | None = None,
) -> Table:
    """A ``Table`` of the first ``limit`` rows of ``df`` (in ``order``, row positions, when
    given) in the given columns."""
    known = column_values(df)
    if known is None:
        shown = df.head(limit) if order is None else df.iloc[list(order[:limit])]
        picked = [(s.dtype, s.tolist()) for s in (shown[col] for col, _, _ in columns)]
        order = None
    else:
        picked = [known[col] for col, _, _ in columns]
    numeric: list[bool] = []
    formatted: list[list[str]] = []  # column by column, then rows: cheaper than itertuples
    for (_, _, fmt), (dtype, values) in zip(columns, picked, strict=True):
        numeric.append(fmt is pct or _numeric(dtype))
        shown_values = values[:limit] if order is None else [values[i] for i in order[:limit]]
        formatted.append([fmt(v) for v in shown_values])
    rows = min(len(df), limit)
    body = tuple(zip(*formatted, strict=True)) if formatted else ((),) * rows
    headers = tuple(h for _, h, _ in columns)
    return Table(title, headers, body, tuple(numeric), max(len(df) - limit, 0))


def _tally_row(name: str, t: Tally) -> tuple[str, ...]:
    return (name, cell(t.total), cell(t.encrypted), cell(t.plaintext), cell(t.unknown),
            pct(t.encrypted_share), pct(t.plaintext_share), pct(t.unknown_share))  # fmt: skip


TALLY_HEADERS = ("total", "encrypted", "plaintext", "unknown", "enc %", "plain %", "unknown %")
_TALLY_COLS: tuple[Column, ...] = (
    ("total", "total", cell), ("encrypted", "encrypted", cell), ("plaintext", "plaintext", cell),
    ("unknown", "unknown", cell), ("encrypted_share", "enc %", pct),
    ("plaintext_share", "plain %", pct), ("unknown_share", "unknown %", pct),
)  # fmt: skip


def all_issues(a: Analysis) -> pd.DataFrame:
    """Mailbox and log issues in one frame (no copy when one side has none)."""
    if a.log_issues.empty:
        return a.issues.reset_index(drop=True)
    if a.issues.empty:
        return a.log_issues.reset_index(drop=True)
    return pd.concat([a.issues, a.log_issues], ignore_index=True)


def _summary(a: Analysis) -> Section:
    lines = list(a.summary.headlines) or ["No message, hop or session was found in the inputs."]
    return Section("summary", "Summary", tuple(lines))


def _inputs(a: Analysis) -> Section:
    counts = (
        f"{a.messages_read:,} messages read ({a.messages_lost:,} lost), {a.headers_read:,} "
        f"Received headers parsed ({a.headers_lost:,} not), {len(a.events):,} log events, "
        f"{len(a.deliveries):,} log sessions; after filters {len(a.messages):,} messages and "
        f"{len(a.hops):,} hops."
    )
    # the inputs are records, not a frame: their rows are formatted as ``table`` formats a
    # frame of them, without building one (text columns; an empty frame has float columns)
    files = tuple((cell(i.path), cell(i.kind), cell(i.detail)) for i in a.inputs[:50])
    listed = Table("", ("input", "read as", "content"), files, (not a.inputs,) * 3,
                   max(len(a.inputs) - 50, 0))  # fmt: skip
    return Section("inputs", "Inputs", (counts, listed))


def _coverage(a: Analysis) -> Section:
    c = a.coverage
    overall = Table(
        "Overall", ("unit", *TALLY_HEADERS),
        (_tally_row("messages", c.messages), _tally_row("hops (boundary + internal)", c.hops),
         _tally_row("log sessions", c.sessions)),
        (False, *([True] * 7)),
    )  # fmt: skip
    note = ("A message is encrypted when every hop inside the trust boundary was; unknown "
            "means no evidence either way and is never counted as plaintext.")  # fmt: skip
    by_dir = table(c.by_direction, [("unit", "unit", cell), ("direction", "direction", cell),
                                    *_TALLY_COLS], "By direction")  # fmt: skip
    by_role = table(c.by_role, [("role", "hop role", cell), *_TALLY_COLS], "Hops by role")
    by_peer = table(c.by_peer, [("unit", "unit", cell), ("direction", "dir", cell),
                                ("peer_domain", "peer domain", cell), ("peer", "peer (MX)", cell),
                                *_TALLY_COLS[:4], _TALLY_COLS[4]], "By peer domain and MX")  # fmt: skip
    by_week = table(c.by_week, [("period", "week of", cell), ("unit", "unit", cell),
                                *_TALLY_COLS], "By week", limit=60)  # fmt: skip
    return Section(
        "coverage", "Encryption coverage", (note, overall, by_dir, by_role, by_peer, by_week)
    )


def _fallback(a: Analysis) -> Section:
    f = a.fallback
    if not f.delivered:
        return Section("fallback", "Fallback to plaintext",
                       ("No outbound delivery in the logs.",))  # fmt: skip
    head = (f"{f.plaintext:,} of {f.delivered:,} outbound deliveries went in plaintext "
            f"({pct(f.rate)}); {f.unknown:,} unknown.")  # fmt: skip
    reasons = Table("By reason", ("reason", "deliveries"),
                    tuple((r, cell(n)) for r, n in f.by_reason), (False, True))  # fmt: skip
    cols: list[Column] = [("delivered", "delivered", cell), ("plaintext", "plaintext", cell),
                          ("unknown", "unknown", cell), ("rate", "plain %", pct),
                          ("tls-failed-then-plain", "TLS failed", cell),
                          ("starttls-not-offered", "not offered", cell),
                          ("reason-not-logged", "not logged", cell)]  # fmt: skip
    by_domain = table(
        a.fallback_by_domain, [("recipient_domain", "domain", cell), *cols], "By domain"
    )
    by_week = table(a.fallback_by_week, [("period", "week of", cell), *cols], "By week", limit=60)
    note = ("'not logged': plaintext with no reason in the log; Postfix does not log whether "
            "STARTTLS was offered, nor that TLS is disabled locally.")  # fmt: skip
    return Section("fallback", "Fallback to plaintext", (head, reasons, by_domain, by_week, note))


def _incidents(a: Analysis) -> Section:
    if a.incidents.empty:
        return Section("incidents", "Certificate incidents",
                       ("No certificate failure in the logs.",))  # fmt: skip
    cols: tuple[Column, ...] = (
        ("peer", "peer MX", cell), ("failure_category", "category", cell),
        ("first_seen", "first seen", cell), ("last_seen", "last seen", cell),
        ("duration_s", "hours", lambda s: cell(None if pd.isna(s) else round(float(s) / 3600, 1))),
        ("sessions", "sessions", cell), ("messages", "messages", cell),
        ("delivered_untrusted", "untrusted", cell), ("fell_back", "plain", cell),
        ("deferred", "deferred", cell), ("bounced", "bounced", cell),
    )  # fmt: skip
    note = ("Mail to the MX during each incident: delivered over TLS without a valid "
            "certificate (untrusted), delivered in plaintext, deferred, or bounced.")  # fmt: skip
    return Section("incidents", "Certificate incidents", (note, table(a.incidents, cols)))


def _problems(value: object) -> str:
    """Every certificate problem a probe proved; ``verified`` when there was none, empty when
    no certificate was seen."""
    if not isinstance(value, list):
        return ""
    return ", ".join(str(p) for p in value) or "verified"


def _probes(a: Analysis) -> Section | None:
    if a.probes is None:
        return None
    cols: tuple[Column, ...] = (
        ("target", "peer MX", cell), ("outcome", "probe", cell),
        ("tls_version", "TLS", cell), ("cipher", "cipher", cell),
        ("cert_days_left", "cert days left", cell),
        ("certificate_problems", "certificate", _problems),
        ("evidence", "evidence for the same peer", cell),
    )  # fmt: skip
    note = ("Probed live after reading the evidence: what each peer shows now beside its first "
            "certificate incident in the logs.")  # fmt: skip
    return Section("probes", "Live probes of the peers", (note, table(a.probes, cols)))


def _failures(a: Analysis) -> Section:
    if a.failures.empty:
        return Section("failures", "Handshake failures", ("No TLS failure in the logs.",))
    by_cat = table(a.failures, [("failure_category", "category", cell),
                                ("rfc8460_result_type", "RFC 8460 result", cell),
                                ("direction", "direction", cell), ("count", "count", cell),
                                ("peers", "peers", cell)], "By category")  # fmt: skip
    errors = table(a.errors, [("failure_category", "category", cell),
                              ("detail", "error as logged", cell), ("count", "count", cell)],
                   "Top errors")  # fmt: skip
    return Section("failures", "Handshake failures", (by_cat, errors))


def _strength(a: Analysis) -> Section:
    if a.strength.empty:
        return Section("strength", "Protocol and cipher strength",
                       ("No encrypted hop or session with details.",))  # fmt: skip
    mix: tuple[Column, ...] = (("count", "count", cell), ("share", "share", pct))
    versions = table(a.versions, [("tls_version", "version", cell), *mix], "Versions")
    ciphers = table(a.ciphers, [("cipher", "cipher suite", cell), *mix], "Cipher suites", 15)
    weak = table(a.weaknesses, [("weakness", "weakness", cell), *mix,
                                ("examples", "examples", cell)], "Weak use")  # fmt: skip
    note = (f"{len(a.strength):,} encrypted hops (inside the boundary) and log sessions; "
            f"{a.summary.weak_units:,} with at least one weakness.")  # fmt: skip
    return Section("strength", "Protocol and cipher strength", (note, versions, ciphers, weak))


def _readiness(a: Analysis) -> Section:
    r = a.readiness
    if r.table.empty:
        return Section("readiness", "Forced-TLS readiness", ("No peer domain to assess.",))
    cols: tuple[Column, ...] = (
        ("direction", "dir", cell), ("domain", "domain", cell), ("messages", "messages", cell),
        ("encrypted", "encrypted", cell), ("plaintext", "plaintext", cell),
        ("tls_failures", "TLS failed", cell), ("unknown", "unknown", cell),
        ("would_defer", "would defer", cell), ("would_bounce", "would bounce", cell),
        ("verdict", "verdict", cell), ("breaking_mx", "breaking MX", cell),
    )  # fmt: skip
    # breaking domains on top, then unknown, then safe; by direction and domain within
    rank = {"would-break": 0, "unknown": 1, "safe": 2}
    t = r.table
    keys = [
        (rank.get(v, 3), str(d), str(m))
        for v, d, m in zip(*(column_list(t, c) for c in ("verdict", "direction", "domain")),
                           strict=True)
    ]  # fmt: skip
    order = sorted(range(len(t)), key=keys.__getitem__)
    blocks: list[Block] = [
        "Had TLS been required for a domain, its plaintext or failed attempts would have been "
        "deferred; messages never sent encrypted would have bounced.",
        table(t, cols, limit=40, order=order),
        f"Safe to force (outbound): {', '.join(r.safe_outbound) or 'none'}.",
    ]
    if r.safe_outbound:
        blocks.append(Code("Postfix smtp_tls_policy_maps", r.policy_map))
    return Section("readiness", "Forced-TLS readiness", tuple(blocks))


def _join(a: Analysis) -> Section:
    if a.join.empty:
        return Section("join", "Headers against logs",
                       ("No hop could be joined to a log line by queue id.",))  # fmt: skip
    j = a.join.sort_values("agree", na_position="last", key=lambda s: s.astype("Int64"))
    cols: tuple[Column, ...] = (
        ("queue_id", "queue id", cell), ("by_host", "by", cell),
        ("header_encrypted", "header TLS", cell), ("log_encrypted", "log TLS", cell),
        ("header_version", "header version", cell), ("log_version", "log version", cell),
        ("agree", "agree", cell),
    )  # fmt: skip
    n = int((a.join["agree"] == False).sum())  # noqa: E712
    head = f"{len(a.join):,} hops joined to our MTA's log by queue id; {n:,} disagree."
    return Section("join", "Headers against logs", (head, table(j, cols)))


def _yield(a: Analysis) -> Section:
    y = a.parse_yield
    head = (f"{y.headers_understood:,} of {y.headers:,} Received headers understood "
            f"({pct(y.header_share)}); {y.lines_understood:,} of {y.lines:,} log lines "
            f"({pct(y.line_share)}).")  # fmt: skip
    by = table(y.table, [("input", "input", cell), ("dialect", "dialect / MTA", cell),
                         ("units", "seen", cell), ("understood", "understood", cell),
                         ("share", "share", pct)], "By dialect", limit=60)  # fmt: skip
    ex = table(y.examples, [("dialect", "dialect", cell), ("where", "where", cell),
                            ("raw", "text", cell)], "Not understood")  # fmt: skip
    blocks: list[Block] = [head, by]
    issues = all_issues(a)
    gaps = y.gaps
    if gaps:  # lines the log itself says are missing: no reader can get them back
        blocks.insert(1, f"log gaps: {gaps:,} (the log says lines are missing)")
    if len(y.examples):
        blocks.append(ex)
    if len(issues):
        blocks.append(table(issues, [("origin", "origin", cell), ("unit", "unit", cell),
                                     ("kind", "kind", cell), ("reason", "reason", cell)],
                            "Issues"))  # fmt: skip
    return Section("yield", "Parse yield", tuple(blocks))


BUILDERS: tuple[Callable[[Analysis], Section | None], ...] = (
    _summary, _coverage, _fallback, _incidents, _probes, _failures, _strength, _readiness,
    _join, _yield, _inputs,
)  # fmt: skip


_BUILT: dict[int, tuple[Section, ...]] = {}


def sections(a: Analysis) -> tuple[Section, ...]:
    """Every section of the report, in reading order.

    Built once per analysis object (an analysis is frozen) and shared by every renderer that
    asks, so writing the text summary, the HTML and the Markdown of one analysis formats its
    tables once. The entry goes when the analysis is garbage-collected.
    """
    return _once(_BUILT, a, lambda: tuple(s for build in BUILDERS if (s := build(a)) is not None))
