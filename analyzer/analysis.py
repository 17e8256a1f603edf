"""One call from inputs to every metric: ``analyze(inputs) -> AnalysisResult``.

Each input's kind is told from its content (``sources.mailbox.detect_path_kind`` and
``sources.logs.looks_like_log``), never from its name: mailbox exports go to ``load_mailbox``,
MTA logs to the log reader. Directories are walked; inside them, files that are neither are
skipped (and listed), while a file named explicitly that is neither becomes an issue.
Filters apply to the frames before any metric, so every figure of the result is recomputable
from ``result.hops``, ``result.messages``, ``result.events`` and ``result.deliveries``.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

from analyzer import api
from analyzer.frames.issues import issues_frame
from analyzer.metrics import (
    certificate_incidents,
    cipher_mix,
    coverage_by,
    coverage_over_time,
    forced_tls_readiness,
    handshake_failures,
    hop_coverage,
    message_coverage,
    observations,
    parse_yield,
    session_coverage,
    strength_units,
    summarize,
    top_errors,
    version_mix,
    weakness_counts,
)
from analyzer.metrics.columns import empty_deliveries, empty_events, isin
from analyzer.metrics.common import Tally, combine, tally_frame
from analyzer.metrics.fallback import by_of, delivered_outbound, summary_of
from analyzer.metrics.join import header_log_join
from analyzer.metrics.result import Analysis, Coverage, Filters, InputFile
from analyzer.model import IssueKind, ParseIssue
from analyzer.report.registry import ReportFormat, renderer
from analyzer.report.tlsrpt import TlsrptReport, tlsrpt_reports
from analyzer.sources.kinds import InputKind, directory_kind
from analyzer.sources.logs import looks_like_log
from analyzer.sources.mailbox import Progress, detect_path_kind

_HEAD = 8192
NO_FILTERS = Filters()
_MAILBOX_LIKE = frozenset({InputKind.ZIP, InputKind.TAR, InputKind.ZSTD})


@dataclass(frozen=True)
class AnalysisResult(Analysis):
    """An ``Analysis`` that can render itself (see ``metrics.result.Analysis``)."""

    def render(self, fmt: str, *, color: bool = False) -> str | bytes:
        """The report in ``fmt``: ``text``, ``markdown``, ``json`` or ``html``."""
        try:
            chosen = ReportFormat(fmt)
        except ValueError:
            raise ValueError(f"unknown report format {fmt!r}") from None
        return renderer(chosen)(self, color)

    @property
    def overall(self) -> Tally:
        """Messages and log sessions together: the figure ``--fail-under`` compares."""
        return combine(self.coverage.messages, self.coverage.sessions)

    def fails(self, threshold_percent: float) -> bool:
        """True when the overall encrypted share is under ``threshold_percent`` (0-100).

        Unknown units count in the denominator: evidence that is missing is not coverage.
        An analysis without any message or session does not fail.
        """
        t = self.overall
        return bool(t.total) and 100 * t.encrypted_share < threshold_percent


# ---------------------------------------------------------------------------------------------
# Inputs


def _api_logs() -> ModuleType | None:
    try:
        return importlib.import_module("analyzer.api_logs")
    except ImportError:
        return None


def _head(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read(_HEAD)


def _classify_file(path: str) -> InputFile:
    kind = detect_path_kind(path)
    if kind.is_mailbox or kind in _MAILBOX_LIKE:
        return InputFile(path, "mailbox", kind.value)
    if looks_like_log(_head(path)):
        return InputFile(path, "log", kind.value)
    return InputFile(path, "skipped", kind.value)


def _walk(root: str) -> Iterable[InputFile]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        if directory_kind(set(dirnames)) is InputKind.MAILDIR:
            yield InputFile(dirpath, "mailbox", InputKind.MAILDIR.value)
            dirnames[:] = [d for d in dirnames if d not in ("cur", "new", "tmp")]
        for name in sorted(filenames):
            if not name.startswith("."):
                yield _classify_file(os.path.join(dirpath, name))


def classify_inputs(
    inputs: Iterable[str | os.PathLike[str]],
) -> tuple[list[InputFile], list[ParseIssue]]:
    """Each input (walking directories) as mailbox, log or skipped, and the input issues."""
    found: list[InputFile] = []
    issues: list[ParseIssue] = []
    for inp in inputs:
        path = os.fspath(inp)
        if path == "-":
            found.append(InputFile(path, "mailbox", "stdin"))
        elif os.path.isdir(path):
            if detect_path_kind(path) is InputKind.MAILDIR:
                found.append(InputFile(path, "mailbox", InputKind.MAILDIR.value))
            else:
                found.extend(_walk(path))
        elif not os.path.exists(path):
            issues.append(ParseIssue(path, 0, IssueKind.UNREADABLE, "no such file", unit="file"))
        else:
            item = _classify_file(path)
            found.append(item)
            if item.kind == "skipped":
                issues.append(ParseIssue(path, 0, IssueKind.UNSUPPORTED,
                                         "neither a mailbox nor an MTA log we read", unit="file"))  # fmt: skip
    return found, issues


@dataclass(frozen=True, slots=True)
class _Logs:
    events: pd.DataFrame
    deliveries: pd.DataFrame
    issues: pd.DataFrame
    lines: tuple[int, int] | None  # (lines read once, lines understood) when counted


def _read_logs(
    paths: Sequence[str], issues: list[ParseIssue], timezone: str | None,
    progress: Callable[[str, int], None] | None, workers: int | None = None,
) -> _Logs:  # fmt: skip
    mod = _api_logs()
    if not paths:
        return _Logs(empty_events(), empty_deliveries(), issues_frame(()), None)
    if mod is None:
        for p in paths:
            issues.append(ParseIssue(p, 0, IssueKind.UNSUPPORTED,
                                     "MTA log: log reading is not available in this build",
                                     unit="file"))  # fmt: skip
        return _Logs(empty_events(), empty_deliveries(), issues_frame(()), None)
    result: Any = mod.read_logs_result(
        list(paths), timezone=timezone, progress=progress, workers=workers
    )
    c = result.counts
    lines = (c.lines - c.duplicates, c.parsed + c.unrelated)
    return _Logs(result.events, result.deliveries, result.issues, lines)


# ---------------------------------------------------------------------------------------------
# Filters


def _matches_domain(hosts: pd.Series, domain: str) -> pd.Series:
    h = hosts.astype("string").str.lower().str.rstrip(".")
    d = domain.lower().strip(".")
    return ((h == d) | h.str.endswith("." + d)).fillna(False)


def _in_time(stamps: pd.Series, f: Filters) -> pd.Series:
    keep = pd.Series(True, index=stamps.index)
    t = pd.to_datetime(stamps, utc=True)
    if f.since is not None:
        keep &= (t >= pd.Timestamp(f.since).tz_convert("UTC") if pd.Timestamp(f.since).tzinfo
                 else t >= pd.Timestamp(f.since, tz="UTC")).fillna(False)  # fmt: skip
    if f.until is not None:
        keep &= (t < pd.Timestamp(f.until).tz_convert("UTC") if pd.Timestamp(f.until).tzinfo
                 else t < pd.Timestamp(f.until, tz="UTC")).fillna(False)  # fmt: skip
    return keep


def _unfiltered(f: Filters) -> bool:
    return f.since is None and f.until is None and not f.domain and not f.direction


def _kept(df: pd.DataFrame, keep: pd.Series | np.ndarray | None) -> pd.DataFrame:
    return (df if keep is None else df[keep]).reset_index(drop=True)


def filter_mailbox(
    hops: pd.DataFrame, messages: pd.DataFrame, f: Filters
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Messages kept by ``f`` (mailbox messages are inbound) and their hops."""
    if _unfiltered(f):
        return _kept(hops, None), _kept(messages, None)  # every message, every hop
    keep = _in_time(messages["date"], f)
    if f.domain:
        keep &= _matches_domain(messages["boundary_from"], f.domain) | _matches_domain(
            messages["sender_domain"], f.domain
        )
    if f.direction not in (None, "inbound"):
        keep &= False
    kept = _kept(messages, keep)
    keep_hops = isin(hops["source"], kept["source"].dropna().unique())
    return _kept(hops, None if keep_hops.all() else keep_hops), kept


def filter_logs(
    events: pd.DataFrame, deliveries: pd.DataFrame, f: Filters
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Events and deliveries kept by ``f``."""
    if _unfiltered(f):
        return _kept(events, None), _kept(deliveries, None)
    ke = _in_time(events["timestamp"], f)
    kd = _in_time(deliveries["timestamp"], f)
    if f.domain:
        ke &= _matches_domain(events["peer_host"], f.domain)
        kd &= _matches_domain(deliveries["recipient_domain"], f.domain) | _matches_domain(
            deliveries["peer_host"], f.domain
        )
    if f.direction:
        ke &= (events["direction"].astype("string") == f.direction).fillna(False)
        kd &= (deliveries["direction"].astype("string") == f.direction).fillna(False)
    return _kept(events, ke), _kept(deliveries, kd)


# ---------------------------------------------------------------------------------------------
# Metrics


def _coverage(hops: pd.DataFrame, messages: pd.DataFrame, deliveries: pd.DataFrame,
              units: pd.DataFrame) -> Coverage:  # fmt: skip
    return Coverage(
        messages=message_coverage(messages),
        hops=hop_coverage(hops),
        sessions=session_coverage(deliveries),
        by_role=tally_frame(hops, ["role"]),
        by_direction=coverage_by(units, ["unit", "direction"]),
        by_peer=coverage_by(units, ["unit", "direction", "peer_domain", "peer"]),
        by_week=coverage_over_time(units, "W", ("unit",)),
    )


def analyze_frames(
    frames: api.MailboxFrames,
    events: pd.DataFrame | None = None,
    deliveries: pd.DataFrame | None = None,
    log_issues: pd.DataFrame | None = None,
    *,
    inputs: Sequence[InputFile] = (),
    filters: Filters = NO_FILTERS,
    log_lines: tuple[int, int] | None = None,
) -> AnalysisResult:
    """Every metric over frames already read (``filters`` applied first).

    ``log_lines`` is (lines read, lines understood) of the log reader's accounting; without
    it the parse yield of logs counts events and line issues only.
    """
    ev = empty_events() if events is None else events
    de = empty_deliveries() if deliveries is None else deliveries
    li = issues_frame(()) if log_issues is None else log_issues
    hops, messages = filter_mailbox(frames.hops, frames.messages, filters)
    ev, de = filter_logs(ev, de, filters)
    units = observations(messages, de)
    strength = strength_units(hops, de)
    coverage = _coverage(hops, messages, de, units)
    delivered = delivered_outbound(de, ["timestamp", "recipient_domain"])  # what by_of reads
    fallback = summary_of(delivered)
    incidents = certificate_incidents(ev, de)
    readiness = forced_tls_readiness(messages, de)
    yielded = parse_yield(hops, frames.issues, ev, li, log_lines)
    summary = summarize(coverage.messages, coverage.hops, coverage.sessions, fallback, strength,
                        incidents, readiness, yielded, len(frames.issues) + len(li))  # fmt: skip
    return AnalysisResult(
        inputs=tuple(inputs), filters=filters, hops=hops, messages=messages,
        issues=frames.issues, events=ev, deliveries=de, log_issues=li,
        messages_read=frames.messages_read, messages_lost=frames.messages_lost,
        headers_read=frames.headers_read, headers_lost=frames.headers_lost, units=units,
        coverage=coverage, fallback=fallback,
        fallback_by_domain=by_of(delivered, ["recipient_domain"]),
        fallback_by_week=by_of(delivered, ["period"]), strength=strength,
        versions=version_mix(strength), ciphers=cipher_mix(strength),
        weaknesses=weakness_counts(strength), incidents=incidents,
        failures=handshake_failures(ev), errors=top_errors(ev), readiness=readiness,
        parse_yield=yielded, join=header_log_join(hops, de), summary=summary,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class ReadInputs:
    """What ``read_inputs`` read, before any filter or metric.

    Attributes:
        found: every input as classified (mailbox, log or skipped).
        frames: the mailbox side (input issues included in ``frames.issues``).
        events: the log events frame.
        deliveries: the log deliveries frame.
        log_issues: log lines and files that could not be read.
        log_lines: (lines read once, lines understood) of the log reader, when it counted.
    """

    found: tuple[InputFile, ...]
    frames: api.MailboxFrames
    events: pd.DataFrame
    deliveries: pd.DataFrame
    log_issues: pd.DataFrame
    log_lines: tuple[int, int] | None


def read_inputs(
    inputs: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    trusted_hosts: Iterable[str] = (),
    timezone: str | None = None,
    progress: Callable[[Progress], None] | None = None,
    log_progress: Callable[[str, int], None] | None = None,
    workers: int | None = None,
) -> ReadInputs:
    """Classify ``inputs`` and read them: the reading half of ``analyze`` (no metric).

    ``workers``: processes for large inputs (``load_mailbox``, ``read_logs_result``); 1 keeps
    everything in this process."""
    paths = [inputs] if isinstance(inputs, str | os.PathLike) else list(inputs)
    found, input_issues = classify_inputs(paths)
    mailboxes = [i.path for i in found if i.kind == "mailbox"]
    logs = [i.path for i in found if i.kind == "log"]
    frames = api.load_mailbox(
        mailboxes, trusted_hosts=tuple(trusted_hosts), progress=progress, workers=workers
    )
    logs_read = _read_logs(logs, input_issues, timezone, log_progress, workers)
    if input_issues:
        issues = pd.concat([issues_frame(input_issues), frames.issues], ignore_index=True)
        frames = replace(frames, issues=issues)
    return ReadInputs(tuple(found), frames, logs_read.events, logs_read.deliveries,
                      logs_read.issues, logs_read.lines)  # fmt: skip


def analyze(
    inputs: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    domain: str | None = None,
    direction: str | None = None,
    trusted_hosts: Iterable[str] = (),
    timezone: str | None = None,
    progress: Callable[[Progress], None] | None = None,
    log_progress: Callable[[str, int], None] | None = None,
    workers: int | None = None,
) -> AnalysisResult:
    """Read mailbox exports and MTA logs (any mix) and compute every metric.

    ``direction`` is ``inbound``, ``outbound`` or ``local``; ``domain`` keeps evidence about
    that domain and its subdomains; ``since`` (inclusive) and ``until`` (exclusive) bound the
    time. Naive datetimes are taken as UTC. ``timezone`` is the zone of zone-less log
    stamps (default UTC). ``progress`` reports mailbox reading, ``log_progress`` log reading.
    ``workers``: processes for large inputs (None: by the machine; 1: this process only).
    """
    if direction not in (None, "inbound", "outbound", "local"):
        raise ValueError(f"direction must be inbound, outbound or local, not {direction!r}")
    trusted = tuple(trusted_hosts)
    read = read_inputs(inputs, trusted_hosts=trusted, timezone=timezone, progress=progress,
                       log_progress=log_progress, workers=workers)  # fmt: skip
    filters = Filters(since, until, domain, direction, trusted)
    return analyze_frames(
        read.frames, read.events, read.deliveries, read.log_issues,
        inputs=read.found, filters=filters, log_lines=read.log_lines,
    )  # fmt: skip


def tlsrpt(
    inputs: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    organization: str,
    contact: str,
    day: date,
    timezone: str | None = None,
) -> tuple[TlsrptReport, ...]:
    """RFC 8460 aggregate reports of ``day`` (UTC) from the MTA logs among ``inputs``.

    Raises ``RuntimeError`` when this build cannot read logs; mailbox inputs are ignored
    (TLSRPT is about sessions the sending MTA logged).
    """
    mod = _api_logs()
    if mod is None:
        raise RuntimeError("log reading is not available in this build")
    paths = [inputs] if isinstance(inputs, str | os.PathLike) else list(inputs)
    found, _ = classify_inputs(paths)
    logs = [i.path for i in found if i.kind == "log"]
    if not logs:
        return ()
    result: Any = mod.read_logs_result(logs, timezone=timezone)
    return tlsrpt_reports(result.deliveries, organization=organization, contact=contact, day=day)


def probe_hosts(result: Analysis, limit: int = 20) -> tuple[str, ...]:
    """Peer MXs worth a live probe (``mailtls report --probe``): those of certificate incidents,
    then the outbound MXs that would break under forced TLS; host names or addresses as
    logged, each once, at most ``limit``."""
    hosts: list[str] = [str(p) for p in result.incidents["peer"].dropna()]
    table = result.readiness.table
    for cell in table.loc[table["direction"] == "outbound", "breaking_mx"].dropna():
        hosts += [h.strip() for h in str(cell).split(",") if h.strip()]
    seen: dict[str, None] = {}
    for h in hosts:
        if h and h not in ("(unknown)", "unknown"):
            seen.setdefault(h, None)
    return tuple(seen)[:limit]


def with_probes(result: AnalysisResult) -> AnalysisResult:
    """``result`` with live probes of its failing peers (``probe_hosts``, port 25) beside their
    certificate incidents (``metrics.probe_evidence``): the network is touched only here."""
    from analyzer.frames.probes import probes_frame
    from analyzer.metrics.probes import probe_evidence
    from analyzer.sources.probe import parse_target, probe_many

    targets = []
    for host in probe_hosts(result):
        try:
            targets.append(parse_target(host))
        except ValueError:
            continue  # a peer named in a form that is not a host or address
    frame = probes_frame(probe_many(targets))
    return replace(result, probes=probe_evidence(frame, result.incidents))
