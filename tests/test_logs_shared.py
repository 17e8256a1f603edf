"""Events tables passed from the read-ahead child in memory files (``shared.TableChannel``).

The channel must give back exactly the tables put in, in order, read where they were
written; without memory files the tables go over the pipe, with the same frames; and a
parent that stops early does not leave the child waiting.
"""

from __future__ import annotations

import ctypes
import errno
import mmap
import os
import platform
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from analyzer.api_logs import blocks, read_logs_result, shared
from analyzer.api_logs.shared import TableChannel
from analyzer.frames.arrow_rows import EVENT_TYPES
from analyzer.frames.fast_postfix import WITHOUT_RAW, DeferredRaw
from analyzer.sources import forked
from analyzer.sources import logs as log_sources
from analyzer.sources.logs import discover
from tests.test_logs_ahead import LOGS, assert_same


def _table(n: int) -> pa.Table:
    return pa.table(
        {
            "host": pa.array(
                [f"mx{i % 3}" if i % 4 else None for i in range(n)], pa.large_string()
            ),
            "pid": pa.array([i if i % 5 else None for i in range(n)], pa.int64()),
            "at": pa.array(
                [datetime(2026, 11, 28, 4, i % 60, tzinfo=UTC) for i in range(n)],
                pa.timestamp("ns", tz="UTC"),
            ),
            "encrypted": pa.array([None if i % 7 == 0 else i % 2 == 0 for i in range(n)]),
        }
    )


def test_tables_come_back_whole_and_in_order() -> None:
    tables = TableChannel()
    sent = [_table(10), _table(1000), _table(0)]
    sizes = [tables.put(t) for t in sent]  # the child's end
    got = [tables.take(size) for size in sizes]  # the parent's end, in the same order
    for want, table in zip(sent, got, strict=True):
        assert table.equals(want)
    tables.close()
    # the tables live on in their own memory, the channel and the sender's files closed
    assert got[1].equals(sent[1])
    assert got[1]["host"].to_pylist()[:5] == [None, "mx1", "mx2", "mx0", None]


def test_a_table_is_read_where_it_was_written_not_copied() -> None:
    tables = TableChannel()
    table = tables.take(tables.put(_table(100)))
    buffer = table["pid"].chunks[0].buffers()[1]
    assert buffer is not None
    assert not buffer.is_mutable  # a read-only mapping of the memory file, not a copy


def test_tables_go_into_the_memory_files_the_parent_made_ready() -> None:
    tables = TableChannel()
    tables.provide()  # the parent's end, while it waits
    assert tables._ready == shared.READY
    small, large = _table(10), _table(200_000)  # the second larger than a file made ready
    sizes = [tables.put(small), tables.put(large), tables.put(small)]  # two made ready, one new
    assert large.nbytes > 4 << 20
    got = [tables.take(size) for size in sizes]
    assert [t.equals(w) for t, w in zip(got, [small, large, small], strict=True)] == [True] * 3
    assert tables._ready == 0  # both came back
    # the files made ready next are a quarter larger than the largest table (in MiB)
    assert tables._expect == -(-sizes[1].total * 5 // 4 // (1 << 20)) * (1 << 20) > 4 << 20
    tables.close()


def test_raw_lines_are_written_from_the_block_and_come_back_in_place() -> None:
    """A table without its raw lines, and the lines of its rows: they come back as its raw
    column, in the mapping (not copied), runs of lines and single lines alike."""
    texts = ["l0 a", "", "l2 bb", "l3 ccc", "l4", "l5 dddd", "l6", "l7 é"]
    lines = pa.array(texts, pa.large_string()).slice(1)  # at an offset, as a block's are
    rows = np.array([1, 2, 4, 5, 6])  # runs [1, 2], [4, 5, 6] of the sliced lines
    events = pa.table(
        [
            pa.array(rows + 10, pa.int64()) if f.name == "line" else pa.nulls(len(rows), f.type)
            for f in WITHOUT_RAW
        ],
        schema=WITHOUT_RAW,
    )
    tables = TableChannel()
    sent = tables.put(events, DeferredRaw(lines, rows))
    assert sent.raw == len("l2 bbl3 cccl5 ddddl6l7 é".encode())
    assert sent.total == -(-sent.size // 8) * 8 + 8 * 6 + sent.raw
    got = tables.take(sent)
    assert got.schema == EVENT_TYPES  # the raw lines in their place
    assert got["raw"].to_pylist() == ["l2 bb", "l3 ccc", "l5 dddd", "l6", "l7 é"]
    assert got["line"].to_pylist() == [11, 12, 14, 15, 16]
    assert not got["raw"].chunks[0].buffers()[2].is_mutable  # the mapping
    # no rows: no lines, and the table as it was
    empty = tables.take(tables.put(events.slice(0, 0), DeferredRaw(lines, np.array([], np.int64))))
    assert empty["raw"].to_pylist() == []
    tables.close()


def test_no_memory_file_made_ready_when_its_pages_cannot_be_had(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_room(fd: int, offset: int, size: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "posix_fallocate", no_room)
    tables = TableChannel()
    tables.provide()
    assert tables._ready == 0
    assert tables.take(tables.put(_table(100))).equals(_table(100))  # a new file, as before
    tables.close()


def test_a_table_that_cannot_be_mapped_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """When the parent can map no more memory files, it reads the table out of the file."""
    tables = TableChannel()
    size = tables.put(_table(50))

    def refuse(*args: object, **kwargs: object) -> mmap.mmap:
        raise OSError(errno.ENOMEM, "Cannot allocate memory")

    monkeypatch.setattr(mmap, "mmap", refuse)
    table = tables.take(size)
    assert table.equals(_table(50))
    assert table["pid"].chunks[0].buffers()[1].is_mutable is False


def test_many_blocks_and_the_pipe_give_the_same_frames(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(log_sources, "BLOCK", 8192)  # the lab logs in dozens of blocks
    one = read_logs_result(LOGS, workers=1)
    two = read_logs_result(LOGS, workers=2)
    assert_same(one, two)
    # a memory file refused now and then (a limit reached): those tables go over the pipe
    made = os.memfd_create
    calls = iter(range(10**6))

    def sometimes(name: str, flags: int = 0) -> int:
        if next(calls) % 3 == 1:
            raise OSError(errno.EMFILE, "Too many open files")
        return made(name, flags)

    monkeypatch.setattr(os, "memfd_create", sometimes)
    assert_same(one, read_logs_result(LOGS, workers=2))
    # no memory files at all: the tables go over the pipe
    monkeypatch.setattr(shared, "channel", lambda: None)
    assert_same(one, read_logs_result(LOGS, workers=2))
    assert (len(two.events), len(two.deliveries)) == (1719, 677)


def test_a_parent_that_stops_early_leaves_no_child_waiting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(log_sources, "BLOCK", 4096)
    started: list[forked.Child] = []
    start = forked.start

    def keep(*args: object) -> forked.Child:
        child = start(*args)  # type: ignore[arg-type]
        started.append(child)
        return child

    monkeypatch.setattr(forked, "start", keep)
    files, _ = discover([Path(LOGS[0])])
    produced = blocks.ahead(list(files), UTC, False)
    next(produced)  # the first step; the child reads ahead and waits on the pipe
    produced.close()
    (child,) = started
    assert child.process.exitcode == 0  # it ended by itself, not terminated


class _MallInfo2(ctypes.Structure):
    # glibc malloc.h, struct mallinfo2 (glibc 2.33 and later)
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
                     "uordblks", "fordblks", "keepcost")
    ]  # fmt: skip


def _mapped_while_holding(size: int) -> int:
    """Bytes glibc holds in blocks mapped apart (``hblkhd``) while ``size`` bytes are held."""
    info = ctypes.CDLL(None).mallinfo2
    info.restype = _MallInfo2
    held = bytearray(size)
    mapped = int(info().hblkhd)
    del held
    return mapped


def _report_mapped(send: Connection, size: int) -> None:
    send.send(_mapped_while_holding(size))


@pytest.mark.skipif(
    platform.libc_ver()[0] != "glibc" or not hasattr(ctypes.CDLL(None), "mallinfo2"),
    reason="glibc's allocator only",
)
def test_a_reading_child_keeps_the_large_blocks_it_frees_in_its_heap() -> None:
    """A block of 64 MiB: glibc maps it apart by default (and unmaps it when freed, to fault
    it in again for the next one); in a child it comes from the heap, which keeps it."""
    size = 64 << 20
    assert _mapped_while_holding(size) >= size  # this process: mapped apart
    child = forked.start(_report_mapped, (size,), "measuring")
    try:
        assert child.recv() < size  # the child: from its heap
    finally:
        child.stop()
