"""What an Exim 4.96 (GnuTLS) mainlog proves about one lab scenario.

Texts matched here come from the lab's own runs (sample_data/lab/exim/mainlog) and from
Exim's sources as surveyed in log-formats.md §2.2: ``<=``/``=>``/``==``/``**`` flags
(log.c, deliver.c), ``X=<proto>:<cipher>:<bits>`` and ``CV=yes|no`` (tls_cipher,
tls_certificate_verified selectors), ``TLS error on connection ...`` (tls-gnu.c),
``a TLS session is required, but ...`` and ``TLS session: ...`` (transports/smtp.c),
``delivering unencrypted to H=... (not in hosts_require_tls)`` (transports/smtp.c).
"""

from __future__ import annotations

import re

from lab.logscan import Rule, first_category, first_header, mailbox_message, unique
from lab.mta import Provable
from lab.scenarios import Direction, Scenario

# Exim mainlog line: "2026-11-27 21:31:54 1xX3Xu-0003DL-0e => ..." (log.c, default stamp)
_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (?:(\w{6}-\w{6,11}-\w{2,4}) )?(.*)$")
_X = re.compile(r" X=(TLS1\.\d|TLS1):([^:\s]{1,100}):(\d{1,4})")
_CV = re.compile(r" CV=(\w+)")
# Exim writes the protocol as "TLS1.3"; the frames use "TLSv1.3" (analyzer.normalize).
_VERSION = {"TLS1.3": "TLSv1.3", "TLS1.2": "TLSv1.2", "TLS1.1": "TLSv1.1", "TLS1": "TLSv1",
            "TLS1.0": "TLSv1"}
_NOISE = re.compile(r"non-properly terminated")

RULES: tuple[Rule, ...] = (
    Rule(r"certificate (has )?expired", "certificate-expired", "GnuTLS verify text"),
    Rule(r"certificate (is )?not (yet )?activated|not yet valid", "certificate-not-yet-valid",
         "GnuTLS verify text"),
    Rule(r"self[- ]signed", "certificate-self-signed", "GnuTLS verify text"),
    Rule(r"signer not found|issuer (is )?not known|unknown issuer", "certificate-not-trusted",
         "GnuTLS verify text"),
    Rule(r"the server did not offer TLS support", "starttls-not-supported",
         "transports/smtp.c"),
    Rule(r"STARTTLS.*(rejected|refused)|SMTP error from remote mail server after STARTTLS"
         r"|454 4\.7\.0", "starttls-rejected", "transports/smtp.c"),
    Rule(r"protocol version|unsupported version|No supported version", "protocol-version-mismatch",
         "GnuTLS error text"),
    Rule(r"Could not negotiate a supported cipher suite|no shared cipher", "no-shared-cipher",
         "GnuTLS error text"),
    # during the handshake only: the same GnuTLS text after "(recv)" is shutdown noise
    Rule(r"\(gnutls_handshake\): The TLS connection was non-properly terminated"
         r"|TCP connection closed by peer|Connection reset", "connection-lost", "tls-gnu.c"),
    Rule(r"TLS session: \(certificate verification failed\)|certificate invalid",
         "certificate-unverified", "transports/smtp.c"),
    Rule(r"TLS error on connection|TLS session: |an attempt to start TLS failed",
         "handshake-failure", "tls-gnu.c / transports/smtp.c"),
    Rule(r" CV=no", "certificate-unverified", "tls_certificate_verified selector"),
)


def prove(log_text: str, mailbox_text: str, scenario: Scenario) -> Provable:
    """The provable facts of ``scenario`` in an Exim mainlog (and the local mailbox)."""
    lines = log_text.splitlines()
    if scenario.direction is Direction.OUTBOUND:
        return _outbound(lines, scenario)
    return _inbound(lines, mailbox_text, scenario)


def _nothing(basis: str) -> Provable:
    return Provable(None, None, None, None, None, None, 0, basis, ())


def _message_lines(lines: list[str], scenario: Scenario) -> tuple[str, list[str]]:
    needle = f".{scenario.id}."
    for line in lines:
        m = _LINE.match(line)
        if m and m.group(1) and " <= " in line and needle in line:
            mid = m.group(1)
            return mid, [ln for ln in lines if f" {mid} " in ln[:40]]
    return "", []


def _tls(line: str) -> tuple[bool, str | None, str | None]:
    x = _X.search(line)
    cv = _CV.search(line)
    if not x:
        return False, None, None
    return True, _VERSION.get(x.group(1), x.group(1)), f"CV={cv.group(1)}" if cv else None


def _outbound(lines: list[str], sc: Scenario) -> Provable:
    mid, own = _message_lines(lines, sc)
    if not mid:
        return _nothing("no '<=' arrival line with this scenario's Message-ID")
    delivered = [ln for ln in own if " => " in ln]
    deferred = [ln for ln in own if " == " in ln]
    bounced = [ln for ln in own if " ** " in ln]
    final = (delivered or bounced or deferred or [""])[-1]
    outcome = ("delivered" if delivered else "bounced" if bounced
               else "deferred" if deferred else None)
    encrypted, version, trust = _tls(final)
    if not encrypted and (bounced or deferred) and not delivered:
        # a deferral after an established session carries no X=; Exim logs the reason only
        encrypted = False
    clear = [ln for ln in own if "delivering unencrypted to" in ln]
    tls_failed = [ln for ln in own if "TLS session: " in ln or ("TLS error on connection" in ln
                  and not _NOISE.search(ln))]
    fallback: bool | None
    if outcome != "delivered" or encrypted:
        fallback = False
    elif clear or tls_failed:
        fallback = True
    else:
        fallback = None  # plaintext, nothing logged: STARTTLS not offered or refused
    texts = [ln for ln in own if not (_NOISE.search(ln) and delivered and encrypted)]
    category, _ = first_category(RULES, texts)
    basis = ("Lines of the message id from its '<=' arrival: '=>' delivered, '==' deferred,"
             " '**' bounced; X= on the delivery line means TLS, CV= whether the certificate"
             " verified (no reason is given for CV=no).")
    if fallback is None:
        basis += " Exim logs nothing when an opportunistic peer does not offer STARTTLS."
    quoted = [ln for ln in own if " <= " in ln or " => " in ln or " ** " in ln
              or "TLS" in ln or "unencrypted" in ln]
    if len(deferred) > 2:  # keep the manifest short: first and last deferral
        skip = set(deferred[1:-1])
        quoted = [ln for ln in quoted if ln not in skip]
    quoted += [deferred[0], deferred[-1]] if deferred else []
    return Provable(
        encrypted=encrypted, tls_version=version, outcome=outcome, fallback=fallback,
        failure_category=category, trust=trust, deferrals=len(deferred), basis=basis,
        log_lines=unique(sorted(set(quoted), key=own.index)),
    )


def _inbound(lines: list[str], mailbox_text: str, sc: Scenario) -> Provable:
    client = f"[{sc.address}]"
    mine = [ln for ln in lines if client in ln]
    if not mine:
        return _nothing(f"no line names the client {client}")
    arrival = next((ln for ln in mine if " <= " in ln), None)
    head = _LINE.match(arrival) if arrival else None
    mid = head.group(1) if head else None
    local = [ln for ln in lines if mid and f" {mid} => " in ln]
    encrypted, version, trust = _tls(arrival) if arrival else (False, None, None)
    failures = [ln for ln in mine if "TLS error" in ln]
    category, _ = first_category(RULES, failures)
    received = first_header(mailbox_message(mailbox_text, f"mailtls lab {sc.id}"), "Received")
    return Provable(
        encrypted=encrypted if arrival else (False if failures else None),
        tls_version=version,
        outcome="delivered" if local else None,
        fallback=False,
        failure_category=category,
        trust=trust,
        deferrals=0,
        basis="Lines naming the client address: the '<=' arrival (P=esmtps and X= mean TLS)"
              " or 'TLS error on connection from'; outcome from the '=>' local delivery of"
              " that message id. Exim does not log whether STARTTLS was offered.",
        log_lines=unique(mine + local),
        mailbox_lines=received,
    )
