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
"""

from __future__ import annotations

import mmap
import os
import socket

import pyarrow as pa

_NAME = "mailtls-events"


class TableChannel:
    """Arrow tables from a forked child to its parent, one memory file each; made before the
    fork, then each process keeps its own end (``in_child`` / ``in_parent``)."""

    def __init__(self) -> None:
        self._parent, self._child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)

    def in_child(self) -> None:
        """In the child, first: the parent's end is closed (so that the channel breaks when
        the parent closes its own)."""
        self._parent.close()

    def in_parent(self) -> None:
        """In the parent, once the child is started: the child's end is closed."""
        self._child.close()

    def put(self, table: pa.Table) -> int:
        """In the child: send ``table``; its size in bytes (the parent's ``take`` needs it)."""
        fd = os.memfd_create(_NAME, os.MFD_CLOEXEC)
        try:
            with open(fd, "wb", buffering=0, closefd=False) as file:
                sink = pa.PythonFile(file, mode="w")
                with pa.ipc.new_stream(sink, table.schema) as writer:
                    writer.write_table(table)
                size = file.tell()
            socket.send_fds(self._child, [b"t"], [fd])
        finally:
            os.close(fd)
        return size

    def take(self, size: int) -> pa.Table:
        """In the parent: the next table the child put, of ``size`` bytes, read from the
        mapping of its memory file (which lives as long as the table's buffers)."""
        _, fds, _, _ = socket.recv_fds(self._parent, 1, 1)
        if len(fds) != 1:
            raise RuntimeError("the reading process sent no table")
        fd = fds[0]
        try:
            try:
                memory: mmap.mmap | bytes = mmap.mmap(fd, max(size, 1), access=mmap.ACCESS_READ)
            except OSError:  # no mapping left (vm.max_map_count): the table is read, copied
                memory = os.pread(fd, size, 0)
        finally:
            os.close(fd)
        return pa.ipc.open_stream(pa.py_buffer(memory)).read_all()

    def close(self) -> None:
        """In the parent, when it stops reading: a child still sending finds the channel
        closed."""
        self._parent.close()


def channel() -> TableChannel | None:
    """A new channel, or None where memory files or descriptor passing are missing (the
    tables then go over the pipe)."""
    if not hasattr(os, "memfd_create") or not hasattr(socket, "send_fds"):
        return None
    try:
        return TableChannel()
    except OSError:
        return None
