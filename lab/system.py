"""Host plumbing for the MTA lab: commands with timeouts, apt, rsyslog, log slices.

Everything here runs local commands only. apt-get talks to the Debian mirrors configured on
the machine; nothing else leaves the host.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

APT_TIMEOUT_S = 900.0
COMMAND_TIMEOUT_S = 120.0
MAIL_LOG = Path("/var/log/mail.log")
RSYSLOG_PID = Path("/run/rsyslogd.pid")


class LabError(RuntimeError):
    """A lab step failed; the message says which and why."""


@dataclass(frozen=True, slots=True)
class Result:
    """The outcome of one command.

    Attributes:
        argv: the command.
        returncode: its exit status.
        stdout: its standard output (text).
        stderr: its standard error (text).
    """

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


def run(
    argv: Sequence[str],
    *,
    check: bool = True,
    timeout: float = COMMAND_TIMEOUT_S,
    env: Mapping[str, str] | None = None,
    stdin: str | None = None,
) -> Result:
    """Run ``argv`` with a timeout; raise LabError on failure when ``check``."""
    full_env = {**os.environ, **(env or {})}
    try:
        proc = subprocess.run(  # noqa: S603 -- fixed argv lists built by the lab itself
            list(argv), input=stdin, capture_output=True, text=True, timeout=timeout,
            env=full_env, check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"{' '.join(argv)} timed out after {timeout:.0f}s") from exc
    except FileNotFoundError as exc:
        raise LabError(f"{argv[0]} not found") from exc
    result = Result(tuple(argv), proc.returncode, proc.stdout, proc.stderr)
    if check and proc.returncode != 0:
        raise LabError(
            f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr.strip()[-800:]}"
        )
    return result


_APT_ENV = {"DEBIAN_FRONTEND": "noninteractive", "NEEDRESTART_MODE": "a"}


def package_installed(name: str) -> bool:
    """Whether dpkg reports ``name`` as installed."""
    res = run(["dpkg-query", "-W", "-f=${Status}", name], check=False)
    return res.returncode == 0 and res.stdout.strip().endswith(" installed")


def package_version(name: str) -> str:
    """The installed Debian version of ``name`` ("" when not installed)."""
    res = run(["dpkg-query", "-W", "-f=${Version}", name], check=False)
    return res.stdout.strip() if res.returncode == 0 else ""


def apt_install(packages: Sequence[str], preseed: str = "") -> None:
    """Install Debian packages non-interactively (no recommends)."""
    missing = [p for p in packages if not package_installed(p)]
    if not missing:
        return
    if preseed:
        run(["debconf-set-selections"], stdin=preseed)
    run(
        ["apt-get", "install", "-y", "--no-install-recommends",
         "-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold",
         *missing],
        env=_APT_ENV, timeout=APT_TIMEOUT_S,
    )


def apt_purge(packages: Sequence[str]) -> None:
    """Purge Debian packages that are installed."""
    present = [p for p in packages if package_installed(p)]
    if present:
        run(["apt-get", "purge", "-y", *present], env=_APT_ENV, timeout=APT_TIMEOUT_S)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def ensure_rsyslog() -> None:
    """Start Debian's rsyslogd (default configuration: mail.* to /var/log/mail.log)."""
    apt_install(["rsyslog"])
    pid = read_pid(RSYSLOG_PID)
    if pid is not None and pid_alive(pid):
        return
    run(["rsyslogd"])
    wait_until(lambda: Path("/dev/log").exists(), 10.0, "rsyslog /dev/log socket")


def stop_pidfile(path: Path, timeout: float = 10.0) -> None:
    """SIGTERM the process named in a pid file and wait for it (bounded)."""
    pid = read_pid(path)
    if pid is None or not pid_alive(pid):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and pid_alive(pid):
        time.sleep(0.2)


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``check`` every 0.2 s until true; LabError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise LabError(f"timed out waiting for {what}")


@dataclass
class LogMark:
    """A position in a growing log file, to copy only the lines written after it.

    Attributes:
        path: the log file.
        offset: its size when the mark was taken.
    """

    path: Path
    offset: int

    @classmethod
    def take(cls, path: Path) -> LogMark:
        try:
            return cls(path, path.stat().st_size)
        except FileNotFoundError:
            return cls(path, 0)

    def since(self) -> str:
        """The complete lines appended since the mark."""
        try:
            with self.path.open("rb") as fh:
                fh.seek(self.offset)
                data = fh.read()
        except FileNotFoundError:
            return ""
        text = data.decode("utf-8", "replace")
        cut = text.rfind("\n")
        return text[: cut + 1] if cut >= 0 else ""


def copy_file(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)


def ensure_user(name: str) -> None:
    """Create a system account (no home, no login) that receives the lab's local mail."""
    if run(["id", "-u", name], check=False).returncode != 0:
        run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name])


def port_free(host: str, port: int) -> bool:
    """Whether ``host:port`` can be bound right now (nobody listens there)."""
    import socket

    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def wait_ports_free(host: str, ports: Sequence[int], timeout: float = 60.0) -> None:
    """Wait (bounded) until every port is free, e.g. after stopping the previous MTA."""
    wait_until(lambda: all(port_free(host, p) for p in ports), timeout,
               f"{host} ports {list(ports)} to be free")
