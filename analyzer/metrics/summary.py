"""The ten-second summary: a handful of figures and the sentences a manager reads first."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pandas as pd

from analyzer.metrics.common import Tally
from analyzer.metrics.fallback import FallbackSummary
from analyzer.metrics.readiness import Readiness
from analyzer.metrics.yield_ import ParseYield


@dataclass(frozen=True, slots=True)
class Summary:
    """Headline figures of one analysis.

    Attributes:
        messages: mailbox messages tally (encrypted inside the trust boundary).
        hops: tally of hops we can vouch for (boundary and internal).
        sessions: tally of log sessions (delivery attempts and received messages).
        fallback: outbound fallback-to-plaintext figures.
        weak_units: encrypted hops and sessions with at least one weakness.
        strength_units: encrypted hops and sessions examined for strength.
        incidents: certificate incidents found.
        safe_domains: outbound domains safe to force TLS for.
        breaking_domains: outbound domains where forcing TLS would have deferred mail.
        issues: inputs, messages, headers or lines that could not be read.
        headers_understood_share: share of Received headers whose writer grammar matched.
        headlines: three to six plain sentences for the top of a report.
    """

    messages: Tally
    hops: Tally
    sessions: Tally
    fallback: FallbackSummary
    weak_units: int
    strength_units: int
    incidents: int
    safe_domains: int
    breaking_domains: int
    issues: int
    headers_understood_share: float
    headlines: tuple[str, ...]


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _coverage_line(what: str, t: Tally) -> str:
    return (
        f"{_pct(t.encrypted_share)} of {t.total} {what} proved encrypted, "
        f"{_pct(t.plaintext_share)} plaintext, {_pct(t.unknown_share)} without evidence."
    )


def _headlines(s: Summary) -> tuple[str, ...]:
    lines: list[str] = []
    if s.messages.total:
        lines.append(_coverage_line("messages", s.messages))
    if s.sessions.total:
        lines.append(_coverage_line("logged sessions", s.sessions))
    if s.fallback.delivered:
        lines.append(
            f"{_pct(s.fallback.rate)} of {s.fallback.delivered} outbound deliveries went in "
            "plaintext."
        )
    if s.strength_units:
        lines.append(f"{s.weak_units} of {s.strength_units} encrypted hops or sessions used "
                     "weak protocol versions or ciphers.")  # fmt: skip
    if s.incidents:
        lines.append(f"{s.incidents} certificate incident(s) with peer mail servers.")
    if s.safe_domains or s.breaking_domains:
        lines.append(f"TLS could be required for {s.safe_domains} domain(s); forcing it would "
                     f"have delayed or bounced mail for {s.breaking_domains}.")  # fmt: skip
    if s.issues:
        lines.append(f"{s.issues} input item(s) could not be read (see Parse yield).")
    return tuple(lines)


def summarize(
    messages: Tally,
    hops: Tally,
    sessions: Tally,
    fallback: FallbackSummary,
    strength_units: pd.DataFrame,
    incidents: pd.DataFrame,
    readiness: Readiness,
    parse: ParseYield,
    issues: int,
) -> Summary:
    """The summary of metrics already computed (nothing is recomputed here)."""
    weak = int(strength_units["weak"].fillna("").ne("").sum())
    base = Summary(
        messages=messages,
        hops=hops,
        sessions=sessions,
        fallback=fallback,
        weak_units=weak,
        strength_units=len(strength_units),
        incidents=len(incidents),
        safe_domains=len(readiness.safe_outbound),
        breaking_domains=len(readiness.breaking_outbound),
        issues=issues,
        headers_understood_share=parse.header_share,
        headlines=(),
    )
    return replace(base, headlines=_headlines(base))
