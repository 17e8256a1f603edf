"""Exim 4 from Debian (exim4-daemon-heavy, GnuTLS build), on loopback only.

A complete hand-written ``/etc/exim4/exim4.conf`` (Debian's exim4 reads it before the
debconf-generated file): listeners on 127.0.0.1 ports 25 and 2525, no host lookups, and
``manualroute`` routers whose routes are literal 127.0.0.N addresses from a table; any other
domain is refused. Three smtp transports carry the three outbound policies. Logging is
Debian's mainlog with the default ``log_selector`` plus ``+tls_certificate_verified
+tls_peerdn +tls_sni``.
"""

from __future__ import annotations

import grp
import os
import shutil
from pathlib import Path

from lab import prove_exim
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
    apt_install,
    ensure_user,
    package_version,
    read_pid,
    run,
    stop_pidfile,
    wait_until,
)

ETC = Path("/etc/exim4")
CONF = ETC / "exim4.conf"
ROUTES = ETC / "lab_routes"
TLS_DIR = ETC / "lab-tls"
MAINLOG = Path("/var/log/exim4/mainlog")
PIDFILE = Path("/run/exim4/exim.pid")
EXIM = "/usr/sbin/exim4"

TRANSPORT_OF = {
    Policy.OPPORTUNISTIC: "remote_opp",
    Policy.ENFORCED_VERIFY: "remote_verify",
    Policy.ENFORCED_ENCRYPT: "remote_encrypt",
}

CONFIG = """\
# mailtls lab: loopback-only Exim (written by lab/exim.py)
primary_hostname = {hostname}
qualify_domain = {hostname}
domainlist local_domains = {hostname} : localhost
local_interfaces = <; 127.0.0.1.25 ; 127.0.0.1.2525
# no DNS: no reverse lookups, no ident
host_lookup =
rfc1413_hosts =
never_users = root
keep_environment =
log_selector = +tls_certificate_verified +tls_peerdn +tls_sni
tls_advertise_hosts = *
tls_certificate = {tls}/server.pem
tls_privatekey = {tls}/server.key
tls_verify_certificates = {tls}/ca.pem
tls_try_verify_hosts = *
acl_smtp_rcpt = acl_check_rcpt
timeout_frozen_after = 5m

begin acl

acl_check_rcpt:
  accept  hosts = :
  deny    domains = !+local_domains
          message = relay not permitted
  require verify = recipient
  accept

begin routers

lab_remote:
  driver = manualroute
  domains = ! +local_domains : *.lab.test
  route_data = ${{lookup{{$domain}}lsearch{{{routes}}}{{$value}}fail}}
  transport = ${{lookup{{$domain}}lsearch{{{routes}.transport}}{{$value}}fail}}
  host_find_failed = fail
  no_more

aliases:
  driver = redirect
  domains = +local_domains
  data = ${{lookup{{$local_part}}lsearch{{/etc/aliases}}}}
  allow_fail

localuser:
  driver = accept
  domains = +local_domains
  check_local_user
  local_part_suffix = +*
  local_part_suffix_optional
  transport = local_mbox

begin transports

remote_opp:
  driver = smtp
  port = 25
  tls_verify_certificates = {tls}/ca.pem
  tls_try_verify_hosts = *
  tls_verify_cert_hostnames = :

remote_verify:
  driver = smtp
  port = 25
  hosts_require_tls = *
  tls_verify_certificates = {tls}/ca.pem
  tls_verify_hosts = *
  tls_verify_cert_hostnames = :

remote_encrypt:
  driver = smtp
  port = 25
  hosts_require_tls = *
  tls_verify_certificates = {tls}/ca.pem
  tls_try_verify_hosts = *
  tls_verify_cert_hostnames = :

local_mbox:
  driver = appendfile
  file = {spool}/$local_part_data
  current_directory = /
  delivery_date_add
  envelope_to_add
  return_path_add
  group = mail
  mode = 0660

begin retry

# retry every 10 s for one minute, then bounce (short on purpose, for the lab)
*   *   F,1m,10s

begin rewrite
"""

_GNUTLS_LEGACY = (
    "tls_require_ciphers is unset, so Exim uses GnuTLS's default priority string, which on"
    " Debian 12 (GnuTLS 3.7) still enables TLS 1.1 and TLS 1.0"
)
OVERRIDES: dict[str, tuple[Expected, str]] = {
    "out-tls10-only-opp": (Expected(True, "TLSv1.1", "delivered", False, None, None),
                           _GNUTLS_LEGACY),
    "out-tls10-only-verify": (Expected(True, "TLSv1.1", "delivered", False, None, None),
                              _GNUTLS_LEGACY + "; the peer's certificate is valid"),
    "in-tls10": (Expected(True, "TLSv1", "delivered", False, None, None), _GNUTLS_LEGACY),
    "out-wrong-name-verify": (
        Expected(True, "TLSv1.3", "delivered", False, "certificate-host-mismatch",
                 "certificate-host-mismatch"),
        "tls_verify_cert_hostnames is empty in the lab's Exim transports (the routes are"
        " literal IP addresses, which no lab certificate names), so only the chain is"
        " verified and the wrong-name certificate is accepted",
    ),
}
for _cond in ("expired", "not-yet-valid", "self-signed", "untrusted-ca"):
    _truth = CONDITION_BY_NAME[_cond]
    OVERRIDES[f"out-{_cond}-verify"] = (
        Expected(False, None, "bounced", False, _truth.category, _truth.rfc8460),
        "with tls_verify_hosts matching, Exim (GnuTLS) checks the certificate inside the"
        " handshake and aborts it with a bad_certificate alert (see the peer transcript):"
        " no TLS session is established",
    )


class EximDriver:
    """The Exim lab driver (see module docstring)."""

    name = "exim"
    packages = ("exim4-daemon-heavy", "exim4-base", "exim4-config")

    def install(self) -> None:
        apt_install(("exim4-daemon-heavy",))

    def configure(self, ctx: LabContext) -> None:
        self.stop()
        ensure_user(LOCAL_USER)
        _install_tls(ctx)
        outbound = [s for s in ctx.scenarios if s.direction == "outbound"]
        ROUTES.write_text("".join(f"{s.domain}: {s.address}\n" for s in outbound))
        Path(f"{ROUTES}.transport").write_text(
            "".join(f"{s.domain}: {TRANSPORT_OF[s.policy]}\n" for s in outbound))
        CONF.write_text(CONFIG.format(hostname=MTA_HOSTNAME, tls=TLS_DIR, routes=ROUTES,
                                      spool=MAIL_SPOOL))
        _ensure_aliases()
        run([EXIM, "-bV"])
        for sub in ("input", "msglog", "db"):
            shutil.rmtree(Path("/var/spool/exim4") / sub, ignore_errors=True)
        (MAIL_SPOOL / LOCAL_USER).unlink(missing_ok=True)
        MAINLOG.parent.mkdir(parents=True, exist_ok=True)

    def start(self) -> None:
        PIDFILE.unlink(missing_ok=True)
        Path("/run/exim4").mkdir(parents=True, exist_ok=True)
        shutil.chown("/run/exim4", "Debian-exim", "Debian-exim")
        run([EXIM, "-bd", "-q10s"])
        wait_until(lambda: read_pid(PIDFILE) is not None, 60.0, "exim daemon pid file")

    def stop(self) -> None:
        stop_pidfile(PIDFILE)

    def flush(self) -> None:
        run([EXIM, "-qff"], check=False, timeout=60.0)

    def queue_size(self) -> int:
        res = run([EXIM, "-bpc"], check=False)
        try:
            return int(res.stdout.strip() or "0")
        except ValueError:
            return 0

    def version(self) -> str:
        first = run([EXIM, "-bV"]).stdout.splitlines()[0]
        return first.split("version", 1)[1].split()[0] if "version" in first else first

    def package(self) -> str:
        return f"exim4-daemon-heavy {package_version('exim4-daemon-heavy')}"

    def policy_setting(self, scenario: Scenario) -> str:
        if scenario.direction == "inbound":
            return "tls_advertise_hosts = *, tls_try_verify_hosts = * (both listeners)"
        return {
            Policy.OPPORTUNISTIC: "transport remote_opp: tls_try_verify_hosts = *"
                                  " (tls_tempfail_tryclear default true)",
            Policy.ENFORCED_VERIFY: "transport remote_verify: hosts_require_tls = *,"
                                    " tls_verify_hosts = *",
            Policy.ENFORCED_ENCRYPT: "transport remote_encrypt: hosts_require_tls = *,"
                                     " tls_try_verify_hosts = *",
        }[scenario.policy]

    def logging(self) -> dict[str, str]:
        return {
            "log_selector": "default + tls_certificate_verified + tls_peerdn + tls_sni",
            "log_file": "/var/log/exim4/mainlog (Exim's own file, not syslog)",
            "tls_library": "GnuTLS (Debian exim4-daemon-heavy build)",
        }

    def log_files(self) -> dict[str, Path]:
        return {"mainlog": MAINLOG}

    def config_files(self, ctx: LabContext) -> dict[str, str]:
        return {
            "exim4.conf": CONF.read_text(),
            "lab_routes": ROUTES.read_text(),
            "lab_routes.transport": Path(f"{ROUTES}.transport").read_text(),
        }

    def prove(self, log_text: str, mailbox_text: str, scenario: Scenario) -> Provable:
        return prove_exim.prove(log_text, mailbox_text, scenario)

    def overrides(self) -> dict[str, tuple[Expected, str]]:
        return OVERRIDES


def _install_tls(ctx: LabContext) -> None:
    """Copy the server certificate, key and CA where the Debian-exim user can read them."""
    TLS_DIR.mkdir(parents=True, exist_ok=True)
    gid = grp.getgrnam("Debian-exim").gr_gid
    pairs = {
        "server.pem": ctx.pki.pairs["valid"].cert,
        "server.key": ctx.pki.pairs["valid"].key,
        "ca.pem": ctx.pki.ca_cert,
    }
    for name, src in pairs.items():
        dst = TLS_DIR / name
        shutil.copyfile(src, dst)
        os.chown(dst, 0, gid)
        dst.chmod(0o640)


def _ensure_aliases() -> None:
    aliases = Path("/etc/aliases")
    text = aliases.read_text() if aliases.exists() else "postmaster: root\n"
    if "labsender:" not in text:
        text += f"labsender: {LOCAL_USER}\n"
    aliases.write_text(text)
