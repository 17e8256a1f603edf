"""Mailbox reading speed and memory: mailtls against mail-parser and the standard library.

Run from the repository root: ``python bench/bench_mailbox.py`` (see bench/README.md).
Not a test: it prints a table and ratios; it never fails on a slow machine.
"""

from __future__ import annotations

import argparse
import base64
import email.utils
import gc
import importlib.util
import json
import logging
import mailbox
import math
import random
import re
import statistics
import string
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
FIXTURES = ROOT / "tests" / "data" / "mailboxes"
sys.path.insert(0, str(ROOT))

from analyzer.model import RawMessage  # noqa: E402
from analyzer.received.headerblock import split_headers  # noqa: E402
from analyzer.sources.mailbox import iter_messages  # noqa: E402

SEED = 20261127


def _fixture_headers() -> list[str]:
    """The real Received headers of the test fixtures (each cited in tests/data/mailboxes)."""
    spec = importlib.util.spec_from_file_location("mailbox_fixtures", FIXTURES / "build.py")
    assert spec is not None
    assert spec.loader is not None
    mod: ModuleType = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return [v for k, v in vars(mod).items() if k.startswith("R_") and isinstance(v, str)]


_ID = re.compile(r"(?<=\sid )[^\s;()]+|(?<=\sID )[^\s;()]+")
_IPV4_LITERAL = re.compile(r"\[(\d{1,3}(?:\.\d{1,3}){3})\]")
_FOR = re.compile(r"(?<=\sfor <)[^<>\s]+(?=>)")
_DATE_TAIL = re.compile(r";(\s+)(?:[A-Z][a-z]{2}, )?\d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d [+-]\d{4}")
_SHAPES = (string.digits, string.ascii_lowercase, string.ascii_uppercase)


def _same_shape(rnd: random.Random, value: str) -> str:
    out = []
    for ch in value:
        pool = next((p for p in _SHAPES if ch in p), None)
        out.append(rnd.choice(pool) if pool else ch)
    return "".join(out)


def _vary(rnd: random.Random, header: str, when: float) -> str:
    """A real header with its per-message values (queue id, client address, recipient, date)
    made new, as they are in a real mailbox: no two messages share a Received header."""
    header = _ID.sub(lambda m: _same_shape(rnd, m.group(0)), header)
    header = _IPV4_LITERAL.sub(
        lambda m: m.group(0)
        if m.group(1).startswith("127.")
        else f"[{rnd.randint(11, 223)}.{rnd.randint(0, 255)}.{rnd.randint(0, 255)}.{rnd.randint(1, 254)}]",
        header,
    )
    header = _FOR.sub(lambda m: f"user{rnd.randint(0, 99999)}@example.net", header)
    stamp = email.utils.formatdate(when, localtime=False)
    return _DATE_TAIL.sub(lambda m: f";{m.group(1)}{stamp}", header)


def _message(rnd: random.Random, pool: list[str], n: int) -> bytes:
    when = 1_700_000_000 + n * 3600 + rnd.randint(0, 3000)
    received = [_vary(rnd, h, when) for h in rnd.choices(pool, k=rnd.randint(5, 12))]
    tid = rnd.getrandbits(62)
    head = "\n".join(
        [
            f"From {tid}@xxx Tue Mar 11 01:31:25 +0000 2025",
            f"X-GM-THRID: {tid}",
            "X-Gmail-Labels: Inbox,Important",
            *received,
            "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org; s=s1;"
            f"\n\tbh={base64.b64encode(rnd.randbytes(32)).decode()};"
            f"\n\tb={base64.b64encode(rnd.randbytes(256)).decode()}",
            f"Message-ID: <bench-{n}@example.org>",
            "Date: Tue, 11 Mar 2025 01:31:25 +0000",
            "From: =?UTF-8?Q?J=C3=B6rg?= <joerg@example.org>",
            "To: list@example.net",
            f"Subject: benchmark message {n}",
            "MIME-Version: 1.0",
            'Content-Type: multipart/mixed; boundary="bb"',
            "",
        ]
    )
    words = rnd.choices(["From", "the", "mail", "server", "said", "TLS"], k=400)
    text = "Hello " + " ".join(words)  # no line may start with "From ": stdlib would split it
    parts = [f"--bb\nContent-Type: text/plain; charset=UTF-8\n\n{text}\n"]
    if rnd.random() < 0.35:
        size = int(math.exp(rnd.uniform(math.log(20_000), math.log(2_000_000))))
        data = base64.encodebytes(rnd.randbytes(size)).decode()
        parts.append(
            "--bb\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n"
            f'Content-Disposition: attachment; filename="a{n}.bin"\n\n{data}'
        )
    return (head + "\n" + "".join(parts) + "--bb--\n\n").encode()


def build(size_mb: int) -> Path:
    """bench/data/bench-<size>MB.mbox: Takeout-style messages, deterministic, reused if there."""
    path = DATA / f"bench-{size_mb}MB-{SEED}-v2.mbox"
    if path.exists():
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    rnd = random.Random(SEED)
    pool = _fixture_headers()
    tmp = path.with_suffix(".part")
    written, n = 0, 0
    with tmp.open("wb") as out:
        while written < size_mb << 20:
            msg = _message(rnd, pool, n)
            out.write(msg)
            written += len(msg)
            n += 1
    tmp.rename(path)
    return path


def ours(path: Path) -> int:
    n = 0
    for rec in iter_messages([str(path)]):
        if isinstance(rec, RawMessage):
            split_headers(rec.headers)
            n += 1
    return n


def read_mailbox_rows(path: Path) -> int:
    import analyzer

    return len(analyzer.read_mailbox(str(path)))


def stdlib(path: Path) -> int:
    n = 0
    for msg in mailbox.mbox(str(path), create=False):
        msg.get_all("Received")
        n += 1
    return n


def sample_messages(path: Path, count: int) -> list[bytes]:
    """Whole messages (cut out with our scanner, untimed) for the per-message contender:
    all of them, or every k-th when ``count`` is given."""
    starts = [r.position for r in iter_messages([str(path)]) if isinstance(r, RawMessage)]
    data = path.read_bytes()
    step = max(1, len(starts) // count) if count else 1
    ends = [*starts[1:], len(data)]
    picked = [data[starts[i] : ends[i]] for i in range(0, len(starts), step)]
    return picked[:count] if count else picked


def mailparser_per_message(msgs: list[bytes]) -> float:
    import mailparser

    logging.getLogger("mailparser").setLevel(logging.ERROR)
    start = time.perf_counter()
    for raw in msgs:
        mailparser.parse_from_bytes(raw).received_raw  # noqa: B018
    return (time.perf_counter() - start) / len(msgs)


def timed(fn: Callable[[Path], int], path: Path) -> tuple[float, int]:
    gc.collect()
    start = time.perf_counter()
    n = fn(path)
    return time.perf_counter() - start, n


def has_read_mailbox() -> bool:
    try:
        import analyzer
    except ImportError:
        return False
    return hasattr(analyzer, "read_mailbox")


# --- memory: one subprocess per measure, so peaks do not mix ------------------------------

CONTENDERS: dict[str, Callable[[Path], int]] = {
    "ours": ours,
    "read_mailbox": read_mailbox_rows,
    "stdlib": stdlib,
}


def child(name: str, path: Path) -> None:
    if name == "read_mailbox":
        import analyzer

        # resolved before measuring: the package imports its API on first use, and the
        # modules' own memory is not the reading's
        read_mailbox = analyzer.read_mailbox
    tracemalloc.start()
    if name == "read_mailbox":
        frame = read_mailbox(str(path))
        result = int(frame.memory_usage(deep=True).sum())
    else:
        CONTENDERS[name](path)
        result = 0
    _, peak = tracemalloc.get_traced_memory()
    # Arrow buffers (the frame's string columns) live outside tracemalloc's view: add the
    # Arrow pool's own peak, so the figure is an upper bound of everything allocated.
    import pyarrow

    peak += pyarrow.default_memory_pool().max_memory() or 0
    status = Path("/proc/self/status").read_text()
    hwm = next(int(x.split()[1]) for x in status.splitlines() if x.startswith("VmHWM"))
    print(json.dumps({"peak": peak, "frame": result, "hwm_kib": hwm}))


def memory(name: str, path: Path) -> dict[str, int]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", name, "--file", str(path)],
        check=True, capture_output=True, text=True,
    ).stdout
    result: dict[str, int] = json.loads(out.strip().splitlines()[-1])
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size-mb", type=int, default=200)
    ap.add_argument("--small-mb", type=int, default=50)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--sample", type=int, default=0,
                    help="give mail-parser every k-th message, N in all (default: all messages)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--file", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, Path(args.file))
        return
    big, small = build(args.size_mb), build(args.small_mb)
    print(f"input: {big} ({big.stat().st_size / 1e6:.1f} MB); small: {small.stat().st_size / 1e6:.1f} MB")
    with_frame = has_read_mailbox()
    rows: dict[str, list[float]] = {"ours": [], "read_mailbox": [], "mail-parser": [], "stdlib": []}
    msgs = sample_messages(big, args.sample)
    count = 0
    for run in range(args.runs):
        t, count = timed(ours, big)
        rows["ours"].append(t / count)
        if with_frame:
            t, _ = timed(read_mailbox_rows, big)
            rows["read_mailbox"].append(t / count)
        rows["mail-parser"].append(mailparser_per_message(msgs))
        t, n_std = timed(stdlib, big)
        assert n_std == count, (n_std, count)
        rows["stdlib"].append(t / count)
        print(f"run {run + 1}: " + ", ".join(f"{k} {v[-1] * 1e6:.0f} µs" for k, v in rows.items() if v))
    med = {k: statistics.median(v) for k, v in rows.items() if v}
    print(f"\n{count} messages; medians of {args.runs} runs, µs per message:")
    for name, value in med.items():
        print(f"  {name:13s} {value * 1e6:10.1f}")
    for mine in ("ours", "read_mailbox"):
        if mine in med:
            print(f"  {mine}: {med['mail-parser'] / med[mine]:.1f}x faster than mail-parser "
                  f"(target 15x), {med['stdlib'] / med[mine]:.1f}x faster than mailbox.mbox (target 8x)")
    print("\npeak memory (tracemalloc peak of Python allocations + Arrow pool peak; VmHWM includes"
          " mmap'd file pages):")
    for name in ("ours", "read_mailbox") if with_frame else ("ours",):
        for path in (small, big):
            m = memory(name, path)
            extra = (f", frame {m['frame'] / 1e6:.1f} MB, beyond the frame "
                     f"{(m['peak'] - m['frame']) / 1e6:.1f} MB") if m["frame"] else ""
            print(f"  {name:13s} {path.stat().st_size / 1e6:6.0f} MB file: peak {m['peak'] / 1e6:7.2f} MB"
                  f"{extra}, VmHWM {m['hwm_kib'] / 1e3:.0f} MB")


if __name__ == "__main__":
    main()
