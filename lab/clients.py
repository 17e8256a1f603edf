"""Inbound lab clients: smtplib sessions from distinct loopback addresses to the MTA.

Each client binds its own 127.0.0.N source address so that the MTA's log lines of one
scenario are told apart by the client IP alone. Clients do not verify the MTA's certificate
(the lab is about what the server logs, not about the client's trust decisions).
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from lab.certs import Pki
from lab.scenarios import BEHAVIOUR_BY_NAME, MTA_HOSTNAME, Scenario

SMTP_TIMEOUT_S = 20.0
_VERSIONS = {
    "1.0": ssl.TLSVersion.TLSv1,
    "1.2": ssl.TLSVersion.TLSv1_2,
    "1.3": ssl.TLSVersion.TLSv1_3,
}


@dataclass(frozen=True, slots=True)
class ClientResult:
    """What the client saw.

    Attributes:
        scenario: the scenario id.
        sent: whether the MTA accepted the message.
        tls_version: the negotiated protocol as the client saw it, or None.
        cipher: the negotiated cipher, or None.
        error: the error text when something failed ("" otherwise).
    """

    scenario: str
    sent: bool
    tls_version: str | None
    cipher: str | None
    error: str


def _context(pki: Pki, max_version: str, client_cert: bool) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    version = _VERSIONS[max_version]
    if version is ssl.TLSVersion.TLSv1:
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")  # OpenSSL 3 refuses TLS 1.0 above level 0
        ctx.minimum_version = version
    ctx.maximum_version = version
    if client_cert:
        pair = pki.pairs["client"]
        ctx.load_cert_chain(str(pair.cert), str(pair.key))
    return ctx


def message(scenario: Scenario, run_id: str, sender: str) -> EmailMessage:
    """The test message of a scenario (the Subject names the scenario)."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = scenario.recipient
    msg["Subject"] = f"mailtls lab {scenario.id}"
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = make_msgid(f"{scenario.id}.{run_id}", MTA_HOSTNAME)
    msg.set_content(f"Scenario {scenario.id}: {scenario.description}\n")
    return msg


def send_inbound(scenario: Scenario, pki: Pki, run_id: str) -> ClientResult:
    """Run one inbound scenario's client against the MTA on 127.0.0.1, port 25 or 2525."""
    behaviour = BEHAVIOUR_BY_NAME[scenario.peer]
    port = 2525 if behaviour.second_listener else 25
    helo = f"client-{behaviour.name}.lab.test"
    sender = f"sender@{behaviour.name}.client.lab.test"
    version = cipher = None
    try:
        with smtplib.SMTP("127.0.0.1", port, local_hostname=helo, timeout=SMTP_TIMEOUT_S,
                          source_address=(scenario.address, 0)) as smtp:
            smtp.ehlo()
            if behaviour.drop_after_starttls:
                code, _ = smtp.docmd("STARTTLS")
                smtp.close()
                return ClientResult(scenario.id, False, None, None, f"closed after {code}")
            if behaviour.starttls and behaviour.max_version is not None:
                smtp.starttls(context=_context(pki, behaviour.max_version, behaviour.client_cert))
                sock = smtp.sock
                if isinstance(sock, ssl.SSLSocket):
                    version = sock.version()
                    info = sock.cipher()
                    cipher = info[0] if info else None
                smtp.ehlo()
            smtp.send_message(message(scenario, run_id, sender), sender, [scenario.recipient])
    except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
        return ClientResult(scenario.id, False, version, cipher, f"{type(exc).__name__}: {exc}")
    return ClientResult(scenario.id, True, version, cipher, "")
