"""The shapes of the vectorised Postfix reader (``fast_postfix``): for each kind of line it
takes, how its message is matched over a block (``SHAPES``: the pattern, and which rows
matched within the per-line patterns' length limits) and how its event columns are filled
(``FILLERS``), computing what ``analyzer.logs.postfix`` computes per line once per distinct
value of the block (``fast_patterns``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from analyzer.frames.fast_patterns import (
    CERT_FAILURE,
    CLIENT,
    CONNECT,
    CONNECT_REST,
    FROM,
    HINTS,
    LIMITS,
    LOST,
    MESSAGE_ID_ONE_PASS,
    NOTICE,
    SSL_FAILURE,
    STATUS,
    SUMMARY,
    WARN_FAILURE,
    WARN_PREFIX,
    Coded,
    cannot_fields,
    client_fields,
    connect_fields,
    daemon_of,
    failure_fields,
    join_keys,
    lost_fields,
    null_if_empty,
    per_unique,
    status_category,
    status_peer,
    status_policy,
    summary_peer,
    tls_names,
)
from analyzer.logs.common import DETAIL_LIMIT
from analyzer.model.common import clip
from analyzer.model.logs import Direction, EventKind, Outcome

# A shape's columns: an array of one value per row, or one value (``str``, ``bool``) for all
Values = dict[str, Any]


def _fill_summary(sel: dict[str, pa.Array], values: Values) -> None:
    s = sel["summary"]
    (daemon,) = per_unique(sel["prog"], daemon_of, [pa.string()])
    host, ip, port, direction = per_unique(
        join_keys(daemon.array(), s.field("dir"), s.field("peer")),
        summary_peer,
        [pa.string(), pa.string(), pa.int64(), pa.string()],
    )
    trust, version, cipher = per_unique(
        join_keys(s.field("trust"), s.field("ver"), s.field("cipher")),
        tls_names,
        [pa.string(), pa.string(), pa.string()],
    )
    established = pc.equal(s.field("state"), "established")
    sni = s.field("sni")
    values.update(
        event=pc.if_else(established, EventKind.TLS_ESTABLISHED.value, EventKind.TLS_REUSED.value),
        direction=direction,
        peer_host=host,
        peer_ip=ip,
        peer_port=port,
        trust=trust,
        tls_version=version,
        cipher=cipher,
        bits=pc.cast(s.field("use"), pa.int64()),
        key_exchange=null_if_empty(s.field("kex")),
        encrypted=True,
        detail=pc.if_else(
            pc.equal(sni, ""),
            "",
            pc.binary_join_element_wise(pa.scalar("sni=", sni.type), sni, pa.scalar("", sni.type)),
        ),
    )


def _fill_status(sel: dict[str, pa.Array], values: Values) -> None:
    s = sel["status"]
    (daemon,) = per_unique(sel["prog"], daemon_of, [pa.string()])
    host, ip, port, direction, kind = per_unique(
        join_keys(daemon.array(), s.field("relay")),
        status_peer,
        [pa.string(), pa.string(), pa.int64(), pa.string(), pa.string()],
    )
    status = s.field("status")
    outcome, encrypted = per_unique(
        join_keys(s.field("tls"), status), status_policy, [pa.string(), pa.bool_()]
    )
    text = s.field("text")
    detail = pc.if_else(pc.equal(text, ""), status, text)
    long = np.flatnonzero(
        pc.greater(pc.utf8_length(detail), DETAIL_LIMIT).to_numpy(zero_copy_only=False)
    )
    if len(long):
        d = detail.to_pylist()
        for i in long:
            d[i] = clip(d[i], DETAIL_LIMIT)
        detail = pa.array(d, pa.string())
    category, rfc = _categories(text, outcome, direction)
    values.update(
        event=kind,
        direction=direction,
        peer_host=host,
        peer_ip=ip,
        peer_port=port,
        recipient=s.field("to"),
        outcome=outcome,
        dsn=s.field("dsn"),
        tls_policy=s.field("tls"),
        conn_use=pc.cast(null_if_empty(s.field("cu")), pa.int64()),
        failure_category=category,
        rfc8460_result_type=rfc,
        encrypted=encrypted,
        detail=detail,
    )


def _categories(text: pa.Array, outcome: Coded, direction: Coded) -> list[Any]:
    """classify_status of the texts that name TLS (on failed outcomes), and rfc8460."""
    delivered = pc.equal(outcome.values, Outcome.DELIVERED.value)
    failed = np.flatnonzero(~pc.fill_null(delivered, False).to_numpy(False)[outcome.codes])
    if not len(failed):  # the texts of delivered mail are not searched
        return [pa.nulls(len(text), pa.string())] * 2
    # classify_status lowers the text: on ASCII text, the same as ignoring case
    hinted = pc.match_substring_regex(text.take(pa.array(failed)), HINTS, ignore_case=True)
    at = failed[hinted.to_numpy(False)]
    if not len(at):
        return [pa.nulls(len(text), pa.string())] * 2
    way = direction.values.take(pa.array(direction.codes[at]))
    found = per_unique(join_keys(way, text.take(pa.array(at))), status_category, [pa.string()] * 2)
    codes = np.full(len(text), len(found[0].values) - 1)  # the others: null
    codes[at] = found[0].codes
    return [Coded(f.values, codes) for f in found]


def _fill_failure(sel: dict[str, pa.Array], values: Values) -> None:
    f = sel["failure"]
    (daemon,) = per_unique(sel["prog"], daemon_of, [pa.string()])
    key = join_keys(
        daemon.array(), f.field("op"), f.field("warn"), f.field("cert"), f.field("peer"),
        f.field("cpeer"), f.field("text"),
    )  # fmt: skip
    kind, direction, host, ip, port, category, rfc, detail = per_unique(
        key, failure_fields, [pa.string()] * 4 + [pa.int64()] + [pa.string()] * 3
    )
    values.update(
        event=kind, direction=direction, peer_host=host, peer_ip=ip, peer_port=port,
        failure_category=category, rfc8460_result_type=rfc, detail=detail,
    )  # fmt: skip


def _fill_lost(sel: dict[str, pa.Array], values: Values) -> None:
    f = sel["lost"]
    kind, direction, host, ip, port, category, rfc, detail = per_unique(
        join_keys(f.field("what"), f.field("lost")),
        lost_fields,
        [pa.string()] * 4 + [pa.int64()] + [pa.string()] * 3,
    )
    values.update(
        event=kind, direction=direction, peer_host=host, peer_ip=ip, peer_port=port,
        failure_category=category, rfc8460_result_type=rfc, detail=detail,
    )  # fmt: skip


def _fill_cannot(sel: dict[str, pa.Array], values: Values) -> None:
    kind, direction, category, rfc, detail = per_unique(
        sel["cannot"], cannot_fields, [pa.string()] * 5
    )
    values.update(
        event=kind, direction=direction, failure_category=category,
        rfc8460_result_type=rfc, detail=detail,
    )  # fmt: skip


def _fill_expired(sel: dict[str, pa.Array], values: Values) -> None:
    # postfix._queue_line: qmgr "%s: from=<%s>, status=expired, returned to sender"
    values.update(
        event=EventKind.DELIVERY.value,
        direction=Direction.OUTBOUND.value,
        outcome=Outcome.BOUNCED.value,
        sender=sel["expired"].field("sender"),
        detail="expired, returned to sender",
    )


def _fill_connect(sel: dict[str, pa.Array], values: Values) -> None:
    c = sel["connect"]
    rest = pc.utf8_slice_codeunits(c.field("rest"), 0, CONNECT_REST)
    kind, direction, host, ip, port, encrypted, detail = per_unique(
        join_keys(c.field("dis"), c.field("peer"), rest),
        connect_fields,
        [
            pa.string(),
            pa.string(),
            pa.string(),
            pa.string(),
            pa.int64(),
            pa.bool_(),
            pa.string(),
        ],
    )
    values.update(
        event=kind, direction=direction, peer_host=host, peer_ip=ip, peer_port=port,
        encrypted=encrypted, detail=detail,
    )  # fmt: skip


def _fill_client(sel: dict[str, pa.Array], values: Values) -> None:
    direction, host, ip, port = per_unique(
        sel["client"].field("peer"),
        client_fields,
        [pa.string(), pa.string(), pa.string(), pa.int64()],
    )
    values.update(
        event=EventKind.RECEIVED.value,
        direction=direction, peer_host=host, peer_ip=ip, peer_port=port,
    )  # fmt: skip


def _fill_mid(sel: dict[str, pa.Array], values: Values) -> None:
    values["event"] = EventKind.MESSAGE_ID.value
    values["message_id"] = sel["mid"].field("mid")


def _fill_from(sel: dict[str, pa.Array], values: Values) -> None:
    values["event"] = EventKind.QUEUED.value
    values["sender"] = sel["from"].field("sender")


def _fill_removed(sel: dict[str, pa.Array], values: Values) -> None:
    values["event"] = EventKind.REMOVED.value


def _fill_notice(sel: dict[str, pa.Array], values: Values) -> None:
    # postfix._queue_line: the bounce daemon's "<qid>: <kind>: <new qid>"
    n = sel["notice"]
    values["event"] = EventKind.NOTIFICATION.value
    values["notice_queue_id"] = n.field("new")
    values["detail"] = n.field("kind")


def _within(found: pa.Array, names: Sequence[str]) -> Any:
    """Rows of ``found`` that matched, with each named field no longer than its limit."""
    good = pc.is_valid(found)
    for name in names:
        good = pc.and_kleene(good, pc.less_equal(pc.utf8_length(found.field(name)), LIMITS[name]))
    return pc.fill_null(good, False).to_numpy(zero_copy_only=False)


def _shape(pattern: str, names: Sequence[str] = ()) -> Callable[[pa.Array], Any]:
    def read(source: pa.Array) -> tuple[pa.Array, Any]:
        found = pc.extract_regex(source, pattern)
        return found, _within(found, names)

    return read


def message_ids(source: pa.Array) -> pa.Array:
    """What ``pc.extract_regex(source, MESSAGE_ID)`` gives, by ``MESSAGE_ID_ONE_PASS``."""
    found = pc.extract_regex(source, MESSAGE_ID_ONE_PASS)
    mid = pc.binary_join_element_wise(found.field("lt"), found.field("bare"), _NOTHING)
    return pa.StructArray.from_arrays([mid], names=["mid"], mask=pc.is_null(found))


def _mid(source: pa.Array) -> tuple[pa.Array, Any]:
    found = message_ids(source)
    return found, _within(found, ("mid",))


_NOTHING = pa.scalar("", pa.large_string())


def failures(source: pa.Array) -> tuple[pa.Array, Any]:
    """What ``pc.extract_regex(source, FAILURES)`` gives of the fields ``failure_fields``
    reads (``op``, ``warn``, ``cert``, ``peer``, ``cpeer``, ``text``; ``cert`` a mark, not
    the words), by the one-pass patterns of its three kinds; and the rows whose peer's host
    and address are within their limits (``_within`` of ``ph``, ``pi``, ``ch``, ``ci``).
    ``source``: texts of plain ASCII, as the vectorised reader's rows are (a position in
    bytes is one in characters)."""
    ssl = pc.extract_regex(source, SSL_FAILURE)
    warn = pc.extract_regex(source, WARN_FAILURE)
    cert = pc.extract_regex(source, CERT_FAILURE)
    is_ssl, is_warn, is_cert = (pc.fill_null(pc.is_valid(f), False) for f in (ssl, warn, cert))
    found = pc.or_(pc.or_(is_ssl, is_warn), is_cert)
    good = found
    peers = []
    for kind, its in ((ssl, is_ssl), (cert, is_cert)):
        peer, port = kind.field("peer"), kind.field("port")
        bracket = pc.find_substring(peer, "[")  # the host's length; the address's: the rest
        address = pc.subtract(pc.subtract(pc.binary_length(peer), bracket), 2)
        limits = (LIMITS["ph"], LIMITS["pi"]) if kind is ssl else (LIMITS["ch"], LIMITS["ci"])
        within = pc.and_(pc.less_equal(bracket, limits[0]), pc.less_equal(address, limits[1]))
        good = pc.and_(good, pc.or_(pc.invert(its), within))
        with_port = pc.binary_join_element_wise(peer, port, _COLON)
        whole = pc.if_else(pc.equal(port, ""), peer, with_port)
        peers.append(pc.if_else(its, whole, _NOTHING))
    text = pc.if_else(
        is_ssl, ssl.field("text"), pc.if_else(is_warn, warn.field("text"), cert.field("text"))
    )
    fields = [
        pc.if_else(is_ssl, ssl.field("op"), _NOTHING),
        pc.if_else(is_warn, _WARN, _NOTHING),
        pc.if_else(is_cert, _CERT, _NOTHING),
        peers[0],
        peers[1],
        text,
    ]
    names = ["op", "warn", "cert", "peer", "cpeer", "text"]
    struct = pa.StructArray.from_arrays(fields, names=names, mask=pc.invert(found))
    return struct, pc.fill_null(good, False).to_numpy(zero_copy_only=False)


_COLON = pa.scalar(":", pa.large_string())
_WARN = pa.scalar(WARN_PREFIX, pa.large_string())
_CERT = pa.scalar("certificate", pa.large_string())


def _all(source: pa.Array) -> tuple[None, Any]:
    return None, np.ones(len(source), dtype=np.bool_)


def _whole(source: pa.Array) -> tuple[pa.Array, Any]:
    """Every row, its text the value (within ``RAW_LINE_LIMIT`` as its line is)."""
    return source, np.ones(len(source), dtype=np.bool_)


SHAPES: dict[str, Callable[[pa.Array], tuple[pa.Array | None, Any]]] = {
    "status": _shape(STATUS, ("to", "orig", "relay", "delay", "delays", "tls")),
    "mid": _mid,
    "from": _shape(FROM, ("sender",)),
    "removed": _all,
    "summary": _shape(SUMMARY, ("ph", "pi", "pname", "sni", "ver", "cipher", "kex")),
    "failure": failures,
    "connect": _shape(CONNECT, ("ph", "pi")),
    "lost": _shape(LOST, ("lost",)),
    "cannot": _whole,
    "client": _shape(CLIENT, ("ph", "pi")),
    "expired": _shape(FROM, ("sender",)),
    "notice": _shape(NOTICE),
}
FILLERS: dict[str, Callable[[dict[str, pa.Array], Values], None]] = {
    "summary": _fill_summary,
    "status": _fill_status,
    "mid": _fill_mid,
    "from": _fill_from,
    "removed": _fill_removed,
    "failure": _fill_failure,
    "expired": _fill_expired,
    "connect": _fill_connect,
    "lost": _fill_lost,
    "cannot": _fill_cannot,
    "client": _fill_client,
    "notice": _fill_notice,
}
