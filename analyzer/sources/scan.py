"""Header-only scanning of mbox streams and single messages, over mmap or a refilled window.

The hot path finds three things with ``bytes.find`` / one compiled regex, both in C:
the separator ``\\nFrom `` (then checks that line with ``kinds.is_separator_line``), and the
end of the header block, the first empty line (``\\n\\n`` or ``\\n\\r\\n``). Bodies and
attachments are skipped, never parsed, and no ``email.message`` object is built.

Rules (each is tested):

* Position: the byte offset of the ``From `` line in the (decompressed) stream; 0 for a
  single message.
* ``RawMessage.headers`` is the block up to and including the line end of the last header
  line, without the empty line.
* A header block longer than ``Limits.header_bytes`` is cut there: the message is yielded
  with ``truncated=True`` and an ``OVERSIZED`` issue (unit ``header``) follows it.
* A header block that ends at end of input (file cut inside the headers), or where the next
  separator begins, is yielded with ``truncated=True`` and a ``TRUNCATED`` issue (unit
  ``header``) follows it: its Received headers are still evidence, so it is not dropped.
* Issues with unit ``header`` degrade a message that *was* yielded; issues with unit
  ``message`` stand for a message that was not; unit ``file`` for an input that could not be
  read at all. So: messages in the input = RawMessages + issues of unit ``message``.
"""

from __future__ import annotations

import mmap
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from analyzer.model import IssueKind, ParseIssue, RawMessage, clip
from analyzer.sources.kinds import (
    MAX_SEPARATOR,
    is_bare_separator,
    is_field_line,
    is_separator_line,
)

_SEP = b"\nFrom "
_HEADER_END = re.compile(rb"\n\r?\n")
CHUNK = 1 << 20
RELEASE = 32 << 20
_WINDOW = 4096
DISCARD_MIN = 4 << 20
_Data = bytes | bytearray | mmap.mmap


@dataclass(frozen=True, slots=True)
class Limits:
    """Safety limits of the sources.

    Attributes:
        header_bytes: the longest header block kept; longer ones are cut (``OVERSIZED``).
        decompressed_bytes: the most bytes one compressed input may expand to.
        ratio: the highest expansion ratio of a compressed input once ``ratio_after``
            bytes were produced (zlib tops out near 1032:1 on runs of one byte; mail,
            even base64 attachments, compresses far less).
        ratio_after: decompressed bytes after which ``ratio`` is enforced.
    """

    header_bytes: int = 1 << 20
    decompressed_bytes: int = 1 << 40
    ratio: int = 200
    ratio_after: int = 32 << 20


class Buffer:
    """A view of one input with absolute offsets: a whole mmap, or a window on a stream.

    For a stream, ``fill`` appends chunks from ``reader`` and ``discard`` drops what the
    scanner no longer needs, so memory stays bounded by the header limit plus a chunk.
    """

    __slots__ = ("_reader", "_released", "base", "data", "eof")

    def __init__(self, data: _Data, reader: Callable[[int], bytes] | None = None) -> None:
        self.data: _Data = data if reader is None else bytearray(data)
        self.base = 0
        self.eof = reader is None
        self._reader = reader
        self._released = 0
        if isinstance(data, mmap.mmap) and hasattr(mmap, "MADV_SEQUENTIAL"):
            data.madvise(mmap.MADV_SEQUENTIAL)

    @property
    def end(self) -> int:
        return self.base + len(self.data)

    def fill(self, upto: int) -> None:
        """Read until absolute offset ``upto`` is in the window or the input ends."""
        while not self.eof and self.end < upto:
            chunk = self._reader(CHUNK) if self._reader is not None else b""
            if not chunk:
                self.eof = True
                break
            assert isinstance(self.data, bytearray)
            self.data += chunk

    def discard(self, before: int) -> None:
        """Forget the bytes before absolute offset ``before``.

        A stream drops them from the window; a mapping hands the pages back every
        ``RELEASE`` bytes (MADV_DONTNEED: they stay in the page cache, leave our RSS), so
        resident memory does not grow with the file either.
        """
        if isinstance(self.data, mmap.mmap):
            if before - self._released >= RELEASE and hasattr(mmap, "MADV_DONTNEED"):
                upto = before - before % mmap.PAGESIZE
                self.data.madvise(mmap.MADV_DONTNEED, self._released, upto - self._released)
                self._released = upto
            return
        # Only drop a large prefix at once: each drop moves the rest of the window.
        if self._reader is None or before - self.base < DISCARD_MIN:
            return
        assert isinstance(self.data, bytearray)
        del self.data[: before - self.base]
        self.base = before

    def find(self, sub: bytes, start: int, end: int) -> int:
        b = self.base
        i = self.data.find(sub, start - b, end - b)
        return i + b if i >= 0 else -1

    def find_separator(self, start: int) -> int:
        """Absolute offset of the next ``\\nFrom `` at or after ``start`` in the window, or -1.

        Same answer as ``find(_SEP, start, end)``, about twice as fast on real mail: a space
        is searched first (``memchr``), which races through base64 attachments, where most
        of the bytes are and no space occurs; the needle is then searched only in a
        ``_WINDOW`` after it. A needle before the first space cannot exist, its own space
        being the first.
        """
        data, base = self.data, self.base
        pos, end = start - base, len(data)
        while pos < end:
            space = data.find(b" ", pos + len(_SEP) - 1, end)
            if space < 0:
                return -1
            low = space - len(_SEP) + 1
            hit = data.find(_SEP, low, min(end, low + _WINDOW))
            if hit >= 0:
                return hit + base
            pos = low + _WINDOW - len(_SEP) + 1
        return -1

    def header_end(self, start: int, end: int) -> int:
        m = _HEADER_END.search(self.data, start - self.base, end - self.base)
        return m.start() + self.base if m is not None else -1

    def slice(self, start: int, end: int) -> bytes:
        return bytes(self.data[start - self.base : end - self.base])


def _line_at(buf: Buffer, start: int) -> tuple[bytes, int]:
    """The line at ``start`` without its line end, and the offset of its ``\\n`` (or -1)."""
    buf.fill(start + MAX_SEPARATOR + 2)
    nl = buf.find(b"\n", start, min(buf.end, start + MAX_SEPARATOR + 2))
    line = buf.slice(start, nl if nl >= 0 else min(buf.end, start + MAX_SEPARATOR + 1))
    return (line[:-1] if line.endswith(b"\r") else line), nl


def _is_separator_at(buf: Buffer, hit: int) -> bool:
    """Is the line after the ``\\n`` at ``hit`` a separator (rules in ``kinds``)?"""
    line, nl = _line_at(buf, hit + 1)
    if is_separator_line(line):
        return True
    if not is_bare_separator(line) or nl < 0:
        return False
    before = buf.slice(max(hit - 2, buf.base), hit)
    if not (before.endswith(b"\n") or before == b"\n\r"):
        return False  # no empty line before it (or not in the window: be conservative)
    following, _ = _line_at(buf, nl + 1)
    return is_field_line(following)


def next_separator(buf: Buffer, pos: int) -> int:
    """Offset of the next separator line at or after ``pos`` (searching from a ``\\n``), or -1."""
    while True:
        hit = buf.find_separator(pos)
        if hit < 0:
            if buf.eof:
                return -1
            keep = max(pos, buf.end - len(_SEP))
            buf.discard(keep - 2)  # two bytes more: the empty-line test looks back
            pos = keep
            buf.fill(buf.end + 1)
            continue
        if _is_separator_at(buf, hit):
            return hit + 1
        pos = hit + 1


def _separator_before(buf: Buffer, start: int, end: int) -> int:
    """The first valid separator whose ``\\n`` lies in [start, end), or -1."""
    pos = start
    while True:
        hit = buf.find(_SEP, pos, end + len(_SEP))
        if hit < 0 or hit >= end:
            return -1
        if _is_separator_at(buf, hit):
            return hit + 1
        pos = hit + 1


_AT_EOF = "the input ends inside the header block; the header lines read are kept"
_AT_NEXT = "the next message begins inside the header block (no empty line); lines read are kept"
_AT_CAP = "header block longer than {cap} bytes; cut there"


@dataclass(frozen=True, slots=True)
class _Block:
    headers: bytes
    issue: IssueKind | None
    resume: int  # where to look for the next separator; -1 when the input has ended
    reason: str = ""


def _header_block(buf: Buffer, nl: int, limits: Limits, in_mbox: bool) -> _Block:
    """Read the header block that starts after the ``\\n`` at ``nl`` (-1: at offset 0)."""
    h = nl + 1
    cap = h + limits.header_bytes
    buf.fill(cap + 2)
    scan_from = max(nl, buf.base)
    stop = buf.header_end(scan_from, min(buf.end, cap + 1))
    limit = stop if stop >= 0 else min(buf.end, cap)
    if in_mbox:
        sep = _separator_before(buf, max(nl, buf.base), limit)
        if sep >= 0:
            return _Block(buf.slice(h, sep), IssueKind.TRUNCATED, sep - 1, _AT_NEXT)
    if stop >= 0:
        return _Block(buf.slice(h, stop + 1), None, stop)
    if buf.end < cap:
        return _Block(buf.slice(h, buf.end), IssueKind.TRUNCATED, -1, _AT_EOF)
    return _Block(buf.slice(h, cap), IssueKind.OVERSIZED, cap - 1, _AT_CAP)


def _yield_block(
    origin: str, position: int, block: _Block, limits: Limits
) -> Iterator[RawMessage | ParseIssue]:
    yield RawMessage(origin, position, block.headers, truncated=block.issue is not None)
    if block.issue is not None:
        reason = block.reason.format(cap=limits.header_bytes)
        raw = clip(block.headers[-200:].decode("utf-8", "replace"), 200)
        yield ParseIssue(origin, position, block.issue, reason, raw, unit="header")


def scan_mbox(
    buf: Buffer, origin: str, first: int, limits: Limits
) -> Iterator[RawMessage | ParseIssue]:
    """Yield every message of an mbox whose first separator line starts at ``first``."""
    start = first
    while start >= 0:
        _, nl = _line_at(buf, start)
        if nl < 0:  # the input ends on the separator line itself
            empty = _Block(b"", IssueKind.TRUNCATED, -1, _AT_EOF)
            yield from _yield_block(origin, start, empty, limits)
            return
        block = _header_block(buf, nl, limits, in_mbox=True)
        yield from _yield_block(origin, start, block, limits)
        if block.resume < 0:
            return
        buf.discard(block.resume - 2)  # keep what the empty-line test looks back at
        start = next_separator(buf, block.resume)


def scan_message(buf: Buffer, origin: str, limits: Limits) -> Iterator[RawMessage | ParseIssue]:
    """Yield the header block of a single RFC 5322 message (an .eml or a Maildir file)."""
    yield from _yield_block(origin, 0, _header_block(buf, -1, limits, in_mbox=False), limits)
