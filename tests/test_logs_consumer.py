"""The consumer half of the vectorised read builds the same records as the reference path.

``Correlator.take_rows``/``finish_rows`` (tuples, for the Arrow tables) against ``take``/
``finish`` (``Delivery`` records, the per-line path), and ``build_records`` (records built a
column at a time) against calling the dataclass, on every event of the genuine lab logs
(sample_data/lab: Postfix 3.7.11, Exim and Sendmail runs).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import get_args, get_type_hints

import pandas.testing as pdt
import pyarrow as pa
import pytest

from analyzer.frames import arrow_rows, fast_feed
from analyzer.frames.arrow_rows import build_records, deliveries_table, frame_of
from analyzer.frames.fast_postfix import FastPostfix
from analyzer.frames.logs import DELIVERIES, deliveries_frame
from analyzer.logs import delivery_rows
from analyzer.logs.correlate import Correlator
from analyzer.logs.delivery_rows import (
    DeliveryLine,
    DeliveryRow,
    StatusLine,
    as_delivery,
    restated_row,
)
from analyzer.logs.prefix import PrefixContext
from analyzer.logs.registry import LineResult, read_line
from analyzer.model.logs import Delivery, EventKind, TlsEvent
from tests.test_logs_fastpath import _both, assert_same

ROOT = Path(__file__).resolve().parent.parent
LAB_LOGS = sorted(
    p for p in (ROOT / "sample_data" / "lab").glob("*/*") if p.name in ("mail.log", "mainlog")
)
# deliveries of each lab log: len(read_logs_result(path, vectorised=False).deliveries)
LAB_DELIVERIES = {"exim": 186, "postfix": 127, "sendmail": 364}


def _events(path: Path) -> list[TlsEvent]:
    ctx = PrefixContext(path.parent.name, datetime(2026, 12, 1, tzinfo=UTC))
    out = []
    for no, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        result, value = read_line(text, ctx, no)
        if result is LineResult.PARSED:
            assert isinstance(value, TlsEvent)
            out.append(value)
    return out


def _correlated(events: list[TlsEvent], chunk: int) -> tuple[list[Delivery], list[DeliveryRow]]:
    """The deliveries of ``events`` as records (``take``/``finish``) and as rows
    (``take_rows``/``finish_rows``), handed over every ``chunk`` events."""
    records, rows = Correlator(), Correlator()
    got: list[Delivery] = []
    got_rows: list[DeliveryRow] = []
    for start in range(0, len(events), chunk):
        for ev in events[start : start + chunk]:
            assert records.feed(ev) == rows.feed(ev)
        got += records.take()
        got_rows += rows.take_rows()
    got += records.finish()
    got_rows += rows.finish_rows()
    assert records.notice_columns == rows.notice_columns
    return got, got_rows


def _finished(events: list[TlsEvent]) -> tuple[list[Delivery], list[DeliveryRow]]:
    """The deliveries of ``events`` all handed over by ``finish`` and ``finish_rows``, with
    their notice columns."""
    records, rows = Correlator(), Correlator()
    for ev in events:
        records.feed(ev)
        rows.feed(ev)
    return records.finish(), rows.finish_rows()


def test_row_has_the_fields_of_the_record() -> None:
    assert DeliveryRow._fields == tuple(f.name for f in fields(Delivery))
    defaults = {
        f.name: f.default for f in fields(Delivery) if f.name in DeliveryRow._field_defaults
    }
    assert DeliveryRow._field_defaults == defaults == {"notice_queue_id": "", "notice_of": ""}


@pytest.mark.parametrize("path", LAB_LOGS, ids=[p.parent.name for p in LAB_LOGS])
@pytest.mark.parametrize("chunk", [7, 100_000])
def test_rows_equal_records(path: Path, chunk: int) -> None:
    records, rows = _correlated(_events(path), chunk)
    assert len(records) == LAB_DELIVERIES[path.parent.name]
    assert list(map(as_delivery, rows)) == records
    assert all(type(r) is DeliveryRow for r in rows)
    # the Arrow columns of the rows are the frame of the records, notice columns included
    records, rows = _finished(_events(path))
    assert list(map(as_delivery, rows)) == records
    table = deliveries_table(rows)
    pdt.assert_frame_equal(frame_of(DELIVERIES, table), deliveries_frame(records))


def test_frame_parts_hand_back_each_joined_columns_parts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Memory is given back after each numeric or category column is joined from its parts,
    not after the text columns (their parts are the frame's chunks), and the frame is the
    same."""
    path = LAB_LOGS[0]
    records, rows = _finished(_events(path))
    calls: list[int] = []
    monkeypatch.setattr(arrow_rows, "give_back_freed_memory", lambda: calls.append(1))
    got = frame_of(DELIVERIES, deliveries_table(rows))
    pdt.assert_frame_equal(got, deliveries_frame(records))
    assert len(calls) == sum(str(t) != "string" for t in got.dtypes) == 13
    arrow_rows.give_back_freed_memory()  # (the real one, on this platform: harmless)


def test_enum_members_of_a_dictionary_with_repeated_texts() -> None:
    """A category column's dictionary may repeat its texts; each becomes its member, and a
    text no member has is refused as the enum refuses it, and not remembered."""
    texts = ["delivery", "queued", "delivery", "delivery"]
    got = fast_feed._as_members(EventKind, texts)
    assert got == [EventKind.DELIVERY, EventKind.QUEUED, EventKind.DELIVERY, EventKind.DELIVERY]
    with pytest.raises(ValueError, match="bounced-ish"):
        fast_feed._as_members(EventKind, ["queued", "bounced-ish"])
    assert "bounced-ish" not in fast_feed._MEMBERS[EventKind]
    column = pa.DictionaryArray.from_arrays(
        pa.array([0, 2, None, 1], pa.int32()), pa.array(texts[:3], pa.large_string())
    )
    assert fast_feed._pylist(column, EventKind) == [
        EventKind.DELIVERY, EventKind.DELIVERY, None, EventKind.QUEUED,
    ]  # fmt: skip


def test_rows_the_frame_cannot_hold_take_the_column_path() -> None:
    """A time outside nanosecond range or a 30-digit number fails the struct conversion;
    the rows are then gathered by column, those values missing, the others kept."""
    rows = _finished(_events(LAB_LOGS[1]))[1][:5]
    assert deliveries_table(rows).equals(arrow_rows._deliveries_by_column(rows))
    odd = [
        rows[0]._replace(timestamp=datetime(2300, 1, 1, tzinfo=UTC)),
        rows[1]._replace(bits=10**30),
        *rows[2:],
    ]
    table = deliveries_table(odd)
    assert table.equals(arrow_rows._deliveries_by_column(odd))
    assert table["timestamp"].to_pylist()[:2] == [None, rows[1].timestamp]
    assert table["bits"].to_pylist()[1] is None
    assert table["queue_id"].to_pylist() == [r.queue_id for r in rows]


def test_restated_and_notice_rows_are_covered() -> None:
    """The lab logs reach the rows built by ``_replace``: Exim's restated "retry time not
    reached" rows and Postfix's non-delivery notices (notice columns set in ``finish``)."""
    exim = _finished(_events(ROOT / "sample_data" / "lab" / "exim" / "mainlog"))[1]
    assert sum(1 for r in exim if "retry time not reached" in r.detail) == 45
    postfix = _finished(_events(ROOT / "sample_data" / "lab" / "postfix" / "mail.log"))[1]
    # the figures of read_logs_result(..., vectorised=False).deliveries
    assert sum(1 for r in postfix if r.notice_queue_id) == 88
    assert sum(1 for r in postfix if r.notice_of) == 11


@pytest.mark.parametrize("path", LAB_LOGS, ids=[p.parent.name for p in LAB_LOGS])
def test_build_records_equals_the_constructor(path: Path) -> None:
    events = _events(path)
    names = [f.name for f in fields(TlsEvent)]
    columns = [[getattr(ev, n) for ev in events] for n in names]
    built = build_records(TlsEvent, columns)
    assert built == list(map(TlsEvent, *columns)) == events
    assert [hash(b) for b in built] == [hash(e) for e in events]
    records, _ = _correlated(events, 100_000)
    columns = [[getattr(d, f.name) for d in records] for f in fields(Delivery)]
    assert build_records(Delivery, columns) == records


@dataclass(slots=True)
class _Pair:
    left: str
    right: int | None


def test_build_records_refuses_what_it_cannot_build() -> None:
    assert build_records(_Pair, [[], []]) == []
    assert build_records(_Pair, [["a", "b"], [1, None]]) == [_Pair("a", 1), _Pair("b", None)]
    with pytest.raises(ValueError, match="one column per field"):
        build_records(_Pair, [["a"]])
    with pytest.raises(ValueError, match="same length"):
        build_records(_Pair, [["a"], []])
    with pytest.raises(TypeError, match="not a slotted dataclass"):
        build_records(DeliveryRow, [[]] * 25)


@pytest.mark.parametrize("chunk", [1, 3, 1024])
def test_records_built_in_chunks_give_the_same_frames(
    chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The vectorised rows' records are built ``CHUNK`` at a time: any size, same frames as
    the per-line reader."""
    monkeypatch.setattr(fast_feed, "CHUNK", chunk)
    slow, fast = _both(ROOT / "sample_data" / "lab" / "postfix" / "mail.log")
    assert_same(slow, fast)
    assert len(fast.deliveries) == LAB_DELIVERIES["postfix"]


def test_status_lines_are_the_records_fields_by_name() -> None:
    """``StatusLine`` holds ``TlsEvent`` fields, by their names and types (the correlator's
    delivery path reads either, ``DeliveryLine``): on the lab's Postfix status lines, every
    value equals the record's."""
    assert get_args(DeliveryLine) == (TlsEvent, StatusLine)
    record_types = get_type_hints(TlsEvent)
    assert set(StatusLine._fields) <= set(record_types)
    # (compiled, the tuple keeps only the outer class of each: ``type`` for ``int | None``)
    if delivery_rows.__file__.endswith(".py"):
        hints = get_type_hints(StatusLine)
        assert all(record_types[name] == kind for name, kind in hints.items())
    lines = (ROOT / "sample_data" / "lab" / "postfix" / "mail.log").read_text().splitlines()
    ctx = PrefixContext("mail.log", datetime(2026, 12, 1, tzinfo=UTC))
    read = FastPostfix(ctx).read(lines, 1)
    kinds = read.events["event"].to_pylist()
    rows = [i for i, k in enumerate(kinds) if k == "delivery"]
    assert len(rows) == 121  # the status lines of the lab run (qmgr "expired" ones too)
    got = fast_feed._status_lines(read.events, rows, read.stamps.as_list())
    records = fast_feed.materialise(read.events, read.stamps.as_list())
    for line, i in zip(got, rows, strict=True):
        record = records[i]
        assert all(getattr(record, name) == value for name, value in line._asdict().items())
        assert type(line.kind) is type(record.kind)
        assert type(line.mta) is type(record.mta)


def test_restated_row_is_the_last_row_replaced() -> None:
    """``restated_row`` builds its tuple at once; it is ``_replace`` with the restating
    line's time, outcome, status code, text and place, on every pair of the lab's rows."""
    rows = _finished(_events(LAB_LOGS[0]))[1][:40]
    events = [e for e in _events(LAB_LOGS[0]) if e.outcome is not None][:40]
    for last, ev in zip(rows, events, strict=False):
        want = last._replace(
            timestamp=ev.timestamp,
            outcome=ev.outcome or last.outcome,
            dsn=ev.dsn or last.dsn,
            detail=ev.detail,
            origin=ev.origin,
            line_no=ev.line_no,
            failure_category=last.failure_category or ev.failure_category,
            notice_queue_id="",
            notice_of="",
        )
        got = restated_row(last, ev)
        assert got == want
        assert type(got) is DeliveryRow
