"""Forced-TLS readiness: what history says would have happened had TLS been required.

For each peer domain (outbound: the recipient domain; inbound: the registrable domain of the
boundary peer), every attempt is replayed under an ``encrypt`` policy for that domain alone:

* an attempt that went in plaintext, or that failed TLS, would have been **deferred**;
  certificate failures do not count: ``encrypt`` does not verify certificates (they are
  counted in ``cert_failures`` for a later ``verify`` or ``secure`` policy);
* a message none of whose attempts was encrypted would in the end have **bounced** (after the
  queue lifetime), one with a later encrypted attempt would only have been delayed.

Verdicts: ``safe`` (encrypted evidence only: no plaintext, no TLS failure, no unknown),
``would-break`` (at least one attempt would have been deferred), ``unknown`` (no attempt with
known encryption, or some unknown). Only ``safe`` outbound domains go into the Postfix
snippet: ``smtp_tls_policy_maps`` lines ``domain encrypt`` (Postfix TLS_README, "TLS policy
table"; postconf(5) smtp_tls_policy_maps).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analyzer.metrics.columns import blank_to_na, map_unique, text
from analyzer.metrics.domains import registrable_domain
from analyzer.metrics.incidents import CERTIFICATE_CATEGORIES

READINESS_COLUMNS = (
    "direction", "domain", "messages", "attempts", "encrypted", "plaintext", "tls_failures",
    "unknown", "cert_failures", "would_defer", "would_bounce", "breaking_mx", "verdict",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Readiness:
    """The readiness table and what follows from it.

    Attributes:
        table: one row per direction and domain (columns ``READINESS_COLUMNS``).
        safe_outbound: outbound domains safe to force, sorted.
        breaking_outbound: outbound domains that would have lost or delayed mail, sorted.
        policy_map: a Postfix ``smtp_tls_policy_maps`` file for ``safe_outbound``.
    """

    table: pd.DataFrame
    safe_outbound: tuple[str, ...]
    breaking_outbound: tuple[str, ...]
    policy_map: str


def _outbound_attempts(deliveries: pd.DataFrame) -> pd.DataFrame:
    d = deliveries[text(deliveries["direction"]) == "outbound"]
    outcome = text(d["outcome"])
    category = text(d["failure_category"])
    # a fallback row carries the category of the earlier attempt: not a failure of its own
    cert = category.isin(list(CERTIFICATE_CATEGORIES)).fillna(False) & ~d["fallback"].astype(
        "boolean"
    ).fillna(False)
    failed = category.notna() & ~cert & (outcome != "delivered")
    return pd.DataFrame(
        {
            "direction": "outbound",
            "domain": blank_to_na(d["recipient_domain"]).str.lower(),
            "mx": blank_to_na(d["peer_host"]).fillna(text(d["peer_ip"])),
            "message": text(d["queue_id"]).fillna("")
            + "|"
            + text(d["recipient_domain"]).fillna(""),
            "encrypted": d["encrypted"].astype("boolean"),
            "failed": failed.fillna(False),
            "cert": cert,
        }
    )


def _inbound_attempts(messages: pd.DataFrame) -> pd.DataFrame:
    peer = text(messages["boundary_from"])
    return pd.DataFrame(
        {
            "direction": "inbound",
            "domain": map_unique(peer, registrable_domain).astype("string"),
            "mx": peer,
            "message": text(messages["source"]),
            "encrypted": messages["boundary_encrypted"].astype("boolean"),
            "failed": False,
            "cert": False,
        }
    )


def _table(attempts: pd.DataFrame) -> pd.DataFrame:
    """The readiness table from attempt rows, in one grouped pass (no loop over domains)."""
    a = attempts
    key = ["direction", "domain"]
    flags = pd.DataFrame(
        {
            "direction": a["direction"].astype("string"),
            "domain": a["domain"].astype("string"),
            "message": a["message"].astype("string"),
            "mx": a["mx"].astype("string"),
            "enc": (a["encrypted"] == True).fillna(False).astype(bool),  # noqa: E712
            "plain": (a["encrypted"] == False).fillna(False).astype(bool),  # noqa: E712
            "failed": a["failed"].astype(bool),
            "cert": a["cert"].astype(bool),
        }
    )
    flags["unknown"] = a["encrypted"].isna().to_numpy() & ~flags["failed"]
    flags["brk"] = flags["plain"] | flags["failed"]
    g = flags.groupby(key, sort=True)
    out = g[["enc", "plain", "failed", "unknown", "cert", "brk"]].sum()
    out["attempts"] = g.size()
    out["messages"] = g["message"].nunique()
    per_msg = flags.groupby([*key, "message"], sort=False)[["enc", "brk"]].any().reset_index()
    per_msg["bounce"] = per_msg["brk"] & ~per_msg["enc"]
    pm = per_msg.groupby(key, sort=True)[["brk", "bounce"]].sum()
    out["would_defer"], out["would_bounce"] = pm["brk"], pm["bounce"]
    mx = flags[flags["brk"]].dropna(subset=["mx"]).groupby(key, sort=True)["mx"]
    out["breaking_mx"] = mx.agg(lambda s: ", ".join(sorted(set(s))))
    out["breaking_mx"] = out["breaking_mx"].fillna("")
    out["verdict"] = "unknown"
    out.loc[(out["enc"] > 0) & (out["unknown"] == 0), "verdict"] = "safe"
    out.loc[out["brk"] > 0, "verdict"] = "would-break"
    out = out.reset_index().rename(
        columns={"enc": "encrypted", "plain": "plaintext", "failed": "tls_failures",
                 "cert": "cert_failures"}
    )  # fmt: skip
    table = out[list(READINESS_COLUMNS)].copy()
    for col in READINESS_COLUMNS[2:11]:
        table[col] = table[col].astype("Int64")
    for col in ("direction", "domain", "breaking_mx", "verdict"):
        table[col] = table[col].astype("string")
    return table.reset_index(drop=True)


def postfix_policy_map(domains: tuple[str, ...]) -> str:
    """A Postfix TLS policy table requiring TLS (``encrypt``) for ``domains``."""
    lines = [
        "# /etc/postfix/tls_policy -- domains whose mail was always encrypted in this history",
        "# main.cf:  smtp_tls_policy_maps = hash:/etc/postfix/tls_policy",
        "# then:     postmap /etc/postfix/tls_policy && postfix reload",
    ]
    width = max((len(d) for d in domains), default=0)
    lines.extend(f"{d.ljust(width)}  encrypt" for d in domains)
    return "\n".join(lines) + "\n"


def forced_tls_readiness(messages: pd.DataFrame, deliveries: pd.DataFrame) -> Readiness:
    """Readiness per domain for outbound deliveries (logs) and inbound messages (mailboxes)."""
    attempts = pd.concat(
        [x for x in (_outbound_attempts(deliveries), _inbound_attempts(messages)) if len(x)]
        or [_outbound_attempts(deliveries)],
        ignore_index=True,
    )
    attempts = attempts[attempts["domain"].notna()]
    table = _table(attempts)
    out = table[table["direction"] == "outbound"]
    safe = tuple(sorted(out.loc[out["verdict"] == "safe", "domain"]))
    breaking = tuple(sorted(out.loc[out["verdict"] == "would-break", "domain"]))
    return Readiness(table, safe, breaking, postfix_policy_map(safe))
