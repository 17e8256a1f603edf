"""Every mailbox export in, header blocks out: ``iter_messages``.

Inputs are paths (files or directories), ``-`` for standard input, or binary file objects.
Each is classified from its content (``kinds.detect_kind``), never from its name, and read
by the handler registered for its kind in ``_HANDLERS``:

* mbox (mboxo, mboxrd, CRLF, Google Takeout, Thunderbird): memory-mapped when it is a
  regular file, else read through a bounded window; header blocks only (``scan``).
* gzip / bzip2 / xz: streamed through the decompressor with a bomb guard (``Limits``);
  the content inside is classified again (mbox or a single message).
* Maildir (a directory with ``cur``, ``new`` and ``tmp``): the files of ``cur`` and ``new``,
  in name order; ``tmp`` holds deliveries in progress and is skipped. Maildir++ folders
  (``.Sent`` ...) below it are read too.
* Other directories: walked recursively in name order; each file classified by content.
* A single RFC 5322 message (``.eml``), an Outlook ``.msg`` (``outlook``), an Outlook
  ``.pst`` (an ``UNSUPPORTED`` issue naming a converter).

Counting rule ("nothing lost"): messages in an input = RawMessages + issues of unit
``message``. Issues of unit ``header`` accompany a RawMessage whose header block was cut;
unit ``file`` marks an input that holds no readable messages (not a mailbox, unsupported
container, unreadable file). A file inside a Maildir ``cur``/``new`` is a message slot, so a
junk file there is an issue of unit ``message``.

Origins and positions: an mbox gives its path (``-`` for stdin, the object's ``name`` or
``<stream>`` for a file object) and the byte offset of each ``From `` line in the
(decompressed) stream; every message file (``.eml``, Maildir entry, ``.msg``) is its own
origin, at position 0.
"""

from __future__ import annotations

import mmap
import os
import stat
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, cast

from analyzer.model import IssueKind, ParseIssue, RawMessage, clip
from analyzer.sources.compressed import Guard, Inflater
from analyzer.sources.kinds import (
    InputKind,
    detect_kind,
    directory_kind,
    mbox_start,
)
from analyzer.sources.outlook import PST_REASON, read_msg
from analyzer.sources.scan import Buffer, Limits, next_separator, scan_mbox, scan_message

__all__ = ["InputKind", "Limits", "Progress", "detect_kind", "detect_path_kind", "iter_messages"]

HEAD_BYTES = 64 << 10
_PROGRESS_EVERY = 512

Record = RawMessage | ParseIssue
InputLike = str | os.PathLike[str] | BinaryIO


@dataclass(frozen=True, slots=True)
class Progress:
    """How far ``iter_messages`` has come.

    Attributes:
        files_done: inputs (files, after expanding directories) finished.
        files_total: inputs to read, known before the first message.
        bytes_done: bytes of input consumed (compressed bytes for compressed inputs).
        bytes_total: the sum of the input sizes, or None when a stream has no known size.
        messages: RawMessages yielded so far.
    """

    files_done: int
    files_total: int
    bytes_done: int
    bytes_total: int | None
    messages: int


@dataclass(slots=True)
class _Counter:
    """Counts the bytes a reader hands out (compressed input consumed, stdin read)."""

    read: Callable[[int], bytes]
    count: int = 0

    def __call__(self, size: int = -1) -> bytes:
        data = self.read(size)
        self.count += len(data)
        return data


@dataclass(frozen=True, slots=True)
class _Item:
    """One input after directories were expanded."""

    origin: str
    path: str | None = None
    stream: BinaryIO | None = None
    size: int | None = None
    in_maildir: bool = False
    error: str | None = None


@dataclass(slots=True)
class _Source:
    """An opened input: its first bytes, how to read on, and how much was consumed."""

    item: _Item
    head: bytes
    read: _Counter
    fileno: int | None = None
    notes: list[ParseIssue] = field(default_factory=list)

    @property
    def origin(self) -> str:
        return self.item.origin


def detect_path_kind(path: str | os.PathLike[str]) -> InputKind:
    """The kind of a path, looking inside compressed files at what they hold.

    A directory is ``MAILDIR`` or ``DIRECTORY``; a compressed file is the kind of its
    content (``MBOX``, ``EML``, ``OTHER`` ...), so a ``.log.gz`` is ``OTHER``.
    """
    if os.path.isdir(path):
        return directory_kind(set(os.listdir(path)))
    with open(path, "rb") as f:
        head = f.read(HEAD_BYTES)
        kind = detect_kind(head, False)
        if kind.is_compressed:
            f.seek(0)
            guard = Guard(Inflater(kind, f.read).read, f.tell, os.fspath(path), Limits())
            kind = detect_kind(_read_head(guard), False)
    return kind


def iter_messages(
    inputs: Iterable[InputLike],
    *,
    progress: Callable[[Progress], None] | None = None,
    limits: Limits | None = None,
) -> Iterator[Record]:
    """Yield the header block of every message in ``inputs``, or an issue in its place.

    Never raises on bad data: unreadable, truncated, oversized or foreign input becomes a
    ``ParseIssue``. ``progress`` is called now and then and once per finished file.
    """
    lim = limits or Limits()
    if isinstance(inputs, str | os.PathLike) or hasattr(inputs, "read"):
        inputs = [cast(InputLike, inputs)]  # one input given bare: not an iterable of them
    items = [item for inp in inputs for item in _expand(inp)]
    sizes = [i.size for i in items]
    total = None if any(s is None for s in sizes) else sum(s or 0 for s in sizes)
    bytes_done = messages = 0
    for files_done, item in enumerate(items):
        consumed = 0
        for n, record in enumerate(_read_item(item, lim), 1):
            if isinstance(record, RawMessage):
                messages += 1
                # positions are decompressed offsets in compressed files: stay within size
                consumed = min(max(consumed, record.position), item.size or record.position)
            yield record
            if progress is not None and n % _PROGRESS_EVERY == 0:
                progress(Progress(files_done, len(items), bytes_done + consumed, total, messages))
        bytes_done += item.size or consumed
        if progress is not None:
            progress(Progress(files_done + 1, len(items), bytes_done, total, messages))


def _origin_of(stream: BinaryIO) -> str:
    name = getattr(stream, "name", None)
    return name if isinstance(name, str) else "<stream>"


def _expand(inp: InputLike) -> Iterator[_Item]:
    if not isinstance(inp, str | os.PathLike):
        yield _Item(_origin_of(inp), stream=inp)
        return
    path = os.fspath(inp)
    if path == "-":
        yield _Item("-", stream=sys.stdin.buffer)
        return
    try:
        st = os.stat(path)
    except OSError as exc:
        yield _Item(path, error=f"cannot open: {exc.strerror or exc}")
        return
    if stat.S_ISDIR(st.st_mode):
        yield from _walk(path)
    else:
        yield _Item(path, path=path, size=st.st_size)


def _walk(root: str) -> Iterator[_Item]:
    """Files under ``root`` in name order; in a Maildir only ``cur`` and ``new``.

    A directory that cannot be listed becomes an item carrying the error, never a silent gap.
    """
    errors: list[OSError] = []
    for dirpath, dirnames, filenames in os.walk(root, onerror=errors.append):
        yield from _walk_errors(errors)
        dirnames.sort()
        if directory_kind(set(dirnames)) is InputKind.MAILDIR:
            for sub in ("cur", "new"):
                yield from _files(os.path.join(dirpath, sub), in_maildir=True)
            dirnames[:] = [d for d in dirnames if d not in ("cur", "new", "tmp")]
            continue
        for name in sorted(filenames):
            yield from _file_item(os.path.join(dirpath, name), in_maildir=False)
    yield from _walk_errors(errors)


def _walk_errors(errors: list[OSError]) -> Iterator[_Item]:
    for exc in errors:
        yield _Item(str(exc.filename or "?"), error=f"cannot list: {exc.strerror or exc}")
    errors.clear()


def _files(directory: str, in_maildir: bool) -> Iterator[_Item]:
    try:
        names = sorted(os.listdir(directory))
    except OSError as exc:
        yield _Item(directory, error=f"cannot list: {exc.strerror or exc}")
        return
    for name in names:
        yield from _file_item(os.path.join(directory, name), in_maildir)


def _file_item(path: str, in_maildir: bool) -> Iterator[_Item]:
    try:
        st = os.stat(path)
    except OSError as exc:
        yield _Item(path, error=f"cannot open: {exc.strerror or exc}", in_maildir=in_maildir)
        return
    if stat.S_ISREG(st.st_mode):
        yield _Item(path, path=path, size=st.st_size, in_maildir=in_maildir)


def _read_head(read: Callable[[int], bytes]) -> bytes:
    """Up to HEAD_BYTES from a reader that may return short reads (pipes)."""
    parts: list[bytes] = []
    got = 0
    while got < HEAD_BYTES:
        chunk = read(HEAD_BYTES - got)
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def _file_issue(item: _Item, kind: IssueKind, reason: str, raw: str = "") -> ParseIssue:
    unit = "message" if item.in_maildir else "file"
    return ParseIssue(item.origin, 0, kind, reason, raw, unit=unit)


def _read_item(item: _Item, limits: Limits) -> Iterator[Record]:
    if item.error is not None:
        yield _file_issue(item, IssueKind.UNREADABLE, item.error)
        return
    try:
        if item.stream is not None:
            yield from _read_open(item, item.stream, None, limits)
            return
        assert item.path is not None
        with open(item.path, "rb") as f:
            yield from _read_open(item, f, f.fileno(), limits)
    except OSError as exc:
        yield _file_issue(item, IssueKind.UNREADABLE, f"read failed: {exc.strerror or exc}")


def _read_open(
    item: _Item, stream: BinaryIO, fileno: int | None, limits: Limits
) -> Iterator[Record]:
    counter = _Counter(stream.read)
    head = _read_head(counter)
    if not head:
        return  # an empty input holds no message: nothing to lose
    src = _Source(item, head, counter, fileno)
    kind = detect_kind(head, False)
    yield from _HANDLERS[kind](src, limits)


def _read_mbox(src: _Source, limits: Limits) -> Iterator[Record]:
    first = mbox_start(src.head)
    if src.fileno is not None and stat.S_ISREG(os.fstat(src.fileno).st_mode):
        with mmap.mmap(src.fileno, 0, access=mmap.ACCESS_READ) as mm:
            yield from scan_mbox(Buffer(mm), src.origin, first, limits)
        return
    yield from scan_mbox(Buffer(src.head, src.read), src.origin, first, limits)


def _read_eml(src: _Source, limits: Limits) -> Iterator[Record]:
    yield from scan_message(Buffer(src.head, src.read), src.origin, limits)


def _read_msg(src: _Source, limits: Limits) -> Iterator[Record]:
    if src.item.path is not None:
        yield from read_msg(src.item.path, src.origin, limits)
    else:
        yield from read_msg(src.head + src.read(-1), src.origin, limits)


def _unsupported(reason: str) -> Callable[[_Source, Limits], Iterator[Record]]:
    def handler(src: _Source, limits: Limits) -> Iterator[Record]:
        yield _file_issue(src.item, IssueKind.UNSUPPORTED, reason)

    return handler


def _not_mailbox(src: _Source, limits: Limits) -> Iterator[Record]:
    raw = clip(src.head[:120].decode("utf-8", "replace"), 120)
    reason = "not a mailbox: no mbox separator line, no message header, no known container"
    yield _file_issue(src.item, IssueKind.MALFORMED, reason, raw)


def _replay(head: bytes, read: Callable[[int], bytes]) -> Callable[[int], bytes]:
    """A reader that first hands back ``head`` (read for detection), then reads on."""
    pending = [head] if head else []

    def replay(size: int) -> bytes:
        if pending:
            return pending.pop()
        return read(size)

    return replay


def _read_compressed(src: _Source, limits: Limits) -> Iterator[Record]:
    kind = detect_kind(src.head, False)
    raw = _Counter(_replay(src.head, src.read))
    guard = Guard(Inflater(kind, raw).read, lambda: raw.count, src.origin, limits)
    head = _read_head(guard)
    inner_kind = detect_kind(head, False) if head else None
    if inner_kind is InputKind.MBOX:
        yield from scan_mbox(Buffer(head, guard), src.origin, mbox_start(head), limits)
    elif inner_kind is InputKind.EML:
        yield from scan_message(Buffer(head, guard), src.origin, limits)
    elif inner_kind is InputKind.OTHER:
        yield from _not_mailbox(_Source(src.item, head, src.read), limits)
    elif inner_kind is not None:
        reason = f"{kind} stream holding {inner_kind}: decompress it first"
        yield _file_issue(src.item, IssueKind.UNSUPPORTED, reason)
    if guard.issue is not None:
        yield guard.issue


_HANDLERS: dict[InputKind, Callable[[_Source, Limits], Iterator[Record]]] = {
    InputKind.MBOX: _read_mbox,
    InputKind.EML: _read_eml,
    InputKind.MSG: _read_msg,
    InputKind.GZIP: _read_compressed,
    InputKind.BZIP2: _read_compressed,
    InputKind.XZ: _read_compressed,
    InputKind.PST: _unsupported(PST_REASON),
    InputKind.ZSTD: _unsupported("zstd-compressed: decompress it first (`zstd -d FILE`)"),
    InputKind.ZIP: _unsupported("zip archive (a Google Takeout .zip?): extract it first"),
    InputKind.TAR: _unsupported("tar archive (a Google Takeout .tgz?): extract it first"),
    InputKind.OTHER: _not_mailbox,
    # Directories are expanded before reading; these never come from file content.
    InputKind.MAILDIR: _not_mailbox,
    InputKind.DIRECTORY: _not_mailbox,
}


PARALLEL_MIN = 64 << 20
"""Plain mbox files at least this large may be read in byte ranges by several processes."""


def mbox_ranges(path: str | os.PathLike[str], parts: int) -> list[tuple[int, int]] | None:
    """Byte ranges ``[start, end)`` covering a plain (uncompressed, regular-file) mbox, for
    reading with ``iter_mbox_range`` in parallel; None when ``path`` is not such a file.

    The ranges split the file at arbitrary offsets: each message belongs to the range in which
    its ``From `` separator line starts, so concatenating the ranges' records in order gives
    exactly the records of ``iter_messages([path])``.
    """
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode) or detect_path_kind(path) is not InputKind.MBOX:
            return None
        with open(path, "rb") as f:
            if detect_kind(f.read(HEAD_BYTES), False) is not InputKind.MBOX:
                return None  # a compressed file holding an mbox: streamed, not split
    except OSError:
        return None
    size = st.st_size
    step = max(1, -(-size // max(1, parts)))
    return [(start, min(size, start + step)) for start in range(0, size, step)]


def iter_mbox_range(
    path: str | os.PathLike[str], start: int, end: int, limits: Limits | None = None
) -> Iterator[Record]:
    """The records of the messages of a plain mbox file whose separator starts in [start, end).

    Origins and positions are those ``iter_messages`` gives (the path, absolute offsets).
    """
    lim = limits or Limits()
    origin = os.fspath(path)
    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size == 0:
            return
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            buf = Buffer(mm)
            if start == 0:
                first = mbox_start(bytes(mm[:HEAD_BYTES]))
            else:
                first = next_separator(buf, start - 1)
            if first < 0 or first >= end:
                return
            for record in scan_mbox(buf, origin, first, lim):
                if record.position >= end:
                    return
                yield record
