"""Vectorised reading of the common Postfix line shapes, one block of lines at a time.

The per-line readers (``analyzer.logs.prefix``, ``analyzer.logs.postfix``) stay the
reference: this module only takes the lines whose shape it can read with the *same* patterns
run by Arrow's RE2 engine over a whole block, and hands every other line to
``analyzer.logs.registry.read_line``. A line is taken only when:

* it is plain ASCII and at most ``RAW_LINE_LIMIT`` characters long (then ``\\s``, ``\\S``
  and ``\\d`` mean the same in Python and RE2, see ``fast_patterns``, and neither the raw
  line nor its message is clipped);
* its prefix is RFC 3164 (``Feb 18 09:45:12 host postfix/smtpd[42]: ``) or RFC 3339
  (``2026-11-27T21:28:44.443482+00:00 vm postfix/smtp[29213]: ``, sample_data/lab/postfix),
  with a ``postfix...`` tag, as in ``prefix.py``;
* its message is one of the shapes of ``postfix.py`` read here: the TLS summary
  (src/tls/tls_misc.c), ``SSL_accept``/``SSL_connect`` errors, ``TLS library problem``
  warnings and ``certificate verification failed`` lines (src/tls/), ``to=... status=``
  lines (src/global/log_adhoc.c), qmgr ``from=<`` (and its ``status=expired`` form),
  cleanup ``message-id=``, qmgr ``removed``, smtpd ``client=``, ``connect from`` and
  ``disconnect from``, smtpd ``lost connection`` or ``timeout after STARTTLS from``
  (src/smtpd/smtpd.c), older smtp ``<qid>: Cannot start TLS``, the bounce daemon's
  ``sender non-delivery notification: <qid>`` and its kin (src/bounce/), or a line
  ``postfix.parse`` ignores.

The lines taken are ASCII, so a character offset is a byte offset: messages and the texts
after a queue id are cut out of the block's lines with ``binary_slice``, one call per group of
rows cut at the same place (a block's prefixes have few widths).

Values that need the reference's functions (time stamps, peers and their direction, version
and cipher names, failure categories) are computed by those functions once per distinct
value of a block. ``tests/test_logs_fastpath.py`` checks both readers give equal frames.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from analyzer.frames.arrow_rows import EVENT_TYPES
from analyzer.frames.fast_patterns import (
    CANNOT_START,
    EXPIRED,
    FAILURE_START,
    LEVELS,
    LIMITS,
    LOST_START,
    NOTICE_STARTS,
    QID,
    QUEUE_STARTS,
    SESSION_STARTS,
    SESSION_WORDS,
    STAMP_BSD,
    STAMP_ISO,
    SUMMARY_START,
    Coded,
    null_if_empty,
    prefix_pattern,
)
from analyzer.frames.fast_shapes import FILLERS, SHAPES
from analyzer.frames.logs import EVENTS
from analyzer.frames.schema import Kind, frame_time
from analyzer.logs.common import RAW_LINE_LIMIT
from analyzer.logs.joiner import FOLDED_HINT
from analyzer.logs.prefix import PrefixContext, _bsd_stamp, parse_prefix
from analyzer.model.common import ParseIssue

_NULL_STRINGS = frozenset({"cipher", "key_exchange", "verified"})  # TlsEvent ``str | None``
_BSD_PREFIX = prefix_pattern(STAMP_BSD, True)
_ISO_PREFIX = prefix_pattern(STAMP_ISO, True)
_SPACE, _ZERO, _NINE = (ord(c) for c in " 09")


def _constant(text: str, n: int) -> pa.Array:
    """``n`` times ``text`` as a large string array, made from its buffers at once."""
    data = text.encode()
    offsets = np.arange(n + 1, dtype=np.int64) * len(data)
    return pa.Array.from_buffers(
        pa.large_string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data * n)]
    )


class Stamps:
    """The time stamps of a block's events, row by row, held as the distinct ones and which
    each row has: a block of 78,000 rows has some 1,500 distinct stamps, and the list of one
    datetime per row cost the reading process 12 ms a block to build and to send (pickled,
    an entry at a time). The correlating process makes the list once (``as_list``)."""

    __slots__ = ("codes", "values")

    def __init__(self, values: list[Any], codes: Any) -> None:
        """``values``: the distinct stamps (datetimes, or None); ``codes``: per row, the
        index of its stamp in ``values`` (a numpy integer array)."""
        self.values = values
        self.codes = codes

    def as_list(self) -> list[Any]:
        """The stamp of each row."""
        return list(map(self.values.__getitem__, self.codes.tolist()))

    def __eq__(self, other: object) -> bool:  # (so, unhashable)
        return isinstance(other, Stamps) and self.as_list() == other.as_list()


_NO_STAMPS = Stamps([], np.empty(0, dtype=np.int32))


@dataclass(frozen=True, slots=True)
class BlockRead:
    """What the vectorised reader made of one block.

    Attributes:
        events: the events it read, as ``EVENTS`` columns (category columns as text),
            in line order.
        stamps: the time stamps of those events as Python datetimes (row order).
        slow: indexes (into the block) of the lines left to the per-line reader.
        unrelated: lines it found to say nothing ``postfix.parse`` uses.
    """

    events: pa.Table
    stamps: Stamps
    slow: list[int]
    unrelated: int
    deferred: DeferredRaw | None = dataclasses.field(default=None, compare=False)

    def complete(self) -> BlockRead:
        """This read with its raw lines in ``events``: a reader made with ``defer_raw``
        leaves them out, and says where they are instead (``deferred``)."""
        if self.deferred is None:
            return self
        lines, rows = self.deferred
        raw = lines.take(pa.array(rows))
        return BlockRead(with_raw(self.events, raw), self.stamps, self.slow, self.unrelated)


class DeferredRaw(NamedTuple):
    """Where the raw lines left out of an events table are.

    Attributes:
        lines: the lines of the block.
        rows: the index among them of each event's line (ascending).
    """

    lines: pa.Array
    rows: Any


_RAW_AT = EVENT_TYPES.get_field_index("raw")
WITHOUT_RAW = EVENT_TYPES.remove(_RAW_AT)  # the columns of an events table left without them


def with_raw(events: pa.Table, raw: pa.Array) -> pa.Table:
    """``events`` (of ``WITHOUT_RAW``) with ``raw``, the raw lines of its rows, in place."""
    return events.add_column(_RAW_AT, EVENT_TYPES.field(_RAW_AT), raw)


@dataclass(frozen=True, slots=True)
class _Part:
    """The events of one shape in a block.

    Attributes:
        rows: their lines (indexes into the block, in the order of their texts).
        values: the columns its filler set: an array of one value per row, a ``Coded``,
            or one value (``str`` or ``bool``) for every row.
    """

    rows: Any
    values: dict[str, Any]


@dataclass(frozen=True, slots=True)
class _Side:
    """The readable lines of a block with (or without) a queue id.

    Attributes:
        rows: their indexes into the block, in the order of ``text`` (ascending).
        text: what the shapes read of them: the text after the queue id's ``": "``, or
            the whole message.
        qid: their queue ids (None for the lines without one).
    """

    rows: Any
    text: pa.Array
    qid: pa.Array | None


_EMPTY = pa.scalar("", pa.large_string())


def lines_of(data: bytes, longest: int, newlines: Any) -> pa.Array | None:
    """The lines of ``data`` (text without ``\r``, lines ended by ``\n``, the last one's
    left out) as an Arrow text array; None when ``data`` is not valid UTF-8 or a line has
    more than ``longest`` characters (the caller then splits it line by line). ``newlines``:
    where the newlines of ``data`` are (``sources.logs.LineBlock.newlines``).

    The array is made from its buffers: the text without its newlines (one ``replace``),
    and the offsets of the lines found from the newlines' positions, each moved back by the
    newlines before it. On 12 MiB of benchmark lines this takes 8 ms, against 37 ms for
    Arrow's ``split_pattern`` (which copies every line into a list array and flattens it),
    and Python's split and conversion are slower still."""
    text = data.replace(b"\n", b"")
    offsets = np.empty(len(newlines) + 2, dtype=np.int64)
    offsets[0] = 0
    offsets[1:-1] = newlines - np.arange(len(newlines), dtype=np.int64)
    offsets[-1] = len(text)
    raw = pa.Array.from_buffers(
        pa.large_binary(), len(newlines) + 1, [None, pa.py_buffer(offsets), pa.py_buffer(text)]
    )
    try:
        lines = raw.cast(pa.large_string())  # checks UTF-8
    except pa.ArrowInvalid:
        return None
    # characters are never more than bytes: most blocks are decided by the offsets alone
    if int(np.diff(offsets).max()) > longest and pc.max(pc.utf8_length(lines)).as_py() > longest:
        return None
    return lines


# FOLDED_HINT without its last space: found as surely, and a third faster by ``bytes.find``
# (whose skips go by the needle's last byte, a space being the commonest)
_FOLDED_PROBE = FOLDED_HINT.encode().rstrip()


class FastPostfix:
    """Reads blocks of one file's lines; remembers the time stamps it has converted."""

    def __init__(self, ctx: PrefixContext, *, raw: bool = True, defer_raw: bool = False) -> None:
        """``raw``: whether the events carry their raw lines (else empty texts: a reader
        that keeps no events frame needs none, and so neither gathers nor passes them).
        ``defer_raw``: the raw lines are left out of the events, and where they are is given
        instead (``BlockRead.complete``), for a caller that sends them on as they are."""
        self.ctx = ctx
        self.raw = raw
        self.defer = raw and defer_raw
        self._stamps: dict[str, Any] = {}

    def _stamp(self, stamp: str) -> Any:
        ts = self._stamps.get(stamp, self)
        if ts is self:
            if stamp[:1].isdigit():
                line = parse_prefix(stamp + " h p: ", self.ctx, 0)
                ts = line.timestamp if line is not None else None
            else:  # what parse_prefix gives an RFC 3164 stamp (prefix._bsd), without its match
                ts = _bsd_stamp(stamp, self.ctx.reference, self.ctx.zone)
            if len(self._stamps) > 100_000:
                self._stamps.clear()
            self._stamps[stamp] = ts
        return ts

    def read(self, texts: list[str], first_line_no: int) -> BlockRead:
        """Read the lines ``texts`` (numbered from ``first_line_no``)."""
        return self.read_lines(pa.array(texts, pa.large_string()), first_line_no)

    def read_text(
        self, lines: pa.Array, first_line_no: int, data: bytes | None = None
    ) -> tuple[BlockRead, list[tuple[int, str] | ParseIssue]]:
        """``read_lines`` of ``lines`` (Arrow text), with the numbered texts of the lines left
        to the line-by-line reader. The lines holding ``logs.joiner.FOLDED_HINT`` are left to
        it too: rsyslog writes a folded repeat under the repeated line's tag, a gap line the
        vectorised reader would take for a line of its own. ``data``: the text the lines
        were cut from, when at hand: one search of it (a quarter of the time of Arrow's,
        line by line) saves the line-by-line search in the usual block, which has none."""
        shown = lines
        if data is None or _FOLDED_PROBE in data:
            folded = pc.match_substring(lines, FOLDED_HINT)
            shown = pc.if_else(folded, _EMPTY, lines) if folded.true_count else lines
        read = self.read_lines(shown, first_line_no)
        texts = lines.take(pa.array(read.slow, pa.int64())).to_pylist()
        numbers = [first_line_no + i for i in read.slow]
        return read, list(zip(numbers, texts, strict=True))

    def read_lines(self, lines: pa.Array, first_line_no: int) -> BlockRead:
        """Read the lines ``lines`` (Arrow text, numbered from ``first_line_no``)."""
        pre, width = _prefixes(lines)
        rows = np.flatnonzero(width >= 0)
        offsets, _ = _layout(lines)
        msg = _spans(lines, offsets[rows] + width[rows], offsets[rows + 1])
        plain = ~_bools(pc.starts_with(msg, "[ID "))
        if not plain.all():
            rows, msg = rows[plain], msg.filter(pa.array(plain))
        is_qid = _bools(pc.match_substring_regex(msg, QID))
        # QID: the queue id holds no ":", so it ends at the message's first ":", and ": "
        # follows it
        queued = np.flatnonzero(is_qid)
        starts, _ = _layout(msg)
        begin, end = starts[queued], starts[queued + 1]
        colon = begin + _ints(pc.find_substring(msg, ":"))[queued]
        sides = (
            _Side(rows[queued], _spans(msg, colon + 2, end), _spans(msg, begin, colon)),
            _Side(rows[~is_qid], msg.filter(pa.array(~is_qid)), None),
        )
        quiet = np.zeros(len(lines), dtype=np.bool_)
        parts = []
        for side, candidates in zip(sides, (_queue_candidates, _session_candidates), strict=True):
            shapes, ignored = candidates(side.text)
            quiet[side.rows[ignored]] = True
            for name, mask in shapes.items():
                part = self._part(name, side, np.flatnonzero(mask), pre.field("prog"))
                if part is not None:
                    parts.append(part)
        taken = quiet.copy()
        for part in parts:
            taken[part.rows] = True
        slow = np.flatnonzero(~taken).tolist()
        unrelated = int(np.count_nonzero(quiet))
        if not parts:
            return BlockRead(EVENT_TYPES.empty_table(), _NO_STAMPS, slow, unrelated)
        table, stamps, rows = self._assemble(parts, pre, lines, first_line_no)
        if self.defer:
            return BlockRead(table, stamps, slow, unrelated, DeferredRaw(lines, rows))
        return BlockRead(table, stamps, slow, unrelated)

    @staticmethod
    def _part(name: str, side: _Side, at: Any, prog: pa.Array) -> _Part | None:
        """The events of shape ``name`` among the rows ``at`` of ``side``, if any."""
        if not len(at):
            return None
        found, good = SHAPES[name](side.text.take(pa.array(at)))
        if not good.all():
            at = at[good]
            if not len(at):
                return None
            found = found.filter(pa.array(good)) if found is not None else None
        rows = side.rows[at]
        values: dict[str, Any] = {}
        if side.qid is not None:
            values["queue_id"] = side.qid.take(pa.array(at))
        FILLERS[name]({name: found, "prog": prog.take(pa.array(rows))}, values)
        return _Part(rows, values)

    def _assemble(
        self, parts: list[_Part], pre: pa.Array, lines: pa.Array, first_line_no: int
    ) -> tuple[pa.Table, Stamps, Any]:
        """The events of ``parts`` in line order, their time stamps, and their lines
        (indexes into ``lines``); without their raw lines when they are deferred."""
        events = np.zeros(len(lines), dtype=np.bool_)
        for part in parts:
            events[part.rows] = True
        rows = np.flatnonzero(events)
        rank = np.cumsum(events) - 1  # where each event line goes
        at = [rank[p.rows] for p in parts]
        take = pa.array(rows)
        enc = pc.dictionary_encode(pre.field("stamp").take(take))
        uniq = [self._stamp(s) for s in enc.dictionary.to_pylist()]
        stamps = Stamps(uniq, enc.indices.to_numpy())
        n = len(rows)
        columns = {
            "timestamp": pc.take(
                pa.array([frame_time(u) for u in uniq], pa.timestamp("ns", tz="UTC")), enc.indices
            ),
            "host": pre.field("host").take(take),
            "mta": pa.DictionaryArray.from_arrays(
                pa.array(np.zeros(n, dtype=np.int32)), pa.array(["postfix"], pa.large_string())
            ),
            "service": pre.field("prog").take(take),
            "pid": pc.cast(null_if_empty(pre.field("pid").take(take)), pa.int64()),
            "source": _constant(self.ctx.origin, n),
            "line": pa.array(rows + first_line_no),
        }
        if not self.defer:
            columns["raw"] = lines.take(take) if self.raw else _constant("", n)
        gather = _Gather(n, at)
        arrays = []
        for field, col in zip(EVENT_TYPES, EVENTS.columns, strict=True):
            if self.defer and field.name == "raw":
                continue
            arr = columns.get(field.name)
            if arr is None:
                text = col.kind is Kind.STRING and field.name not in _NULL_STRINGS
                got = {
                    i: p.values[field.name] for i, p in enumerate(parts) if field.name in p.values
                }
                arr = gather.column(field.type, "" if text else None, got)
            arrays.append(arr.cast(field.type) if arr.type != field.type else arr)
        schema = WITHOUT_RAW if self.defer else EVENT_TYPES
        return pa.Table.from_arrays(arrays, schema=schema), stamps, rows


class _Gather:
    """Columns of ``n`` rows made of the values of parts (``at``: the positions of each
    part's rows)."""

    def __init__(self, n: int, at: list[Any]) -> None:
        self.n = n
        self.at = at

    def column(self, kind: pa.DataType, default: str | None, got: dict[int, Any]) -> pa.Array:
        """At the positions of each part of ``got`` its values (an array, a ``Coded``, or
        one value for them all), ``default`` elsewhere: one gather of the pieces."""
        n = self.n
        if not got:
            return _constant("", n) if default is not None else pa.nulls(n, kind)
        if len(got) == 1:
            ((i, values),) = got.items()
            at = self.at[i]
            if isinstance(values, pa.Array) and len(at) == n and (at[1:] > at[:-1]).all():
                return values  # one part, every row, in order
        index = np.full(n, -1, dtype=np.int64)
        text = kind.value_type if pa.types.is_dictionary(kind) else kind  # of the pieces
        pieces: list[pa.Array] = []
        size = 0
        for i, values in got.items():
            at = self.at[i]
            if isinstance(values, str | bool):
                index[at] = size
                piece = pa.array([values], text)
            elif isinstance(values, Coded):  # its distinct values, and where each row's is
                index[at] = values.codes + size
                piece = values.values
            else:
                index[at] = np.arange(size, size + len(at))
                piece = values
            pieces.append(piece.cast(text) if piece.type != text else piece)
            size += len(piece)
        gaps = index < 0
        if gaps.any():
            index[gaps] = size
            pieces.append(pa.array([default], text))
        joined = pa.concat_arrays(pieces)
        if not pa.types.is_dictionary(kind):
            return joined.take(pa.array(index))
        # the pieces are the values, the index the codes; a row whose value is null has a
        # null code (Arrow unifies no dictionary holding nulls: they are left out)
        missing = None
        if joined.null_count:
            null = _bools(joined.is_null())
            missing = null[index]
            index = (np.cumsum(~null) - 1)[index]  # where each value is once nulls are out
            joined = joined.filter(pa.array(~null))
        codes = pa.array(index, kind.index_type, mask=missing)
        return pa.DictionaryArray.from_arrays(codes, joined)


def _bools(arr: pa.Array) -> Any:
    return (pc.fill_null(arr, False) if arr.null_count else arr).to_numpy(zero_copy_only=False)


def _ints(arr: pa.Array) -> Any:
    return arr.to_numpy(zero_copy_only=False).astype(np.int64)


def _lengths(arr: pa.Array) -> Any:
    return pc.fill_null(pc.binary_length(arr), 0).to_numpy(zero_copy_only=False).astype(np.int64)


def _prefixes(lines: pa.Array) -> tuple[pa.Array, Any]:
    """Prefix fields, and where each line's message starts (-1 for a line the vectorised reader
    may not take).

    A block holds one stamp form as a rule: the other form's pattern runs only when some
    line starts the way it does (RFC 3339 lines with a digit, RFC 3164 with a letter).
    """
    offsets, data = _layout(lines)
    size = np.diff(offsets)
    first = data[np.minimum(offsets[:-1], max(len(data) - 1, 0))] if len(data) else size * 0
    digit = (size > 0) & (first >= _ZERO) & (first <= _NINE)
    has_iso = bool(digit.any())
    has_bsd = not has_iso or not bool(digit.all())
    pre = pc.extract_regex(lines, _BSD_PREFIX) if has_bsd else None
    if has_iso:
        iso = pc.extract_regex(lines, _ISO_PREFIX)
        use_iso = pc.fill_null(
            pc.and_kleene(
                pc.is_valid(iso), pc.invert(pc.is_in(iso.field("host"), pa.array(LEVELS)))
            ),
            False,
        )
        # an RFC 3339 stamp with a level word in place of the host: the RFC 3164 reading,
        # which cannot match it (none when no line starts with a letter)
        other = pre if pre is not None else pa.nulls(len(iso), iso.type)
        pre = pc.if_else(use_iso, iso, other)
    assert pre is not None
    # Lines of plain ASCII (byte offsets are character offsets) within RAW_LINE_LIMIT whose
    # prefix matched, its fields within the per-line pattern's limits.
    ok = (size <= RAW_LINE_LIMIT) & _bools(pc.is_valid(pre))
    if len(data) and data.max() > 127:  # else every line is ASCII
        ok &= _bools(pc.string_is_ascii(lines))
    # The message is the line after the prefix: prefix._BSD / prefix._ISO match
    # "<stamp> <host> <tag>[<pid>]: " with one optional space after the colon.
    width = _lengths(pre.field("stamp")) + 3
    for name in ("host", "prog"):
        length = _lengths(pre.field(name))
        ok &= length <= LIMITS[name]
        width += length
    digits = _lengths(pre.field("pid"))
    ok &= digits <= LIMITS["pid"]
    width += np.where(digits > 0, digits + 2, 0)
    at = offsets[:-1] + width
    space = np.zeros(len(at), dtype=np.bool_)
    inside = ok & (at < offsets[1:])
    space[inside] = data[at[inside]] == _SPACE
    return pre, np.where(ok, width + space, -1)


def line_spans(lines: pa.Array, rows: Any) -> tuple[Any, Any]:
    """Where the texts of the rows ``rows`` of ``lines`` (a large string array) start and
    end in its bytes (``line_text``)."""
    offsets, _ = _layout(lines)
    return offsets[rows], offsets[rows + 1]


def line_text(lines: pa.Array) -> pa.Buffer:
    """The bytes the texts of ``lines`` (a large string array) lie in."""
    data = lines.buffers()[2]
    return data if data is not None else pa.py_buffer(b"")


def _layout(arr: pa.Array) -> tuple[Any, Any]:
    """The offsets (one more than rows) and the bytes of a large string array."""
    _, offsets, data = arr.buffers()
    at = np.frombuffer(offsets, dtype=np.int64)[arr.offset : arr.offset + len(arr) + 1]
    if data is None:
        return at, np.zeros(0, dtype=np.uint8)
    return at, np.frombuffer(data, dtype=np.uint8)[: at[-1]]


def _spans(texts: pa.Array, begin: Any, end: Any) -> pa.Array:
    """The pieces ``[begin[i], end[i])`` of the bytes of ``texts`` (a large string array;
    positions in its data buffer, as ``_layout`` gives them, ascending and not overlapping,
    each piece within one text of plain ASCII), as a new array.

    The pieces and the gaps between them make one array over the same bytes (its offsets are
    the ``begin`` and ``end`` positions taken in turn), and the pieces are taken from it: only
    their bytes are copied, and each text is cut at its own place, in the order of the
    rows (``binary_slice`` cuts every text at the same place)."""
    n = len(begin)
    if not n:
        return pa.array([], pa.large_string())
    offsets = np.empty(2 * n + 1, dtype=np.int64)
    offsets[0:-1:2] = begin
    offsets[1::2] = end
    offsets[-1] = offsets[-2]
    both = pa.Array.from_buffers(
        pa.large_binary(), 2 * n, [None, pa.py_buffer(offsets), texts.buffers()[2]]
    )
    return both.take(pa.array(np.arange(0, 2 * n, 2))).view(pa.large_string())


def _queue_candidates(rest: pa.Array) -> tuple[dict[str, Any], Any]:
    """Per shape, the lines with a queue id that may have it (``rest``: the text after the
    queue id); and those ``postfix.parse`` ignores (none of ``QUEUE_STARTS``, not "removed")."""
    starts = {s: _bools(pc.starts_with(rest, s)) for s in QUEUE_STARTS}
    sender = starts["from=<"]
    expired = sender & _bools(pc.ends_with(rest, EXPIRED))
    removed = _bools(pc.equal(rest, "removed"))
    shapes = {
        "status": starts["to="],
        "mid": starts["message-id="],
        "from": sender & ~expired,
        "removed": removed,
        "expired": expired,
        "client": starts["client="],
        "notice": np.logical_or.reduce([starts[s] for s in NOTICE_STARTS]),
        "cannot": starts[CANNOT_START],
    }
    return shapes, ~np.logical_or.reduce([removed, *starts.values()])


def _session_candidates(msg: pa.Array) -> tuple[dict[str, Any], Any]:
    """Per shape, the lines without a queue id that may have it (``msg``: their messages);
    and those ``postfix.parse`` ignores (neither ``SESSION_STARTS`` nor ``SESSION_WORDS``)."""
    starts = _bools(pc.match_substring_regex(msg, SESSION_STARTS))
    summary = _bools(pc.match_substring_regex(msg, SUMMARY_START))
    lost = _bools(pc.match_substring_regex(msg, LOST_START))
    connect = _bools(pc.match_substring_regex(msg, "^(?:dis)?connect from "))
    if connect.any():
        at = np.flatnonzero(connect)
        after = pc.match_substring(msg.take(pa.array(at)), "after STARTTLS from ")
        connect[at[_bools(after)]] = False
    shapes = {
        "summary": summary,
        "failure": _bools(pc.match_substring_regex(msg, FAILURE_START)),
        "lost": lost,
        "connect": connect,
    }
    # summary and lost lines name TLS (SESSION_WORDS): only the others are searched
    other = starts | summary | lost
    rest = np.flatnonzero(~other)
    if len(rest):
        words = pc.match_substring_regex(msg.take(pa.array(rest)), SESSION_WORDS)
        other[rest[_bools(words)]] = True
    return shapes, ~other
