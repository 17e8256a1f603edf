"""Read log files as numbered text lines: plain, gzip, bzip2 or xz, files, directories, stdin.

I/O only. Compression is detected by magic bytes (RFC 1952 ``1f 8b``, bzip2 ``BZh``, xz
``fd 37 7a 58 5a 00``), never by name. Reading streams in bounded memory: a line is never
longer than ``MAX_LINE`` bytes in memory and decompression is done in bounded slices.
Anything unreadable (a broken gzip member, binary junk, an overlong line, a decompression
bomb) becomes a ``ParseIssue(unit="line")`` or ``unit="file"`` and reading goes on.
"""

from __future__ import annotations

import io
import lzma
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from analyzer.model.common import IssueKind, ParseIssue, clip

# The decompression stream lives in logstream; its public names stay importable from here.
from analyzer.sources.logstream import BOMB_FLOOR as BOMB_FLOOR
from analyzer.sources.logstream import BOMB_RATIO as BOMB_RATIO
from analyzer.sources.logstream import CHUNK as CHUNK
from analyzer.sources.logstream import OUT_SLICE as OUT_SLICE
from analyzer.sources.logstream import (
    Compression,
    _decompressor,
    detect_compression,
    open_stream,
)

MAX_LINE = 1 << 20  # lines up to 1 MiB are read; longer ones become issues
HEAD_BYTES = 1 << 16


# First line shapes of the formats read by analyzer.logs.prefix (log-formats.md §5).
_LOG_START = re.compile(
    rb"(?:[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d |\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d"
    rb"|<\d{1,3}>1 |\{\"|#Software: |#Fields: |@4000)"
)


def looks_like_log(head: bytes) -> bool:
    """Whether ``head`` (a file's first bytes) looks like a log we read.

    Compressed heads are decompressed as far as they go.
    """
    kind = detect_compression(head)
    if kind is Compression.ZSTD:
        return True
    if kind is not Compression.NONE:
        try:
            head = _decompressor(kind).decompress(head, HEAD_BYTES)
        except (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError):
            return False
    head = head.lstrip(b"\xef\xbb\xbf")
    return _LOG_START.match(head) is not None and b"\x00" not in head[:4096]


@dataclass(frozen=True, slots=True)
class LogFile:
    """One input to read.

    Attributes:
        origin: the name rows will carry (the path as given, ``-`` for stdin).
        path: file path, or None for a stream.
        mtime: modification time (aware UTC), or None for a stream.
        rotation_date: date in a name such as ``maillog-20240101``, aware UTC, else None.
        rotation_index: N of ``mail.log.N[.gz]`` (0 when absent): higher is older.
        size: size in bytes on disk, or None.
    """

    origin: str
    path: Path | None
    mtime: datetime | None
    rotation_date: datetime | None
    rotation_index: int
    size: int | None

    @property
    def reference(self) -> datetime | None:
        """When the file was last written, for year-less time stamps."""
        return self.rotation_date or self.mtime


_ROTATION_DATE = re.compile(r"(?<!\d)(20\d\d)(\d\d)(\d\d)(?!\d)")
_ROTATION_INDEX = re.compile(r"\.(\d{1,4})(?:\.(?:gz|bz2|xz|zst))?$")


def describe(path: Path) -> LogFile:
    """The ``LogFile`` of ``path`` (stat only, nothing read)."""
    st = path.stat()
    name = path.name
    date = None
    dm = _ROTATION_DATE.search(name)
    if dm is not None:
        try:
            date = datetime(int(dm[1]), int(dm[2]), int(dm[3]), tzinfo=UTC)
        except ValueError:
            date = None
    im = _ROTATION_INDEX.search(name)
    return LogFile(
        origin=str(path),
        path=path,
        mtime=datetime.fromtimestamp(st.st_mtime, UTC),
        rotation_date=date,
        rotation_index=int(im[1]) if im else 0,
        size=st.st_size,
    )


def discover(inputs: Iterable[str | Path]) -> tuple[list[LogFile], list[ParseIssue]]:
    """Expand files and directories (recursively, log-looking files only) into ``LogFile``s.

    The same file named twice (same device and inode) is kept once.
    """
    files: list[LogFile] = []
    issues: list[ParseIssue] = []
    seen: set[tuple[int, int]] = set()
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            candidates = sorted(p for p in path.rglob("*") if p.is_file())
            explicit = False
        else:
            candidates = [path]
            explicit = True
        for p in candidates:
            try:
                st = p.stat()
                if (st.st_dev, st.st_ino) in seen:
                    continue
                if not explicit and not looks_like_log(_read_head(p)):
                    continue
                seen.add((st.st_dev, st.st_ino))
                files.append(describe(p))
            except OSError as exc:
                issues.append(
                    ParseIssue(str(p), 0, IssueKind.UNREADABLE, f"cannot open: {exc}", unit="file")
                )
    return files, issues


def _read_head(path: Path) -> bytes:
    with path.open("rb") as fh:
        return fh.read(HEAD_BYTES)


def order_by_time(
    files: list[LogFile], first_stamp: Callable[[LogFile], datetime | None] | None = None
) -> list[LogFile]:
    """Oldest first: by the first time stamp inside (``first_stamp``), else by rotation date,
    rotation index (``.2`` before ``.1`` before none) and modification time; never by name."""

    def key(f: LogFile) -> tuple[float, float, int, float]:
        stamp = first_stamp(f) if first_stamp else None
        ref = f.rotation_date or f.mtime
        return (
            stamp.timestamp() if stamp else float("inf"),
            ref.timestamp() if ref else float("inf"),
            -f.rotation_index,
            f.mtime.timestamp() if f.mtime else float("inf"),
        )

    return sorted(files, key=key)


# Bytes that occur in text; what is left after deleting them is binary junk.
_NEWLINE = ord("\n")
_TEXT = bytes(range(0x20, 0x7F)) + b"\t\r\n\x0b\x0c" + bytes(range(0x80, 0x100))


@dataclass(frozen=True, slots=True)
class TextLine:
    """One decoded line.

    Attributes:
        line_no: 1-based line number after decompression.
        text: the line without its end-of-line, decoded as UTF-8 (bad bytes replaced).
        complete: False for a last line without its newline (a file cut while written).
    """

    line_no: int
    text: str
    complete: bool = True


def iter_lines(
    raw: BinaryIO, origin: str, issues: list[ParseIssue]
) -> Iterator[TextLine | ParseIssue]:
    """Numbered lines of ``raw``; unreadable lines come out as ``ParseIssue(unit="line")``.

    ``issues`` collects container-level problems (corrupt members) as they are found.
    """
    yield from _numbered_lines(open_stream(raw, origin, issues), origin, issues)


def _numbered_lines(
    stream: BinaryIO, origin: str, issues: list[ParseIssue]
) -> Iterator[TextLine | ParseIssue]:
    """``iter_lines`` of an opened (decompressed) stream."""
    readline = stream.readline
    line_no = 0
    while True:
        try:
            data = readline(MAX_LINE + 1)
        except (OSError, EOFError) as exc:
            issues.append(
                ParseIssue(origin, line_no, IssueKind.UNREADABLE, f"read error: {exc}", unit="file")
            )
            return
        if not data:
            return
        line_no += 1
        if len(data) > MAX_LINE and not data.endswith(b"\n"):
            yield ParseIssue(
                origin,
                line_no,
                IssueKind.OVERSIZED,
                f"line longer than {MAX_LINE} bytes skipped",
                clip(data[:200].decode("utf-8", "replace"), 200),
                unit="line",
            )
            while data and not data.endswith(b"\n"):
                data = readline(MAX_LINE)
            continue
        complete = data.endswith(b"\n")
        data = data.rstrip(b"\r\n")
        junk = len(data.translate(None, _TEXT))
        if junk and junk * 20 >= len(data):
            yield ParseIssue(
                origin,
                line_no,
                IssueKind.MALFORMED,
                "binary data, not text",
                clip(data[:200].decode("latin-1"), 200),
                unit="line",
            )
            continue
        yield TextLine(line_no, data.decode("utf-8", "replace"), complete)


def open_file(f: LogFile) -> BinaryIO:
    """Open ``f`` for reading as raw bytes (the caller closes it)."""
    if f.path is None:
        raise ValueError(f"{f.origin} is a stream, not a file")
    return f.path.open("rb")


def head_text(f: LogFile, lines: int = 5) -> list[str]:
    """The first ``lines`` readable lines of ``f`` (decompressed), for ordering by time."""
    out: list[str] = []
    scratch: list[ParseIssue] = []
    try:
        with open_file(f) as fh:
            for item in iter_lines(fh, f.origin, scratch):
                if isinstance(item, TextLine):
                    out.append(item.text)
                    if len(out) >= lines:
                        break
    except OSError:
        return out
    return out


# Bytes of complete lines handed over at once by ``iter_blocks``. The first block is small, so
# that whoever consumes the blocks starts soon; each next one is a quarter larger than the
# last (``GROWTH``: doubling left the consumer waiting for each new block), up to ``BLOCK``.
# Large blocks spread the fixed cost of a block (Arrow calls, handing it between processes)
# over more lines; while they grow, the consumer waits for the reader. On the 2,000,376-line
# benchmark log, ``read_logs`` + ``deliveries`` took 7.4 s with blocks of up to 8 MiB, 7.2 s
# with 12 MiB and 7.5 s with 16 MiB (median of 3; 8.5 s with blocks of 4 MiB each).
FIRST_BLOCK = 1 << 20
BLOCK = 12 << 20
GROWTH = 4  # each block is a quarter larger than the last


@dataclass(frozen=True, slots=True)
class LineBlock:
    """Consecutive lines of one stream, read in one go.

    Attributes:
        first_line_no: line number of the first line of the block.
        texts: the lines (decoded, without end-of-line) when every line of the block is
            plain, complete, valid UTF-8 text no longer than ``MAX_LINE`` without ``\\r``;
            else None and ``items`` holds what ``iter_lines`` gives for them.
        items: per-line reads (``TextLine`` or ``ParseIssue``) of a block that is not clean.
        data: a block read with ``split=False`` (``iter_blocks``) that holds neither ``\\r``
            nor control bytes: its lines, not split (nor decoded, nor measured), and
            ``texts`` None; ``split_block`` gives the block as ``split=True`` does.
        ended: whether the last line of ``data`` had its end-of-line.
        newlines: where the newlines of ``data`` are (``newline_offsets``), found once for
            counting its lines and for the caller that splits it (``fast_postfix.lines_of``).
    """

    first_line_no: int
    texts: list[str] | None
    items: list[TextLine | ParseIssue]
    data: bytes = b""
    ended: bool = True
    newlines: Any = field(default=None, compare=False, repr=False)  # (given by ``data``)

    def __len__(self) -> int:
        if self.texts is not None:
            return len(self.texts)
        return len(self.newlines) + 1 if self.data else len(self.items)


def newline_offsets(data: bytes) -> Any:
    """Where the newlines of ``data`` are: a numpy array of their offsets."""
    return np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == _NEWLINE)


def _renumber(items: Iterable[TextLine | ParseIssue], offset: int) -> list[TextLine | ParseIssue]:
    out: list[TextLine | ParseIssue] = []
    for item in items:
        if isinstance(item, TextLine):
            out.append(TextLine(item.line_no + offset, item.text, item.complete))
        else:
            out.append(
                ParseIssue(
                    item.origin, item.position + offset, item.kind, item.reason, item.raw,
                    unit=item.unit,
                )
            )  # fmt: skip
    return out


def split_block(block: LineBlock, origin: str) -> LineBlock:
    """``block`` (read with ``split=False``) as ``iter_blocks`` gives it with ``split=True``."""
    if not block.data:
        return block
    return _block(block.data, block.ended, block.first_line_no, origin)


def _block(body: bytes, ended: bool, first: int, origin: str, split: bool = True) -> LineBlock:
    """The block of the whole lines ``body`` (without the last one's ``\\n``, which
    ``ended`` tells whether it had); with ``split`` False, a block of plain text is left
    whole (``LineBlock.data``)."""
    clean = b"\r" not in body and not body.translate(None, _TEXT)
    if clean and not split and body:
        return LineBlock(first, None, [], body, ended, newline_offsets(body))
    if clean:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            clean = False
    if clean:
        texts = text.split("\n")
        if max(map(len, texts), default=0) <= MAX_LINE // 4:  # chars: at most 4 bytes each
            return LineBlock(first, texts, [])
    data = body + b"\n" if ended else body
    scratch: list[ParseIssue] = []  # already decompressed: no container issues here
    items = _renumber(_numbered_lines(io.BytesIO(data), origin, scratch), first - 1)
    return LineBlock(first, None, items)


def iter_blocks(
    raw: BinaryIO,
    origin: str,
    issues: list[ParseIssue],
    block: int | None = None,
    *,
    split: bool = True,
) -> Iterator[LineBlock]:
    """The lines of ``raw`` in blocks of about ``block`` bytes (default: ``FIRST_BLOCK``,
    growing up to ``BLOCK``); the same lines, numbers and issues as ``iter_lines``, without
    one Python call per clean line. With ``split`` False, blocks of plain text come whole
    (``LineBlock.data``), for a caller that splits them itself.

    A block's bytes are copied once: the line begun by the last chunk (``carry``) and this
    chunk up to its last newline, joined."""
    size, most = (block, block) if block else (min(FIRST_BLOCK, BLOCK), BLOCK)
    stream = open_stream(raw, origin, issues)
    carry = b""
    line_no = 1
    skipping = False  # inside an overlong line already reported
    while True:
        try:
            chunk = stream.read(size)
            size = min(size + size // GROWTH, most)
        except (OSError, EOFError) as exc:
            issues.append(
                ParseIssue(
                    origin, line_no - 1, IssueKind.UNREADABLE, f"read error: {exc}", unit="file"
                )
            )
            return
        if not chunk:
            break
        if skipping:
            at = chunk.find(b"\n")
            if at < 0:
                continue
            chunk, skipping = chunk[at + 1 :], False
        end = chunk.rfind(b"\n")  # carry holds no newline
        body, ended = b"", False
        if end >= 0:
            body, ended = b"".join((carry, memoryview(chunk)[:end])), True
            carry = chunk[end + 1 :]
        else:
            carry += chunk
        if len(carry) > MAX_LINE:
            head = body + b"\n" if ended else b""
            body, ended, carry, skipping = head + carry[: MAX_LINE + 1], False, b"", True
        if body or ended:
            out = _block(body, ended, line_no, origin, split)
            line_no += len(out)
            yield out
    if carry:
        yield _block(carry, False, line_no, origin, split)
