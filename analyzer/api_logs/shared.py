"""Arrow tables handed from a forked child to its parent in shared memory, without a copy.

The read-ahead child (``blocks.ahead``) sends each block's events table to the parent. Over
the pipe, a table is pickled, written, read and unpickled: on 2,000,376 benchmark lines the
parent spent 1.2 s of CPU receiving 760 MB that way, a tenth of its time; copying it out of
shared slots instead still cost it 1.3 s when it kept the tables (the events frame), most of
it faulting in fresh pages for the copies. ``TableChannel`` hands each table over in a
memory file of its own (``memfd_create``): the child writes the table into it in Arrow's IPC
format (by ``write`` calls: writing through a mapping of the file took a page fault per
page, 190,000 on 2,000,376 lines) and passes the file descriptor over a Unix socket; the
parent maps the file and reads the table from the mapping as it is. The pages are the ones
the child wrote, and stay while the parent's table uses them. The child waits for the
parent through the pipe its other messages take, so memory stays bounded as before.

Each memory file's pages are new memory, which the system must find and clear, and where the
reading process sets the pace, that was its time: at 4,000,248 benchmark lines its system
time was 2.2 to 2.5 s, against 0.6 s at half the lines. So the parent, while it waits for
the child anyway, makes a few memory files ready, their pages allocated (``provide``), and
the child writes its next tables into those when they have come (then cut to the table's
size): its system time there went to 0.8 to 1.9 s (the upper figures when the machine's
memory was cold, ``bench/README.md``). A file made ready that the child cannot use is only
one fewer made ready after.

The raw lines, a third of a table's bytes, are not gathered into the table in the child: the
reader leaves them out (``fast_postfix.BlockRead.complete``), and ``put`` writes them after
the table straight from the block's text, a run of consecutive event lines per buffer of a
``pwritev`` call, with their offsets; the parent's ``take`` puts them back in the table as a
column over the mapping. That saves the child a gather and a copy of them: its user time
went from 4.7-5.0 s to 4.5-4.6 s at 2,000,376 lines, and by about 0.3 s at twice the lines.
"""

from __future__ import annotations

import array
import mmap
import os
import socket
from typing import NamedTuple

import numpy as np
import pyarrow as pa

from analyzer.frames.fast_postfix import DeferredRaw, line_spans, line_text, with_raw

_NAME = "mailtls-events"
_MIB = 1 << 20
READY = 2  # memory files made ready for the child at most, waiting for a table


class TableChannel:
    """Arrow tables from a forked child to its parent, one memory file each; made before the
    fork, then each process keeps its own end (``in_child`` / ``in_parent``)."""

    def __init__(self) -> None:
        self._parent, self._child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self._ready = 0  # memory files sent to the child by ``provide`` and not come back
        self._expect = 4 * _MIB  # the size of the memory files ``provide`` makes

    def in_child(self) -> None:
        """In the child, first: the parent's end is closed (so that the channel breaks when
        the parent closes its own)."""
        self._parent.close()

    def in_parent(self) -> None:
        """In the parent, once the child is started: the child's end is closed."""
        self._child.close()

    def put(self, table: pa.Table, deferred: DeferredRaw | None = None) -> Sent:
        """In the child: send ``table``; where it lies in its memory file (the parent's
        ``take`` needs it). It goes in a memory file the parent made ready (``provide``)
        when one has come, else in a new one. With ``deferred``, the table has no raw lines
        (``fast_postfix.BlockRead.complete``): they are written after it from the block's
        text, a run of consecutive lines at a time, not gathered first."""
        fd = self._provided()
        tag = b"p" if fd is not None else b"t"
        if fd is None:
            fd = os.memfd_create(_NAME, os.MFD_CLOEXEC)
        try:
            with open(fd, "wb", buffering=0, closefd=False) as file:
                sink = pa.PythonFile(file, mode="w")
                with pa.ipc.new_stream(sink, table.schema) as writer:
                    writer.write_table(table)
                size = file.tell()
            sent = Sent(size, size, -1)
            if deferred is not None:
                sent = _write_raw(fd, size, deferred)
            if tag == b"p":
                os.ftruncate(fd, sent.total)  # the pages beyond the table go back
            _send_fd(self._child, tag, fd)
        finally:
            os.close(fd)
        return sent

    def _provided(self) -> int | None:
        """In the child: a memory file the parent made ready, if one has come."""
        try:
            _, fds = _receive_fd(self._child, socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return None
        return fds[0] if fds else None

    def provide(self) -> None:
        """In the parent, while it waits for the child: send the child a memory file with
        its pages in place, for a coming table (at most ``READY`` wait at a time), so that
        the child's writes copy into them instead of allocating and clearing each page
        (module doc). Does nothing when enough are waiting, or when making one fails."""
        while self._ready < READY:
            try:
                fd = os.memfd_create(_NAME, os.MFD_CLOEXEC)
            except OSError:
                return
            try:
                os.posix_fallocate(fd, 0, self._expect)
                _send_fd(self._parent, b"f", fd, socket.MSG_DONTWAIT)
            except OSError:  # no memory for it, or the child has gone: nothing made ready
                return
            finally:
                os.close(fd)
            self._ready += 1

    def take(self, sent: Sent) -> pa.Table:
        """In the parent: the next table the child put (``sent``), read from the mapping of
        its memory file (which lives as long as the table's buffers), its raw lines too."""
        tag, fds = _receive_fd(self._parent)
        if len(fds) != 1:
            raise RuntimeError("the reading process sent no table")
        fd = fds[0]
        if tag == b"p":
            self._ready -= 1
        # the next tables are about this size or larger (blocks grow): room for a quarter more
        self._expect = max(self._expect, -(-sent.total * 5 // 4 // _MIB) * _MIB)
        try:
            try:
                memory: mmap.mmap | bytes = mmap.mmap(
                    fd, max(sent.total, 1), access=mmap.ACCESS_READ
                )
            except OSError:  # no mapping left (vm.max_map_count): the table is read, copied
                memory = os.pread(fd, sent.total, 0)
        finally:
            os.close(fd)
        whole = pa.py_buffer(memory)
        table = pa.ipc.open_stream(whole.slice(0, sent.size)).read_all()
        if sent.raw < 0:
            return table
        at, rows = _aligned(sent.size), table.num_rows
        offsets = whole.slice(at, 8 * (rows + 1))
        data = whole.slice(at + 8 * (rows + 1), sent.raw)
        raw = pa.Array.from_buffers(pa.large_string(), rows, [None, offsets, data])
        return with_raw(table, raw)

    def close(self) -> None:
        """In the parent, when it stops reading: a child still sending finds the channel
        closed."""
        self._parent.close()


class Sent(NamedTuple):
    """Where a table lies in its memory file.

    Attributes:
        size: the bytes of the table (Arrow's IPC stream), from the start.
        total: the bytes of the file.
        raw: the bytes of the raw lines written after the table (-1: none written);
            they follow its 64-bit line offsets, from the first multiple of 8 after it.
    """

    size: int
    total: int
    raw: int


def _aligned(size: int) -> int:
    return -(-size // 8) * 8


_IOV_MAX = 1024  # buffers a ``pwritev`` call takes at most (Linux's IOV_MAX)


def _write_raw(fd: int, size: int, deferred: DeferredRaw) -> Sent:
    """Write the raw lines ``deferred`` stands for into the memory file ``fd`` after the
    table's ``size`` bytes: their offsets, then their text, a run of consecutive lines of
    the block's text at a time (``pwritev``)."""
    lines, rows = deferred
    starts, ends = line_spans(lines, rows)
    offsets = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(ends - starts, out=offsets[1:])
    at = _aligned(size)
    _write_all(fd, [memoryview(offsets.data).cast("B")], at)
    at += offsets.nbytes
    if not len(rows):
        return Sent(size, at, 0)
    # a run ends where the next line's text does not follow on
    cut = np.flatnonzero(starts[1:] != ends[:-1]) + 1
    begin = starts[np.concatenate(([0], cut))].tolist()
    end = ends[np.concatenate((cut - 1, [len(rows) - 1]))].tolist()
    text = memoryview(line_text(lines))
    runs = [text[b:e] for b, e in zip(begin, end, strict=True)]
    for first in range(0, len(runs), _IOV_MAX):
        at = _write_all(fd, runs[first : first + _IOV_MAX], at)
    return Sent(size, at, int(offsets[-1]))


def _write_all(fd: int, views: list[memoryview], at: int) -> int:
    """Write ``views`` one after the other into ``fd`` from ``at``; where they end."""
    want = sum(len(v) for v in views)
    done = os.pwritev(fd, views, at)
    if done != want:  # (a short write: the rest one view at a time)
        rest = memoryview(b"".join(views))[done:]
        while rest:
            n = os.pwrite(fd, rest, at + done)
            rest, done = rest[n:], done + n
    return at + want


# ``socket.send_fds`` and ``recv_fds`` of Python 3.11 drop their ``flags``
def _send_fd(sock: socket.socket, tag: bytes, fd: int, flags: int = 0) -> None:
    """Send the one-byte message ``tag`` with the file descriptor ``fd``."""
    sock.sendmsg([tag], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]))], flags)


def _receive_fd(sock: socket.socket, flags: int = 0) -> tuple[bytes, list[int]]:
    """The next one-byte message and the file descriptor it came with (``_send_fd``)."""
    fds = array.array("i")
    tag, ancillary, _, _ = sock.recvmsg(1, socket.CMSG_LEN(fds.itemsize), flags)
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - len(data) % fds.itemsize])
    return tag, list(fds)


def channel() -> TableChannel | None:
    """A new channel, or None where memory files or descriptor passing are missing (the
    tables then go over the pipe)."""
    if not hasattr(os, "memfd_create") or not hasattr(socket.socket, "sendmsg"):
        return None
    try:
        return TableChannel()
    except OSError:
        return None
