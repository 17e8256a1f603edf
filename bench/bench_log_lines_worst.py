"""Worst-case time of the per-line log reader on 1 MB lines, against a real line as baseline.

The issue's bound: no line of up to 1 MB takes more than 10 ms. Each case is one MTA's line
prefix (Postfix with and without a queue id, RFC 3339 and RFC 5424 stamps, Exim, Sendmail),
the words that send the line to a parser (``to=<``, ``SSL_connect error to ``, ``<= ``,
``STARTTLS=client, relay=`` and the rest) and a filler repeated to 1 MB that stresses the
patterns after them (brackets, parentheses, quotes, ``key=`` words, separators). Each line is
read 3 times; the best is kept (the machine is shared), and the worst line per prefix is
printed in ms and as a ratio to the median of a real Postfix status line. The assembler of
split and folded lines (``joiner.Assembler``, which sees every line first) takes 1 MB lines
that stress its own patterns (an Exim split-line piece, a repeat, rsyslog's and journald's
notices) the same way, and the failure classifier (``taxonomy.classify``) 1.2 MB of alert
words.

Run: python bench/bench_log_lines_worst.py
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime

from analyzer.logs.joiner import Assembler
from analyzer.logs.prefix import PrefixContext
from analyzer.logs.registry import read_line
from analyzer.logs.taxonomy import classify

CTX = PrefixContext("bench", datetime(2024, 12, 1, tzinfo=UTC))
# sample_data/lab/postfix/mail.log (the MTA lab's Postfix run), in its RFC 3164 form
REAL = (
    "Nov 27 21:28:45 vm postfix/smtp[29213]: 9A77F164183: to=<user@valid.opp.lab.test>, "
    "relay=127.0.0.11[127.0.0.11]:25, delay=0.21, delays=0.05/0.01/0.07/0.07, dsn=2.0.0, "
    "status=sent (250 2.0.0 Ok: queued as 00000000008)"
)
PREFIXES = [
    "Feb 18 09:45:12 xxx postfix/smtpd[42]: ",
    "Feb 18 09:45:12 xxx postfix/smtp[42]: 7356ABD12E: ",
    "2024-08-13T10:22:15.431241+02:00 bremen2 postfix/smtp[1]: ",
    "2024-09-07 01:34:11 1smkL5-00000000e65-24eQ ",
    "2024-09-07 01:34:11 ",
    "Mar  4 04:36:08 bob sendmail[23834]: ",
    "Mar  4 04:36:08 bob sendmail[23834]: q29Ja84u011122: ",
]
TRIGGERS = [
    "Trusted TLS connection established to ", "SSL_connect error to ", "to=<", "client=",
    "warning: TLS library problem: ", "certificate verification failed for ", "<= ", "=> ",
    "== ", "** ", "TLS error on connection from ", "STARTTLS=client, relay=", "from=<",
    "ruleset=tls_server, ", "H=", "TLSRPT: status=failure, domain=", "disconnect from ",
    "NOQUEUE: reject: RCPT from ",
]  # fmt: skip
# Exim's split-line pieces (log.c), a syslog repeat, rsyslog's and journald's notices
ASSEMBLER_LINES = [
    "Nov 27 21:33:20 mta exim[1]: [1/2] " + "x: [" * 250_000,
    "Nov 27 21:33:20 mta exim[1]: " + "y" * 999_990 + " message repeated 3 times: [",
    "Oct  3 09:31:23 zaphod rsyslogd-2177: " + "a: 1 " * 200_000 + " due to rate-limiting",
    "Jun 29 14:51:17 mymachine systemd-journald[346]: Suppressed 1 messages from " + "/" * 10**6,
]
FILLERS = ["[", "a[1.2.3.4]:25 ", "(", ": ", "x=", '"', "\\", ", ", " ", "<", "X=TLS1.3:", "]:"]
SIZE = 1_000_000


def best_ms(work: Callable[[], object], runs: int = 3) -> float:
    """The best of ``runs`` times of ``work()``, in ms."""
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return best * 1000


def line_ms(text: str) -> float:
    return best_ms(lambda: read_line(text, CTX, 1))


def main() -> None:
    base = statistics.median(best_ms(lambda: read_line(REAL, CTX, 1), 1) for _ in range(200))
    print(f"baseline real Postfix status line ({len(REAL)} chars): {base * 1000:.1f} µs")
    worst = 0.0
    for prefix in PREFIXES:
        cases = (
            (line_ms(prefix + trigger + filler * (SIZE // len(filler))), trigger, filler)
            for trigger in TRIGGERS
            for filler in FILLERS
        )
        ms, trigger, filler = max(cases)
        worst = max(worst, ms)
        print(
            f"{prefix[:40]:42} worst {ms:6.2f} ms  x{ms / base:7.0f} of baseline"
            f"  ({trigger!r} + {filler!r} to 1 MB)"
        )
    # (a new assembler each time: one that has taken a line holds it)
    assembler = [
        best_ms(lambda line=line: Assembler(CTX).push(1, line)) for line in ASSEMBLER_LINES
    ]
    print(f"assembler, 4 lines of 1 MB: worst {max(assembler):.2f} ms")
    worst = max(worst, *assembler)
    print(f"worst line: {worst:.2f} ms (bound: 10 ms)")
    text = "alert " * 200_000
    ms = best_ms(lambda: classify(text))
    print(f"classify on {len(text):,} chars of alert words: {ms:.2f} ms (bound: 30 ms)")


if __name__ == "__main__":
    main()
