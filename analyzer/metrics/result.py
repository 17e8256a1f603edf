"""The container of one analysis: the frames and every metric computed from them.

``analyzer.analysis`` fills it; ``analyzer.report`` renders it. Nothing here reads or renders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from analyzer.metrics.common import Tally
from analyzer.metrics.fallback import FallbackSummary
from analyzer.metrics.readiness import Readiness
from analyzer.metrics.summary import Summary
from analyzer.metrics.yield_ import ParseYield

SCHEMA_VERSION = "1.0"


@dataclass(frozen=True, slots=True)
class InputFile:
    """One input file or Maildir as classified.

    Attributes:
        path: the path as given or found.
        kind: ``mailbox``, ``log`` or ``skipped``.
        detail: the detected content kind (``mbox``, ``maildir``, ``other`` ...).
    """

    path: str
    kind: str
    detail: str


@dataclass(frozen=True, slots=True)
class Filters:
    """The filters an analysis applied to its frames.

    Attributes:
        since: keep evidence at or after this time (UTC).
        until: keep evidence before this time (UTC).
        domain: keep evidence about this domain or its subdomains.
        direction: keep ``inbound``, ``outbound`` or ``local`` evidence only.
        trusted_hosts: patterns of the organisation's own hosts.
    """

    since: datetime | None = None
    until: datetime | None = None
    domain: str | None = None
    direction: str | None = None
    trusted_hosts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Coverage:
    """Encryption coverage (see ``metrics.coverage``).

    Attributes:
        messages: mailbox messages, encrypted inside the trust boundary.
        hops: boundary and internal hops.
        sessions: log sessions.
        by_role: hops per role.
        by_direction: messages and sessions per unit and direction.
        by_peer: messages and sessions per unit, direction, peer domain and peer (MX).
        by_week: messages and sessions per week and unit.
    """

    messages: Tally
    hops: Tally
    sessions: Tally
    by_role: pd.DataFrame
    by_direction: pd.DataFrame
    by_peer: pd.DataFrame
    by_week: pd.DataFrame


@dataclass(frozen=True)
class Analysis:
    """The frames of an analysis and every metric computed from them (no rendering).

    Attributes:
        inputs: how each input was classified.
        filters: the filters applied.
        hops, messages, issues: the mailbox frames (``issues`` also holds input issues).
        events, deliveries, log_issues: the log frames (empty without logs).
        messages_read, messages_lost, headers_read, headers_lost: mailbox counts.
        units: messages and sessions as one frame (``metrics.observations``).
        coverage: encryption coverage.
        fallback: fallback-to-plaintext figures; by domain and week in the frames beside it.
        fallback_by_domain: per recipient domain.
        fallback_by_week: per week.
        strength: encrypted hops and sessions with weak flags (``metrics.strength_units``).
        versions, ciphers, weaknesses: the mixes and weak-use counts.
        incidents: certificate incidents.
        failures: handshake failures by category and RFC 8460 type.
        errors: the top raw handshake errors.
        readiness: forced-TLS readiness.
        parse_yield: parse yield.
        join: header-vs-log comparison of the hops our MTA wrote.
        summary: the headline figures.
        probes: live probes of peers (``mailtls report --probe``) beside their evidence
            (``metrics.probe_evidence``), or None when nothing was probed.
    """

    inputs: tuple[InputFile, ...]
    filters: Filters
    hops: pd.DataFrame
    messages: pd.DataFrame
    issues: pd.DataFrame
    events: pd.DataFrame
    deliveries: pd.DataFrame
    log_issues: pd.DataFrame
    messages_read: int
    messages_lost: int
    headers_read: int
    headers_lost: int
    units: pd.DataFrame
    coverage: Coverage
    fallback: FallbackSummary
    fallback_by_domain: pd.DataFrame
    fallback_by_week: pd.DataFrame
    strength: pd.DataFrame
    versions: pd.DataFrame
    ciphers: pd.DataFrame
    weaknesses: pd.DataFrame
    incidents: pd.DataFrame
    failures: pd.DataFrame
    errors: pd.DataFrame
    readiness: Readiness
    parse_yield: ParseYield
    join: pd.DataFrame
    summary: Summary
    schema_version: str = field(default=SCHEMA_VERSION)
    probes: pd.DataFrame | None = None
