"""Golden figures of the log-side metrics (and the combined ones) on metrics_frames.

Deliveries: Q1 outbound a.example encrypted; Q2 outbound b.example deferred (certificate
expired) then delivered in plaintext (fallback); Q3 c.example plaintext, no reason logged;
Q4 d.example plaintext, STARTTLS not offered; Q5 inbound encrypted TLS 1.3 (its queue id is
in m1's internal hop, which says TLS 1.2); Q6 g.example delivered, encryption unknown.
Events: three certificate-expired failures of mx.b.example (T0, T1 one hour later, T3 eight
days later), Postfix's generic "not verified" line beside the first, and one no-shared-cipher
failure of mx.f.example.
"""

from __future__ import annotations

import pandas as pd
import pytest

from analyzer.analysis import AnalysisResult, Filters, analyze_frames
from analyzer.metrics import (
    FallbackSummary,
    Tally,
    certificate_incidents,
    fallback_by,
    fallback_summary,
    forced_tls_readiness,
    handshake_failures,
    session_coverage,
    top_errors,
)
from analyzer.metrics.common import TALLY_COLUMNS
from analyzer.metrics.readiness import READINESS_COLUMNS
from tests.metrics_frames import deliveries, events, mailbox
from tests.test_metrics_mailbox import rows


@pytest.fixture(scope="module")
def result() -> AnalysisResult:
    return analyze_frames(mailbox(), events(), deliveries())


def test_session_coverage() -> None:
    assert session_coverage(deliveries()) == Tally(7, 2, 3, 2)


def test_fallback_summary_and_reasons() -> None:
    f = fallback_summary(deliveries())
    assert f == FallbackSummary(
        delivered=5, encrypted=1, plaintext=3, unknown=1,
        by_reason=(("tls-failed-then-plain", 1), ("starttls-not-offered", 1),
                   ("reason-not-logged", 1)),
    )  # fmt: skip
    assert f.rate == 0.6


def test_fallback_by_domain() -> None:
    assert rows(fallback_by(deliveries(), ["recipient_domain"]), drop_shares=False) == [
        ("b.example", 1, 1, 0, 1, 0, 0, 1.0),
        ("c.example", 1, 1, 0, 0, 0, 1, 1.0),
        ("d.example", 1, 1, 0, 0, 1, 0, 1.0),
        ("a.example", 1, 0, 0, 0, 0, 0, 0.0),
        ("g.example", 1, 0, 1, 0, 0, 0, 0.0),
    ]


def test_fallback_by_week() -> None:
    out = fallback_by(deliveries(), ["period"])
    assert rows(out, drop_shares=False) == [
        ("2026-11-02", 4, 3, 0, 1, 1, 1, 0.75),
        ("2026-11-09", 1, 0, 1, 0, 0, 0, 0.0),
    ]


def test_certificate_incidents_split_by_gap() -> None:
    out = certificate_incidents(events(), deliveries())
    assert rows(out) == [
        ("mx.b.example", "192.0.2.2", "certificate-expired",
         pd.Timestamp("2026-11-02T10:00:00Z"), pd.Timestamp("2026-11-02T11:00:00Z"),
         3600.0, 2, 1, 0, 1, 1, 0),
        ("mx.b.example", "192.0.2.2", "certificate-expired",
         pd.Timestamp("2026-11-10T09:00:00Z"), pd.Timestamp("2026-11-10T09:00:00Z"),
         0.0, 1, 0, 0, 0, 0, 0),
    ]  # fmt: skip


def test_handshake_failures_and_top_errors() -> None:
    assert rows(handshake_failures(events())) == [
        ("certificate-expired", "certificate-expired", "outbound", 3, 1),
        ("certificate-unverified", "(none)", "outbound", 1, 1),
        ("no-shared-cipher", "validation-failure", "outbound", 1, 1),
    ]
    assert rows(top_errors(events())) == [
        ("certificate-expired", "certificate has expired", 3, "line 1"),
        ("certificate-unverified", "Server certificate not verified", 1, "line 1b"),
        ("no-shared-cipher", "no shared cipher", 1, "line 4"),
    ]


def test_forced_tls_readiness() -> None:
    r = forced_tls_readiness(mailbox().messages, deliveries())
    assert list(r.table.columns) == list(READINESS_COLUMNS)
    assert rows(r.table) == [
        ("inbound", "a.example", 1, 1, 1, 0, 0, 0, 0, 0, 0, "", "safe"),
        ("inbound", "b.example", 1, 1, 0, 1, 0, 0, 0, 1, 1, "mx.b.example", "would-break"),
        ("inbound", "c.example", 1, 1, 0, 0, 0, 1, 0, 0, 0, "", "unknown"),
        ("outbound", "a.example", 1, 1, 1, 0, 0, 0, 0, 0, 0, "", "safe"),
        ("outbound", "b.example", 1, 2, 0, 1, 0, 1, 1, 1, 1, "mx.b.example", "would-break"),
        ("outbound", "c.example", 1, 1, 0, 1, 0, 0, 0, 1, 1, "mx.c.example", "would-break"),
        ("outbound", "d.example", 1, 1, 0, 1, 0, 0, 0, 1, 1, "mx.d.example", "would-break"),
        ("outbound", "g.example", 1, 1, 0, 0, 0, 1, 0, 0, 0, "", "unknown"),
    ]
    assert r.safe_outbound == ("a.example",)
    assert r.breaking_outbound == ("b.example", "c.example", "d.example")
    assert r.policy_map.splitlines()[-1] == "a.example  encrypt"


def test_coverage_breakdowns(result: AnalysisResult) -> None:
    c = result.coverage
    assert list(c.by_direction.columns) == ["unit", "direction", *TALLY_COLUMNS]
    assert list(c.by_week.columns) == ["period", "unit", *TALLY_COLUMNS]
    assert list(c.by_role.columns) == ["role", *TALLY_COLUMNS]
    assert rows(c.by_direction) == [
        ("session", "outbound", 6, 1, 3, 2),
        ("message", "inbound", 5, 2, 1, 2),
        ("session", "inbound", 1, 1, 0, 0),
    ]
    assert rows(c.by_week) == [
        ("2026-11-02", "message", 3, 1, 1, 1),
        ("2026-11-02", "session", 6, 2, 3, 1),
        ("2026-11-09", "message", 2, 1, 0, 1),
        ("2026-11-09", "session", 1, 0, 0, 1),
    ]
    assert rows(c.by_peer)[:2] == [
        ("message", "inbound", None, None, 2, 1, 0, 1),
        ("session", "outbound", "b.example", "mx.b.example", 2, 0, 1, 1),
    ]


def test_strength(result: AnalysisResult) -> None:
    assert rows(result.versions) == [("TLSv1.2", 2), ("TLSv1.3", 2), ("TLSv1.0", 1)]
    assert result.versions["share"].tolist() == [0.4, 0.4, 0.2]
    assert rows(result.weaknesses) == [
        ("tls1.0", 1, "old.ours.example"),
        ("no-forward-secrecy", 1, "old.ours.example"),
    ]
    assert len(result.strength) == 5


def test_parse_yield(result: AnalysisResult) -> None:
    y = result.parse_yield
    assert rows(y.table) == [
        ("header", "exim", 1, 1),
        ("header", "generic", 1, 0),
        ("header", "postfix", 4, 4),
        ("line", "postfix", 6, 6),
    ]
    assert (y.headers, y.headers_understood, y.lines, y.lines_understood) == (6, 5, 6, 6)
    assert rows(y.examples) == [
        ("header", "generic", "m3 <m3@x>", "no writer grammar matched",
         "from relay.c.example by mx.ours.example; Mon, 2 Nov 2026 10:00:00 +0000"),
    ]  # fmt: skip


def test_header_log_join_reports_disagreement(result: AnalysisResult) -> None:
    assert rows(result.join) == [
        ("m1", "<m1@x>", 3, None, "Q5", True, True, "TLSv1.2", "TLSv1.3", False)
    ]


def test_summary_headlines(result: AnalysisResult) -> None:
    s = result.summary
    assert (s.weak_units, s.strength_units, s.incidents, s.safe_domains, s.breaking_domains) == (
        1, 5, 2, 1, 3,
    )  # fmt: skip
    assert s.headlines == (
        "40.0% of 5 messages proved encrypted, 20.0% plaintext, 40.0% without evidence.",
        "28.6% of 7 logged sessions proved encrypted, 42.9% plaintext, 28.6% without evidence.",
        "60.0% of 5 outbound deliveries went in plaintext.",
        "1 of 5 encrypted hops or sessions used weak protocol versions or ciphers.",
        "2 certificate incident(s) with peer mail servers.",
        "TLS could be required for 1 domain(s); forcing it would have delayed or bounced mail "
        "for 3.",
    )


def test_filters_apply_before_metrics() -> None:
    since = pd.Timestamp("2026-11-03T00:00:00Z").to_pydatetime()
    r = analyze_frames(mailbox(), events(), deliveries(), filters=Filters(since=since))
    assert r.coverage.messages == Tally(3, 1, 0, 2)  # m3, m4, m5
    assert r.coverage.sessions == Tally(2, 0, 1, 1)  # Q4, Q6
    r = analyze_frames(mailbox(), events(), deliveries(), filters=Filters(domain="b.example"))
    assert r.coverage.messages == Tally(1, 0, 1, 0)
    assert r.coverage.sessions == Tally(2, 0, 1, 1)
    assert len(r.incidents) == 2
    r = analyze_frames(mailbox(), events(), deliveries(), filters=Filters(direction="outbound"))
    assert r.coverage.messages == Tally(0, 0, 0, 0)
    assert r.coverage.sessions == Tally(6, 1, 3, 2)


def test_no_input_gives_empty_figures() -> None:
    from analyzer.api import MailboxFrames
    from analyzer.frames.issues import issues_frame
    from analyzer.frames.received import hops_frame, messages_frame

    hops = hops_frame(())
    empty = MailboxFrames(hops, messages_frame(hops), issues_frame(()), 0, 0, 0, 0)
    r = analyze_frames(empty)
    assert r.coverage.messages == Tally(0, 0, 0, 0)
    assert r.fallback.rate == 0.0
    assert r.incidents.empty
    assert r.readiness.table.empty
    assert r.summary.headlines == ()


def test_fail_under_threshold(result: AnalysisResult) -> None:
    # messages 2 of 5 and sessions 2 of 7 encrypted: 4 of 12 = 33.3%
    assert result.overall == Tally(12, 4, 4, 4)
    assert result.fails(34.0)
    assert not result.fails(33.0)


def test_probe_hosts(result: AnalysisResult) -> None:
    from analyzer.analysis import probe_hosts

    assert probe_hosts(result) == ("mx.b.example", "mx.c.example", "mx.d.example")
