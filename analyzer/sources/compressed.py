"""Streaming decompression of gzip, bzip2 and xz inputs, with a decompression-bomb guard.

The stdlib decompressor objects are used directly rather than ``gzip.GzipFile`` & co.:
``GzipFile.read`` discards everything the failing call had produced when the input is cut
short, while a decompressor object hands out every byte before the cut. Output is asked for
in bounded pieces (``max_length``), so one small compressed chunk can never expand into
memory at once. Concatenated members/streams (``cat a.gz b.gz``) are read one after another.
"""

from __future__ import annotations

import bz2
import lzma
import zlib
from collections.abc import Callable
from typing import Protocol

from analyzer.model import IssueKind, ParseIssue
from analyzer.sources.kinds import InputKind
from analyzer.sources.scan import Limits

RAW_CHUNK = 64 << 10


class _Decompressor(Protocol):
    @property
    def eof(self) -> bool: ...
    @property
    def unused_data(self) -> bytes: ...
    def decompress(self, data: bytes, max_length: int = ..., /) -> bytes: ...


def _gzip() -> _Decompressor:
    return zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # RFC 1952 framing


_FACTORIES: dict[InputKind, Callable[[], _Decompressor]] = {
    InputKind.GZIP: _gzip,
    InputKind.BZIP2: bz2.BZ2Decompressor,
    InputKind.XZ: lzma.LZMADecompressor,
}


class Inflater:
    """A ``read(size)`` over the decompressed content of one compressed input.

    Raises ``EOFError`` when the input ends inside a stream, and the decompressor's own
    error (``zlib.error``, ``OSError``, ``lzma.LZMAError``) on corrupt data.
    """

    def __init__(self, kind: InputKind, read_raw: Callable[[int], bytes]) -> None:
        self._new = _FACTORIES[kind]
        self._zlib = kind is InputKind.GZIP
        self._d = self._new()
        self._read_raw = read_raw
        self._tail = b""  # compressed input not yet handed to the decompressor
        self._fed = False  # has the current stream been given any input

    def _input(self) -> bytes:
        if self._zlib:
            tail = getattr(self._d, "unconsumed_tail", b"")
            if tail:
                return bytes(tail)
        elif not getattr(self._d, "needs_input", True):
            return b""
        if self._tail:
            data, self._tail = self._tail, b""
            return data
        return self._read_raw(RAW_CHUNK)

    def read(self, size: int = -1) -> bytes:
        want = size if size > 0 else 1 << 20
        while True:
            if self._d.eof:
                rest = self._d.unused_data + self._tail
                self._d, self._tail, self._fed = self._new(), rest, False
            data = self._input()
            if not data and (self._zlib or getattr(self._d, "needs_input", True)):
                # zlib may still hold output it could not hand out under max_length
                out = self._d.decompress(b"", want) if self._zlib and self._fed else b""
                if out:
                    return out
                if self._d.eof:
                    continue
                if self._fed:
                    raise EOFError("compressed input ended before the end-of-stream marker")
                return b""
            self._fed = self._fed or bool(data)
            out = self._d.decompress(data, want)
            if out:
                return out


class Guard:
    """Reads decompressed bytes, ending the stream early on a bomb or a broken input.

    The scanner takes the early end for the end of input, so the message being read is still
    yielded (cut, with its issue); ``issue`` then says why the input ended.
    """

    def __init__(
        self,
        read: Callable[[int], bytes],
        raw_count: Callable[[], int],
        origin: str,
        limits: Limits,
    ) -> None:
        self._read = read
        self._raw_count = raw_count
        self._origin = origin
        self._limits = limits
        self.produced = 0
        self.issue: ParseIssue | None = None

    def __call__(self, size: int = -1) -> bytes:
        if self.issue is not None:
            return b""
        try:
            data = self._read(size)
        except EOFError as exc:
            self._stop(IssueKind.TRUNCATED, f"compressed stream cut short: {exc}")
            return b""
        except (OSError, lzma.LZMAError, zlib.error) as exc:
            self._stop(IssueKind.UNREADABLE, f"corrupt compressed data: {exc}")
            return b""
        lim = self._limits
        room = lim.decompressed_bytes - self.produced
        if len(data) > room:
            data = data[:room]
            reason = f"expands past {lim.decompressed_bytes} bytes"
            self._stop(IssueKind.OVERSIZED, reason, len(data))
        elif self.produced + len(data) > lim.ratio_after:
            ratio = (self.produced + len(data)) / max(self._raw_count(), 1)
            if ratio > lim.ratio:
                reason = f"expands more than {lim.ratio}:1 (decompression bomb?)"
                self._stop(IssueKind.OVERSIZED, reason, len(data))
        self.produced += len(data)
        return data

    def _stop(self, kind: IssueKind, reason: str, last: int = 0) -> None:
        """Record why the stream ends after the ``last`` bytes still handed out."""
        end = self.produced + last
        reason = f"{reason}; stopped after {end} decompressed bytes"
        self.issue = ParseIssue(self._origin, end, kind, reason, unit="file")
