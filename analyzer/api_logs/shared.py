"""Arrow tables handed from a forked child to its parent through shared memory.

The read-ahead child (``blocks.ahead``) sends each block's events table to the parent. Over
the pipe, a table is pickled, written, read and unpickled: on 2,000,376 benchmark lines the
parent spent 1.2 s of CPU receiving 760 MB that way, a tenth of its time. ``TableRing`` is a
few slots of memory shared by the two processes, made before the fork: the child writes a
table into a free slot in Arrow's IPC format and sends only the slot's number over the
pipe; the parent copies the table out in one pass and frees the slot. A table too large for
a slot goes over the pipe as before. The child waits while every slot is full, so memory
stays bounded, as with the pipe.
"""

from __future__ import annotations

import mmap
import multiprocessing
from dataclasses import dataclass

import pyarrow as pa

SLOTS = 4
SLOT_BYTES = 64 << 20  # a 4 MiB block of log lines makes a table of about 15 MiB


@dataclass(frozen=True, slots=True)
class Slot:
    """Where a table lies in the ring.

    Attributes:
        index: the slot.
        size: bytes of the table's IPC stream, from the slot's start.
    """

    index: int
    size: int


class TableRing:
    """Slots of shared memory for passing Arrow tables from a forked child to its parent;
    the child puts, the parent takes, in the same order."""

    def __init__(self, slots: int = SLOTS, slot_bytes: int = SLOT_BYTES) -> None:
        self._slots = slots
        self._bytes = slot_bytes
        self._memory = mmap.mmap(-1, slots * slot_bytes)  # shared, anonymous: kept by fork
        self._free = multiprocessing.get_context("fork").Semaphore(slots)
        self._next = 0  # the child's next slot

    def _view(self, slot: Slot) -> memoryview:
        start = slot.index * self._bytes
        return memoryview(self._memory)[start : start + slot.size]

    def put(self, table: pa.Table) -> Slot | None:
        """In the child: ``table`` written into the next slot (waiting until it is free), or
        None when it does not fit in one."""
        mock = pa.MockOutputStream()
        with pa.ipc.new_stream(mock, table.schema) as writer:
            writer.write_table(table)
        if mock.size() > self._bytes:
            return None
        self._free.acquire()
        slot = Slot(self._next, mock.size())
        self._next = (self._next + 1) % self._slots
        sink = pa.FixedSizeBufferWriter(pa.py_buffer(self._view(slot)))
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        return slot

    def take(self, slot: Slot) -> pa.Table:
        """In the parent: a copy of the table in ``slot``, which is free again."""
        data = bytes(self._view(slot))
        self._free.release()
        return pa.ipc.open_stream(pa.py_buffer(data)).read_all()

    def close(self) -> None:
        """In the parent, when it stops reading: a child waiting for a slot goes on (and
        finds the pipe closed)."""
        for _ in range(self._slots):
            self._free.release()


def ring() -> TableRing | None:
    """A new ring, or None where shared memory or semaphores are missing (the tables then
    go over the pipe)."""
    try:
        return TableRing()
    except (OSError, ValueError, ImportError):
        return None
