"""Run the MTA lab: ``python -m lab.run [--mta postfix|exim|sendmail|all] [--out DIR]``.

As root on Debian: installs one MTA at a time from Debian (purging the previous one), runs
it on loopback only against the lab peers and clients, then writes the genuine log lines
of the run, the delivered mailboxes, config excerpts and ``manifest.json`` under
``DIR/<mta>/``. Every wait is bounded; the MTA and the peers are stopped at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import mailbox
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lab.certs import make_pki
from lab.clients import ClientResult, message, send_inbound
from lab.manifest import scenario_entry
from lab.mta import MAIL_SPOOL, WORK_ROOT, Driver, LabContext
from lab.peer_scenarios import scenario as peer_config
from lab.peers import PeerServer
from lab.scenarios import (
    LOCAL_USER,
    MTA_HOSTNAME,
    PEER_HOSTNAME,
    SENDER,
    Direction,
    Scenario,
    all_scenarios,
)
from lab.system import (
    RSYSLOG_PID,
    LabError,
    LogMark,
    apt_purge,
    ensure_rsyslog,
    read_pid,
    run,
    stop_pidfile,
    wait_ports_free,
)

SETTLE_MAX_S = 300.0  # the longest we wait for the queue to drain
FLUSH_EVERY_S = 12.0
Progress = Callable[[str], None]


# The MTA drivers, in the order ``--mta all`` runs them: name -> (module, class).
DRIVERS: dict[str, tuple[str, str]] = {
    "postfix": ("lab.postfix", "PostfixDriver"),
    "exim": ("lab.exim", "EximDriver"),
    "sendmail": ("lab.sendmail", "SendmailDriver"),
}


def load_driver(name: str) -> Driver:
    """Import and build the driver of ``name``."""
    module, cls = DRIVERS[name]
    factory: Callable[[], Driver] = getattr(importlib.import_module(module), cls)
    return factory()


ALL_PACKAGES = ("postfix", "exim4-base", "exim4-config", "exim4-daemon-heavy",
                "exim4-daemon-light", "sendmail", "sendmail-bin", "sendmail-base",
                "sendmail-cf")


@contextlib.contextmanager
def peers(ctx: LabContext) -> Iterator[list[PeerServer]]:
    """Start one lab peer per outbound scenario on its loopback address, port 25."""
    started: list[PeerServer] = []
    try:
        for sc in ctx.scenarios:
            if sc.direction is not Direction.OUTBOUND:
                continue
            cfg = replace(
                peer_config(sc.peer, ctx.pki, host=sc.address, port=25,
                            hostname=PEER_HOSTNAME, mailbox=ctx.work / "peers" / f"{sc.id}.mbox"),
                name=sc.id,
            )
            started.append(PeerServer(cfg).start())
        yield started
    finally:
        for server in started:
            server.stop()


def submit(driver: Driver, ctx: LabContext, sc: Scenario) -> None:
    """Hand one outbound message to the MTA through its sendmail(1) interface."""
    msg = message(sc, ctx.run_id, SENDER)
    flags = list(getattr(driver, "submit_flags", ()))
    prefix = list(getattr(driver, "submit_prefix", ()))
    run([*prefix, "/usr/sbin/sendmail", *flags, "-i", "-f", SENDER, "--", sc.recipient],
        stdin=msg.as_string())


def settle(driver: Driver, say: Progress) -> None:
    """Flush the queue every few seconds until it is empty (bounded by SETTLE_MAX_S)."""
    start = time.monotonic()
    while time.monotonic() - start < SETTLE_MAX_S:
        time.sleep(FLUSH_EVERY_S)
        size = driver.queue_size()
        say(f"  queue: {size} message(s) after {time.monotonic() - start:.0f}s")
        if size == 0:
            return
        driver.flush()
    say("  queue did not drain in time; collecting what there is")


def run_mta(driver: Driver, out: Path, say: Progress) -> Path:
    """Install, configure, exercise and collect one MTA; returns its output directory."""
    work = WORK_ROOT / driver.name
    work.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(work / "peers", ignore_errors=True)
    (work / "peers").mkdir()
    pki = make_pki(WORK_ROOT / "pki", PEER_HOSTNAME, extra_names=(MTA_HOSTNAME,))
    ctx = LabContext(pki, work, tuple(all_scenarios()), secrets.token_hex(4))
    say(f"{driver.name}: installing")
    apt_purge([p for p in ALL_PACKAGES if p not in driver.packages])
    driver.install()
    ensure_rsyslog()
    say(f"{driver.name}: configuring")
    driver.configure(ctx)
    marks = {name: LogMark.take(path) for name, path in driver.log_files().items()}
    started = datetime.now(UTC)
    clients: dict[str, ClientResult] = {}
    try:
        wait_ports_free("127.0.0.1", (25, 2525))
        driver.start()
        with peers(ctx) as servers:
            say(f"{driver.name}: {len(servers)} peers up; sending")
            for sc in ctx.scenarios:
                if sc.direction is Direction.OUTBOUND:
                    submit(driver, ctx, sc)
            for sc in ctx.scenarios:
                if sc.direction is Direction.INBOUND:
                    clients[sc.id] = send_inbound(sc, ctx.pki, ctx.run_id)
            settle(driver, say)
            time.sleep(2.0)
            transcripts = {s.config.name: list(s.transcript) for s in servers}
    finally:
        driver.stop()
    time.sleep(1.0)
    logs = {name: mark.since() for name, mark in marks.items()}
    return write_outputs(driver, ctx, out / driver.name, logs, clients, transcripts, started)


def _mbox_text(path: Path) -> str:
    if path.is_dir():  # one mbox per peer, concatenated in scenario order
        return "".join(_mbox_text(p) for p in sorted(path.glob("*.mbox")))
    return path.read_text(errors="replace") if path.exists() else ""


def write_outputs(
    driver: Driver, ctx: LabContext, dest: Path, logs: dict[str, str],
    clients: dict[str, ClientResult], transcripts: dict[str, list[str]], started: datetime,
) -> Path:
    """Write logs, mailboxes, transcripts, config excerpts and manifest.json to ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    for old in dest.rglob("*"):
        if old.is_file():
            old.unlink()
    for name, text in logs.items():
        (dest / name).write_text(text)
    boxes = {"labrcpt.mbox": MAIL_SPOOL / LOCAL_USER, "peers.mbox": ctx.work / "peers"}
    (dest / "mail").mkdir(exist_ok=True)
    for name, src in boxes.items():
        (dest / "mail" / name).write_text(_mbox_text(src))
    (dest / "config").mkdir(exist_ok=True)
    for name, text in driver.config_files(ctx).items():
        (dest / "config" / name).write_text(text)
    (dest / "peer-transcripts.json").write_text(json.dumps(transcripts, indent=1) + "\n")
    log_text = "".join(logs.values())
    mbox_text = (dest / "mail" / "labrcpt.mbox").read_text()
    entries = scenario_entries(
        driver, log_text, mbox_text,
        {k: asdict(v) for k, v in clients.items()},
    )
    manifest: dict[str, Any] = {
        "mta": driver.name,
        "version": driver.version(),
        "package": getattr(driver, "package", lambda: "")(),
        "openssl": run(["openssl", "version"]).stdout.strip(),
        "debian": Path("/etc/debian_version").read_text().strip(),
        "run_started": started.isoformat(timespec="seconds"),
        "logging": driver.logging(),
        "files": {
            "logs": sorted(logs),
            "mailboxes": sorted(f"mail/{n}" for n in boxes),
            "config": sorted(f"config/{n}" for n in driver.config_files(ctx)),
            "transcripts": "peer-transcripts.json",
        },
        "counts": {"messages_in_labrcpt_mbox": _count_messages(dest / "mail" / "labrcpt.mbox")},
        "scenarios": entries,
    }
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return dest


def scenario_entries(
    driver: Driver, log_text: str, mbox_text: str, clients: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """The manifest entries of every scenario, from the run's log and mailbox."""
    overrides = driver.overrides()
    return [
        scenario_entry(sc, driver.policy_setting(sc), driver.prove(log_text, mbox_text, sc),
                       clients.get(sc.id), overrides.get(sc.id))
        for sc in all_scenarios()
    ]


def reprove(driver: Driver, dest: Path) -> None:
    """Recompute the scenario entries of an existing output directory from its files."""
    manifest = json.loads((dest / "manifest.json").read_text())
    log_text = "".join((dest / name).read_text() for name in manifest["files"]["logs"])
    mbox_text = (dest / "mail" / "labrcpt.mbox").read_text()
    clients = {e["id"]: e["client_saw"] for e in manifest["scenarios"] if "client_saw" in e}
    manifest["scenarios"] = scenario_entries(driver, log_text, mbox_text, clients)
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


def _count_messages(path: Path) -> int:
    box = mailbox.mbox(path, create=False)
    try:
        return len(box)
    finally:
        box.close()


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="python -m lab.run", description=__doc__)
    parser.add_argument("--mta", choices=["postfix", "exim", "sendmail", "all"], default="all")
    parser.add_argument("--out", type=Path, default=Path("sample_data/lab"))
    parser.add_argument("--reprove", action="store_true",
                        help="only recompute manifest.json scenario entries from the files")
    args = parser.parse_args(argv)
    if args.reprove:
        for name in list(DRIVERS) if args.mta == "all" else [args.mta]:
            if (args.out / name / "manifest.json").exists():
                reprove(load_driver(name), args.out / name)
        return 0
    if os.geteuid() != 0:
        parser.error("the lab installs packages and binds port 25: run it as root")
    names = list(DRIVERS) if args.mta == "all" else [args.mta]
    rsyslog_was_running = read_pid(RSYSLOG_PID) is not None
    failed = []
    for name in names:
        try:
            dest = run_mta(load_driver(name), args.out, lambda s: print(s, flush=True))
            print(f"{name}: wrote {dest}", flush=True)
        except LabError as exc:
            print(f"{name}: FAILED: {exc}", flush=True)
            failed.append(name)
    if not rsyslog_was_running:
        stop_pidfile(RSYSLOG_PID)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
