"""Postfix from Debian, on loopback only, with production TLS logging (level 1).

Outbound mail for ``*.lab.test`` goes through ``transport_maps`` to literal
``[127.0.0.N]:25`` next hops; every other destination hits ``error:`` transports, and DNS is
off (``smtp_dns_support_level = disabled``, ``smtpd_peername_lookup = no``), so nothing can
leave the loopback interface. Inbound mail to ``labrcpt`` is delivered by ``local(8)`` into
the mbox ``/var/mail/labrcpt``.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from lab import prove_postfix
from lab.mta import MAIL_SPOOL, LabContext, Provable
from lab.scenarios import LOCAL_USER, MTA_HOSTNAME, PEER_HOSTNAME, Expected, Policy, Scenario
from lab.system import MAIL_LOG, apt_install, ensure_user, package_version, run, wait_until

ETC = Path("/etc/postfix")
MASTER_ORIG = ETC / "master.cf.lab-orig"
TRANSPORT = ETC / "lab_transport"
TLS_POLICY = ETC / "lab_tls_policy"

# Settings a production Postfix with TLS logging would have; the timers are shortened so a
# deferral turns into a bounce within the run (postconf(5): maximal_queue_lifetime etc.).
MAIN_CF = """\
# mailtls lab: loopback-only Postfix (written by lab/postfix.py)
compatibility_level = 3.6
myhostname = {hostname}
mydomain = lab.test
myorigin = $myhostname
mydestination = $myhostname, localhost
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtp_bind_address = 127.0.0.1
relayhost =
alias_maps = hash:/etc/aliases
alias_database = hash:/etc/aliases
recipient_delimiter = +
biff = no
append_dot_mydomain = no
readme_directory = no
# no DNS at all: literal next hops only, no reverse lookups of clients
smtp_dns_support_level = disabled
smtp_host_lookup = native
smtpd_peername_lookup = no
transport_maps = hash:{transport}
default_transport = error:5.7.1 mailtls lab: no delivery outside lab.test
relay_transport = error:5.7.1 mailtls lab: no delivery outside lab.test
# TLS, client side
smtp_tls_security_level = may
smtp_tls_loglevel = 1
smtp_tls_CAfile = {ca}
smtp_tls_policy_maps = hash:{policy}
smtp_tls_session_cache_database =
# TLS, server side
smtpd_tls_cert_file = {cert}
smtpd_tls_key_file = {key}
smtpd_tls_CAfile = {ca}
smtpd_tls_security_level = may
smtpd_tls_loglevel = 1
smtpd_tls_received_header = yes
smtpd_tls_session_cache_database =
# fast retries and bounces so the run ends in minutes
queue_run_delay = 10s
minimal_backoff_time = 10s
maximal_backoff_time = 20s
maximal_queue_lifetime = 60s
bounce_queue_lifetime = 60s
delay_warning_time = 0
smtp_connect_timeout = 10s
smtp_helo_timeout = 30s
"""

# Two listeners: port 25 asks for client certificates and writes the TLS comment into
# Received headers; port 2525 does neither.
LISTENERS = (
    "127.0.0.1:smtp inet  n       -       n       -       -       smtpd\n"
    "  -o smtpd_tls_ask_ccert=yes\n"
    "127.0.0.1:2525 inet  n       -       n       -       -       smtpd\n"
    "  -o smtpd_tls_received_header=no\n"
)


# Where Postfix 3.7's defaults make another result the right one (postconf -d).
OVERRIDES: dict[str, tuple[Expected, str]] = {
    "out-tls10-only-opp": (
        Expected(True, "TLSv1.1", "delivered", False, None, None),
        "smtp_tls_protocols defaults to '>=TLSv1' in Postfix 3.7, so at level may the"
        " TLS 1.1-only peer is acceptable (it is refused at level secure by OpenSSL's"
        " 'legacy sigalg disallowed or unsupported', which stays a handshake failure)",
    ),
    "in-tls10": (
        Expected(True, "TLSv1", "delivered", False, None, None),
        "smtpd_tls_protocols defaults to '>=TLSv1' in Postfix 3.7: a TLS 1.0 client is"
        " accepted",
    ),
}


def policy_entry(scenario: Scenario) -> str | None:
    """The smtp_tls_policy_maps value of a scenario's next hop (None: the default ``may``)."""
    if scenario.policy is Policy.ENFORCED_VERIFY:
        return f"secure match={PEER_HOSTNAME}"
    if scenario.policy is Policy.ENFORCED_ENCRYPT:
        return "encrypt"
    return None


class PostfixDriver:
    """The Postfix lab driver (see module docstring)."""

    name = "postfix"
    packages = ("postfix",)
    purge = ("postfix",)

    def install(self) -> None:
        apt_install(
            self.packages,
            preseed="postfix postfix/main_mailer_type select No configuration\n",
        )

    def configure(self, ctx: LabContext) -> None:
        pki = ctx.pki
        (ETC / "main.cf").write_text(MAIN_CF.format(
            hostname=MTA_HOSTNAME, transport=TRANSPORT, policy=TLS_POLICY, ca=pki.ca_cert,
            cert=pki.pairs["valid"].cert, key=pki.pairs["valid"].key,
        ))
        if not MASTER_ORIG.exists():
            MASTER_ORIG.write_text((ETC / "master.cf").read_text())
        master = MASTER_ORIG.read_text().replace(
            "smtp      inet  n       -       y       -       -       smtpd\n", LISTENERS, 1
        )
        (ETC / "master.cf").write_text(master)
        # chroot off: the jail would need copies of /etc files; logging is unchanged by it
        run(["postconf", "-F", "*/*/chroot = n"])
        outbound = [s for s in ctx.scenarios if s.direction == "outbound"]
        TRANSPORT.write_text("".join(f"{s.domain}\tsmtp:[{s.address}]:25\n" for s in outbound))
        TLS_POLICY.write_text("".join(
            f"[{s.address}]:25\t{entry}\n"
            for s in outbound if (entry := policy_entry(s)) is not None
        ))
        run(["postmap", str(TRANSPORT)])
        run(["postmap", str(TLS_POLICY)])
        ensure_user(LOCAL_USER)
        _ensure_aliases()
        run(["newaliases"])
        run(["postfix", "check"])
        (MAIL_SPOOL / LOCAL_USER).unlink(missing_ok=True)
        run(["postsuper", "-d", "ALL"], check=False)

    def start(self) -> None:
        run(["postfix", "start"])
        wait_until(lambda: run(["postfix", "status"], check=False).returncode == 0,
                   15.0, "postfix master")

    def stop(self) -> None:
        run(["postfix", "stop"], check=False)

    def flush(self) -> None:
        run(["postqueue", "-f"], check=False)

    def queue_size(self) -> int:
        res = run(["postqueue", "-j"], check=False)
        return sum(1 for line in res.stdout.splitlines() if line.strip().startswith("{"))

    def version(self) -> str:
        return run(["postconf", "-h", "mail_version"]).stdout.strip()

    def package(self) -> str:
        return f"postfix {package_version('postfix')}"

    def policy_setting(self, scenario: Scenario) -> str:
        if scenario.direction == "inbound":
            listener = "127.0.0.1:2525" if scenario.peer == "tls13-second-listener" else "127.0.0.1:25"
            return f"smtpd_tls_security_level = may on {listener}"
        entry = policy_entry(scenario)
        if entry is None:
            return "smtp_tls_security_level = may (smtp_tls_CAfile = lab CA)"
        return f"smtp_tls_policy_maps: [{scenario.address}]:25 {entry}"

    def logging(self) -> dict[str, str]:
        return {
            "smtp_tls_loglevel": "1",
            "smtpd_tls_loglevel": "1",
            "smtpd_tls_received_header": "yes on 127.0.0.1:25, no on 127.0.0.1:2525",
            "syslog": "rsyslog 8.2302 Debian default (RFC 3339 timestamps), mail.* to mail.log",
        }

    def log_files(self) -> dict[str, Path]:
        return {"mail.log": MAIL_LOG}

    def config_files(self, ctx: LabContext) -> dict[str, str]:
        diff = difflib.unified_diff(
            MASTER_ORIG.read_text().splitlines(keepends=True),
            (ETC / "master.cf").read_text().splitlines(keepends=True),
            "master.cf (Debian)", "master.cf (lab)",
        )
        return {
            "postconf-n.txt": run(["postconf", "-n"]).stdout,
            "master.cf.diff": "".join(diff),
            "lab_transport": TRANSPORT.read_text(),
            "lab_tls_policy": TLS_POLICY.read_text(),
        }

    def prove(self, log_text: str, mailbox_text: str, scenario: Scenario) -> Provable:
        return prove_postfix.prove(log_text, mailbox_text, scenario)

    def overrides(self) -> dict[str, tuple[Expected, str]]:
        return OVERRIDES


def _ensure_aliases() -> None:
    aliases = Path("/etc/aliases")
    text = aliases.read_text() if aliases.exists() else "postmaster: root\n"
    if "labsender:" not in text:
        text += f"labsender: {LOCAL_USER}\n"
    aliases.write_text(text)
