"""Patterns and per-value readings of the vectorised Postfix reader (``fast_postfix``).

The patterns are those of ``analyzer.logs.prefix`` and ``analyzer.logs.postfix``, written for
RE2 (Arrow's engine) on ASCII text: ``\\s`` is spelled ``[ \\t\\n\\r\\f\\v]`` (Python's set;
RE2 lacks ``\\v``), and long bounded repeats are unbounded, their lengths checked after the
match (``LIMITS``), because RE2 reads unbounded repeats much faster. The functions compute,
for one distinct value of a block, what the per-line reader computes for each line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from analyzer.logs.common import DETAIL_LIMIT, peer_direction, split_peer
from analyzer.logs.postfix import (
    _DAEMON_DIRECTION,
    _OUTCOMES,
    _STARTTLS_COUNTER,
    _TRUST,
    QID_FORMS,
    _policy_encrypted,
    failure_facts,
)
from analyzer.logs.taxonomy import _TLS_HINTS, classify_status, rfc8460
from analyzer.model.common import clip
from analyzer.model.logs import Direction, EventKind
from analyzer.normalize import normalize_cipher, normalize_version

WS = r" \t\n\r\f\v"  # Python's \s on ASCII text
NS = "[^" + WS + "]"  # \S
HOSTCH = "[^" + WS + r"\[\]]"  # [^\s\[\]]


def peer_pattern(host: str, ip: str) -> str:
    r"""postfix._PEER (``[^\s\[\]]{0,255}\[[^\s\[\]]{1,128}\](?::\d{1,5})?``) with unbounded
    parts named ``host`` and ``ip``, whose lengths are checked after the match."""
    return "(?P<" + host + ">" + HOSTCH + r"*)\[(?P<" + ip + ">" + HOSTCH + r"+)\](?::\d{1,5})?"


# The month names (prefix.MONTHS) spelt so that no two alternatives start alike: the prefix
# pattern is then one-pass (RE2 reads its 4 groups without backtracking, twice as fast).
STAMP_BSD = (
    r"(?:J(?:an|u[nl])|Feb|Ma[ry]|A(?:pr|ug)|Sep|Oct|Nov|Dec) {1,2}\d{1,2} \d\d:\d\d:\d\d"
    r"(?:\.\d{1,9})?"
)
STAMP_ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:[.,]\d{1,9})?(?:Z|[+-]\d\d:?\d\d)?"
LEVELS = ("DEBUG", "INFO", "NOTICE", "WARNING", "WARN", "ERROR", "ERR", "CRIT", "ALERT", "EMERG")
# Longest fields the per-line patterns accept; RE2 reads the unbounded forms much faster,
# and a row with a longer field is left to the per-line reader.
LIMITS = {"host": 255, "prog": 128, "pid": 10, "to": 1024, "orig": 1024, "relay": 400,
           "delay": 32, "delays": 80, "tls": 80, "sender": 1024, "mid": 998, "ph": 255,
           "pi": 128, "ch": 255, "ci": 128, "pname": 255, "sni": 255, "ver": 32, "cipher": 128,
           "kex": 64, "lost": 400}  # fmt: skip


def prefix_pattern(stamp: str, named: bool) -> str:
    """prefix._BSD / prefix._ISO (with a host, not a level word) with a ``postfix`` tag."""

    def g(name: str, body: str) -> str:
        return f"(?P<{name}>{body})" if named else f"(?:{body})"

    return (
        "^" + g("stamp", stamp) + " " + g("host", HOSTCH + "+") + " "
        + g("prog", "postfix[^" + WS + r"\[\]:]*") + r"(?:\[" + g("pid", r"\d+") + r"\])?: ?"
    )  # fmt: skip


# postfix._QID
QID = r"^(?P<qid>" + QID_FORMS + r"): "
# postfix._NOTICE (src/bounce/bounce_notify_service.c, bounce_warn_service.c,
# bounce_trace_service.c: "%s: sender non-delivery notification: %s" and its kin), whole
NOTICE = (
    r"^(?P<kind>(?:sender|postmaster) (?:non-delivery|delay|delivery status) notification): "
    r"(?P<new>" + QID_FORMS + r")$"
)
# postfix._STATUS (src/global/log_adhoc.c)
STATUS = (
    r"^to=<(?P<to>[^>]*)>, (?:orig_to=<(?P<orig>[^>]*)>, )?relay=(?P<relay>[^," + WS
    + r"]+), (?:conn_use=(?P<cu>\d{1,6}), )?delay=(?P<delay>[^,]+), (?:delays=(?P<delays>[^,]+), )?"
    r"(?:tls=(?P<tls>[^," + WS + r"]+), )?dsn=(?P<dsn>[0-9.]{5,12}), "
    r"status=(?P<status>[a-z]{1,16})(?: \((?P<text>.*)\))?"
)  # fmt: skip
# postfix._SUMMARY (src/tls/tls_misc.c tls_log_summary)
SUMMARY = (
    r"^(?:(?P<trust>Anonymous|Untrusted|Trusted|Verified) )?TLS connection "
    r"(?P<state>established|reused) (?P<dir>to|from) "
    r"(?P<peer>" + peer_pattern("ph", "pi") + r"|(?P<pname>[^" + WS + r":\[\]]+))(?: to (?P<sni>[^"
    + WS + r":\[\]]+))?: (?P<ver>" + NS + r"+) with cipher (?P<cipher>" + NS
    + r"+) \((?P<use>\d{1,5})/(?P<alg>\d{1,5}) bits\)(?: key-exchange (?P<kex>" + NS + r"+))?"
)  # fmt: skip
# postfix._MESSAGE_ID and FROM, anchored so that no shorter reading is taken
MESSAGE_ID = r"^message-id=<?(?P<mid>[^>" + WS + r"]*)>?$"
# MESSAGE_ID's matches and readings by a pattern RE2 reads in one pass (no two alternatives
# start alike): one group per form of the id, with "<" and without, never both; the id is
# their concatenation. 0.34 µs a line against 0.81 µs (the "<?" of MESSAGE_ID may be read
# either way, which sends RE2 to its backtracking engine).
MESSAGE_ID_ONE_PASS = (
    r"^message-id=(?:<(?P<lt>[^>" + WS + r"]*)|(?P<bare>[^<>" + WS + r"][^>" + WS + r"]*))?>?$"
)  # fmt: skip
FROM = r"^from=<(?P<sender>[^>]*)>"
EXPIRED = ", status=expired, returned to sender"
# Beginnings of the messages postfix.parse reads without a queue id; any other message
# that names none of TLS, SSL_ or a certificate failure is one it ignores.
SESSION_STARTS = r"^(?:connect from |disconnect from |CONNECT |DISCONNECT |NOQUEUE: |\[ID )"
SESSION_WORDS = r"TLS|SSL_|certificate verification failed for "
# Beginnings of the texts after a queue id that postfix.parse reads (and the whole text
# "removed"); any other is one it ignores.
# postfix._queue_line: older smtp "B97C42542CE: Cannot start TLS: handshake failure"
CANNOT_START = "Cannot start TLS"
# postfix._NOTICE's beginnings
NOTICE_STARTS = ("sender ", "postmaster ")
QUEUE_STARTS = ("to=", "message-id=", "from=<", "client=", "reject: ", CANNOT_START, *NOTICE_STARTS)
# postfix._CONNECT (smtpd.c "connect from %s", "disconnect from %s ehlo=1 starttls=0/1 ...")
# and postfix._CLIENT (smtpd.c "%s: client=%s")
CONNECT = r"^(?P<dis>dis)?connect from (?P<peer>" + peer_pattern("ph", "pi") + r")(?P<rest>.*)"
CLIENT = r"^client=(?P<peer>" + peer_pattern("ph", "pi") + r")"
SUMMARY_START = r"^(?:(?:Anonymous|Untrusted|Trusted|Verified) )?TLS connection "
# postfix._SSL_ERROR (src/tls/tls_server.c, tls_client.c), the "TLS library problem" warning
# (src/tls/tls_misc.c tls_print_errors) and postfix._CERT_FAILED (src/tls/tls_verify.c)
FAILURES = (
    r"^(?:SSL_(?P<op>accept|connect) error (?:from|to) (?P<peer>"
    + peer_pattern("ph", "pi")
    + r"): "
    r"|(?P<warn>warning: TLS library problem: )"
    r"|(?P<cert>(?:(?:server|client|CA) )?certificate verification failed for )"
    r"(?P<cpeer>" + peer_pattern("ch", "ci") + r"): )(?P<text>.*)"
)
# FAILURES' three kinds, each by a pattern RE2 reads in one pass with at most four groups
# (0.46 µs a line for the three against 0.98 µs). One-pass: a peer's optional port and the
# ": " after it are read as one ":" and then digits or a space, and "client certificate" as
# one word starting with "c". The peer's text without its port is ``peer`` (and ``port``).
_BRACKETED = "(?P<peer>" + HOSTCH + r"*\[" + HOSTCH + r"+\]):(?:(?P<port>\d{1,5}): | )"
SSL_FAILURE = (
    r"^SSL_(?P<op>accept|connect) error (?:from|to) " + _BRACKETED + r"(?P<text>.*)"
)  # fmt: skip
WARN_FAILURE = r"^warning: TLS library problem: (?P<text>.*)"
WARN_PREFIX = "warning: TLS library problem: "
CERT_FAILURE = (
    r"^(?:server c|CA c|c(?:lient c)?)ertificate verification failed for " + _BRACKETED
    + r"(?P<text>.*)"
)  # fmt: skip
FAILURE_START = r"^(?:SSL_|warning: TLS library problem: |(?:(?:server|client|CA) )?certificate )"
# postfix._AFTER_STARTTLS (src/smtpd/smtpd.c "lost connection after %s from %s", "timeout after
# %s from %s"), its peer unbounded here (``LIMITS["lost"]``); the rest of the line is not read
LOST = r"^(?P<what>lost connection|timeout) after STARTTLS from (?P<lost>" + NS + r"+)"
LOST_START = r"^(?:lost connection|timeout) after STARTTLS from "
# classify_status reads a text only when it names one of these
HINTS = "|".join(re.escape(h) for h in _TLS_HINTS)


@dataclass(frozen=True, slots=True)
class Coded:
    """One value per row, held as the distinct values and where each row's value is.

    Attributes:
        values: the distinct values, then a null (the value of the rows of a null key).
        codes: per row, the index of its value in ``values`` (a numpy ``int64`` array).
    """

    values: pa.Array
    codes: Any

    def array(self) -> pa.Array:
        """The value of each row."""
        return self.values.take(pa.array(self.codes))


def per_unique(
    arr: pa.Array, fn: Callable[[str], Sequence[object]], types: Sequence[pa.DataType]
) -> list[Coded]:
    """``fn`` applied once per distinct value of ``arr``, its outputs (of ``types``) for each
    row; a row whose value is null gets nulls."""
    enc = pc.dictionary_encode(arr)
    outs = [fn(v) for v in enc.dictionary.to_pylist()]
    codes = pc.fill_null(enc.indices, len(outs)).to_numpy(zero_copy_only=False)
    codes = codes.astype(np.int64)
    return [
        Coded(pa.array([o[i] for o in outs] + [None], type=t), codes) for i, t in enumerate(types)
    ]


def join_keys(*arrays: pa.Array) -> pa.Array:
    return pc.binary_join_element_wise(
        *(a.cast(pa.large_string()) for a in arrays), pa.scalar("\x00", pa.large_string())
    )


def daemon_of(prog: str) -> tuple[str]:
    return (prog.rpartition("/")[2],)


def summary_peer(key: str) -> tuple[object, ...]:
    """postfix._summary: peer, its direction (``lmtp`` is local)."""
    daemon, way, peer = key.split("\x00")
    host, ip, port = split_peer(peer)
    base = Direction.OUTBOUND if way == "to" else Direction.INBOUND
    if daemon == "lmtp":
        base = Direction.LOCAL
    return host, ip, port, peer_direction(base, ip, host, port).value


def status_peer(key: str) -> tuple[object, ...]:
    """postfix._status: relay, its direction, and the event kind of the daemon."""
    daemon, relay = key.split("\x00")
    host, ip, port = split_peer(relay)
    base = _DAEMON_DIRECTION.get(daemon, Direction.OUTBOUND)
    direction = peer_direction(base, ip, host, port) if relay != "none" else base
    kind = EventKind.REPLAY if daemon in ("error", "retry") else EventKind.DELIVERY
    return host, ip, port, direction.value, kind.value


def failure_fields(key: str) -> tuple[object, ...]:
    """postfix._failure of an ``SSL_accept/connect error``, a ``TLS library problem`` warning
    or a ``certificate verification failed`` line."""
    daemon, op, warn, _cert, peer, cpeer, text = key.split("\x00")
    direction: Direction | None
    if op:
        kind, direction, ours = EventKind.TLS_FAILED, SSL_DIRECTION[op], True
    else:
        kind, ours = (EventKind.TLS_FAILED, True) if warn else (EventKind.CERTIFICATE_FAILED, False)
        direction = _DAEMON_DIRECTION.get(daemon)
    return _failure_values(kind, direction, text, peer or cpeer, ours)


SSL_DIRECTION = {"accept": Direction.INBOUND, "connect": Direction.OUTBOUND}


def _failure_values(
    kind: EventKind, direction: Direction | None, text: str, peer: str, ours: bool
) -> tuple[object, ...]:
    """postfix._failure: (kind, direction, host, ip, port, category, rfc8460, detail)."""
    f = failure_facts(kind, direction, text, peer, ours)
    return (
        kind.value, f.direction.value if f.direction else None, f.host, f.ip, f.port,
        f.category.value if f.category else None, f.rfc8460.value if f.rfc8460 else None,
        clip(text, DETAIL_LIMIT),
    )  # fmt: skip


def lost_fields(key: str) -> tuple[object, ...]:
    """postfix._session_line2 of a ``lost connection|timeout after STARTTLS from`` line."""
    what, peer = key.split("\x00")
    text = f"{what} after STARTTLS"
    return _failure_values(EventKind.CONNECTION_LOST, Direction.INBOUND, text, peer, True)


def cannot_fields(text: str) -> tuple[object, ...]:
    """postfix._queue_line of a ``<qid>: Cannot start TLS...`` line (``text`` from
    ``Cannot``): (kind, direction, category, rfc8460, detail); no peer is named."""
    kind, direction, _, _, _, category, rfc, detail = _failure_values(
        EventKind.TLS_FAILED, Direction.OUTBOUND, text, "", False
    )
    return kind, direction, category, rfc, detail


def status_category(key: str) -> tuple[object, ...]:
    way, text = key.split("\x00", 1)
    category = classify_status(text)
    rfc = rfc8460(category, Direction(way))
    return (category.value if category else None, rfc.value if rfc else None)


CONNECT_REST = 400  # postfix._CONNECT reads at most this much after the peer


def connect_fields(key: str) -> tuple[object, ...]:
    """postfix._connect: a session's start or end, with its STARTTLS counter."""
    dis, peer, rest = key.split("\x00")
    host, ip, port = split_peer(peer)
    encrypted: bool | None = None
    if dis:
        c = _STARTTLS_COUNTER.search(rest)
        if c is not None:
            encrypted = int(c["ok"]) > 0
        elif " commands=" in rest:
            encrypted = False
    kind = EventKind.DISCONNECT if dis else EventKind.CONNECT
    direction = peer_direction(Direction.INBOUND, ip, host, port)
    return kind.value, direction.value, host, ip, port, encrypted, clip(rest.strip(), DETAIL_LIMIT)


def client_fields(peer: str) -> tuple[object, ...]:
    """postfix._queue_line ``client=``: the client of a received message (no port check)."""
    host, ip, port = split_peer(peer)
    return peer_direction(Direction.INBOUND, ip, host).value, host, ip, port


def status_policy(key: str) -> tuple[object, ...]:
    tls, status = key.split("\x00")
    outcome = _OUTCOMES.get(status)
    return (outcome.value if outcome else None, _policy_encrypted(tls or None, outcome))


def tls_names(key: str) -> tuple[object, ...]:
    trust, ver, cipher = key.split("\x00")
    t = _TRUST.get(trust)
    v = normalize_version(ver)
    return (t.value if t else None, v.value if v else None, normalize_cipher(cipher))


def null_if_empty(arr: pa.Array) -> pa.Array:
    return pc.if_else(pc.equal(arr, ""), pa.scalar(None, arr.type), arr)
