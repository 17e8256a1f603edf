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
from typing import Any

import numpy as np
import pandas as pd

from analyzer.metrics.columns import blank_to_na, isin, map_unique, take_rows, text
from analyzer.metrics.common import factorized, group_codes
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


def _merged_missing(codes: np.ndarray, distinct: Any) -> np.ndarray:
    """Codes of ``factorized`` with a missing value and an empty string given one code."""
    values = pd.Series(distinct)
    none = np.flatnonzero(values.isna().to_numpy(dtype=bool) | isin(values, ("",)))
    return np.where(np.isin(codes, none), none[0], codes) if len(none) > 1 else codes


def _outbound_attempts(deliveries: pd.DataFrame) -> pd.DataFrame:
    """One row per outbound delivery attempt; text columns are worked out once per distinct
    value (or host and address) and kept as categoricals."""
    keep = isin(deliveries["direction"], ("outbound",))
    category = deliveries["failure_category"]
    # a fallback row carries the category of the earlier attempt: not a failure of its own
    fallback = deliveries["fallback"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    cert = isin(category, CERTIFICATE_CATEGORIES) & ~fallback
    outcome = deliveries["outcome"]
    undelivered = outcome.notna().to_numpy(dtype=bool) & ~isin(outcome, ("delivered",))
    failed = category.notna().to_numpy(dtype=bool) & ~cert & undelivered
    # a message is a queue id and a recipient domain (missing ones as empty): numbered
    queue = _merged_missing(*factorized(deliveries["queue_id"]))[keep]
    recipient, domains = factorized(deliveries["recipient_domain"])
    to = _merged_missing(recipient, domains)[keep]
    message = pd.factorize(queue.astype(np.int64) * (len(domains) + 1) + to)[0]
    recipient = recipient[keep]
    lower, lowered = pd.factorize(blank_to_na(pd.Series(domains)).str.lower())
    pairs, first = group_codes(deliveries, ["peer_host", "peer_ip"])
    ends = take_rows(deliveries, first, ["peer_host", "peer_ip"])
    mx, mxs = pd.factorize(blank_to_na(ends["peer_host"]).fillna(text(ends["peer_ip"])))
    outbound = np.zeros(int(keep.sum()), dtype=np.int8)
    return pd.DataFrame(
        {
            "direction": pd.Categorical.from_codes(outbound, categories=pd.Index(["outbound"])),
            "domain": pd.Categorical.from_codes(lower[recipient], categories=lowered),
            "mx": pd.Categorical.from_codes(mx[pairs[keep]], categories=mxs),
            "message": pd.array(message, dtype="Int64"),
            "encrypted": deliveries["encrypted"].astype("boolean").array[keep],
            "failed": failed[keep],
            "cert": cert[keep],
        }
    )


def _inbound_attempts(messages: pd.DataFrame) -> pd.DataFrame:
    peer = text(messages["boundary_from"])
    source = pd.factorize(text(messages["source"]))[0]
    return pd.DataFrame(
        {
            "direction": "inbound",
            "domain": map_unique(peer, registrable_domain).astype("string"),
            "mx": peer,
            "message": pd.arrays.IntegerArray(source.astype(np.int64), source < 0),
            "encrypted": messages["boundary_encrypted"].astype("boolean"),
            "failed": False,
            "cert": False,
        }
    )


def _per_group(codes: np.ndarray, groups: int, flags: np.ndarray) -> np.ndarray:
    return np.bincount(codes, weights=flags, minlength=groups).astype(np.int64)


def _per_message(
    codes: np.ndarray, groups: int, message: pd.Series, enc: np.ndarray, brk: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per group: distinct messages, messages with a breaking attempt, messages that would
    have bounced (a breaking attempt and no encrypted one). Missing messages are left out."""
    msg, distinct = pd.factorize(message)
    known = msg >= 0
    width = max(len(distinct), 1)
    inverse, pairs = pd.factorize(codes[known].astype(np.int64) * width + msg[known])
    pair_group = pairs // width
    any_enc = np.bincount(inverse, weights=enc[known], minlength=len(pairs)) > 0
    any_brk = np.bincount(inverse, weights=brk[known], minlength=len(pairs)) > 0
    return (np.bincount(pair_group, minlength=groups),
            np.bincount(pair_group, weights=any_brk, minlength=groups).astype(np.int64),
            np.bincount(pair_group, weights=any_brk & ~any_enc,
                        minlength=groups).astype(np.int64))  # fmt: skip


def _breaking_mx(codes: np.ndarray, groups: int, mx: pd.Series, brk: np.ndarray) -> list[str]:
    """Per group: the distinct MXs of its breaking attempts, sorted, joined by ``, ``."""
    found: list[set[str]] = [set() for _ in range(groups)]
    number, names = pd.factorize(mx)  # missing: -1
    hit = brk & (number >= 0)
    width = len(names) + 1
    for pair in pd.unique(codes[hit].astype(np.int64) * width + number[hit]).tolist():
        found[pair // width].add(str(names[pair % width]))
    return [", ".join(sorted(names)) for names in found]


def _table(attempts: pd.DataFrame) -> pd.DataFrame:
    """The readiness table from attempt rows: one grouping, then counts with numpy."""
    a = attempts
    codes, first = group_codes(a, ["direction", "domain"])
    names = {k: a[k].array.take(first).astype("string").tolist() for k in ("direction", "domain")}
    order = sorted(range(len(first)), key=lambda i: (str(names["direction"][i]),
                                                     str(names["domain"][i])))  # fmt: skip
    rank = np.empty(len(order), dtype=np.intp)
    rank[order] = np.arange(len(order))
    codes = rank[codes]
    n = len(order)
    enc = (a["encrypted"] == True).fillna(False).to_numpy(dtype=bool)  # noqa: E712
    plain = (a["encrypted"] == False).fillna(False).to_numpy(dtype=bool)  # noqa: E712
    failed = a["failed"].to_numpy(dtype=bool)
    unknown = a["encrypted"].isna().to_numpy(dtype=bool) & ~failed
    brk = plain | failed
    messages, defer, bounce = _per_message(codes, n, a["message"], enc, brk)
    counts = {
        "messages": messages, "attempts": np.bincount(codes, minlength=n),
        "encrypted": _per_group(codes, n, enc), "plaintext": _per_group(codes, n, plain),
        "tls_failures": _per_group(codes, n, failed), "unknown": _per_group(codes, n, unknown),
        "cert_failures": _per_group(codes, n, a["cert"].to_numpy(dtype=bool)),
        "would_defer": defer, "would_bounce": bounce,
    }  # fmt: skip
    verdict = np.where(counts["tls_failures"] + counts["plaintext"] > 0, "would-break",
                       np.where((counts["encrypted"] > 0) & (counts["unknown"] == 0), "safe",
                                "unknown"))  # fmt: skip
    columns: dict[str, object] = {
        k: pd.array([v[i] for i in order], dtype="string") for k, v in names.items()
    }
    columns.update((c, pd.array(v, dtype="Int64")) for c, v in counts.items())
    columns["breaking_mx"] = pd.array(_breaking_mx(codes, n, a["mx"], brk), dtype="string")
    columns["verdict"] = pd.array(verdict, dtype="string")
    return pd.DataFrame(columns)  # in the order of READINESS_COLUMNS


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
    parts = [_outbound_attempts(deliveries)] if len(deliveries) or not len(messages) else []
    if len(messages):
        parts.append(_inbound_attempts(messages))
    filled = [x for x in parts if len(x)] or parts[:1]
    attempts = filled[0] if len(filled) == 1 else pd.concat(filled, ignore_index=True)
    known = attempts["domain"].notna().to_numpy(dtype=bool)
    if not known.all():
        attempts = attempts[known]
    table = _table(attempts)
    rows = list(zip(table["direction"].tolist(), table["domain"].tolist(),
                    table["verdict"].tolist(), strict=True))  # fmt: skip
    safe = tuple(sorted(m for d, m, v in rows if d == "outbound" and v == "safe"))
    breaking = tuple(sorted(m for d, m, v in rows if d == "outbound" and v == "would-break"))
    return Readiness(table, safe, breaking, postfix_policy_map(safe))
