"""The ``hops`` and ``messages`` frames: declared columns and dtypes (``issues``: see
``analyzer.frames.issues``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pandas as pd

from analyzer.frames.schema import Column, FrameBuilder, Kind, Schema, build_frame
from analyzer.model import (
    ClientCert,
    Dialect,
    Evidence,
    Hop,
    ReceivedHeader,
    Role,
)
from analyzer.received.chain import skewed

S, N, B, T, V, C, F = (
    Kind.STRING,
    Kind.INT,
    Kind.BOOL,
    Kind.TIME,
    Kind.TLS_VERSION,
    Kind.CATEGORY,
    Kind.FLOAT,
)
_EVIDENCE = tuple(e.value for e in Evidence)
_ROLE = tuple(r.value for r in Role)

HOPS = Schema(
    "hops",
    (
        Column("source", S, "file (and position) the message came from"),
        Column("message_id", S, "the Message-ID header"),
        Column("hop", N, "1 for the oldest (bottom-most) Received header, counting up"),
        Column("role", C, "local, internal, boundary (where mail entered) or external", _ROLE),
        Column("from_host", S, "first word of the from clause, as written"),
        Column("from_helo", S, "HELO name where the writer labels it (helo=, HELO, EHLO)"),
        Column("from_rdns", S, "reverse-DNS name the receiver looked up"),
        Column("from_ip", S, "observed peer address (IPv4 or IPv6)"),
        Column("by_host", S, "receiving host as written"),
        Column("via", S, "the via clause"),
        Column("protocol", S, "the with keyword as written"),
        Column("id", S, "the id clause (queue id)"),
        Column("for", S, "the for clause, without angle brackets"),
        Column("timestamp", T, "the header's date in UTC"),
        Column("delay_s", F, "seconds since the previous (older) hop; negative = clock skew"),
        Column("clock_skew", B, "the delay is negative"),
        Column(
            "dialect", C, "writer family whose grammar matched", tuple(d.value for d in Dialect)
        ),
        Column("evidence", C, "tls, tls-keyword, plaintext or unknown", _EVIDENCE),
        Column("encrypted", B, "True / False / <NA> (unknown) from evidence"),
        Column("tls_version", V, "normalised protocol version"),
        Column("version_raw", S, "the version as written"),
        Column("cipher", S, "IANA cipher-suite name where a mapping exists"),
        Column("cipher_raw", S, "the cipher as written"),
        Column("bits", N, "effective key bits"),
        Column("alg_bits", N, "algorithm key bits where written"),
        Column("key_exchange", S, "key exchange or group where written"),
        Column("server_signature", S, "server signature where written"),
        Column("client_cert", C, "client certificate status", tuple(c.value for c in ClientCert)),
        Column("client_cn", S, "client certificate CN"),
        Column("verify", S, "peer verification result as written"),
        Column("marker", S, "the text that proved the verdict"),
        Column("note", S, "why the verdict is what it is, where not obvious"),
        Column("raw", S, "the header, unfolded"),
    ),
)


def _hop_row(h: Hop) -> tuple[object, ...]:
    return _row(h.source, h.message_id, h.hop, h.role, h.header, h.delay_s, h.clock_skew)


_ENCRYPTED = {e: e.encrypted for e in Evidence}  # a property call per hop otherwise


def _row(
    source: str,
    message_id: str | None,
    number: int,
    role: Role,
    r: ReceivedHeader,
    delay: float | None,
    skew: bool,
) -> tuple[object, ...]:
    """The ``hops`` row of header ``r``, hop ``number`` of its message."""
    t = r.tls
    return (
        source, message_id, number, role, r.from_host, r.from_helo, r.from_rdns, r.from_ip,
        r.by_host, r.via, r.protocol, r.id, r.for_, r.timestamp, delay, skew, t.dialect,
        t.evidence, _ENCRYPTED[t.evidence], t.tls_version, t.version_raw, t.cipher, t.cipher_raw,
        t.bits, t.alg_bits, t.key_exchange, t.server_signature, t.client_cert, t.client_cn,
        t.verify, t.marker or None, t.note, r.raw,
    )  # fmt: skip


def hop_rows(
    source: str,
    message_id: str | None,
    headers: Sequence[ReceivedHeader],
    roles: Sequence[Role],
    delays: Sequence[float | None],
) -> list[tuple[object, ...]]:
    """The ``hops`` rows of one message straight from its headers (top first), their roles
    (same order) and delays (bottom first, as ``chain.delays``): the rows of the ``Hop``
    records ``chain.assemble`` makes, without making them (the mailbox hot path)."""
    top = len(headers)  # hop n is the header n places from the bottom
    return [
        _row(source, message_id, n, roles[top - n], headers[top - n], delay, skewed(delay))
        for n, delay in enumerate(delays, start=1)
    ]


def hops_frame(hops: Iterable[Hop]) -> pd.DataFrame:
    """The ``hops`` frame: one row per Received header."""
    return build_frame(HOPS, hops, _hop_row)


def hops_builder(on_chunk: Callable[[list[Any], int], None] | None = None) -> FrameBuilder:
    """A builder of the ``hops`` frame fed with rows made by ``hop_rows``."""
    return FrameBuilder(HOPS, _same, on_chunk=on_chunk)


def _same(row: tuple[object, ...]) -> tuple[object, ...]:
    return row


MESSAGE_INFO = Schema(
    "message_info",
    (
        Column("source", S, "file (and position) the message came from"),
        Column("message_id", S, "the Message-ID header"),
        Column("date", T, "the Date header in UTC"),
        Column("sender_domain", S, "domain of the From address"),
        Column("received_headers", N, "Received headers in the message"),
        Column("encoding_errors", N, "header fields with undecodable bytes"),
    ),
)


MESSAGES = Schema(
    "messages",
    (
        *MESSAGE_INFO.columns,
        Column("hop_count", N, "hops (Received headers) parsed"),
        Column("status", C, "ok, or no-evidence (no transport header)", ("ok", "no-evidence")),
        Column("boundary_hop", N, "number of the hop where mail entered the trusted hosts"),
        Column("boundary_from", S, "the peer of the boundary hop (rDNS, else host)"),
        Column("boundary_evidence", C, "evidence of the boundary hop", _EVIDENCE),
        Column("boundary_encrypted", B, "the boundary hop was encrypted"),
        Column(
            "encrypted_inside",
            B,
            "every boundary and internal hop was encrypted (<NA> when any is unknown)",
        ),
        Column("weakest_version", V, "lowest TLS version on a boundary or internal hop"),
        Column("n_tls", N, "hops with evidence tls"),
        Column("n_tls_keyword", N, "hops with evidence tls-keyword"),
        Column("n_plaintext", N, "hops with evidence plaintext"),
        Column("n_unknown", N, "hops with evidence unknown"),
    ),
)


def messages_frame(hops: pd.DataFrame, info: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per message from the hops frame (and, where given, the per-message facts).

    Messages present only in ``info`` (no Received header at all) get status
    ``no-evidence``: never counted as plaintext.
    """
    key = ["source", "message_id"]
    inside = hops[hops["role"].isin(["boundary", "internal"])]
    g = hops.groupby(key, dropna=False, sort=False, observed=True)
    counts = g["evidence"].value_counts().unstack(fill_value=0)
    agg = pd.DataFrame({"hop_count": g.size()})
    for ev in _EVIDENCE:
        col = f"n_{ev.replace('-', '_')}"
        agg[col] = counts[ev] if ev in counts.columns else 0
    gi = inside.groupby(key, dropna=False, sort=False, observed=True)
    enc = inside["encrypted"]
    any_false = (
        enc.eq(False)
        .fillna(False)
        .groupby([inside[k] for k in key], dropna=False, sort=False)
        .any()
    )
    any_unknown = enc.isna().groupby([inside[k] for k in key], dropna=False, sort=False).any()
    # False if any hop inside was plaintext; unknown if any was unknown; else True.
    inside_enc = pd.Series(True, index=any_false.index, dtype="boolean").mask(any_unknown)
    inside_enc = inside_enc.mask(any_false, False)
    agg["encrypted_inside"] = inside_enc
    agg["weakest_version"] = gi["tls_version"].min()
    boundary = hops[hops["role"] == "boundary"].drop_duplicates(key).set_index(key)
    agg["boundary_hop"] = boundary["hop"]
    agg["boundary_from"] = boundary["from_rdns"].fillna(boundary["from_host"])
    agg["boundary_evidence"] = boundary["evidence"]
    agg["boundary_encrypted"] = boundary["encrypted"]
    agg = agg.reset_index()
    if info is None:
        base = hops.drop_duplicates(key)[key].copy()
        for info_col in MESSAGE_INFO.columns[2:]:
            base[info_col.name] = pd.NA
    else:
        base = info
    out = base.merge(agg, on=key, how="left")
    for col in ("hop_count", "n_tls", "n_tls_keyword", "n_plaintext", "n_unknown"):
        out[col] = out[col].fillna(0)
    out["status"] = out["hop_count"].map(lambda n: "ok" if n else "no-evidence")
    return _conform(out)


def _conform(df: pd.DataFrame) -> pd.DataFrame:
    """Give ``df`` exactly the columns and dtypes of the ``messages`` schema."""
    empty = build_frame(MESSAGES, (), lambda r: r)
    data = {}
    for col in MESSAGES.columns:
        series = df[col.name] if col.name in df.columns else pd.Series([pd.NA] * len(df))
        data[col.name] = series.astype(empty[col.name].dtype) if len(df) else empty[col.name]
    return pd.DataFrame(data, columns=MESSAGES.names).reset_index(drop=True)
