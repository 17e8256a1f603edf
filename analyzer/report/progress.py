"""The progress bar of the ``mailtls`` command: one line on stderr, rewritten in place.

Terminal output only, no I/O of its own beyond the stream it is given. It reads a mailbox
``Progress`` record (``analyzer.sources.mailbox``) through the ``ReadProgress`` protocol, so
this layer needs no import from the sources.
"""

from __future__ import annotations

import os
import time
from typing import Protocol, TextIO

from analyzer.report.terminal import safe_text


class ReadProgress(Protocol):
    """What the bar shows of ``analyzer.sources.mailbox.Progress``."""

    @property
    def files_done(self) -> int: ...
    @property
    def files_total(self) -> int: ...
    @property
    def bytes_done(self) -> int: ...
    @property
    def bytes_total(self) -> int | None: ...
    @property
    def messages(self) -> int: ...


class ProgressBar:
    """Progress on stderr, only for a terminal; silent otherwise or with --quiet."""

    def __init__(self, stream: TextIO, enabled: bool) -> None:
        self.stream = stream
        self.enabled = enabled and stream.isatty()
        self.start = time.monotonic()
        self.last = 0.0

    def __call__(self, p: ReadProgress) -> None:
        now = time.monotonic()
        if not self.enabled or now - self.last < 0.2:
            return
        self.last = now
        eta = ""
        if p.bytes_total:
            frac = min(p.bytes_done / p.bytes_total, 1.0)
            if frac > 0:
                eta = f" ETA {max((now - self.start) * (1 / frac - 1), 0):.0f}s"
            done = f"{frac:6.1%}"
        else:
            done = f"{p.bytes_done >> 20} MiB"
        self.stream.write(
            f"\r files {p.files_done}/{p.files_total}  messages {p.messages}  {done}{eta}   "
        )
        self.stream.flush()

    def lines(self, origin: str, lines: int) -> None:
        """Progress of log reading: the file and the lines read so far."""
        now = time.monotonic()
        if not self.enabled or now - self.last < 0.2:
            return
        self.last = now
        name = safe_text(os.path.basename(origin))[-40:]
        self.stream.write(f"\r {name}: {lines:,} lines  {now - self.start:.0f}s   ")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * 78 + "\r")
            self.stream.flush()
