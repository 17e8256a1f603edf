"""The vectorised log read as two halves, and the second half running ahead in a child process.

``steps`` is the producer: it opens the files in time order, skips lines already read from a
copy of a file, reads each block of lines with the vectorised Postfix reader and names the
lines left to the per-line readers. ``consume`` is the consumer: it reads those lines one by
one (joining split lines), hands everything to the correlator and keeps the line accounting.

``ahead`` runs the producer in a forked child process and passes its steps over a pipe, so
that on two cores reading the next blocks overlaps with correlating the last ones. The steps
are the same objects either way, consumed in the same order, so the frames are identical
(``tests/test_logs_ahead.py``). The pipe holds little, and the child waits while it is full:
memory stays bounded by a few blocks.
"""

from __future__ import annotations

import gc
import hashlib
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, tzinfo
from multiprocessing.connection import Connection
from typing import Any, BinaryIO

import pyarrow as pa

from analyzer.api_logs import shared
from analyzer.frames.fast_feed import FastSink
from analyzer.frames.fast_postfix import BlockRead, FastPostfix, lines_of
from analyzer.logs.joiner import Assembler
from analyzer.logs.prefix import PrefixContext
from analyzer.model.common import IssueKind, ParseIssue
from analyzer.sources import forked
from analyzer.sources import logs as log_sources
from analyzer.sources.logs import (
    LogFile,
    TextLine,
    head_text,
    iter_blocks,
    open_file,
    split_block,
)

Progress = Callable[[str, int], None]
PROGRESS_EVERY = 100_000
AHEAD_MIN = 16 << 20  # bytes of plain files from which reading ahead pays for the fork


@dataclass(slots=True)
class LineCounts:
    """How every input line was accounted for ("nothing lost").

    Attributes:
        lines: lines read (after decompression).
        parsed: lines that became an event.
        unrelated: readable lines that say nothing about TLS or deliveries.
        issues: lines that became an issue.
        duplicates: lines skipped because the same file (or its copy) was already read.
        files: files read.
    """

    lines: int = 0
    parsed: int = 0
    unrelated: int = 0
    issues: int = 0
    duplicates: int = 0
    files: int = 0


@dataclass(slots=True)
class Stream:
    """A stream to read (stdin or a file object), not a named file.

    Attributes:
        origin: its name in issues and frames.
        stream: the binary stream.
        reference: the moment that gives year-less stamps their year.
    """

    origin: str
    stream: BinaryIO
    reference: datetime


@dataclass(frozen=True, slots=True)
class FileStart:
    """A file is open and its lines follow.

    Attributes:
        ctx: what its stamps need (origin, reference time, zone).
    """

    ctx: PrefixContext


@dataclass(frozen=True, slots=True)
class Block:
    """One block of a file's lines, read the vectorised way.

    Attributes:
        size: lines in the block.
        drop: of them, lines already read from a copy of the file (duplicates).
        read: what the vectorised reader read, or None for a block of lines that are not all
            clean text (then every line is in ``lines``).
        lines: the lines left to the per-line readers, numbered, or issues of unreadable ones.
        issues: issues of the file container found while reading the block (gzip, I/O).
    """

    size: int
    drop: int
    read: BlockRead | None
    lines: list[tuple[int, str] | ParseIssue]
    issues: list[ParseIssue]


@dataclass(frozen=True, slots=True)
class FileEnd:
    """A file has ended (or could not be read further).

    Attributes:
        issues: container issues found after its last block.
        failed: the issue of a file that could not be opened or read to its end, or None.
        opened: whether its lines were read at all (a ``FileStart`` came before).
    """

    issues: list[ParseIssue]
    failed: ParseIssue | None = None
    opened: bool = True


Step = FileStart | Block | FileEnd


@dataclass(slots=True)
class _Cursor:
    """How far the producer has come in one file: lines read, container issues handed on.

    Attributes:
        issues: the file's container issues (``iter_blocks`` appends to it).
        told: how many of them went out with a block.
        lines: lines read so far.
    """

    issues: list[ParseIssue] = field(default_factory=list)
    told: int = 0
    lines: int = 0

    def news(self) -> list[ParseIssue]:
        """The issues found since the last call."""
        out, self.told = self.issues[self.told :], len(self.issues)
        return out


def steps(
    plan: Iterable[LogFile | Stream], zone: tzinfo, raw: bool = True, defer_raw: bool = False
) -> Iterator[Step]:
    """The producer: every file of ``plan`` in order, block by block (the vectorised rows
    with their raw lines when ``raw``; those left where they are with ``defer_raw``,
    ``BlockRead.complete``)."""
    seen_heads: dict[str, int] = {}
    for item in plan:
        if isinstance(item, Stream):
            ctx = PrefixContext(item.origin, item.reference, zone)
            at = _Cursor()
            yield FileStart(ctx)
            yield from _blocks(item.stream, ctx, 0, at, raw, defer_raw)
            yield FileEnd(at.news())
            continue
        head = hashlib.sha256("\n".join(head_text(item, 20)).encode()).hexdigest()
        skip = seen_heads.get(head, 0)
        ctx = PrefixContext(item.origin, item.reference or datetime.now(UTC), zone)
        at = _Cursor()
        opened = False
        try:
            with open_file(item) as fh:
                opened = True
                yield FileStart(ctx)
                yield from _blocks(fh, ctx, skip, at, raw, defer_raw)
        except OSError as exc:
            failed = ParseIssue(
                item.origin, 0, IssueKind.UNREADABLE, f"cannot read: {exc}", unit="file"
            )
            yield FileEnd(at.news(), failed, opened)
            continue
        yield FileEnd(at.news())
        seen_heads[head] = max(skip, at.lines)


def _blocks(
    stream: BinaryIO, ctx: PrefixContext, skip: int, at: _Cursor, raw: bool, defer_raw: bool
) -> Iterator[Block]:
    """The blocks of one file, the first ``skip`` lines being duplicates."""
    fast = FastPostfix(ctx, raw=raw, defer_raw=defer_raw)
    for block in iter_blocks(stream, ctx.origin, at.issues, split=False):
        size = len(block)
        drop = min(max(skip - at.lines, 0), size)
        at.lines += size
        first = block.first_line_no + drop
        # the longest line a block of split texts holds (``sources.logs._block``)
        longest = log_sources.MAX_LINE // 4
        arrow = lines_of(block.data, longest, block.newlines) if block.data else None
        if arrow is None:  # not plain text as a whole: split here, the lines read one by one
            block = split_block(block, ctx.origin)
            if block.texts is not None:  # (a block of one empty line)
                arrow = pa.array(block.texts, pa.large_string())
        if arrow is None:
            lines = [
                (i.line_no, i.text) if isinstance(i, TextLine) else i for i in block.items[drop:]
            ]
            yield Block(size, drop, None, lines, at.news())
            continue
        # no Python string per line
        vector, lines = fast.read_text(arrow.slice(drop), first, block.data or None)
        yield Block(size, drop, vector, lines, at.news())


@dataclass(slots=True)
class _Consumer:
    sink: FastSink
    counts: LineCounts
    progress: Progress | None
    ctx: PrefixContext | None = None
    assembler: Assembler | None = field(default=None)

    def take(self, step: Step) -> None:
        if isinstance(step, FileStart):
            self.counts.files += 1
            self.ctx = step.ctx
            self.assembler = Assembler(step.ctx)  # one per file: no joins across files
            return
        sink = self.sink
        if isinstance(step, FileEnd):
            sink.issues.extend(step.issues)
            if step.opened and self.assembler is not None:
                sink.end_file(self.assembler)
            self.ctx = self.assembler = None
            if step.failed is not None:
                sink.issues.append(step.failed)
            return
        assert self.ctx is not None
        assert self.assembler is not None
        sink.issues.extend(step.issues)
        counts = self.counts
        if self.progress is not None and (counts.lines + step.size) // PROGRESS_EVERY > (
            counts.lines // PROGRESS_EVERY
        ):
            self.progress(self.ctx.origin, counts.lines + step.size)
        counts.lines += step.size
        counts.duplicates += step.drop
        sink.block(step.read, sink.slow(step.lines, self.ctx, self.assembler))


def consume(
    items: Iterable[Step], sink: FastSink, counts: LineCounts, progress: Progress | None
) -> None:
    """The consumer: per-line reading, correlation and accounting of the producer's steps."""
    consumer = _Consumer(sink, counts, progress)
    with fewer_collections() as settle:
        for step in items:
            consumer.take(step)
            settle()


YOUNG = 200_000  # net allocations between collections of the youngest generation


@contextmanager
def fewer_collections() -> Iterator[Callable[[], None]]:
    """Collect the youngest generation every ``YOUNG`` net allocations instead of Python's
    700 while the correlator runs; the old thresholds come back after. The correlator makes
    and drops many small records and keeps long-lived maps: a collection every 700
    allocations cost it about 6% of its time (200,000 lab lines, ``time.process_time``,
    median of 4), and one every 20,000 still 7% on 2,000,376 lines (CPU of the blocks:
    8.46 s, 7.90 s at 200,000, 7.84 s with no collection at all). Records that die are freed
    by reference counting whatever the threshold; only garbage in cycles (rare here) waits
    for a collection.

    Gives ``settle``, to call between blocks: it moves the objects alive then (the
    correlator's bounded maps, mostly) out of the collector's sight (``gc.freeze``), so the
    oldest generation's collections do not walk them again and again (3% of the consumer's
    time on 2,000,376 lines); they still die by reference counting when dropped, and they
    come back to the collector at the end (``gc.unfreeze``). Nothing is frozen when the
    caller froze objects of its own, or turned collection off."""
    young, *older = gc.get_threshold()
    if young == 0:  # collection disabled: leave it so
        yield _nothing
        return
    freezing = gc.get_freeze_count() == 0  # the caller's own frozen objects stay frozen
    gc.set_threshold(max(young, YOUNG), *older)
    try:
        yield gc.freeze if freezing else _nothing
    finally:
        if freezing:
            gc.unfreeze()
        now = gc.get_threshold()
        if now[0] == max(young, YOUNG):  # nobody changed them meanwhile
            gc.set_threshold(young, *older)


def _nothing() -> None:
    """``settle`` when nothing is to be frozen."""


def can_read_ahead(plan: list[LogFile | Stream], workers: int | None) -> bool:
    """Whether ``ahead`` should run the producer: named files only (a stream's position must
    move in this process), ``fork`` available, and ``workers`` not 1; by default (None) also
    more than one CPU and at least ``AHEAD_MIN`` bytes of files."""
    if workers == 1 or any(isinstance(i, Stream) for i in plan):
        return False
    if not forked.can_fork():
        return False
    if workers is not None:
        return True
    size = sum(i.size or 0 for i in plan if isinstance(i, LogFile))
    return (os.cpu_count() or 1) > 1 and size >= AHEAD_MIN


def ahead(
    plan: list[LogFile | Stream],
    zone: tzinfo,
    raw: bool = True,
    spare: Callable[[], bool] | None = None,
) -> Iterator[Step]:
    """``steps(plan, zone, raw)``, produced in a child process while the caller consumes them.

    The blocks' events tables come in shared memory (``shared.TableChannel``) where the
    system has it, the rest of each step over the pipe. While the next step is not there
    yet, ``spare`` (if given) is called until it says it has nothing left to do: work the
    caller would do at the end anyway (``FastSink.spare``)."""
    tables = shared.channel()
    child = forked.start(_produce, (plan, zone, raw, tables), "reading the logs")
    if tables is not None:
        tables.in_parent()
    try:
        provide = tables.provide if tables is not None else None
        while (message := _next(child, spare, provide)) is not None:
            if isinstance(message, _SharedBlock):
                assert tables is not None
                message = message.block(tables)
            yield message
    finally:
        if tables is not None:
            tables.close()
        child.stop()


def _next(
    child: forked.Child, spare: Callable[[], bool] | None, provide: Callable[[], None] | None
) -> Any:
    """The child's next message; while none has come, memory files made ready for the
    child's next tables (``provide``), then ``spare`` work done."""
    if provide is not None and not child.poll():
        provide()
    while spare is not None and not child.poll() and spare():
        pass
    return child.recv()


@dataclass(frozen=True, slots=True)
class _SharedBlock:
    """A ``Block`` on its way to the parent, its events table sent apart in shared memory.

    Attributes:
        step: the block, its events table left out.
        sent: where the table lies in its memory file (``shared.Sent``).
    """

    step: Block
    sent: shared.Sent

    @classmethod
    def of(cls, step: Block, tables: shared.TableChannel) -> Block | _SharedBlock:
        """``step``, its table sent through ``tables`` (as it is when it has none), with its
        raw lines when they were left out of it (``BlockRead.complete``)."""
        read = step.read
        if read is None:
            return step
        try:
            sent = tables.put(read.events, read.deferred)
        except ConnectionError:
            raise  # the parent has gone
        except OSError:  # no memory file this time (a limit reached): over the pipe
            return replace(step, read=read.complete())
        read = replace(read, events=_NO_EVENTS, deferred=None)
        return cls(replace(step, read=read), sent)

    def block(self, tables: shared.TableChannel) -> Block:
        """The block, its table taken from ``tables``."""
        assert self.step.read is not None
        read = replace(self.step.read, events=tables.take(self.sent))
        return replace(self.step, read=read)


_NO_EVENTS = pa.table({})  # stands for a table sent apart


def _produce(
    send: Connection,
    plan: list[LogFile | Stream],
    zone: tzinfo,
    raw: bool,
    tables: shared.TableChannel | None,
) -> None:
    if tables is not None:
        tables.in_child()
    # the raw lines are written into the memory files from the block as they are, not
    # gathered into the events tables first (``shared.TableChannel.put``)
    for step in steps(plan, zone, raw, defer_raw=tables is not None):
        if tables is not None and isinstance(step, Block):
            send.send(_SharedBlock.of(step, tables))
        else:
            send.send(step)
    send.send(None)
