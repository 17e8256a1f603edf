"""Metrics: pure functions over the frames (frames in, frames or small frozen summaries out).

No I/O and no rendering here; every figure a report shows is computed by one function of this
package from the frames, so a notebook can recompute it.
"""

from analyzer.metrics.common import Tally, tally, tally_frame
from analyzer.metrics.coverage import (
    coverage_by,
    coverage_over_time,
    hop_coverage,
    message_coverage,
    observations,
    session_coverage,
)
from analyzer.metrics.domains import registrable_domain
from analyzer.metrics.fallback import FallbackReason, FallbackSummary, fallback_by, fallback_summary
from analyzer.metrics.incidents import (
    CERTIFICATE_CATEGORIES,
    certificate_incidents,
    handshake_failures,
    top_errors,
)
from analyzer.metrics.readiness import Readiness, forced_tls_readiness, postfix_policy_map
from analyzer.metrics.strength import (
    WeakFlag,
    cipher_mix,
    strength_units,
    version_mix,
    weak_flags,
    weakness_counts,
)
from analyzer.metrics.summary import Summary, summarize
from analyzer.metrics.yield_ import ParseYield, parse_yield

__all__ = [
    "CERTIFICATE_CATEGORIES",
    "FallbackReason",
    "FallbackSummary",
    "ParseYield",
    "Readiness",
    "Summary",
    "Tally",
    "WeakFlag",
    "certificate_incidents",
    "cipher_mix",
    "coverage_by",
    "coverage_over_time",
    "fallback_by",
    "fallback_summary",
    "forced_tls_readiness",
    "handshake_failures",
    "hop_coverage",
    "message_coverage",
    "observations",
    "parse_yield",
    "postfix_policy_map",
    "registrable_domain",
    "session_coverage",
    "strength_units",
    "summarize",
    "tally",
    "tally_frame",
    "top_errors",
    "version_mix",
    "weak_flags",
    "weakness_counts",
]
