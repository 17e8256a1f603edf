"""Decompressed views of log streams: gzip, bzip2 and xz in bounded slices, member by member.

I/O only. Compression is detected by magic bytes (RFC 1952 ``1f 8b``, bzip2 ``BZh``, xz
``fd 37 7a 58 5a 00``), never by name. A corrupt member is reported as a ``ParseIssue`` and
skipped; a decompression bomb stops the file. ``analyzer.sources.logs`` reads lines from here.
"""

from __future__ import annotations

import bz2
import io
import lzma
import zlib
from enum import StrEnum
from typing import BinaryIO

from analyzer.model.common import IssueKind, ParseIssue

CHUNK = 1 << 16
OUT_SLICE = 1 << 20  # most decompressed bytes produced per call
BOMB_RATIO = 1000  # decompressed/compressed beyond this (after BOMB_FLOOR bytes) stops the file
BOMB_FLOOR = 64 << 20


class Compression(StrEnum):
    """Container format of a log file, from its magic bytes."""

    NONE = "none"
    GZIP = "gzip"
    BZIP2 = "bzip2"
    XZ = "xz"
    ZSTD = "zstd"


_MAGIC: tuple[tuple[bytes, Compression], ...] = (
    (b"\x1f\x8b\x08", Compression.GZIP),
    (b"BZh", Compression.BZIP2),
    (b"\xfd7zXZ\x00", Compression.XZ),
    (b"\x28\xb5\x2f\xfd", Compression.ZSTD),
)


def detect_compression(head: bytes) -> Compression:
    """The container of a file whose first bytes are ``head``."""
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    return Compression.NONE


def _decompressor(
    kind: Compression,
) -> zlib._Decompress | bz2.BZ2Decompressor | lzma.LZMADecompressor:
    if kind is Compression.GZIP:
        return zlib.decompressobj(31)
    if kind is Compression.BZIP2:
        return bz2.BZ2Decompressor()
    return lzma.LZMADecompressor()


class _Inflate(io.RawIOBase):
    """Decompress a gzip/bzip2/xz stream in bounded slices, member after member.

    A corrupt member is reported and skipped: reading resumes at the next magic number.
    """

    def __init__(self, raw: BinaryIO, kind: Compression, origin: str, issues: list[ParseIssue]):
        self._raw = raw
        self._kind = kind
        self._magic = next(m for m, k in _MAGIC if k is kind)
        self._origin = origin
        self._issues = issues
        self._dec = _decompressor(kind)
        self._pending = b""  # compressed input not yet given to the decompressor
        self._out = b""
        self._in_total = 0
        self._out_total = 0
        self._done = False
        self._started = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._out and not self._done:
            self._step()
        n = min(len(buffer), len(self._out))
        buffer[:n] = self._out[:n]
        self._out = self._out[n:]
        return n

    def _issue(self, kind: IssueKind, reason: str) -> None:
        self._issues.append(ParseIssue(self._origin, self._out_total, kind, reason, unit="line"))

    def _needs_input(self) -> bool:
        dec = self._dec
        if isinstance(dec, bz2.BZ2Decompressor | lzma.LZMADecompressor):
            return dec.needs_input
        return not dec.unconsumed_tail

    def _step(self) -> None:
        if not self._pending and self._needs_input():
            chunk = self._raw.read(CHUNK)
            if not chunk:
                if self._started:
                    self._issue(IssueKind.TRUNCATED, f"{self._kind} stream ends inside a member")
                self._done = True
                return
            self._in_total += len(chunk)
            self._pending = chunk
        try:
            self._decompress()
        except (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError) as exc:
            self._issue(IssueKind.UNREADABLE, f"corrupt {self._kind} data skipped: {exc}")
            self._resync()
            return
        if self._out_total > BOMB_FLOOR and self._out_total > BOMB_RATIO * max(self._in_total, 1):
            self._issue(IssueKind.OVERSIZED, "decompression ratio over 1000:1: stopped (bomb?)")
            self._done = True
            self._out = b""

    def _decompress(self) -> None:
        dec = self._dec
        data = self._pending
        if isinstance(dec, bz2.BZ2Decompressor | lzma.LZMADecompressor):
            out = dec.decompress(data, OUT_SLICE)
        else:
            out = dec.decompress(dec.unconsumed_tail + data, OUT_SLICE)
        self._pending = b""
        self._started = True
        self._out += out
        self._out_total += len(out)
        if dec.eof:
            rest = dec.unused_data
            self._dec = _decompressor(self._kind)
            self._started = False
            self._pending = rest.lstrip(b"\x00")  # padding between members is allowed
            if self._pending and not self._pending.startswith(self._magic[:2]):
                self._issue(IssueKind.UNREADABLE, "junk after a compressed member skipped")
                self._resync()

    def _resync(self) -> None:
        """Drop input up to the next member's magic number."""
        self._dec = _decompressor(self._kind)
        self._started = False
        buf = self._pending[1:]
        while True:
            at = buf.find(self._magic)
            if at >= 0:
                self._pending = buf[at:]
                return
            keep = buf[-(len(self._magic) - 1) :]
            chunk = self._raw.read(CHUNK)
            if not chunk:
                self._pending = b""
                self._done = True
                return
            self._in_total += len(chunk)
            buf = keep + chunk


class _Prepend(io.RawIOBase):
    """A raw stream that first returns ``head`` and then the rest of ``rest``."""

    def __init__(self, head: bytes, rest: BinaryIO):
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        readinto = getattr(self._rest, "readinto", None)
        if readinto is not None:  # straight into the caller's buffer, not through a copy
            got: int = readinto(buffer)
            return got
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def open_stream(raw: BinaryIO, origin: str, issues: list[ParseIssue]) -> BinaryIO:
    """A buffered, decompressed view of ``raw`` (compression sniffed from its first bytes)."""
    head = raw.read(8)
    kind = detect_compression(head)
    base: io.RawIOBase = _Prepend(head, raw)
    if kind is Compression.ZSTD:
        issues.append(
            ParseIssue(
                origin,
                0,
                IssueKind.UNSUPPORTED,
                "zstd-compressed: decompress it first (zstd -d)",
                unit="file",
            )
        )
        return io.BytesIO(b"")
    if kind is not Compression.NONE:
        base = _Inflate(io.BufferedReader(base, CHUNK), kind, origin, issues)
    return io.BufferedReader(base, CHUNK)
