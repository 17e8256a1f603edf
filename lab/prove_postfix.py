"""What a Postfix 3.7 log at smtp(d)_tls_loglevel=1 proves about one lab scenario.

The texts matched here are the ones the lab's own runs produced (sample_data/lab/postfix/
mail.log) and the Postfix sources that print them (log-formats.md §2.1): tls_misc.c
``"%s TLS connection %s %s %s%s%s: %s with cipher %s (%d/%d bits)"``, tls_verify.c
``"%s certificate verification failed for %s: ..."``, tls_client.c ``"SSL_connect error to
%s: ..."``, smtp_proto.c ``"Cannot start TLS: handshake failure"`` / ``"TLS is required,
but was not offered by host %s"`` / ``"... refused to start TLS: ..."``, tls_server.c
``"SSL_accept error from %s: ..."``, smtpd.c ``"lost connection after STARTTLS from %s"``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lab.logscan import (
    Rule,
    SysLine,
    first_category,
    first_header,
    mailbox_message,
    syslog_lines,
    unique,
)
from lab.mta import Provable
from lab.scenarios import Direction, Scenario

RULES: tuple[Rule, ...] = (
    Rule(r"verification failed for .*: certificate has expired", "certificate-expired",
         "tls_verify.c"),
    Rule(r"verification failed for .*: certificate not yet valid", "certificate-not-yet-valid",
         "tls_verify.c"),
    Rule(r"verification failed for .*: self-signed certificate", "certificate-self-signed",
         "tls_verify.c"),
    Rule(r"verification failed for .*: untrusted issuer", "certificate-not-trusted",
         "tls_verify.c"),
    # tls_verify.c default branch "num=%d:%s"; 62 is X509_V_ERR_HOSTNAME_MISMATCH
    Rule(r"verification failed for .*: num=62:hostname mismatch", "certificate-host-mismatch",
         "tls_verify.c"),
    Rule(r"TLS is required, but was not offered by host", "starttls-not-supported",
         "smtp_proto.c"),
    Rule(r"refused to start TLS", "starttls-rejected", "smtp_proto.c"),
    Rule(r"TLS library problem: .*(unsupported protocol|version too low|no protocols "
         r"available|wrong version number|alert protocol version)",
         "protocol-version-mismatch", "OpenSSL reason text"),
    Rule(r"TLS library problem: .*no shared cipher", "no-shared-cipher", "OpenSSL reason text"),
    Rule(r"SSL_(connect|accept) error (to|from) .*: lost connection", "connection-lost",
         "tls_client.c / tls_server.c"),
    Rule(r"lost connection after STARTTLS from", "connection-lost", "smtpd.c"),
    Rule(r"SSL_(connect|accept) error (to|from) |Cannot start TLS: handshake failure",
         "handshake-failure", "tls_client.c / smtp_proto.c"),
    Rule(r"^Untrusted TLS connection established to", "certificate-unverified", "tls_misc.c"),
    Rule(r"Server certificate not verified", "certificate-unverified", "smtp_proto.c"),
)

_TLS_LINE = re.compile(r"^(\w+) TLS connection established (?:to|from) \S+: (TLSv[\d.]+) ")
_TLS_FAIL = re.compile(r"SSL_connect error to |Cannot start TLS|refused to start TLS")
_STATUS = re.compile(r"^([0-9A-F]{6,20}): to=<[^>]{1,300}>, .*status=(\w+)")


@dataclass
class _Attempt:
    lines: list[SysLine] = field(default_factory=list)
    status: str = ""


def prove(log_text: str, mailbox_text: str, scenario: Scenario) -> Provable:
    """The provable facts of ``scenario`` in a Postfix log (and the local mailbox)."""
    lines = syslog_lines(log_text)
    if scenario.direction is Direction.OUTBOUND:
        return _outbound(lines, scenario)
    return _inbound(lines, mailbox_text, scenario)


def _nothing(basis: str, lines: tuple[str, ...] = ()) -> Provable:
    return Provable(None, None, None, None, None, None, 0, basis, lines)


def _queue_id(lines: list[SysLine], scenario: Scenario) -> SysLine | None:
    needle = re.compile(r"^([0-9A-F]{6,20}): message-id=<[^>]*\." + re.escape(scenario.id) + r"\.")
    return next((ln for ln in lines if ln.tag == "postfix/cleanup" and needle.match(ln.text)),
                None)


def _attempts(lines: list[SysLine], qid: str) -> list[_Attempt]:
    """Delivery attempts of ``qid``: each smtp process's lines since its previous status."""
    pending: dict[str, list[SysLine]] = {}
    out: list[_Attempt] = []
    for ln in lines:
        if not ln.tag.endswith("/smtp"):
            continue
        buf = pending.setdefault(ln.pid, [])
        buf.append(ln)
        m = _STATUS.match(ln.text)
        if m:
            if m.group(1) == qid:
                out.append(_Attempt(buf, m.group(2)))
            pending[ln.pid] = []
    return out


def _attempt_facts(att: _Attempt, qid: str) -> tuple[bool, str | None, str | None, bool]:
    """(encrypted, tls_version, trust, tls_failed) of one attempt."""
    failed = any(_TLS_FAIL.search(ln.text) for ln in att.lines)
    plaintext_retry = any(ln.text.startswith(f"{qid}: Cannot start TLS") for ln in att.lines)
    tls = [m for ln in att.lines if (m := _TLS_LINE.match(ln.text))]
    if tls and not plaintext_retry:
        return True, tls[-1].group(2), tls[-1].group(1), failed
    return False, None, None, failed


def _outbound(lines: list[SysLine], sc: Scenario) -> Provable:
    idline = _queue_id(lines, sc)
    if idline is None:
        return _nothing("no cleanup message-id line for this scenario")
    qid = idline.text.split(":", 1)[0]
    attempts = _attempts(lines, qid)
    expired = [ln for ln in lines if ln.tag == "postfix/qmgr"
               and ln.text.startswith(f"{qid}: ") and "status=expired" in ln.text]
    if not attempts:
        return _nothing("no smtp delivery line for this message", (idline.raw,))
    statuses = [a.status for a in attempts]
    final = attempts[-1]
    encrypted, version, trust, _ = _attempt_facts(final, qid)
    any_failed = any(_attempt_facts(a, qid)[3] for a in attempts)
    if "sent" in statuses:
        outcome = "delivered"
    elif expired or "bounced" in statuses:
        outcome = "bounced"
    else:
        outcome = "deferred"
    fallback: bool | None
    if outcome != "delivered" or encrypted:
        fallback = False
    elif any_failed:
        fallback = True
    else:
        fallback = None  # plaintext with no TLS failure logged: not offered, or refused
    texts = [ln.text for a in attempts for ln in a.lines]
    category, _ = first_category(RULES, texts)
    quoted = [idline.raw]
    for att in (attempts[0], final) if len(attempts) > 1 else (final,):
        quoted += [ln.raw for ln in att.lines if _relevant(ln, qid, sc.address)]
    quoted += [ln.raw for ln in expired]
    basis = _outbound_basis(encrypted, outcome, fallback, len(attempts))
    return Provable(
        encrypted=encrypted, tls_version=version, outcome=outcome, fallback=fallback,
        failure_category=category, trust=trust, deferrals=statuses.count("deferred"),
        basis=basis, log_lines=unique(quoted),
    )


def _relevant(ln: SysLine, qid: str, address: str) -> bool:
    return (f"[{address}]" in ln.text or ln.text.startswith(f"{qid}:")
            or ln.text.startswith("warning: TLS library problem"))


def _outbound_basis(encrypted: bool, outcome: str, fallback: bool | None, n: int) -> str:
    parts = [f"{n} delivery attempt(s) by postfix/smtp; outcome from the status= lines"
             " and the qmgr 'status=expired, returned to sender' line."]
    if encrypted:
        parts.append("The last attempt has a 'TLS connection established' line.")
    else:
        parts.append("The last attempt has no 'TLS connection established' line; at"
                     " smtp_tls_loglevel=1 every TLS session is logged, so it ran in plaintext.")
    if fallback is None:
        parts.append("No TLS failure is logged: Postfix 3.7 at level may does not say whether"
                     " STARTTLS was not offered or was refused.")
    return " ".join(parts)


def _inbound(lines: list[SysLine], mailbox_text: str, sc: Scenario) -> Provable:
    client = f"[{sc.address}]"
    start = next((i for i, ln in enumerate(lines) if ln.tag.endswith("/smtpd")
                  and ln.text.startswith("connect from ") and client in ln.text), None)
    if start is None:
        return _nothing(f"no smtpd 'connect from ...{client}' line")
    pid = lines[start].pid
    session: list[SysLine] = []
    for ln in lines[start:]:
        if ln.tag.endswith("/smtpd") and ln.pid == pid:
            session.append(ln)
            if ln.text.startswith("disconnect from "):
                break
    texts = [ln.text for ln in session]
    tls = [m for t in texts if (m := _TLS_LINE.match(t))]
    qids = [t.split(":", 1)[0] for t in texts if re.match(r"^[0-9A-F]{6,20}: client=", t)]
    local = [ln for ln in lines if qids and ln.tag == "postfix/local"
             and ln.text.startswith(f"{qids[0]}: ")]
    outcome = "delivered" if any("status=sent" in ln.text for ln in local) else None
    category, _ = first_category(RULES, texts)
    received = first_header(mailbox_message(mailbox_text, f"mailtls lab {sc.id}"), "Received")
    basis = ("smtpd session of the client address from 'connect from' to 'disconnect from'"
             " (same pid); outcome from the local(8) status line of the queue id in"
             " 'client='. No line says whether STARTTLS was offered to the client.")
    return Provable(
        encrypted=bool(tls) if session else None,
        tls_version=tls[-1].group(2) if tls else None,
        outcome=outcome,
        fallback=False,
        failure_category=category,
        trust=tls[-1].group(1) if tls else None,
        deferrals=0,
        basis=basis,
        log_lines=unique([ln.raw for ln in session] + [ln.raw for ln in local]),
        mailbox_lines=received,
    )
