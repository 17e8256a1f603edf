"""Sendmail 8.17 from Debian, on loopback only, logging at LogLevel 9 to syslog.

A complete hand-written ``/etc/mail/sendmail.mc`` (compiled with m4 into sendmail.cf):
daemons on 127.0.0.1 ports 25 and 2525, ``FEATURE(nocanonify)``, a service switch that
resolves hosts from files only, and a ``mailertable`` that sends each lab domain to a
literal ``[127.0.0.N]`` (``.`` goes to an error mailer). Enforced policies are ``TLS_Srv:``
entries of the access map, keyed by the peer address.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from lab import prove_sendmail
from lab.mta import MAIL_SPOOL, LabContext, Provable
from lab.scenarios import (
    CONDITION_BY_NAME,
    LOCAL_USER,
    MTA_HOSTNAME,
    Expected,
    Policy,
    Scenario,
)
from lab.system import (
    MAIL_LOG,
    apt_install,
    ensure_user,
    package_version,
    read_pid,
    run,
    stop_pidfile,
    wait_until,
)

ETC = Path("/etc/mail")
MC = ETC / "sendmail.mc"
MC_ORIG = ETC / "sendmail.mc.lab-orig"
MAILERTABLE = ETC / "lab_mailertable"
ACCESS = ETC / "lab_access"
SWITCH = ETC / "lab.service.switch"
TLS_DIR = ETC / "lab-tls"
PIDFILE = Path("/run/sendmail/mta/sendmail.pid")
SENDMAIL = "/usr/sbin/sendmail"
# Sendmail sleeps 60 s per invocation when the node name ("vm") has no domain part; each
# sendmail process therefore runs in its own UTS namespace whose host name is the lab's
# FQDN (the machine's host name is left alone).
UTS = ("unshare", "--uts", "sh", "-c", f'hostname {MTA_HOSTNAME} && exec "$@"', "sh")

MC_TEXT = """\
divert(-1)dnl
# mailtls lab: loopback-only Sendmail (written by lab/sendmail.py)
divert(0)dnl
include(`/usr/share/sendmail/cf/m4/cf.m4')dnl
VERSIONID(`mailtls lab')dnl
OSTYPE(`debian')dnl
DOMAIN(`debian-mta')dnl
undefine(`confHOST_STATUS_DIRECTORY')dnl
define(`confDOMAIN_NAME', `{hostname}')dnl
define(`confLOG_LEVEL', `9')dnl
define(`confSERVICE_SWITCH_FILE', `{switch}')dnl
define(`confDONT_PROBE_INTERFACES', `True')dnl
define(`confCACERT_PATH', `{tls}')dnl
define(`confCACERT', `{tls}/ca.pem')dnl
define(`confSERVER_CERT', `{tls}/server.pem')dnl
define(`confSERVER_KEY', `{tls}/server.key')dnl
define(`confTO_QUEUERETURN', `2m')dnl
define(`confTO_QUEUEWARN', `1h')dnl
define(`confTO_CONNECT', `10s')dnl
define(`confMIN_QUEUE_AGE', `0')dnl
FEATURE(`nocanonify')dnl
FEATURE(`mailertable', `hash -o {mailertable}')dnl
FEATURE(`access_db', `hash -T<TMPF> -o {access}')dnl
DAEMON_OPTIONS(`Family=inet, Name=MTA-v4, Port=smtp, Addr=127.0.0.1')dnl
DAEMON_OPTIONS(`Family=inet, Name=MTA-2525, Port=2525, Addr=127.0.0.1')dnl
CLIENT_OPTIONS(`Family=inet, Addr=127.0.0.1')dnl
MAILER(`local')dnl
MAILER(`smtp')dnl
"""

# The inbound clients' sender domains (*.client.lab.test) do not resolve (no DNS): without
# this entry check_mail refuses them with "553 5.1.8 Domain of sender address ... does not
# exist".
ACCESS_HEAD = "Connect:127\tRELAY\nFrom:client.lab.test\tOK\n"


def access_entry(scenario: Scenario) -> str | None:
    """The ``TLS_Srv:`` access-map entry of a scenario's peer (None: Sendmail's default)."""
    if scenario.policy is Policy.ENFORCED_VERIFY:
        return f"TLS_Srv:{scenario.address}\tVERIFY"
    if scenario.policy is Policy.ENFORCED_ENCRYPT:
        return f"TLS_Srv:{scenario.address}\tENCR:128"
    return None


_NO_CLEAR = (
    "Sendmail's default tls_server ruleset answers a failed handshake (${verify} = SOFTWARE)"
    " with '454 4.7.0 TLS handshake failed.' and TLSFallbacktoClear is off by default"
    " (cf/README), so the message is deferred until Timeout.queuereturn bounces it"
)
OVERRIDES: dict[str, tuple[Expected, str]] = {
    **{
        f"out-{name}-opp": (
            Expected(False, None, "bounced", False, CONDITION_BY_NAME[name].category,
                     CONDITION_BY_NAME[name].rfc8460),
            _NO_CLEAR,
        )
        for name in ("tls10-only", "disjoint-ciphers", "drop-after-starttls")
    },
    "out-wrong-name-verify": (
        Expected(True, "TLSv1.3", "delivered", False, "certificate-host-mismatch",
                 "certificate-host-mismatch"),
        "TLS_Srv: VERIFY requires a verified chain but no name match (cf/README), so the"
        " wrong-name certificate from the trusted CA is accepted",
    ),
}


class SendmailDriver:
    """The Sendmail lab driver (see module docstring)."""

    name = "sendmail"
    packages = ("sendmail", "sendmail-bin", "sendmail-base", "sendmail-cf")
    submit_flags = ("-Am",)  # submit with sendmail.cf directly, not through the MSP
    submit_prefix = UTS

    def install(self) -> None:
        apt_install(("sendmail",))

    def configure(self, ctx: LabContext) -> None:
        self.stop()
        ensure_user(LOCAL_USER)
        _install_tls(ctx)
        if not MC_ORIG.exists() and MC.exists():
            MC_ORIG.write_text(MC.read_text())
        SWITCH.write_text("hosts\tfiles\naliases\tfiles\n")
        outbound = [s for s in ctx.scenarios if s.direction == "outbound"]
        MAILERTABLE.write_text(
            "".join(f"{s.domain}\tesmtp:[{s.address}]\n" for s in outbound)
            # the inbound clients' sender domains: Sendmail refuses a MAIL FROM whose
            # address resolves to the error mailer, so they resolve to the local user
            + f".client.lab.test\tlocal:{LOCAL_USER}\n"
            + ".\terror:5.7.1:550 mailtls lab: no delivery outside lab.test\n")
        ACCESS.write_text(ACCESS_HEAD + "".join(
            f"{entry}\n" for s in outbound if (entry := access_entry(s)) is not None))
        MC.write_text(MC_TEXT.format(hostname=MTA_HOSTNAME, switch=SWITCH, tls=TLS_DIR,
                                     mailertable=MAILERTABLE, access=ACCESS))
        cf = run(["m4", str(MC)]).stdout
        (ETC / "sendmail.cf").write_text(cf)
        run(["makemap", "hash", str(MAILERTABLE)], stdin=MAILERTABLE.read_text())
        run(["makemap", "hash", str(ACCESS)], stdin=ACCESS.read_text())
        _ensure_aliases()
        run([*UTS, SENDMAIL, "-bi"], check=False)
        shutil.rmtree("/var/spool/mqueue", ignore_errors=True)
        Path("/var/spool/mqueue").mkdir(mode=0o750)
        (MAIL_SPOOL / LOCAL_USER).unlink(missing_ok=True)

    def start(self) -> None:
        PIDFILE.parent.mkdir(parents=True, exist_ok=True)
        PIDFILE.unlink(missing_ok=True)
        run([*UTS, SENDMAIL, "-bd", "-q10s"])
        wait_until(lambda: read_pid(PIDFILE) is not None, 60.0, "sendmail pid file")

    def stop(self) -> None:
        stop_pidfile(PIDFILE)

    def flush(self) -> None:
        run([*UTS, SENDMAIL, "-q"], check=False, timeout=90.0)

    def queue_size(self) -> int:
        return sum(1 for p in Path("/var/spool/mqueue").glob("qf*"))

    def version(self) -> str:
        out = run([*UTS, SENDMAIL, "-d0.1", "-bt"], check=False, stdin="").stdout
        first = next((ln for ln in out.splitlines() if ln.startswith("Version ")), "")
        return first.split()[1] if first else ""

    def package(self) -> str:
        return f"sendmail-bin {package_version('sendmail-bin')}"

    def policy_setting(self, scenario: Scenario) -> str:
        if scenario.direction == "inbound":
            return "STARTTLS offered on both daemons (server certificate configured)"
        entry = access_entry(scenario)
        return f"access map: {entry}" if entry else "no TLS_Srv entry (Sendmail default)"

    def logging(self) -> dict[str, str]:
        return {
            "LogLevel": "9 (Sendmail's documented default, also set explicitly)",
            "syslog": "rsyslog 8.2302 Debian default (RFC 3339 timestamps), mail.* to mail.log",
        }

    def log_files(self) -> dict[str, Path]:
        return {"mail.log": MAIL_LOG}

    def config_files(self, ctx: LabContext) -> dict[str, str]:
        return {
            "sendmail.mc": MC.read_text(),
            "lab_mailertable": MAILERTABLE.read_text(),
            "lab_access": ACCESS.read_text(),
            "lab.service.switch": SWITCH.read_text(),
        }

    def prove(self, log_text: str, mailbox_text: str, scenario: Scenario) -> Provable:
        return prove_sendmail.prove(log_text, mailbox_text, scenario)

    def overrides(self) -> dict[str, tuple[Expected, str]]:
        return OVERRIDES


def _install_tls(ctx: LabContext) -> None:
    """Copy the server certificate, key (0600, root) and CA for sendmail's TLS checks."""
    TLS_DIR.mkdir(parents=True, exist_ok=True)
    TLS_DIR.chmod(0o755)
    for name, src, mode in (
        ("server.pem", ctx.pki.pairs["valid"].cert, 0o644),
        ("server.key", ctx.pki.pairs["valid"].key, 0o600),
        ("ca.pem", ctx.pki.ca_cert, 0o644),
    ):
        dst = TLS_DIR / name
        shutil.copyfile(src, dst)
        dst.chmod(mode)


def _ensure_aliases() -> None:
    aliases = Path("/etc/mail/aliases") if Path("/etc/mail/aliases").exists() else Path(
        "/etc/aliases")
    text = aliases.read_text() if aliases.exists() else "postmaster: root\n"
    if "labsender:" not in text:
        text += f"labsender: {LOCAL_USER}\n"
    aliases.write_text(text)
