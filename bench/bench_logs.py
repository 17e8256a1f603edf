"""Benchmark: read_logs + deliveries against pflogsumm on the same >= 2,000,000-line Postfix log.

The log is built from the MTA lab's genuine Postfix lines (sample_data/lab/postfix/mail.log):
the whole lab run is repeated with new queue ids, pids and time stamps (shifted by the run's
length each time), written with RFC 3164 stamps, which pflogsumm 1.1.5 (Debian) reads.
All contenders run as child processes of this one invocation, taking turns (one run of
each, ``--repeat`` times over), once the written log is on disk; the script prints each
one's wall time (the whole process: start-up and imports included) and peak resident memory
(wait4 rusage), medians, and the ratios.

Ours run in two builds: ``compiled``, the wheel ``pip install .`` builds from this checkout
(the correlator's modules compiled by mypyc, ``setup.py``), installed into a temporary
directory; and ``plain``, the checkout's source as it is (what an editable install runs, and
what a build without a C compiler installs).

    python bench/bench_logs.py [--lines 2000000] [--repeat 3] [--keep PATH]
                               [--builds compiled,plain]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAB_LOG = ROOT / "sample_data" / "lab" / "postfix" / "mail.log"
_STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.\d+)?(?:Z|[+-]\d\d:\d\d) ")
_PID = re.compile(r"\[(\d+)\]: ")
_QID = re.compile(r"\b[0-9A-F]{10,11}\b")

# Each of our contenders also prints the CPU seconds of its own process (which correlates)
# and of its children (the process that reads ahead), from resource.getrusage.
CPU = """
import resource
def cpu():
    own = resource.getrusage(resource.RUSAGE_SELF)
    ahead = resource.getrusage(resource.RUSAGE_CHILDREN)
    return f"{own.ru_utime + own.ru_stime:.2f} {ahead.ru_utime + ahead.ru_stime:.2f}"
"""

OURS = (
    CPU
    + """
import sys, time
from analyzer.api_logs import deliveries, read_logs_result
start = time.perf_counter()
result = read_logs_result(sys.argv[1])
found = deliveries(result.events)
took = time.perf_counter() - start
c = result.counts
print(f"{took:.3f} {cpu()} {len(result.events)} {len(found)} {c.lines} {c.parsed} {c.unrelated} {c.issues}")
"""
)

STREAM = (
    CPU
    + """
import sys, time
from analyzer.api_logs import deliveries
start = time.perf_counter()
found = deliveries(sys.argv[1])
print(f"{time.perf_counter() - start:.3f} {cpu()} {len(found)}")
"""
)


def _renamer(mapping: dict[str, str]) -> Callable[[re.Match[str]], str]:
    return lambda m: mapping.get(m[0], m[0])


def _pid_shifter(offset: int) -> Callable[[re.Match[str]], str]:
    return lambda m: f"[{(int(m[1]) + offset) % 4_000_000 + 100}]: "


def build(target_lines: int, out: Path) -> int:
    """Write the benchmark log; return its number of lines."""
    lab = LAB_LOG.read_text().splitlines()
    parsed = []
    for line in lab:
        m = _STAMP.match(line)
        if m is None:
            continue
        parsed.append((datetime.fromisoformat(m[1]), line[m.end() :]))
    first, last = parsed[0][0], parsed[-1][0]
    span = (last - first) + timedelta(seconds=1)
    qids = sorted({q for _, rest in parsed for q in _QID.findall(rest)})
    copies = -(-target_lines // len(parsed))
    written = 0
    with out.open("w") as fh:
        for k in range(copies):
            shift = span * k
            mapping = {q: f"{k:05X}{i:06X}" for i, q in enumerate(qids)}
            new_qid = _renamer(mapping)
            new_pid = _pid_shifter(977 * k)
            chunk = []
            for ts, rest in parsed:
                rest = _PID.sub(new_pid, _QID.sub(new_qid, rest), 1)
                stamp = ts + shift
                chunk.append(f"{stamp:%b} {stamp.day:2d} {stamp:%H:%M:%S} {rest}\n")
            fh.writelines(chunk)
            written += len(chunk)
    return written


def compiled_build(into: Path) -> Path:
    """The wheel of this checkout, built as ``pip install .`` builds it, installed into
    ``into``; that directory (for PYTHONPATH)."""
    wheels = into / "wheels"
    target = into / "installed"
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(wheels), str(ROOT)], check=True)
    (wheel,) = wheels.glob("mailtls-*.whl")
    subprocess.run([*pip, "install", "--no-deps", "--target", str(target), str(wheel)], check=True)
    compiled = sorted(p.name for p in (target / "analyzer" / "logs").glob("*.so"))
    print(f"compiled build: {len(compiled)} modules compiled ({', '.join(compiled) or 'none'})")
    return target


def run(argv: list[str], where: Path = ROOT) -> tuple[float, int, str]:
    """Wall time, peak RSS (KiB) and stdout of a child process importing the package from
    ``where`` (run there, so that nothing else shadows it)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=where,
        env={**os.environ, "PYTHONPATH": str(where)},
    )
    assert proc.stdout is not None
    out = proc.stdout.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    took = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{argv[0]} failed with exit code {proc.returncode}")
    return took, usage.ru_maxrss, out


def _median_runs(
    commands: list[tuple[list[str], Path]], repeat: int
) -> list[tuple[float, int, str]]:
    """For each command (and where it runs): median wall time, median peak RSS (KiB) and the
    last stdout of ``repeat`` runs. The commands take turns (one run of each, ``repeat``
    times over), so that a slower or busier stretch of the machine falls on all alike."""
    runs: list[list[tuple[float, int, str]]] = [[] for _ in commands]
    for _ in range(repeat):
        for (argv, where), done in zip(commands, runs, strict=True):
            done.append(run(argv, where))
    return [
        (
            statistics.median(r[0] for r in done),
            int(statistics.median(r[1] for r in done)),
            done[-1][2],
        )
        for done in runs
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=2_000_000)
    ap.add_argument("--repeat", type=int, default=3, help="runs per contender (medians shown)")
    ap.add_argument("--keep", type=Path, help="write the generated log here and keep it")
    ap.add_argument(
        "--builds", default="compiled,plain", help="builds of ours to run: compiled, plain"
    )
    args = ap.parse_args()
    builds = [b for b in args.builds.split(",") if b]
    if not builds or set(builds) - {"compiled", "plain"}:
        raise SystemExit("--builds: compiled, plain or both")
    pflogsumm = shutil.which("pflogsumm")
    if pflogsumm is None:
        raise SystemExit("pflogsumm not found: apt-get install -y pflogsumm")
    with tempfile.TemporaryDirectory() as tmp:
        where = {"plain": ROOT}
        if "compiled" in builds:
            where["compiled"] = compiled_build(Path(tmp))
        path = args.keep or Path(tmp) / "bench-mail.log"
        n = build(args.lines, path)
        os.sync()  # the log written out before the first run: no write-back during the runs
        size = path.stat().st_size
        print(f"log: {n} lines, {size / 1e6:.1f} MB, from {LAB_LOG.relative_to(ROOT)}")
        print(f"medians of {args.repeat} run(s) each, the contenders taking turns")
        commands = [([pflogsumm, str(path)], ROOT)]
        for b in builds:
            commands.append(([sys.executable, "-c", OURS, str(path)], where[b]))
            commands.append(([sys.executable, "-c", STREAM, str(path)], where[b]))
        (pf_t, pf_rss, _), *ours = _median_runs(commands, args.repeat)
        print(f"pflogsumm:                         {pf_t:7.2f} s  peak {pf_rss / 1024:7.0f} MiB")
        ratios = []
        for b, (keep, stream) in zip(builds, zip(ours[::2], ours[1::2], strict=True), strict=True):
            took, rss, out = keep
            _, own, ahead, events, found, lines, parsed, unrelated, issues = out.split()
            name = f"read_logs + deliveries ({b})"
            print(
                f"{name + ':':34} {took:7.2f} s  peak {rss / 1024:7.0f} MiB  "
                f"({events} events, {found} deliveries; lines {lines} = parsed {parsed} + "
                f"unrelated {unrelated} + issues {issues}; last run's CPU: {own} s "
                f"correlating, {ahead} s reading ahead)"
            )
            ratios.append((name, took))
            took, rss, out = stream
            _, own, ahead, found = out.split()
            name = f"deliveries, streaming ({b})"
            print(
                f"{name + ':':34} {took:7.2f} s  peak {rss / 1024:7.0f} MiB  "
                f"({found} deliveries; last run's CPU: {own} s correlating, {ahead} s "
                "reading ahead)"
            )
            ratios.append((name, took))
        for name, took in ratios:
            print(
                f"ratio pflogsumm / {name}: {pf_t / took:.2f}x "
                f"({'faster' if took < pf_t else 'SLOWER'} than pflogsumm)"
            )


if __name__ == "__main__":
    main()
