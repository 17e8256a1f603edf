"""What a Sendmail 8.17 log at LogLevel 9 proves about one lab scenario.

Texts matched here come from the lab's own runs (sample_data/lab/sendmail/mail.log) and
from the Sendmail sources surveyed in log-formats.md §2.3: tls.c ``"STARTTLS=%s, relay=%.100s,
version=%.16s, verify=%.16s, cipher=%.64s, bits=%.6s/%.6s"``, deliver.c ``"STARTTLS=client,
error: connect failed=%d, reason=%s, ..."``, srvrsmtp.c ``"STARTTLS=server, error: accept
failed=..."``, the ``ruleset=tls_server, arg1=<${verify}>, relay=..., reject=...`` lines with
the reply texts of cf/m4/proto.m4, and the ``<qid>: to=..., stat=...`` delivery lines.
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
    # proto.m4: arg1 is ${verify}; NONE = STARTTLS not performed (the peer did not offer it,
    # since Sendmail always tries when offered and no Try_TLS entry says otherwise)
    Rule(r"ruleset=tls_server, arg1=NONE", "starttls-not-supported", "cf/m4/proto.m4"),
    # lab run: the peer's "454 4.7.0" to STARTTLS gives arg1=TEMP (the delivery line then
    # carries "reply=454 4.7.0 TLS not available due to local problem")
    Rule(r"ruleset=tls_server, arg1=TEMP", "starttls-rejected", "sample_data/lab/sendmail"),
    Rule(r"error: (connect|accept) failed=.*reason=(unsupported protocol|version too low|no "
         r"protocols available|wrong version number)", "protocol-version-mismatch",
         "OpenSSL reason text"),
    Rule(r"error: (connect|accept) failed=.*reason=no shared cipher", "no-shared-cipher",
         "OpenSSL reason text"),
    Rule(r"error: (connect|accept) failed=.*reason=unexpected eof while reading",
         "connection-lost", "OpenSSL reason text"),
    Rule(r"error: (connect|accept) failed=|arg1=SOFTWARE|arg1=PROTOCOL|TLS handshake failed",
         "handshake-failure", "deliver.c / srvrsmtp.c / proto.m4"),
    # verify=FAIL: a certificate was presented and did not verify; the reason is logged only
    # at LogLevel > 11 ("verifymsg=")
    Rule(r"verify=FAIL|arg1=FAIL", "certificate-unverified", "tls.c / proto.m4"),
)

_TLS = re.compile(r"^STARTTLS=(client|server), relay=[^,]{1,120}, version=([^,]{1,16}), "
                  r"verify=(\w{1,16}), ")
_STATUS = re.compile(r"^(\w{14}): to=[^,]{1,300}, .*stat=(\w+)")


@dataclass
class _Attempt:
    lines: list[SysLine] = field(default_factory=list)
    status: str = ""


def prove(log_text: str, mailbox_text: str, scenario: Scenario) -> Provable:
    """The provable facts of ``scenario`` in a Sendmail log (and the local mailbox)."""
    lines = [ln for ln in syslog_lines(log_text) if ln.tag in ("sendmail", "sm-mta")]
    if scenario.direction is Direction.OUTBOUND:
        return _outbound(lines, scenario)
    return _inbound(lines, mailbox_text, scenario)


def _nothing(basis: str) -> Provable:
    return Provable(None, None, None, None, None, None, 0, basis, ())


def _attempts(lines: list[SysLine], qid: str) -> list[_Attempt]:
    """Delivery attempts of ``qid``: each process's lines since its previous status line."""
    pending: dict[str, list[SysLine]] = {}
    out: list[_Attempt] = []
    for ln in lines:
        buf = pending.setdefault(ln.pid, [])
        buf.append(ln)
        m = _STATUS.match(ln.text)
        if m:
            if m.group(1) == qid:
                out.append(_Attempt(buf, m.group(2)))
            pending[ln.pid] = []
    return out


def _outbound(lines: list[SysLine], sc: Scenario) -> Provable:
    needle = f".{sc.id}."
    idline = next((ln for ln in lines if "msgid=<" in ln.text and needle in ln.text), None)
    if idline is None:
        return _nothing("no 'from=... msgid=' line for this scenario")
    qid = idline.text.split(":", 1)[0]
    attempts = _attempts(lines, qid)
    if not attempts:
        return _nothing("no delivery line for this message")
    statuses = [a.status for a in attempts]
    # a bounce is logged as the DSN line "<qid>: <newqid>: DSN: ..." (savemail.c)
    dsn = [ln for ln in lines if ln.text.startswith(f"{qid}: ") and ": DSN: " in ln.text]
    if "Sent" in statuses:
        outcome = "delivered"
    elif dsn or any(s not in ("Deferred", "Sent") for s in statuses):
        outcome = "bounced"
    else:
        outcome = "deferred"
    final = attempts[-1]
    tls = [m for ln in final.lines if (m := _TLS.match(ln.text))]
    encrypted = bool(tls)
    texts = [ln.text for a in attempts for ln in a.lines]
    failed = any("error: connect failed" in t or "arg1=SOFTWARE" in t or "arg1=TEMP" in t
                 for t in texts)
    fallback: bool | None
    if outcome != "delivered" or encrypted:
        fallback = False
    elif failed:
        fallback = True
    else:
        fallback = None  # plaintext and nothing logged: not offered, or refused
    category, _ = first_category(RULES, texts)
    quoted = [idline.raw]
    for att in (attempts[0], final) if len(attempts) > 1 else (final,):
        quoted += [ln.raw for ln in att.lines]
    quoted += [ln.raw for ln in dsn]
    return Provable(
        encrypted=encrypted,
        tls_version=tls[-1].group(2) if tls else None,
        outcome=outcome,
        fallback=fallback,
        failure_category=category,
        trust=f"verify={tls[-1].group(3)}" if tls else None,
        deferrals=statuses.count("Deferred"),
        basis=(f"{len(attempts)} delivery attempt(s): the STARTTLS=client and ruleset="
               "tls_server lines of the same pid precede each 'to=... stat=' line; a bounce"
               " shows as the 'DSN:' line. verify=FAIL gives no reason at LogLevel 9."),
        log_lines=unique(quoted),
    )


def _inbound(lines: list[SysLine], mailbox_text: str, sc: Scenario) -> Provable:
    client = f"[{sc.address}]"
    mine = [ln for ln in lines if client in ln.text]
    if not mine:
        return _nothing(f"no line names the client {client}")
    pids = {ln.pid for ln in mine}
    session = [ln for ln in lines if ln.pid in pids]
    qids = {m.group(1) for ln in session if (m := re.match(r"^(\w{14}): from=", ln.text))}
    local = [ln for ln in lines if any(ln.text.startswith(f"{q}: to=") for q in qids)
             and "mailer=local" in ln.text]
    tls = [m for ln in session if (m := _TLS.match(ln.text))]
    category, _ = first_category(RULES, [ln.text for ln in session])
    received = first_header(mailbox_message(mailbox_text, f"mailtls lab {sc.id}"), "Received")
    delivered = any("stat=Sent" in ln.text for ln in local)
    return Provable(
        encrypted=bool(tls),
        tls_version=tls[-1].group(2) if tls else None,
        outcome="delivered" if delivered else None,
        fallback=False,
        failure_category=category,
        trust=f"verify={tls[-1].group(3)}" if tls else None,
        deferrals=0,
        basis="Lines of the smtpd process that names the client address (STARTTLS=server or"
              " its error), the queue id of its 'from=' line and that id's local delivery."
              " Sendmail does not log whether STARTTLS was offered.",
        log_lines=unique([ln.raw for ln in session] + [ln.raw for ln in local]),
        mailbox_lines=received,
    )
