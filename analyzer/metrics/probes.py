"""Live probe results next to the evidence for the same peer (``mailtls report --probe``)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from analyzer.frames.probes import LIST_SEPARATOR

PROBE_EVIDENCE_COLUMNS = (
    "target", "outcome", "tls_version", "cipher", "cert_not_after", "cert_days_left",
    "verified", "failure_category", "certificate_problems", "evidence_category", "evidence_first_seen",
    "evidence_sessions", "evidence_deferred", "evidence_bounced", "evidence",
)  # fmt: skip


def _evidence_text(category: Any, first: Any, sessions: Any, deferred: Any, bounced: Any) -> str:
    if category is None or category is pd.NA or category != category:
        return "no certificate incident with this peer in the evidence"
    when = pd.Timestamp(first).strftime("%Y-%m-%d %H:%MZ")
    return (
        f"{category} since {when}: {int(sessions)} sessions, "
        f"{int(deferred)} deferred, {int(bounced)} bounced"
    )


def _problem_list(cell: Any) -> list[str] | None:
    # The probes frame joins the problems into one string; reports want the list back
    # (None: no certificate seen, []: it verified).
    if cell is None or cell is pd.NA or cell != cell:
        return None
    return [p for p in str(cell).split(LIST_SEPARATOR) if p]


def probe_evidence(probes: pd.DataFrame, incidents: pd.DataFrame) -> pd.DataFrame:
    """One row per probe, beside the first certificate incident of the same peer in the
    evidence (matched on the host name, else the address, as the logs name the peer)."""
    if probes.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in PROBE_EVIDENCE_COLUMNS})
    inc = incidents.sort_values("first_seen").drop_duplicates("peer", keep="first")
    position = {peer: i for i, peer in enumerate(inc["peer"].astype(str))}
    at = probes["host"].astype(str).map(position)
    at = at.fillna(probes["address"].astype(str).map(position))

    def pick(column: str) -> list[Any]:
        values = inc[column].tolist() if column in inc else []
        return [None if pd.isna(i) else values[int(i)] for i in at]

    category, first = pick("failure_category"), pick("first_seen")
    sessions, deferred, bounced = pick("sessions"), pick("deferred"), pick("bounced")
    evidence = [_evidence_text(*row) for row in zip(category, first, sessions, deferred, bounced,
                                                    strict=True)]  # fmt: skip
    return pd.DataFrame(
        {
            "target": (probes["host"].astype(str) + ":" + probes["port"].astype(str)).tolist(),
            "outcome": probes["outcome"].astype(str).tolist(),
            "tls_version": probes["tls_version"].tolist(),
            "cipher": probes["cipher"].tolist(),
            "cert_not_after": probes["cert_not_after"].tolist(),
            "cert_days_left": probes["cert_days_left"].tolist(),
            "verified": probes["verified"].tolist(),
            "failure_category": probes["failure_category"].tolist(),
            "certificate_problems": [_problem_list(c) for c in probes["certificate_problems"]],
            "evidence_category": category,
            "evidence_first_seen": first,
            "evidence_sessions": sessions,
            "evidence_deferred": deferred,
            "evidence_bounced": bounced,
            "evidence": evidence,
        },
        columns=list(PROBE_EVIDENCE_COLUMNS),
    )
