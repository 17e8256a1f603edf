"""Benchmark: what reporting adds to reading, on the benchmark corpora (issue 4 acceptance).

Three corpora: the 200 MB mbox of ``bench_mailbox.py``; a Postfix log of 2,000,000 lines built
by ``bench_logs.py`` (``--lines`` for fewer); and the two together. For each, every run is a
fresh child process that times, in order:

* ``read``: ``analysis.read_inputs`` (classification, ``load_mailbox``, ``read_logs_result``:
  exactly the reading half of ``analyze``);
* ``metrics``: ``analysis.analyze_frames`` over what was read;
* ``text``, ``json``, ``html``: ``result.render(fmt)``, in that order. A renderer's first use
  in the process imports its module (for HTML: the module and markupsafe; in checkouts before
  this benchmark, Jinja2 and matplotlib too), and that time is counted. The report sections
  are built once per analysis, by the first renderer that needs them (text), and shared.

Imports done before ``read`` (pandas, the reader, the metrics) are counted in neither. The
children run as an installed package does: with compiled bytecode (``PYTHONPYCACHEPREFIX`` in
a temporary directory, filled by one untimed warm-up child), so a renderer's first use pays
for importing its module, not for compiling its source. The script prints each run, then the
medians over ``--runs`` runs and the reporting time (metrics + text + json + html) as a
percentage of the reading time; the target is under 20%.

    python bench/bench_report.py                       # 3 runs, 200 MB mbox, 2,000,000 lines
    python bench/bench_report.py --lines 200000        # a smaller log, for iteration
    python bench/bench_report.py --log /tmp/pf2m.log   # a log built before (--keep)
    python bench/bench_report.py --tree /path/to/checkout  # time another checkout's code
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_logs  # noqa: E402
import bench_mailbox  # noqa: E402

STAGES = ("read", "metrics", "text", "json", "html")
REPORTING = STAGES[1:]

CHILD = """
import json, sys, time
from analyzer import analysis
clock = time.perf_counter
took = {}
start = clock()
if hasattr(analysis, "read_inputs"):
    read = analysis.read_inputs(sys.argv[1:])
else:  # a tree from before read_inputs (to measure "before"): the same steps as its analyze
    from types import SimpleNamespace
    from analyzer import api
    found, issues = analysis.classify_inputs(sys.argv[1:])
    frames = api.load_mailbox([i.path for i in found if i.kind == "mailbox"])
    logs = analysis._read_logs([i.path for i in found if i.kind == "log"], issues, None, None)
    read = SimpleNamespace(found=found, frames=frames, events=logs.events,
                           deliveries=logs.deliveries, log_issues=logs.issues,
                           log_lines=logs.lines)
took["read"] = clock() - start
start = clock()
result = analysis.analyze_frames(read.frames, read.events, read.deliveries, read.log_issues,
                                 inputs=read.found, log_lines=read.log_lines)
took["metrics"] = clock() - start
sizes = {}
for fmt in ("text", "json", "html"):
    start = clock()
    out = result.render(fmt)
    took[fmt] = clock() - start
    sizes[fmt] = len(out)
counts = {"messages": len(read.frames.messages), "hops": len(read.frames.hops),
          "events": len(read.events), "deliveries": len(read.deliveries)}
print(json.dumps({"took": took, "sizes": sizes, "counts": counts}))
"""


WARM_UP = (
    "import analyzer.analysis, analyzer.report.html, analyzer.report.text, analyzer.report.jsonout"
)


@dataclass(frozen=True, slots=True)
class Setup:
    """Where the children run.

    Attributes:
        tree: the checkout whose ``analyzer`` is imported.
        pycache: the bytecode cache directory (``PYTHONPYCACHEPREFIX``).
    """

    tree: Path
    pycache: str

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        return {**env, "PYTHONPATH": str(self.tree), "PYTHONPYCACHEPREFIX": self.pycache}


def run_child(paths: list[str], setup: Setup) -> dict[str, dict[str, float]]:
    """One fresh process: stage timings, output sizes and frame sizes."""
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, *paths],
        capture_output=True,
        text=True,
        cwd=setup.tree,
        env=setup.env(),
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"child failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    result: dict[str, dict[str, float]] = json.loads(proc.stdout.splitlines()[-1])
    return result


def _line(label: str, took: dict[str, float]) -> str:
    reporting = sum(took[s] for s in REPORTING)
    stages = "  ".join(f"{s} {took[s]:7.3f}" for s in STAGES)
    return f"  {label:<7} {stages}  reporting {reporting:7.3f} s = {100 * reporting / took['read']:5.1f}%"


def bench(name: str, paths: list[str], runs: int, setup: Setup) -> float:
    """Print the runs and medians of one corpus; return the median reporting percentage."""
    print(f"{name}: {' + '.join(paths)}")
    samples = []
    for n in range(runs):
        got = run_child(paths, setup)
        samples.append(got["took"])
        print(_line(f"run {n + 1}", got["took"]))
    counts = ", ".join(f"{v:,} {k}" for k, v in got["counts"].items())
    sizes = ", ".join(f"{k} {v / 1e3:,.0f} kB" for k, v in got["sizes"].items())
    median = {s: statistics.median(t[s] for t in samples) for s in STAGES}
    print(_line("median", median))
    print(f"  ({counts}; {sizes})")
    return 100 * sum(median[s] for s in REPORTING) / median["read"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=2_000_000, help="Postfix log lines to build")
    ap.add_argument("--log", type=Path, help="use this Postfix log instead of building one")
    ap.add_argument("--keep", type=Path, help="write the built log here and keep it")
    ap.add_argument("--mbox-mb", type=int, default=200, help="size of the mbox (MB)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--corpus", choices=("all", "mbox", "log", "both"), default="all")
    ap.add_argument("--tree", type=Path, default=ROOT, help="checkout whose analyzer is timed")
    args = ap.parse_args()
    mbox = str(bench_mailbox.build(args.mbox_mb))
    with tempfile.TemporaryDirectory() as tmp:
        log = args.log
        if log is None and args.corpus != "mbox":
            log = args.keep or Path(tmp) / "bench-mail.log"
            n = bench_logs.build(args.lines, log)
            print(f"log: {n:,} lines, {log.stat().st_size / 1e6:.1f} MB")
        corpora = {"mbox": [mbox], "log": [str(log)], "both": [mbox, str(log)]}
        chosen = list(corpora) if args.corpus == "all" else [args.corpus]
        setup = Setup(args.tree.resolve(), str(Path(tmp) / "pycache"))
        print(f"code: {setup.tree}")
        subprocess.run([sys.executable, "-c", WARM_UP], cwd=setup.tree, env=setup.env(), check=True)
        shares = {name: bench(name, corpora[name], args.runs, setup) for name in chosen}
    print(
        "reporting / reading (medians): "
        + ", ".join(f"{k} {v:.1f}%" for k, v in shares.items())
        + ("  -- all under 20%" if all(v < 20 for v in shares.values()) else "  -- OVER 20%")
    )


if __name__ == "__main__":
    main()
