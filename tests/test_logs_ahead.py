"""Reading ahead in a second process gives exactly the frames of reading in one.

``workers=1`` keeps the vectorised read in this process; ``workers=2`` forks the producer
(``analyzer.api_logs.blocks``). Both must give equal events, deliveries, issues (in order)
and line accounting on every kind of input the reader meets: the lab's genuine logs of three
MTAs in one set, a compressed duplicate, a broken gzip member, a file gone before it is read.
"""

from __future__ import annotations

import gc
import gzip
import io
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import pandas as pd
import pandas.testing as pdt
import pyarrow as pa
import pytest

from analyzer.api_logs import LogReadResult, blocks, deliveries, read_logs_result
from analyzer.api_logs.blocks import AHEAD_MIN, Stream, can_read_ahead
from analyzer.frames import arrow_rows, fast_feed
from analyzer.frames.fast_feed import FastSink
from analyzer.frames.fast_postfix import FastPostfix
from analyzer.sources import logs as log_sources
from analyzer.sources.logs import LogFile, describe

ROOT = Path(__file__).resolve().parent.parent
LAB = ROOT / "sample_data" / "lab"
LOGS = [LAB / "postfix" / "mail.log", LAB / "exim" / "mainlog", LAB / "sendmail" / "mail.log"]


def assert_same(one: LogReadResult, two: LogReadResult) -> None:
    pdt.assert_frame_equal(two.events, one.events)
    pdt.assert_frame_equal(two.deliveries, one.deliveries)
    pdt.assert_frame_equal(two.issues, one.issues)
    assert two.counts == one.counts


def test_the_lab_logs_read_ahead_give_the_same_frames(tmp_path: Path) -> None:
    postfix = tmp_path / "mail.log"
    shutil.copy(LOGS[0], postfix)
    # a rotated, compressed copy of the same file: its lines are counted as duplicates
    with gzip.open(tmp_path / "mail.log.1.gz", "wb") as out:
        out.write(LOGS[0].read_bytes())
    inputs = [postfix, tmp_path / "mail.log.1.gz", LOGS[1], LOGS[2]]
    one = read_logs_result(inputs, workers=1)
    two = read_logs_result(inputs, workers=2)
    assert_same(one, two)
    c = two.counts
    # 504 + 504 + 287 + 988 lines; the copy's 504 are duplicates
    assert (c.files, c.lines, c.duplicates, c.parsed, c.unrelated, c.issues) == (
        4, 2283, 504, 1719, 60, 0,
    )  # fmt: skip
    assert (len(two.events), len(two.deliveries)) == (1719, 677)
    pdt.assert_frame_equal(deliveries(inputs, workers=2), one.deliveries)


def test_broken_and_unreadable_files_give_the_same_issues(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = gzip.compress(LOGS[0].read_bytes())
    (tmp_path / "broken.log.gz").write_bytes(good[: len(good) // 2] + b"\x00junk" * 50)
    locked = tmp_path / "locked.log"
    locked.write_text(LOGS[2].read_text())
    opener = blocks.open_file

    def refuse(f: LogFile) -> BinaryIO:  # planned (stat) but refused when opened
        if f.path == locked:
            raise PermissionError(13, "Permission denied", str(locked))
        return opener(f)

    monkeypatch.setattr(blocks, "open_file", refuse)
    inputs = [tmp_path / "broken.log.gz", locked]
    one = read_logs_result(inputs, workers=1)
    two = read_logs_result(inputs, workers=2)
    assert_same(one, two)
    kinds = two.issues["kind"].astype(str).value_counts().to_dict()
    assert kinds == {"malformed": 13, "truncated": 1, "unreadable": 1}
    assert two.issues["reason"].iloc[-1] == (
        f"cannot read: [Errno 13] Permission denied: '{locked}'"
    )
    assert (two.counts.files, two.counts.lines, two.counts.issues) == (1, 174, 13)


def test_a_failure_in_the_reading_process_is_an_error_here(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(self: FastPostfix, lines: object, first_line_no: int) -> object:
        raise ValueError("a parser bug")

    monkeypatch.setattr(FastPostfix, "read_lines", broken)
    with pytest.raises(RuntimeError, match=r"(?s)reading the logs failed: .*a parser bug"):
        read_logs_result(LOGS[0], workers=2)


def test_when_the_reader_runs_ahead() -> None:
    plan = [describe(p) for p in LOGS]
    assert not can_read_ahead(plan, 1)
    assert can_read_ahead(plan, 2)
    # by default only for large files (the fork costs more than small files take to read)
    assert sum(f.size or 0 for f in plan) < AHEAD_MIN
    assert not can_read_ahead(plan, None)
    # a stream's position must move in this process: never read ahead
    stream = Stream("-", io.BytesIO(b""), datetime.now(UTC))
    assert not can_read_ahead([*plan, stream], 2)


def test_collection_thresholds_restored(tmp_path: Path) -> None:
    """Reading raises the youngest generation's threshold while correlating, then puts back
    exactly what was there (also after an error)."""
    before = gc.get_threshold()
    seen: list[tuple[int, ...]] = []
    with blocks.fewer_collections():
        seen.append(gc.get_threshold())
    assert seen == [(max(before[0], blocks.YOUNG), *before[1:])]
    assert gc.get_threshold() == before
    with pytest.raises(RuntimeError), blocks.fewer_collections():
        raise RuntimeError("stop")
    assert gc.get_threshold() == before
    gc.set_threshold(0)
    try:
        with blocks.fewer_collections():
            assert gc.get_threshold()[0] == 0
    finally:
        gc.set_threshold(*before)


def test_settle_freezes_between_blocks_and_thaws_after() -> None:
    """``settle`` hides the live objects from the collector while reading; they are all
    back after, also after an error; a caller's own frozen objects stay frozen."""
    assert gc.get_freeze_count() == 0
    keep = [[i] for i in range(100)]
    with blocks.fewer_collections() as settle:
        settle()
        frozen = gc.get_freeze_count()
    assert frozen >= len(keep)
    assert gc.get_freeze_count() == 0

    def failing() -> None:
        with blocks.fewer_collections() as settle:
            settle()
            raise RuntimeError("stop")

    with pytest.raises(RuntimeError):
        failing()
    assert gc.get_freeze_count() == 0
    gc.freeze()
    try:
        mine = gc.get_freeze_count()
        with blocks.fewer_collections() as settle:
            settle()
            assert gc.get_freeze_count() == mine
        assert gc.get_freeze_count() == mine
    finally:
        gc.unfreeze()


def test_arrow_pool_is_the_system_allocator_while_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The log reader allocates Arrow memory from the system allocator, and the caller's
    pool is back after (also after an error, and unless changed meanwhile)."""
    before = pa.default_memory_pool().backend_name
    seen: list[str] = []
    real = blocks.consume

    def spy(*args: object, **kwargs: object) -> None:
        seen.append(pa.default_memory_pool().backend_name)
        real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("analyzer.api_logs.consume", spy)
    read_logs_result(LOGS[0], workers=1)
    assert seen == [pa.system_memory_pool().backend_name]
    assert pa.default_memory_pool().backend_name == before
    with pytest.raises(RuntimeError), arrow_rows.system_allocations():
        raise RuntimeError("stop")
    assert pa.default_memory_pool().backend_name == before


def test_steps_without_raw_lines() -> None:
    """A reader that keeps no events frame asks the producer for no raw lines: its blocks
    carry empty texts there and everything else as before; the deliveries are the same."""
    plan: list[LogFile | blocks.Stream] = [describe(LOGS[0])]
    with_raw = [s for s in blocks.steps(plan, UTC) if isinstance(s, blocks.Block)]
    without = [s for s in blocks.steps(plan, UTC, raw=False) if isinstance(s, blocks.Block)]
    assert len(with_raw) == len(without) == 1
    one, two = with_raw[0].read, without[0].read
    assert one is not None
    assert two is not None
    assert one.events.num_rows == two.events.num_rows == 474
    assert set(two.events["raw"].to_pylist()) == {""}
    assert all(one.events["raw"].to_pylist())  # every vectorised row has its line
    assert one.events.drop_columns(["raw"]).equals(two.events.drop_columns(["raw"]))
    assert (one.stamps, one.slow, one.unrelated) == (two.stamps, two.slow, two.unrelated)
    pdt.assert_frame_equal(deliveries(LOGS[0], workers=1), read_logs_result(LOGS[0]).deliveries)


def test_spare_time_work_gives_the_same_frames(monkeypatch: pytest.MonkeyPatch) -> None:
    """Delivery rows and events tables converted while the consumer would wait
    (``FastSink.spare``, called before each step here), or at once past ``WAITING_ROWS``,
    give the frames of converting them all at the end; ``spare`` says when nothing is left."""
    monkeypatch.setattr(log_sources, "BLOCK", 8192)  # the lab logs in dozens of blocks
    monkeypatch.setattr(log_sources, "FIRST_BLOCK", 8192)
    plan: list[LogFile | blocks.Stream] = [describe(p) for p in LOGS]
    steps = list(blocks.steps(plan, UTC))
    assert sum(isinstance(s, blocks.Block) for s in steps) > 20

    def frames(every_step: bool) -> tuple[pd.DataFrame, pd.DataFrame, list[tuple[bool, bool]]]:
        sink = FastSink(True, [])
        consumer = blocks._Consumer(sink, blocks.LineCounts(), None)
        done = []
        for step in steps:
            if every_step:
                worked = sink.spare()
                while sink.spare():
                    pass
                done.append((worked, sink.spare()))
            consumer.take(step)
        return (*sink.finish(), done)

    at_end = frames(False)
    spared = frames(True)
    pdt.assert_frame_equal(spared[0], at_end[0])
    pdt.assert_frame_equal(spared[1], at_end[1])
    assert sum(worked for worked, _ in spared[2]) > 20  # most blocks left work to spare
    assert {left for _, left in spared[2]} == {False}  # all done before the next step came
    assert (len(at_end[0]), len(at_end[1])) == (1719, 677)
    monkeypatch.setattr(fast_feed, "WAITING_ROWS", 1)  # rows converted as they come
    pdt.assert_frame_equal(frames(False)[1], at_end[1])


def test_the_consumer_spares_its_waits_for_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """While the reading process has sent nothing yet, ``ahead`` hands the time to the
    sink's ``spare`` (the child takes a moment to start: at least then)."""
    calls: list[bool] = []
    spare = FastSink.spare

    def counted(self: FastSink) -> bool:
        calls.append(spare(self))
        return calls[-1]

    monkeypatch.setattr(FastSink, "spare", counted)
    assert_same(read_logs_result(LOGS, workers=1), read_logs_result(LOGS, workers=2))
    assert calls
    assert calls.count(False) >= 1
