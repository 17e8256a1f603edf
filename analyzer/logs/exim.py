"""Exim main log: ``<=`` receipts and ``=>``/``->``/``==``/``**`` deliveries with their TLS
fields, ``TLS error on connection ...`` and TLS session failures.

Formats: Exim spec (log_selector: tls_cipher ``X=``, tls_certificate_verified ``CV=``,
tls_peerdn ``DN=``, tls_sni ``SNI=``) and the real lines of shared reference log-formats.md
§2.2; transports/smtp.c ``"a TLS session is required, but %s"``; tls-openssl.c/tls-gnu.c
``"TLS error on %s %s"``.
"""

from __future__ import annotations

import re

from analyzer.logs.common import make_event, peer_direction, small_number
from analyzer.logs.taxonomy import classify, classify_status, rfc8460
from analyzer.model.common import ParseIssue
from analyzer.model.logs import (
    Direction,
    EventKind,
    FailureCategory,
    LogLine,
    Mta,
    Outcome,
    TlsEvent,
    Trust,
)
from analyzer.normalize import normalize_cipher, normalize_version

Result = TlsEvent | ParseIssue | None
_E = Mta.EXIM

# Message ids: classic 14hpmo-00002f-00, 1sybFa-003Els-1p, 4.97+ 1wtYVW-0000000GFxD-3Ryp (§2.2.1)
_MSGID = re.compile(r"(?P<id>[0-9A-Za-z]{6}-[0-9A-Za-z]{6,11}-[0-9A-Za-z]{2,4}) ")
# H=host (helo) [ip]:port, H=(helo) [ip], H=[ip] (spec "Reception and delivery lines")
_HOST = re.compile(
    r"(?:^| )H=(?P<host>[^\s\[\]]{1,255})?(?: \((?P<helo>[^\s()]{0,255})\))? ?"
    r"\[(?P<ip>[^\]\s]{1,64})\](?::(?P<port>\d{1,5}))?"
)
# ``KEY=value`` or ``KEY="quoted \" value"``; alternatives are disjoint, so no backtracking
_FIELD = re.compile(r" (?P<k>[A-Za-z]{1,4})=(?P<v>\"(?:[^\"\\]|\\.){0,2000}\"|[^\s\"]{0,2000})")
# "TLS error on connection from (helo) [ip] (gnutls_handshake): ..." (German Exim blog,
# hestiacp#3781, Exim test/log/*)
_TLS_ERROR = re.compile(
    r"TLS error on connection(?: (?P<dir>from|to) (?P<peer>.{0,300}?))? "
    r"\((?P<call>[^()]{1,300})\): ?(?P<text>.{0,4000})"
)
# a peer without H=: "(helo) [ip]", "host [ip]", "[ip]"
_BARE_PEER = re.compile(
    r"(?:(?P<host>[^\s\[\]()]{1,255}) )?(?:\((?P<helo>[^\s()]{0,255})\) )?"
    r"\[(?P<ip>[^\]\s]{1,64})\](?::(?P<port>\d{1,5}))?"
)


# CV= (tls_certificate_verified): yes = chain verified, no = not verified or none presented,
# dane = DANE-verified (Exim spec, log_selector)
_CV_TRUST = {"yes": Trust.TRUSTED, "no": Trust.UNTRUSTED, "dane": Trust.VERIFIED}


def _fields(text: str) -> dict[str, str]:
    return {m["k"]: m["v"].strip('"') for m in _FIELD.finditer(text)}


def _tls(x: str | None) -> dict[str, object]:
    """``X=TLS1.3:TLS_AES_256_GCM_SHA384:256`` -> version, cipher, bits (4th part optional)."""
    if not x:
        return {}
    parts = x.split(":")
    bits = parts[2] if len(parts) > 2 else ""
    return {
        "tls_version": normalize_version(parts[0]),
        "cipher": normalize_cipher(parts[1].rstrip("*")) if len(parts) > 1 else None,
        "bits": small_number(bits),
        "key_exchange": parts[3] if len(parts) > 3 else None,
        "encrypted": True,
    }


def _peer(text: str) -> tuple[str, str, int | None]:
    m = _HOST.search(text)
    if m is None:
        return "", "", None
    host = (m["host"] or m["helo"] or "").strip("()")
    return host, m["ip"], int(m["port"]) if m["port"] else None


def _arrival(line: LogLine, raw: str, qid: str, rest: str) -> TlsEvent:
    # "<= nothing@change.this H=(v261955545.local) [43.6.92.12] P=esmtps X=TLS1.3:...:256
    #  CV=no S=15813" (public write-up, log-formats.md §1)
    sender, _, tail = rest[3:].partition(" ")
    f = _fields(" " + tail)
    host, ip, port = _peer(tail)
    proto = f.get("P", "")
    tls = _tls(f.get("X"))
    local = proto.startswith("local") or not ip
    direction = Direction.LOCAL if local else peer_direction(Direction.INBOUND, ip, host, port)
    if not tls and proto and not local:
        # P=esmtps/esmtpsa: TLS without details; P=esmtp/smtp with no X=: plaintext
        tls = {"encrypted": proto.endswith(("s", "sa"))}
    return make_event(
        line,
        raw,
        _E,
        EventKind.RECEIVED,
        queue_id=qid,
        direction=direction,
        peer_host=host,
        peer_ip=ip,
        peer_port=port,
        sender=sender.strip("<>"),
        verified=f.get("CV"),
        trust=_CV_TRUST.get(f.get("CV", "")),
        message_id=f.get("id", ""),
        detail=f"P={proto}" if proto else "",
        **tls,
    )


_FLAGS = {
    "=>": Outcome.DELIVERED,
    "->": Outcome.DELIVERED,
    "==": Outcome.DEFERRED,
    "**": Outcome.BOUNCED,
}


def _delivery(line: LogLine, raw: str, qid: str, rest: str) -> TlsEvent:
    # "=> logs@myip.gr R=dkim_lookuphost T=dkim_remote_smtp H=mymail.myip.gr [84.54.49.25]
    #  X=TLS1.3:TLS_AES_256_GCM_SHA384:256 CV=yes C=\"250 ...\"" (log-formats.md §1)
    # "== userx@test.ex R=client T=send_to_server defer (-38) H=127.0.0.1 [127.0.0.1]:PORT_D:
    #  a TLS session is required, but the server did not offer TLS support" (Exim test/log)
    outcome = _FLAGS[rest[:2]]
    rcpt, _, tail = rest[3:].partition(" ")
    rcpt = rcpt.rstrip(":")  # "** user@example: retry timeout exceeded" (lab mainlog)
    f = _fields(" " + tail)
    host, ip, port = _peer(tail)
    tls = _tls(f.get("X"))
    if not ip and (outcome is Outcome.DELIVERED or "local" in f.get("T", "")):
        direction = Direction.LOCAL  # local transports (T=local_delivery, pipes, files)
    elif not ip:
        direction = Direction.OUTBOUND  # "** rcpt: retry timeout exceeded", "defer (-54)"
    else:
        direction = peer_direction(Direction.OUTBOUND, ip, host, port)
        if not tls and outcome is Outcome.DELIVERED:
            tls = {"encrypted": False}  # tls_cipher is a default selector: no X= is plaintext
    reason = ""
    if outcome is not Outcome.DELIVERED:
        cut = tail.find(": ")
        reason = tail[cut + 2 :] if cut >= 0 else tail
    category = classify_status(reason) if reason else None
    return make_event(
        line,
        raw,
        _E,
        EventKind.DELIVERY,
        queue_id=qid,
        direction=direction,
        peer_host=host,
        peer_ip=ip,
        peer_port=port,
        recipient=rcpt.strip("<>"),
        outcome=outcome,
        verified=f.get("CV"),
        trust=_CV_TRUST.get(f.get("CV", "")),
        failure_category=category,
        rfc8460_result_type=rfc8460(category, direction),
        detail=reason or f.get("C", ""),
        **tls,
    )


def _tls_error(line: LogLine, raw: str, qid: str, rest: str, m: re.Match[str]) -> TlsEvent:
    text = m["text"]
    peer_text = m["peer"] or rest[: m.start()]
    host, ip, port = _peer(peer_text)
    if not ip:
        b = _BARE_PEER.search(peer_text)
        if b is not None:
            host, ip = b["host"] or b["helo"] or "", b["ip"]
            port = int(b["port"]) if b["port"] else None
    base = Direction.INBOUND if m["dir"] == "from" or not qid else Direction.OUTBOUND
    direction = peer_direction(base, ip, host, port)
    call = m["call"] or ""
    ours = call not in ("certificate verification failed",)
    category = classify(text, received_alert_is_ours=ours) or (
        FailureCategory.LOCAL_CONFIG_ERROR
        if call.startswith("cert/key setup")
        else FailureCategory.HANDSHAKE_FAILURE
    )
    detail = f"({call}): {text}" if call else text
    return _failed(line, raw, qid, direction, (host, ip, port), category, detail)


def _session_failure(line: LogLine, raw: str, qid: str, rest: str) -> TlsEvent:
    # "TLS session: (certificate verification failed): certificate invalid: delivering
    #  unencrypted to H=127.0.0.1 [127.0.0.1] (not in hosts_require_tls)" (Exim test/log)
    host, ip, port = _peer(rest)
    category = classify(rest, received_alert_is_ours=False) or FailureCategory.HANDSHAKE_FAILURE
    direction = peer_direction(Direction.OUTBOUND, ip, host, port) if ip else Direction.OUTBOUND
    return _failed(line, raw, qid, direction, (host, ip, port), category, rest)


def _failed(
    line: LogLine,
    raw: str,
    qid: str,
    direction: Direction,
    peer: tuple[str, str, int | None],
    category: FailureCategory,
    detail: str,
) -> TlsEvent:
    host, ip, port = peer
    return make_event(
        line, raw, _E, EventKind.TLS_FAILED, queue_id=qid, direction=direction,
        peer_host=host, peer_ip=ip, peer_port=port, failure_category=category,
        rfc8460_result_type=rfc8460(category, direction), detail=detail,
    )  # fmt: skip


def parse(line: LogLine, raw: str) -> Result:
    """The event one Exim main-log line describes, or None when it says nothing we use."""
    msg = line.message
    qid = ""
    m = _MSGID.match(msg)
    if m is not None:
        qid = m["id"]
        msg = msg[m.end() :]
        head = msg[:3]
        if head == "<= ":
            return _arrival(line, raw, qid, msg)
        if head[:2] in _FLAGS and head[2:] == " ":
            return _delivery(line, raw, qid, msg)
        if msg.startswith("Completed"):
            return make_event(line, raw, _E, EventKind.REMOVED, queue_id=qid)
    at = msg.find("TLS error on connection")
    if 0 <= at < 400:
        em = _TLS_ERROR.match(msg, at)
        if em is not None:
            return _tls_error(line, raw, qid, msg[:at], em)
    head = msg[:400]
    if "TLS session: " in head or "a TLS session is required" in head:
        # "H=127.0.0.48 [127.0.0.48]: a TLS session is required, but an attempt to start TLS
        #  failed" (sample_data/lab/exim/mainlog, Exim 4.96 GnuTLS)
        return _session_failure(line, raw, qid, msg)
    if " rejected " in msg and msg.startswith("H="):
        return _rejection(line, raw, msg)
    return None


def _rejection(line: LogLine, raw: str, msg: str) -> TlsEvent:
    # "H=imfo.test.biz [1.2.3.4]:35328 X=TLS1.2:ECDHE-RSA-AES256-GCM-SHA384:256 CV=no
    #  F=<jack@test.biz> rejected RCPT <sales@toto.com.au>: No Such User Here" (crowdsec hub)
    f = _fields(" " + msg)
    host, ip, port = _peer(msg)
    cut = msg.find(" rejected ")
    tail = msg[cut + 10 :]
    rcpt = tail.partition("<")[2].partition(">")[0] if tail.startswith("RCPT") else ""
    return make_event(
        line,
        raw,
        _E,
        EventKind.REJECTED,
        direction=peer_direction(Direction.INBOUND, ip, host, port),
        peer_host=host,
        peer_ip=ip,
        peer_port=port,
        outcome=Outcome.REJECTED,
        sender=f.get("F", "").strip("<>"),
        recipient=rcpt,
        verified=f.get("CV"),
        detail=tail,
        **_tls(f.get("X")),
    )
