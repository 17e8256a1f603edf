"""Postfix: TLS summary lines, handshake and certificate failures, delivery status lines.

Formats from the Postfix source (3.11, vdukhovni/postfix 17830e5c) and the real lines quoted
in shared reference log-formats.md §2.1; each pattern names its origin.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from analyzer.logs.common import make_event, peer_direction, split_peer
from analyzer.logs.taxonomy import TLSRPT_TYPES, classify, classify_status, rfc8460
from analyzer.model.common import IssueKind, ParseIssue
from analyzer.model.logs import (
    Direction,
    EventKind,
    FailureCategory,
    LogLine,
    Mta,
    Outcome,
    Rfc8460ResultType,
    TlsEvent,
    Trust,
)
from analyzer.normalize import normalize_cipher, normalize_version

Result = TlsEvent | ParseIssue | None
_P = Mta.POSTFIX
_PEER = r"[^\s\[\]]{0,255}\[[^\s\[\]]{1,128}\](?::\d{1,5})?"

# src/tls/tls_misc.c tls_log_summary:
#   "%s TLS connection %s %s %s%s%s: %s with cipher %s (%d/%d bits)" + " key-exchange %s" ...
# e.g. "Verified TLS connection established to gmail-smtp-in.l.google.com[108.177.14.26]:25:
#   TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 ..."
#   (kumina/postfix_exporter test); Postfix 2.2-2.4 had no trust word (postfix-logwatch #TD);
#   server side with SNI adds " to <sni-name>".
_SUMMARY = re.compile(
    r"(?:(?P<trust>Anonymous|Untrusted|Trusted|Verified) )?TLS connection "
    r"(?P<state>established|reused) (?P<dir>to|from) "
    r"(?P<peer>" + _PEER + r"|[^\s:\[\]]{1,255})(?: to (?P<sni>[^\s:\[\]]{1,255}))?: "
    r"(?P<ver>\S{1,32}) with cipher (?P<cipher>\S{1,128}) "
    r"\((?P<use>\d{1,5})/(?P<alg>\d{1,5}) bits\)(?: key-exchange (?P<kex>\S{1,64}))?"
)
# src/tls/tls_server.c "SSL_accept error from %s: %d|%m|lost connection";
# tls_client.c "SSL_connect error to %s: ..." (animina#856, blog.jj5.net 2012-02-01)
_SSL_ERROR = re.compile(r"SSL_(?P<op>accept|connect) error (?:from|to) (?P<peer>" + _PEER + r"): ")
# src/tls/tls_verify.c "%s certificate verification failed for %s: ..." (wttw/aboutmyemail#57,
# whyscream PR #133)
_CERT_FAILED = re.compile(
    r"(?:(?P<role>server|client|CA) )?certificate verification failed for "
    r"(?P<peer>" + _PEER + r"): "
)
# src/smtpd/smtpd.c "lost connection after %s from %s", "timeout after %s from %s" (fail2ban)
_AFTER_STARTTLS = re.compile(
    r"(?P<what>lost connection|timeout) after STARTTLS from (?P<peer>\S{1,400})"
)
# smtpd.c "connect from %s" / "disconnect from %s ehlo=1 starttls=0/1 commands=1/2" (animina#856)
_CONNECT = re.compile(r"(?P<dis>dis)?connect from (?P<peer>" + _PEER + r")(?P<rest>.{0,400})")
_STARTTLS_COUNTER = re.compile(r" starttls=(?P<ok>\d{1,6})(?:/(?P<tried>\d{1,6}))?")
# Queue ids: short form upper-case hex, long form base-52 without vowels (src/global/mail_queue.h)
QID_FORMS = r"[0-9A-F]{5,20}|[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-z]{10,24}"
_QID = re.compile(r"(?P<qid>" + QID_FORMS + r"): ")
# The bounce daemon's notices, msg_info("%s: <kind>: %s", queue_id, STR(new_id)):
#   "sender non-delivery notification", "postmaster non-delivery notification"
#     (src/bounce/bounce_notify_service.c bounce_notify_service, bounce_notify_verp.c
#     bounce_notify_verp, bounce_one_service.c bounce_one_service);
#   "sender delay notification", "postmaster delay notification"
#     (src/bounce/bounce_warn_service.c bounce_warn_service);
#   "sender delivery status notification" (src/bounce/bounce_trace_service.c
#     bounce_trace_service).
# e.g. "3B09816419A: sender non-delivery notification: C6102164127"
#   (sample_data/lab/postfix/mail.log line 420); 3.11 logs it before the new message's
#   cleanup lines (RELEASE_NOTES-3.11, Feature 20251216).
_NOTICE = re.compile(
    r"(?P<kind>(?:sender|postmaster) (?:non-delivery|delay|delivery status) notification): "
    r"(?P<new>" + QID_FORMS + r")"
)
# src/global/log_adhoc.c: "to=<%s>, orig_to=<%s>, relay=%s, conn_use=%d, delay=%s, delays=%s,
#   [tls=%s (3.11, pol_stats.c),] dsn=%s, status=%s (%s)"
#   e.g. "7356ABD12E: to=<...@hotmail.com>, relay=hotmail-com.olc...[104.47.2.33]:25,
#   delay=21537, delays=21536/0.08/0.72/0, dsn=4.7.4, status=deferred (TLS is required, ...)"
#   (ddavness/power-mailinabox#34)
_STATUS = re.compile(
    r"to=<(?P<to>[^>]{0,1024})>, (?:orig_to=<[^>]{0,1024}>, )?relay=(?P<relay>[^,\s]{1,400}), "
    r"(?:conn_use=(?P<cu>\d{1,6}), )?delay=[^,]{1,32}, (?:delays=[^,]{1,80}, )?"
    r"(?:tls=(?P<tls>[^,\s]{1,80}), )?dsn=(?P<dsn>[0-9.]{5,12}), status=(?P<status>[a-z]{1,16})"
    r"(?: \((?P<text>.*)\))?"
)
# qmgr "from=<%s>, size=%ld, nrcpt=%d (queue active)"; cleanup "message-id=<%s>";
# smtpd "client=%s" (src/qmgr/qmgr_active.c, src/cleanup/cleanup_message.c, smtpd.c)
_FROM = re.compile(r"from=<(?P<from>[^>]{0,1024})>")
_MESSAGE_ID = re.compile(r"message-id=<?(?P<mid>[^>\s]{0,998})>?")
_CLIENT = re.compile(r"client=(?P<peer>" + _PEER + r")")
# smtpd.c "NOQUEUE: reject: RCPT from %s: 530 5.7.0 Must issue a STARTTLS command first; ..."
_REJECT = re.compile(r"reject: \S{1,32} from (?P<peer>" + _PEER + r"): (?P<text>.{0,2000})")
# Postfix TLSRPT_README "TLSRPT: status=failure, domain=example.net, receiving_mx=..., ..."
_TLSRPT = re.compile(
    r"TLSRPT: status=(?P<status>\w{1,16}), domain=(?P<domain>[^,\s]{1,255})(?P<rest>.{0,2000})"
)
_TLSRPT_FIELD = re.compile(r", (?P<key>\w{1,32})=(?P<value>[^,]{0,500})")
# tlsproxy "CONNECT to [173.194.222.27]:25" / "DISCONNECT [ip]:port" (postfix_exporter test,
# whyscream tlsproxy_0001/0002)
_PROXY = re.compile(r"(?P<kind>CONNECT|DISCONNECT) (?:(?:to|from) )?(?P<peer>" + _PEER + r")")

_OUTCOMES = {
    "sent": Outcome.DELIVERED,
    "deferred": Outcome.DEFERRED,
    "bounced": Outcome.BOUNCED,
    "expired": Outcome.BOUNCED,
}
_DAEMON_DIRECTION = {
    "smtpd": Direction.INBOUND,
    "smtp": Direction.OUTBOUND,
    "lmtp": Direction.LOCAL,
    "local": Direction.LOCAL,
    "virtual": Direction.LOCAL,
    "pipe": Direction.LOCAL,
}
_TRUST = {t.value.capitalize(): t for t in Trust}


def _daemon(program: str) -> str:
    return program.rpartition("/")[2]


def _summary(line: LogLine, raw: str, m: re.Match[str]) -> TlsEvent:
    host, ip, port = split_peer(m["peer"])
    base = Direction.OUTBOUND if m["dir"] == "to" else Direction.INBOUND
    if _daemon(line.program) == "lmtp":
        base = Direction.LOCAL
    kind = EventKind.TLS_ESTABLISHED if m["state"] == "established" else EventKind.TLS_REUSED
    trust = _TRUST.get(m["trust"] or "")
    return make_event(
        line,
        raw,
        _P,
        kind,
        direction=peer_direction(base, ip, host, port),
        peer_host=host,
        peer_ip=ip,
        peer_port=port,
        trust=trust,
        tls_version=normalize_version(m["ver"]),
        cipher=normalize_cipher(m["cipher"]),
        bits=int(m["use"]),
        key_exchange=m["kex"],
        encrypted=True,
        detail=f"sni={m['sni']}" if m["sni"] else "",
    )


class FailureFacts(NamedTuple):
    """What a TLS failure line says besides its text (see ``failure_facts``).

    Attributes:
        direction, host, ip, port, category, rfc8460: the event's fields of those names.
    """

    direction: Direction | None
    host: str
    ip: str
    port: int | None
    category: FailureCategory | None
    rfc8460: Rfc8460ResultType | None


def failure_facts(
    kind: EventKind, direction: Direction | None, text: str, peer: str, ours: bool
) -> FailureFacts:
    """The facts of a failure line of ``kind`` with error ``text`` and ``peer`` (``ours``:
    whether an alert in it was received by us); shared with the vectorised reader."""
    host, ip, port = split_peer(peer) if peer else ("", "", None)
    if direction is not None and ip:
        direction = peer_direction(direction, ip, host, port)
    category = classify(text, received_alert_is_ours=ours)
    if category is None and kind is EventKind.TLS_FAILED:
        category = FailureCategory.HANDSHAKE_FAILURE  # issue 3 scope 4: "(other)"
    return FailureFacts(direction, host, ip, port, category, rfc8460(category, direction))


def _failure(
    line: LogLine,
    raw: str,
    kind: EventKind,
    direction: Direction | None,
    text: str,
    peer: str = "",
    *,
    ours: bool = True,
) -> TlsEvent:
    f = failure_facts(kind, direction, text, peer, ours)
    return make_event(
        line,
        raw,
        _P,
        kind,
        direction=f.direction,
        peer_host=f.host,
        peer_ip=f.ip,
        peer_port=f.port,
        failure_category=f.category,
        rfc8460_result_type=f.rfc8460,
        detail=text,
    )


def _status(line: LogLine, raw: str, qid: str, rest: str, daemon: str) -> Result:
    m = _STATUS.match(rest)
    if m is None:
        reason = "postfix status line not in the log_adhoc.c format"
        return ParseIssue(
            line.origin, line.line_no, IssueKind.MALFORMED, reason, raw[:2000], unit="line"
        )
    relay = m["relay"]
    host, ip, port = split_peer(relay)
    base = _DAEMON_DIRECTION.get(daemon, Direction.OUTBOUND)
    direction = peer_direction(base, ip, host, port) if relay != "none" else base
    text = m["text"] or ""
    status = m["status"]
    outcome = _OUTCOMES.get(status)
    category = classify_status(text) if outcome is not Outcome.DELIVERED else None
    kind = EventKind.REPLAY if daemon in ("error", "retry") else EventKind.DELIVERY
    return make_event(
        line,
        raw,
        _P,
        kind,
        queue_id=qid,
        direction=direction,
        peer_host=host,
        peer_ip=ip,
        peer_port=port,
        recipient=m["to"],
        outcome=outcome,
        dsn=m["dsn"],
        tls_policy=m["tls"] or "",
        conn_use=int(m["cu"]) if m["cu"] else None,
        failure_category=category,
        rfc8460_result_type=rfc8460(category, direction),
        encrypted=_policy_encrypted(m["tls"], outcome),
        detail=text or status,
    )


def _policy_encrypted(tls: str | None, outcome: Outcome | None) -> bool | None:
    """What the 3.11 ``tls=`` field proves (postconf(5) smtp_log_tls_feature_status)."""
    if not tls or outcome is not Outcome.DELIVERED or tls.startswith("!") or "?" in tls:
        return None
    level = tls.partition("/")[0]
    return level not in ("none", "may:none")


def _queue_line(line: LogLine, raw: str, qid: str, rest: str, daemon: str) -> Result:
    if rest.startswith("to="):
        return _status(line, raw, qid, rest, daemon)
    if rest.startswith("client="):
        m = _CLIENT.match(rest)
        if m is None:
            return None
        host, ip, port = split_peer(m["peer"])
        return make_event(
            line,
            raw,
            _P,
            EventKind.RECEIVED,
            queue_id=qid,
            direction=peer_direction(Direction.INBOUND, ip, host),
            peer_host=host,
            peer_ip=ip,
            peer_port=port,
        )
    if rest.startswith("message-id="):
        mm = _MESSAGE_ID.match(rest)
        return make_event(
            line, raw, _P, EventKind.MESSAGE_ID, queue_id=qid, message_id=mm["mid"] if mm else ""
        )
    if rest.startswith("from=<"):
        fm = _FROM.match(rest)
        if rest.endswith(", status=expired, returned to sender"):
            # src/qmgr/qmgr_active.c "%s: from=<%s>, status=expired, returned to sender"
            return make_event(
                line,
                raw,
                _P,
                EventKind.DELIVERY,
                queue_id=qid,
                direction=Direction.OUTBOUND,
                outcome=Outcome.BOUNCED,
                sender=fm["from"] if fm else "",
                detail="expired, returned to sender",
            )
        return make_event(
            line, raw, _P, EventKind.QUEUED, queue_id=qid, sender=fm["from"] if fm else ""
        )
    if rest == "removed":
        return make_event(line, raw, _P, EventKind.REMOVED, queue_id=qid)
    if rest.startswith(("sender ", "postmaster ")):
        n = _NOTICE.fullmatch(rest)
        if n is None:
            return None
        return make_event(
            line,
            raw,
            _P,
            EventKind.NOTIFICATION,
            queue_id=qid,
            notice_queue_id=n["new"],
            detail=n["kind"],
        )
    if rest.startswith("reject: "):
        return _reject(line, raw, qid, rest)
    if rest.startswith("Cannot start TLS"):
        # older smtp: "B97C42542CE: Cannot start TLS: handshake failure" (blog.jj5.net 2012)
        ev = _failure(line, raw, EventKind.TLS_FAILED, Direction.OUTBOUND, rest, ours=False)
        return _with_qid(ev, qid, line, raw)
    return None


def _with_qid(ev: TlsEvent, qid: str, line: LogLine, raw: str) -> TlsEvent:
    return make_event(
        line,
        raw,
        _P,
        ev.kind,
        queue_id=qid,
        direction=ev.direction,
        failure_category=ev.failure_category,
        rfc8460_result_type=ev.rfc8460_result_type,
        detail=ev.detail,
    )


def _reject(line: LogLine, raw: str, qid: str, rest: str) -> Result:
    m = _REJECT.match(rest)
    if m is None:
        return None
    host, ip, port = split_peer(m["peer"])
    text = m["text"]
    fm = _FROM.search(text)
    to = text.find(" to=<")
    rcpt = text[to + 5 : text.find(">", to)] if to >= 0 else ""
    return make_event(
        line,
        raw,
        _P,
        EventKind.REJECTED,
        queue_id=qid,
        direction=peer_direction(Direction.INBOUND, ip, host),
        peer_host=host,
        peer_ip=ip,
        peer_port=port,
        outcome=Outcome.REJECTED,
        sender=fm["from"] if fm else "",
        recipient=rcpt,
        detail=text.partition(";")[0],
    )


def _connect(line: LogLine, raw: str, m: re.Match[str]) -> TlsEvent:
    host, ip, port = split_peer(m["peer"])
    rest = m["rest"]
    encrypted: bool | None = None
    if m["dis"]:
        c = _STARTTLS_COUNTER.search(rest)
        if c is not None:
            encrypted = int(c["ok"]) > 0
        elif " commands=" in rest:
            # Postfix >= 3.0 lists every command used; no starttls= means no STARTTLS tried
            encrypted = False
    kind = EventKind.DISCONNECT if m["dis"] else EventKind.CONNECT
    return make_event(
        line,
        raw,
        _P,
        kind,
        direction=peer_direction(Direction.INBOUND, ip, host),
        peer_host=host,
        peer_ip=ip,
        peer_port=port,
        encrypted=encrypted,
        detail=rest.strip(),
    )


def _tlsrpt(line: LogLine, raw: str, m: re.Match[str]) -> TlsEvent:
    fields = {f["key"]: f["value"] for f in _TLSRPT_FIELD.finditer(m["rest"])}
    host, ip, port = split_peer(fields.get("receiving_mx", ""))
    ftype = TLSRPT_TYPES.get(fields.get("failure_type", ""))
    reason = fields.get("failure_reason", "").replace("_", " ")
    category = classify(reason, received_alert_is_ours=False) if reason else None
    return make_event(
        line,
        raw,
        _P,
        EventKind.TLSRPT,
        direction=Direction.OUTBOUND,
        peer_host=host,
        peer_ip=ip,
        peer_port=port,
        failure_category=category,
        rfc8460_result_type=ftype,
        detail=f"status={m['status']} domain={m['domain']}" + (f" {reason}" if reason else ""),
    )


def _session_line(line: LogLine, raw: str, msg: str, daemon: str) -> Result:
    direction = _DAEMON_DIRECTION.get(daemon)
    first = msg[:1]
    if first in "AUTV" and "TLS connection " in msg[:30]:
        m = _SUMMARY.match(msg)
        return _summary(line, raw, m) if m else None
    if msg.startswith("TLS connection "):
        m = _SUMMARY.match(msg)
        return _summary(line, raw, m) if m else None
    if msg.startswith("SSL_"):
        m = _SSL_ERROR.match(msg)
        if m is None:
            return None
        d = Direction.INBOUND if m["op"] == "accept" else Direction.OUTBOUND
        return _failure(line, raw, EventKind.TLS_FAILED, d, msg[m.end() :], m["peer"])
    if msg.startswith("warning: TLS library problem: "):
        return _failure(line, raw, EventKind.TLS_FAILED, direction, msg[30:])
    if "certificate verification failed for " in msg[:48]:
        m = _CERT_FAILED.match(msg)
        if m is None:
            return None
        return _failure(
            line,
            raw,
            EventKind.CERTIFICATE_FAILED,
            direction,
            msg[m.end() :],
            m["peer"],
            ours=False,
        )
    return _session_line2(line, raw, msg, direction)


def _session_line2(line: LogLine, raw: str, msg: str, direction: Direction | None) -> Result:
    if "after STARTTLS from " in msg[:40]:
        m = _AFTER_STARTTLS.match(msg)
        if m is None:
            return None
        return _failure(
            line,
            raw,
            EventKind.CONNECTION_LOST,
            Direction.INBOUND,
            f"{m['what']} after STARTTLS",
            m["peer"],
        )
    if msg.startswith(("connect from ", "disconnect from ")):
        m = _CONNECT.match(msg)
        return _connect(line, raw, m) if m else None
    if msg.startswith(("CONNECT ", "DISCONNECT ")):
        m = _PROXY.match(msg)
        if m is None:
            return None
        host, ip, port = split_peer(m["peer"])
        kind = EventKind.CONNECT if m["kind"] == "CONNECT" else EventKind.DISCONNECT
        d = Direction.OUTBOUND if " to " in msg[:12] else Direction.INBOUND
        return make_event(
            line, raw, _P, kind, direction=d, peer_host=host, peer_ip=ip, peer_port=port
        )
    if msg.startswith("Host offered STARTTLS: "):
        # smtp_proto.c, smtp_tls_note_starttls_offer=yes (blog.jj5.net 2012-02-01)
        offered = msg[23:].strip()
        bracketed = offered.startswith("[") and offered.endswith("]")
        return make_event(
            line,
            raw,
            _P,
            EventKind.STARTTLS_OFFERED,
            direction=direction,
            peer_host="" if bracketed else offered,
            peer_ip=offered[1:-1] if bracketed else "",
        )
    if msg.startswith("TLSRPT: "):
        m = _TLSRPT.match(msg)
        return _tlsrpt(line, raw, m) if m else None
    if msg.startswith("warning: ") and ("TLSA" in msg or "TLS" in msg):
        category = classify(msg[9:], received_alert_is_ours=False)
        if category is not None:
            return _failure(line, raw, EventKind.TLS_FAILED, direction, msg[9:], ours=False)
    return None


def parse(line: LogLine, raw: str) -> Result:
    """The event one Postfix line describes, an issue, or None when it says nothing we use."""
    msg = line.message
    daemon = _daemon(line.program)
    if msg.startswith("NOQUEUE: "):
        return _reject(line, raw, "", msg[9:]) if msg.startswith("NOQUEUE: reject: ") else None
    m = _QID.match(msg)
    if m is not None:
        return _queue_line(line, raw, m["qid"], msg[m.end() :], daemon)
    return _session_line(line, raw, msg, daemon)
