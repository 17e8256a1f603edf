"""Worst-case time of parse_received on adversarial headers, against a real header as baseline.

The issue's bound: no header of up to 1 MB takes more than 50 ms. Headers over
analyzer.received.MAX_HEADER (64 KiB) are not parsed (they become issue rows), so the worst
case is a 64 KiB header built to stress each part of the scanner: nesting, literals, quotes,
keywords, comments that look like TLS statements, dates. Each case runs 5 times; the median is
printed in ms and as a ratio to the median of the real header. Then the header block
splitter (``split_headers``, which every message goes through first) on a 1 MiB block of
twelve copies of the real header and padding (its bound: 50 ms too).

Run: python bench/bench_received_worst.py
"""

from __future__ import annotations

import random
import statistics
import string
import time

from analyzer.received import MAX_HEADER, parse_received
from analyzer.received.headerblock import split_headers

REAL = (
    "from [192.168.1.99] (91-158-166-60.elisa-laajakaista.fi [91.158.166.60])\n"
    "\t(using TLSv1.3 with cipher TLS_AES_128_GCM_SHA256 (128/128 bits)\n"
    "\t key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256)\n"
    "\t(No client certificate requested)\n\t(Authenticated sender: ville.eerola)\n"
    "\tby lahtoruutu.iki.fi (Postfix) with ESMTPSA id 822241B001AF\n"
    "\tfor <usrp-users@lists.ettus.com>; Mon, 20 Feb 2023 20:05:16 +0200 (EET)"
)  # received-formats.md §3.1, ARCH-USRP@aa7751badd2f


def cases() -> dict[str, str]:
    rnd = random.Random(7)
    n = MAX_HEADER
    return {
        "nested (": "(" * n,
        "balanced ()": "(" * (n // 2) + ")" * (n // 2),
        "open [": "[" * n,
        'quotes "': '"' * n,
        "semicolons": ";" * n,
        "from keywords": ("from " * n)[:n],
        "with keywords": ("with ESMTP " * n)[:n],
        "one long word": "a" * n,
        "using comment": ("from x (" + "using TLSv1.2 with cipher " * n)[:n],
        "literals": ("from x (" + "[1.2.3.4] " * n)[:n],
        "HELO words": ("from x (" + "HELO " * n)[:n],
        "dates": ("; " + "Mon, 1 Jan 2020 00:00:00 +0000 " * n)[:n],
        "encrypted": ("from x by y with " + "A encrypted " * n)[:n],
        "random printable": "".join(rnd.choice(string.printable) for _ in range(n)),
        "real header x40": ((REAL + " ") * 40)[:n],
    }


def median_ms(text: str, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        parse_received(text)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> None:
    base = median_ms(REAL, 50)
    print(f"baseline real header ({len(REAL)} chars): {base:.3f} ms")
    worst = 0.0
    for name, text in cases().items():
        ms = median_ms(text)
        worst = max(worst, ms)
        print(f"{name:18} {len(text):7} chars {ms:8.2f} ms  x{ms / base:8.0f} of baseline")
    print(f"worst case: {worst:.2f} ms (bound: 50 ms)")
    pad = b"X-Pad: " + b"a" * 70 + b"\n"
    received = b"Received: " + REAL.replace("\n", "\r\n").encode() + b"\r\n"
    block = (received * 12 + pad * 14_000)[: 1 << 20]
    times = []
    for _ in range(5):
        t = time.perf_counter()
        split_headers(block)
        times.append((time.perf_counter() - t) * 1000)
    print(f"split_headers, 1 MiB block: {statistics.median(times):.2f} ms (bound: 50 ms)")


if __name__ == "__main__":
    main()
