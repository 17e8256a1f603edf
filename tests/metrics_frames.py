"""Small hand-built frames for the metric and report tests, with the real schemas' dtypes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd

from analyzer.api import MailboxFrames
from analyzer.frames.issues import issues_frame
from analyzer.frames.logs import DELIVERIES, EVENTS
from analyzer.frames.received import HOPS, MESSAGE_INFO, messages_frame
from analyzer.frames.schema import Kind, Schema, build_frame


def frame(schema: Schema, rows: list[dict[str, Any]]) -> pd.DataFrame:
    """``rows`` as a frame of ``schema``; columns a row does not name are missing (None).
    ISO 8601 strings in time columns become aware datetimes."""
    times = {c.name for c in schema.columns if c.kind is Kind.TIME}
    for row in rows:
        unknown = set(row) - set(schema.names)
        assert not unknown, f"{schema.name} has no column {unknown}"

    def values(r: dict[str, Any]) -> tuple[object, ...]:
        return tuple(
            datetime.fromisoformat(r[n]) if n in times and isinstance(r.get(n), str) else r.get(n)
            for n in schema.names
        )

    return build_frame(schema, rows, values)


T0 = "2026-11-02T10:00:00+00:00"  # a Monday
T1 = "2026-11-02T11:00:00+00:00"
T2 = "2026-11-04T10:00:00+00:00"
T3 = "2026-11-10T09:00:00+00:00"  # the next week


def _hop(src: str, n: int, role: str, evidence: str, **kw: Any) -> dict[str, Any]:
    enc = {"tls": True, "tls-keyword": True, "plaintext": False}.get(evidence)
    return {"source": src, "message_id": f"<{src}@x>", "hop": n, "role": role,
            "evidence": evidence, "encrypted": enc, "dialect": "postfix", **kw}  # fmt: skip


HOP_ROWS = [
    _hop("m1", 1, "external", "plaintext", from_host="client.a.example", timestamp=T0),
    _hop("m1", 2, "boundary", "tls", from_host="mail.a.example", from_rdns="mail.a.example",
         tls_version="TLSv1.3", cipher="TLS_AES_256_GCM_SHA384", bits=256, timestamp=T0),
    _hop("m1", 3, "internal", "tls", from_host="mx.ours.example", id="Q5",
         tls_version="TLSv1.2", cipher="TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", bits=256,
         timestamp=T0),
    _hop("m2", 1, "boundary", "plaintext", from_host="mx.b.example", dialect="exim", timestamp=T1),
    _hop("m3", 1, "boundary", "unknown", from_host="relay.c.example", dialect="generic",
         raw="from relay.c.example by mx.ours.example; Mon, 2 Nov 2026 10:00:00 +0000",
         timestamp=T2),
    _hop("m4", 1, "internal", "tls", from_host="old.ours.example", tls_version="TLSv1.0",
         cipher="TLS_RSA_WITH_AES_128_CBC_SHA", bits=128, timestamp=T3),
]  # fmt: skip
INFO_ROWS = [
    {"source": s, "message_id": f"<{s}@x>", "date": d, "received_headers": n}
    for s, d, n in (("m1", T0, 3), ("m2", T1, 1), ("m3", T2, 1), ("m4", T3, 1), ("m5", T3, 0))
]


def mailbox() -> MailboxFrames:
    """Five messages: m1 encrypted, m2 plaintext, m3 unknown, m4 encrypted (TLS 1.0),
    m5 without any Received header."""
    hops = frame(HOPS, HOP_ROWS)
    info = frame(MESSAGE_INFO, INFO_ROWS)
    messages = messages_frame(hops, info)
    return MailboxFrames(hops, messages, issues_frame(()), 5, 0, 6, 0)


def _d(q: str, direction: str, outcome: str, enc: bool | None, **kw: Any) -> dict[str, Any]:
    return {"mta": "postfix", "queue_id": q, "direction": direction, "outcome": outcome,
            "encrypted": enc, "fallback": False, **kw}  # fmt: skip


DELIVERY_ROWS = [
    _d("Q1", "outbound", "delivered", True, timestamp=T0, recipient_domain="a.example",
       peer_host="mx1.a.example", peer_ip="192.0.2.1", tls_version="TLSv1.2",
       cipher="TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", bits=256),
    _d("Q2", "outbound", "deferred", None, timestamp=T0, recipient_domain="b.example",
       peer_host="mx.b.example", peer_ip="192.0.2.2", failure_category="certificate-expired",
       rfc8460_result_type="certificate-expired"),
    _d("Q2", "outbound", "delivered", False, timestamp=T1, recipient_domain="b.example",
       peer_host="mx.b.example", peer_ip="192.0.2.2", fallback=True,
       failure_category="certificate-expired", rfc8460_result_type="certificate-expired"),
    _d("Q3", "outbound", "delivered", False, timestamp=T1, recipient_domain="c.example",
       peer_host="mx.c.example", peer_ip="192.0.2.3"),
    _d("Q4", "outbound", "delivered", False, timestamp=T2, recipient_domain="d.example",
       peer_host="mx.d.example", peer_ip="192.0.2.4", failure_category="starttls-not-supported",
       rfc8460_result_type="starttls-not-supported"),
    _d("Q5", "inbound", "delivered", True, timestamp=T0, peer_host="mx.e.example",
       peer_ip="198.51.100.5", tls_version="TLSv1.3", cipher="TLS_AES_128_GCM_SHA256", bits=128),
    _d("Q6", "outbound", "delivered", None, timestamp=T3, recipient_domain="g.example",
       peer_host="mx.g.example", peer_ip="192.0.2.7"),
]  # fmt: skip


def _e(kind: str, ts: str, **kw: Any) -> dict[str, Any]:
    return {"timestamp": ts, "mta": "postfix", "service": "postfix/smtp", "event": kind,
            "direction": "outbound", **kw}  # fmt: skip


EVENT_ROWS = [
    _e("certificate-failed", T0, peer_host="mx.b.example", peer_ip="192.0.2.2",
       failure_category="certificate-expired", rfc8460_result_type="certificate-expired",
       detail="certificate has expired", raw="line 1"),
    _e("certificate-failed", T1, peer_host="mx.b.example", peer_ip="192.0.2.2",
       failure_category="certificate-expired", rfc8460_result_type="certificate-expired",
       detail="certificate has expired", raw="line 2"),
    _e("certificate-failed", T0, peer_host="mx.b.example", peer_ip="192.0.2.2",
       failure_category="certificate-unverified", detail="Server certificate not verified",
       raw="line 1b"),
    _e("certificate-failed", T3, peer_host="mx.b.example", peer_ip="192.0.2.2",
       failure_category="certificate-expired", rfc8460_result_type="certificate-expired",
       detail="certificate has expired", raw="line 3"),
    _e("tls-failed", T2, peer_host="mx.f.example", peer_ip="192.0.2.6",
       failure_category="no-shared-cipher", rfc8460_result_type="validation-failure",
       detail="no shared cipher", raw="line 4"),
    _e("tls-established", T0, peer_host="mx1.a.example", peer_ip="192.0.2.1",
       tls_version="TLSv1.2", raw="line 5"),
]  # fmt: skip


def deliveries() -> pd.DataFrame:
    return frame(DELIVERIES, DELIVERY_ROWS)


def events() -> pd.DataFrame:
    return frame(EVENTS, EVENT_ROWS)
