"""Events tables passed from the read-ahead child through shared memory (``shared.TableRing``).

The ring must give back exactly the table put in, slot after slot; a table too large for a
slot, or no ring at all, goes over the pipe; more blocks than slots make the child wait for
the parent; and a parent that stops early does not leave the child waiting.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from analyzer.api_logs import blocks, read_logs_result, shared
from analyzer.api_logs.shared import Slot, TableRing
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


def test_tables_come_back_whole_slot_after_slot() -> None:
    ring = TableRing(slots=2, slot_bytes=1 << 20)
    first, second, third = _table(10), _table(1000), _table(0)
    one = ring.put(first)
    two = ring.put(second)
    assert one is not None
    assert two is not None
    assert (one.index, two.index) == (0, 1)
    assert ring.take(one).equals(first)
    three = ring.put(third)  # the first slot is free again
    assert three is not None
    assert three.index == 0
    assert ring.take(two).equals(second)
    assert ring.take(three).equals(third)


def test_a_table_larger_than_a_slot_is_not_put() -> None:
    ring = TableRing(slots=1, slot_bytes=4096)
    assert ring.put(_table(5000)) is None
    slot = ring.put(_table(3))  # the slot was not taken by the refused table
    assert isinstance(slot, Slot)
    assert slot.index == 0


def test_close_lets_a_waiting_writer_go_on() -> None:
    ring = TableRing(slots=1, slot_bytes=1 << 16)
    assert ring.put(_table(2)) is not None
    ring.close()  # what the parent does when it stops reading
    assert ring.put(_table(2)) is not None  # would wait for ever otherwise


def test_more_blocks_than_slots_and_the_pipe_give_the_same_frames(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(log_sources, "BLOCK", 8192)  # the lab logs in dozens of blocks
    one = read_logs_result(LOGS, workers=1)
    two = read_logs_result(LOGS, workers=2)  # 4 slots: the child waits for the parent
    assert_same(one, two)
    # tables too large for a slot go over the pipe
    monkeypatch.setattr(shared, "ring", lambda: TableRing(slots=2, slot_bytes=2048))
    assert_same(one, read_logs_result(LOGS, workers=2))
    # no shared memory at all
    monkeypatch.setattr(shared, "ring", lambda: None)
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
    next(produced)  # the first step; the child fills every slot and waits
    produced.close()
    (child,) = started
    assert child.process.exitcode == 0  # it ended by itself, not terminated
