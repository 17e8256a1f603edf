"""OpenSMTPD: ``<session> smtp|mta tls ciphers=...``, delivery and error lines (>= 6.4), and
``smtp-in|smtp-out: Started TLS on session ...`` (< 6.4).

Formats: G. Chehade's OpenSMTPD book chapter "Logging, Tracing, Reporting and Statistics",
OpenSMTPD/OpenSMTPD issues #1060 and #491, wazuh ruleset tests, as quoted in shared reference
log-formats.md §2.5; source (mta_session.c, smtp_session.c) for the cert-check and error texts.
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
)
from analyzer.normalize import normalize_cipher, normalize_version

Result = TlsEvent | ParseIssue | None
_O = Mta.OPENSMTPD
FC = FailureCategory

# "5df87c9ffd0e785d mta tls ciphers=TLSv1.2:ECDHE-RSA-CHACHA20-POLY1305:256"
_HEAD = re.compile(r"(?P<sid>[0-9a-f]{16}) (?P<side>smtp|mta) (?P<event>[a-z-]{1,32})(?: |$)")
_KV = re.compile(r"(?P<k>[a-z][a-z_-]{0,31})=(?P<v>\"(?:[^\"\\]|\\.){0,2000}\"|\S{0,2000})")
# "smtp-in: Started TLS on session 427e749c2e46f809: version=TLSv1.2,
#  cipher=EDH-RSA-DES-CBC3-SHA, bits=112" (wazuh opensmtpd.ini; OpenSMTPD#491)
_OLD_TLS = re.compile(
    r"smtp-(?P<side>in|out): Started TLS on session (?P<sid>[0-9a-f]{16}): "
    r"version=(?P<ver>[^,]{1,32}), cipher=(?P<cipher>[^,]{1,128}), bits=(?P<bits>\d{1,5})"
)
_OLD_CERT = re.compile(
    r"smtp-out: Server certificate verification failed on session "
    r"(?P<sid>[0-9a-f]{16})"
)
_ADDRESS = re.compile(r"(?:smtps?|lmtp)://\[?(?P<ip>[0-9A-Fa-f.:]{2,64})\]?:(?P<port>\d{1,5})")
_RESULTS = {"Ok": Outcome.DELIVERED, "TempFail": Outcome.DEFERRED, "PermFail": Outcome.BOUNCED}


def _fields(text: str) -> dict[str, str]:
    return {m["k"]: m["v"].strip('"') for m in _KV.finditer(text)}


def _direction(side: str) -> Direction:
    return Direction.INBOUND if side in ("smtp", "in") else Direction.OUTBOUND


def _tls(
    line: LogLine, raw: str, sid: str, side: str, ver: str, cipher: str, bits: str
) -> TlsEvent:
    return make_event(
        line,
        raw,
        _O,
        EventKind.TLS_ESTABLISHED,
        session_id=sid,
        direction=_direction(side),
        tls_version=normalize_version(ver),
        cipher=normalize_cipher(cipher),
        bits=small_number(bits),
        encrypted=True,
    )


def _event(line: LogLine, raw: str, m: re.Match[str]) -> Result:
    sid, side, event = m["sid"], m["side"], m["event"]
    rest = line.message[m.end() :]
    direction = _direction(side)
    if event == "tls":
        # "tls ciphers=TLSv1.3:TLS_AES_256_GCM_SHA384:256"
        parts = _fields(rest).get("ciphers", "").split(":")
        if len(parts) < 3:
            return None
        return _tls(line, raw, sid, side, parts[0], parts[1], parts[2])
    if event == "connecting":
        a = _ADDRESS.search(rest)
        f = _fields(rest)
        return make_event(
            line,
            raw,
            _O,
            EventKind.CONNECT,
            session_id=sid,
            direction=direction,
            peer_host=f.get("host", ""),
            peer_ip=a["ip"] if a else "",
            peer_port=int(a["port"]) if a else None,
        )
    if event == "delivery":
        return _delivery(line, raw, sid, direction, rest)
    if event in ("error", "closing", "disconnected", "cert-check"):
        return _failure(line, raw, sid, direction, event, rest)
    return None


def _delivery(line: LogLine, raw: str, sid: str, direction: Direction, rest: str) -> TlsEvent:
    # 'mta delivery evpid=... from=<...> to=<...> rcpt=<-> source="212.83.129.132"
    #  relay="173.194.76.27 (ws-in-f27.1e100.net)" delay=2s result="Ok" stat="250 2.0.0 OK"'
    f = _fields(rest)
    ip, _, host = f.get("relay", "").partition(" ")
    outcome = _RESULTS.get(f.get("result", ""))
    stat = f.get("stat", "")
    category = classify_status(stat) if outcome is not Outcome.DELIVERED else None
    direction = peer_direction(direction, ip, host)
    return make_event(
        line,
        raw,
        _O,
        EventKind.DELIVERY,
        session_id=sid,
        queue_id=f.get("evpid", ""),
        direction=direction,
        peer_host=host.strip("()"),
        peer_ip=ip,
        sender=f.get("from", "").strip("<>"),
        recipient=f.get("to", "").strip("<>"),
        outcome=outcome,
        failure_category=category,
        rfc8460_result_type=rfc8460(category, direction),
        detail=stat,
    )


def _failure(
    line: LogLine, raw: str, sid: str, direction: Direction, event: str, rest: str
) -> Result:
    f = _fields(rest)
    if event == "cert-check":
        # mta "cert-check result=valid|unverified", smtp "result=verified|unchecked" (source)
        if f.get("result") in ("valid", "verified", "unchecked"):
            return None
        category: FailureCategory | None = FC.CERTIFICATE_UNVERIFIED
        kind = EventKind.CERTIFICATE_FAILED
        text = f"cert-check result={f.get('result', '')}"
    else:
        # "mta error reason=IO Error: error:1404B410:SSL routines:ST_CONNECT:sslv3 alert
        #  handshake failure" (OpenSMTPD#1060); "closing reason=tls-failure" (source)
        text = rest.partition("reason=")[2].strip('"')
        low = text.lower()
        if not any(w in low for w in ("tls", "ssl", "certificate")):
            return None
        category = classify(text, received_alert_is_ours=True) or FC.HANDSHAKE_FAILURE
        kind = EventKind.TLS_FAILED
    return make_event(
        line,
        raw,
        _O,
        kind,
        session_id=sid,
        direction=direction,
        failure_category=category,
        rfc8460_result_type=rfc8460(category, direction),
        detail=text,
    )


def parse(line: LogLine, raw: str) -> Result:
    """The event one OpenSMTPD line describes, or None when it says nothing we use."""
    msg = line.message
    m = _HEAD.match(msg)
    if m is not None:
        return _event(line, raw, m)
    if msg.startswith(("smtp-in: Started TLS", "smtp-out: Started TLS")):
        o = _OLD_TLS.match(msg)
        if o is None:
            return None
        return _tls(line, raw, o["sid"], o["side"], o["ver"], o["cipher"], o["bits"])
    if msg.startswith("smtp-out: Server certificate verification failed"):
        c = _OLD_CERT.match(msg)
        return make_event(
            line,
            raw,
            _O,
            EventKind.CERTIFICATE_FAILED,
            session_id=c["sid"] if c else "",
            direction=Direction.OUTBOUND,
            failure_category=FC.CERTIFICATE_UNVERIFIED,
            rfc8460_result_type=rfc8460(FC.CERTIFICATE_UNVERIFIED, Direction.OUTBOUND),
            detail="Server certificate verification failed",
        )
    if msg.startswith("warn: ") and "certificate" in msg:
        # "warn: certificate has expired" from another process (OpenSMTPD#491)
        category = classify(msg[6:], received_alert_is_ours=False) or FC.CERTIFICATE_UNVERIFIED
        return make_event(
            line, raw, _O, EventKind.CERTIFICATE_FAILED, failure_category=category, detail=msg[6:]
        )
    return None
