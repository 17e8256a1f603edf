"""Sendmail: ``STARTTLS=client|server`` session and error lines, ``ruleset=tls_*``
rejections, and ``to=``/``from=`` lines with ``stat=``.

Formats: sendmail 8.17.1.9 source (tls.c, deliver.c, srvrsmtp.c, sfsasl.c, cf/m4/proto.m4)
and the real lines of shared reference log-formats.md §2.3.
"""

from __future__ import annotations

import re

from analyzer.logs.common import make_event, peer_direction
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
_S = Mta.SENDMAIL
FC = FailureCategory

_QID = re.compile(r"(?P<qid>[0-9A-Za-z]{8,20}): ")
# tls.c: "STARTTLS=%s, relay=%.100s, version=%.16s, verify=%.16s, cipher=%.64s, bits=%.6s/%.6s"
# e.g. "STARTTLS=client, relay=gmail-smtp-in.l.google.com., version=TLSv1.3, verify=FAIL,
#  cipher=TLS_AES_256_GCM_SHA384, bits=256/256" (log-formats.md §1)
_SESSION = re.compile(
    r"STARTTLS=(?P<who>client|server), relay=(?P<relay>[^,]{0,300}), version=(?P<ver>[^,]{0,16}),"
    r" verify=(?P<verify>[^,]{0,16}), cipher=(?P<cipher>[^,]{0,64}), bits=(?P<bits>\d{1,6})"
)
# relay forms: "host. [ip]", "host.", "[ip]", "host [ip] (may be forged)", "MTA"
_RELAY = re.compile(r"(?P<host>[^\s,\[\]]{0,255}) ?(?:\[(?P<ip>[^\]\s]{0,64})\])?")
_RELAY_FIELD = re.compile(r"relay=([^,]{0,300})")
_FIELDS = re.compile(r"(?:^|, )(?P<k>[a-z0-9_]{1,16})=(?P<v>[^,]{0,1000})")

# cf/README: ${verify} values; a session that completed with these is encrypted
_TRUST = {
    "OK": Trust.TRUSTED,
    "TRUSTED": Trust.TRUSTED,
    "FAIL": Trust.UNTRUSTED,
    "NO": Trust.ANONYMOUS,
    "NOT": Trust.ANONYMOUS,
}
# proto.m4 tls_server/tls_client rulesets: arg1 = ${verify} of the failed attempt
_ARG1 = {
    "SOFTWARE": FC.HANDSHAKE_FAILURE,
    "PROTOCOL": FC.HANDSHAKE_FAILURE,
    "NONE": FC.STARTTLS_NOT_SUPPORTED,
    "FAIL": FC.CERTIFICATE_UNVERIFIED,
    "NO": FC.CERTIFICATE_UNVERIFIED,
    "DANE_FAIL": FC.TLSA_INVALID,
    "CONFIG": FC.LOCAL_CONFIG_ERROR,
    # the peer answered STARTTLS with a 4xx (sample_data/lab/sendmail/mail.log: arg1=TEMP and
    # "reply=454 4.7.0 TLS not available due to local problem" from a refusing peer)
    "TEMP": FC.STARTTLS_REJECTED,
    "CLEAR": FC.LOCAL_CONFIG_ERROR,
}


def _relay(text: str) -> tuple[str, str]:
    m = _RELAY.match(text.strip())
    if m is None:
        return text, ""
    return m["host"].rstrip("."), m["ip"] or ""


def _direction(who: str) -> Direction:
    return Direction.OUTBOUND if who == "client" else Direction.INBOUND


def _session(line: LogLine, raw: str, m: re.Match[str]) -> TlsEvent:
    host, ip = _relay(m["relay"])
    direction = peer_direction(_direction(m["who"]), ip, host)
    return make_event(
        line,
        raw,
        _S,
        EventKind.TLS_ESTABLISHED,
        direction=direction,
        peer_host=host,
        peer_ip=ip,
        trust=_TRUST.get(m["verify"]),
        verified=m["verify"],
        tls_version=normalize_version(m["ver"]),
        cipher=normalize_cipher(m["cipher"]),
        bits=int(m["bits"]),
        encrypted=True,
    )


def _starttls_other(line: LogLine, raw: str, msg: str) -> Result:
    direction: Direction | None = None
    if msg.startswith(("STARTTLS=client", "STARTTLS=server")):
        direction = _direction(msg[9:15])  # "STARTTLS: read error=..." names no side
    rest = msg[16:] if msg[:16] in ("STARTTLS=client,", "STARTTLS=server,") else msg
    if ", cert-subject=" in msg[:20] or rest.startswith(" cert-subject="):
        # LogLevel > 11: "STARTTLS=client, cert-subject=..., cert-issuer=..., verifymsg=..."
        verifymsg = msg.rpartition("verifymsg=")[2]
        if verifymsg.lower() == "ok":
            return None
        category = classify(verifymsg, received_alert_is_ours=False) or FC.CERTIFICATE_UNVERIFIED
        return make_event(
            line,
            raw,
            _S,
            EventKind.CERTIFICATE_FAILED,
            direction=direction,
            failure_category=category,
            rfc8460_result_type=rfc8460(category, direction),
            detail=verifymsg,
        )
    if "warning=" in rest[:12]:
        return None
    # "STARTTLS=client, error: connect failed=%d, reason=%s, ..." (deliver.c),
    # "STARTTLS=server, error: accept failed=..., relay=..." (srvrsmtp.c),
    # "STARTTLS=%s: %s:%s:%d:%s" OpenSSL detail (tlslogerr), "STARTTLS: read error=..." (sfsasl.c)
    relay = ""
    rm = _RELAY_FIELD.search(rest[-400:])
    if rm is not None:
        relay = rm[1]
    host, ip = _relay(relay) if relay else ("", "")
    category = classify(rest) or FC.HANDSHAKE_FAILURE
    if "read error=" in rest or "write error=" in rest:
        category = classify(rest) or FC.CONNECTION_LOST
    return make_event(
        line,
        raw,
        _S,
        EventKind.TLS_FAILED,
        direction=direction,
        peer_host=host,
        peer_ip=ip,
        failure_category=category,
        rfc8460_result_type=rfc8460(category, direction),
        detail=rest.strip(),
    )


def _ruleset(line: LogLine, raw: str, qid: str, msg: str) -> Result:
    # "ruleset=tls_server, arg1=SOFTWARE, relay=MTA, reject=403 4.7.0 TLS handshake failed."
    # (brandonhutchinson.com/TLS_handshake_failed.html); tls_server: we are the client
    f = {m["k"]: m["v"] for m in _FIELDS.finditer(msg)}
    rule = f.get("ruleset", "")
    if rule not in ("tls_server", "tls_client", "tls_rcpt"):
        return _rejection(line, raw, qid, msg, f) if "reject=" in msg else None
    direction = Direction.INBOUND if rule == "tls_client" else Direction.OUTBOUND
    reject = msg.partition("reject=")[2]
    category = classify(reject, received_alert_is_ours=False) or _ARG1.get(
        f.get("arg1", ""), FC.HANDSHAKE_FAILURE
    )
    host, ip = _relay(f.get("relay", ""))
    return make_event(
        line,
        raw,
        _S,
        EventKind.TLS_FAILED,
        queue_id=qid,
        direction=direction,
        peer_host=host,
        peer_ip=ip,
        failure_category=category,
        rfc8460_result_type=rfc8460(category, direction),
        verified=f.get("arg1"),
        detail=reject,
    )


# "6ARLef9a006047: 6ARLgfbW010768: DSN: Cannot send message for 2 minutes": the message went
# back to its sender as a bounce with queue id 6ARLgfbW010768 (sample_data/lab/sendmail)
_DSN = re.compile(r"(?P<bounce>[0-9A-Za-z]{8,20}): DSN: (?P<text>.{0,1000})")


def _dsn(line: LogLine, raw: str, qid: str, m: re.Match[str]) -> Result:
    text = m["text"]
    if text.startswith("Warning"):
        return None  # a delay warning, the message stays queued
    return make_event(
        line,
        raw,
        _S,
        EventKind.DELIVERY,
        queue_id=qid,
        direction=Direction.OUTBOUND,
        outcome=Outcome.BOUNCED,
        detail=f"DSN {m['bounce']}: {text}",
    )


def _rejection(line: LogLine, raw: str, qid: str, msg: str, f: dict[str, str]) -> TlsEvent:
    # "6ARLhgjS014314: ruleset=check_mail, arg1=<sender@tls13.client.lab.test>,
    #  relay=[127.0.0.101], reject=553 5.1.8 <...>... Domain of sender address ... does not
    #  exist" (sample_data/lab/sendmail/mail.log): a client command refused by our server
    host, ip = _relay(f.get("relay", ""))
    rule, arg1 = f.get("ruleset", ""), f.get("arg1", "").strip("<>")
    return make_event(
        line,
        raw,
        _S,
        EventKind.REJECTED,
        queue_id=qid,
        direction=peer_direction(Direction.INBOUND, ip, host),
        peer_host=host,
        peer_ip=ip,
        outcome=Outcome.REJECTED,
        sender=arg1 if rule == "check_mail" else "",
        recipient=arg1 if rule == "check_rcpt" else "",
        detail=msg.partition("reject=")[2],
    )


_PROTO_TLS = {"ESMTPS": True, "ESMTPSA": True, "ESMTP": False, "ESMTPA": False, "SMTP": False}


def _stat_outcome(dsn: str, stat: str) -> Outcome | None:
    if stat.startswith("Sent"):
        return Outcome.DELIVERED
    if stat.startswith("Deferred") or dsn.startswith("4"):
        return Outcome.DEFERRED
    if dsn.startswith("5"):
        return Outcome.BOUNCED
    return None


def _to(line: LogLine, raw: str, qid: str, msg: str) -> Result:
    # "q29Ja84u011122: to=<...>, ..., relay=mx.remotefoo.com. [], dsn=4.0.0,
    #  stat=Deferred: Connection reset by mx.remotefoo.com." (serverfault q/369343)
    head, sep, stat = msg.partition(", stat=")
    if not sep:
        return None
    f = {m["k"]: m["v"] for m in _FIELDS.finditer(head)}
    rcpt = f.get("to", "").split(",")[0].strip("<>")
    dsn = f.get("dsn", "")
    outcome = _stat_outcome(dsn, stat)
    host, ip = _relay(f.get("relay", ""))
    mailer = f.get("mailer", "")
    base = (
        Direction.LOCAL if mailer in ("local", "prog", "*file*", "lmtp") else (Direction.OUTBOUND)
    )
    direction = peer_direction(base, ip, host)
    category = classify_status(stat) if outcome is not Outcome.DELIVERED else None
    return make_event(
        line,
        raw,
        _S,
        EventKind.DELIVERY,
        queue_id=qid,
        direction=direction,
        peer_host=host,
        peer_ip=ip,
        recipient=rcpt,
        outcome=outcome,
        dsn=dsn,
        failure_category=category,
        rfc8460_result_type=rfc8460(category, direction),
        detail=stat,
    )


def _from(line: LogLine, raw: str, qid: str, msg: str) -> Result:
    # srvrsmtp.c/savemail: "from=<...>, size=N, class=0, nrcpts=1, msgid=<...>, proto=ESMTP,
    #  daemon=MTA, relay=host [ip]"
    f = {m["k"]: m["v"] for m in _FIELDS.finditer(msg)}
    relay = f.get("relay", "")
    if not relay or f.get("nrcpts") == "0":
        # no relay: a local submission's bookkeeping; nrcpts=0: every recipient (or the
        # sender) was refused, so no message was received (sample_data/lab/sendmail)
        return make_event(
            line,
            raw,
            _S,
            EventKind.QUEUED,
            queue_id=qid,
            sender=f.get("from", "").strip("<>"),
            message_id=f.get("msgid", "").strip("<>"),
        )
    host, ip = _relay(relay)
    return make_event(
        line,
        raw,
        _S,
        EventKind.RECEIVED,
        queue_id=qid,
        direction=peer_direction(Direction.INBOUND, ip, host) if ip else Direction.LOCAL,
        peer_host=host,
        peer_ip=ip,
        sender=f.get("from", "").strip("<>"),
        message_id=f.get("msgid", "").strip("<>"),
        # proto=ESMTPS after STARTTLS=server, proto=ESMTP without (sample_data/lab/sendmail)
        encrypted=_PROTO_TLS.get(f.get("proto", "")),
        detail=f"proto={f.get('proto', '')}",
    )


def parse(line: LogLine, raw: str) -> Result:
    """The event one Sendmail line describes, or None when it says nothing we use."""
    msg = line.message
    if msg.startswith("STARTTLS"):
        m = _SESSION.match(msg)
        return _session(line, raw, m) if m else _starttls_other(line, raw, msg)
    qid = ""
    qm = _QID.match(msg)
    if qm is not None:
        qid = qm["qid"]
        msg = msg[qm.end() :]
        if msg.startswith("to="):
            return _to(line, raw, qid, msg)
        if msg.startswith("from="):
            return _from(line, raw, qid, msg)
        dm = _DSN.match(msg)
        if dm is not None:
            return _dsn(line, raw, qid, dm)
    if msg.startswith("ruleset="):
        return _ruleset(line, raw, qid, msg)
    return None
