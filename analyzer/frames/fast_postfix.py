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

Values that need the reference's functions (time stamps, peers and their direction, version
and cipher names, failure categories) are computed by those functions once per distinct
value of a block. ``tests/test_logs_fastpath.py`` checks both readers give equal frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from analyzer.frames.arrow_rows import EVENT_TYPES, take_rows
from analyzer.frames.fast_patterns import (
    CANNOT_START,
    EXPIRED,
    FAILURE_START,
    LEVELS,
    LIMITS,
    LOST_START,
    NOTICE_START,
    QID,
    QUEUE_OTHER,
    SESSION_SHAPES,
    SESSION_STARTS,
    SESSION_WORDS,
    STAMP_BSD,
    STAMP_ISO,
    SUMMARY_START,
    null_if_empty,
    prefix_pattern,
)
from analyzer.frames.fast_shapes import FILLERS, SHAPES
from analyzer.frames.logs import EVENTS
from analyzer.frames.schema import Kind, frame_time
from analyzer.logs.common import RAW_LINE_LIMIT
from analyzer.logs.prefix import PrefixContext, parse_prefix

_NULL_STRINGS = frozenset({"cipher", "key_exchange", "verified"})  # TlsEvent ``str | None``
_RAW, _MTA, _SOURCE = (EVENT_TYPES.get_field_index(name) for name in ("raw", "mta", "source"))


def _constant(text: str, n: int) -> pa.Array:
    """``n`` times ``text`` as a large string array, made from its buffers at once."""
    data = text.encode()
    offsets = np.arange(n + 1, dtype=np.int64) * len(data)
    return pa.Array.from_buffers(
        pa.large_string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data * n)]
    )


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
    stamps: list[Any]
    slow: list[int]
    unrelated: int


def _columns(n: int, values: dict[str, pa.Array]) -> list[pa.Array]:
    out = []
    for field, col in zip(EVENT_TYPES, EVENTS.columns, strict=True):
        arr = values.get(field.name)
        if arr is None:
            if col.kind is Kind.STRING and field.name not in _NULL_STRINGS:
                arr = pa.array([""] * n, pa.large_string()) if n else pa.array([], field.type)
            else:
                arr = pa.nulls(n, field.type)
        out.append(arr.cast(field.type) if arr.type != field.type else arr)
    return out


class FastPostfix:
    """Reads blocks of one file's lines; remembers the time stamps it has converted."""

    def __init__(self, ctx: PrefixContext, *, raw: bool = True) -> None:
        """``raw``: whether the events carry their raw lines (else empty texts: a reader
        that keeps no events frame needs none, and so neither gathers nor passes them)."""
        self.ctx = ctx
        self.raw = raw
        self._stamps: dict[str, Any] = {}

    def _stamp(self, stamp: str) -> Any:
        ts = self._stamps.get(stamp, self)
        if ts is self:
            line = parse_prefix(stamp + " h p: ", self.ctx, 0)
            ts = line.timestamp if line is not None else None
            if len(self._stamps) > 100_000:
                self._stamps.clear()
            self._stamps[stamp] = ts
        return ts

    def read(self, texts: list[str], first_line_no: int) -> BlockRead:
        """Read the lines ``texts`` (numbered from ``first_line_no``)."""
        lines = pa.array(texts, pa.large_string())
        n = len(lines)
        pre, messages, msg, ok = self._prefixes(lines, texts)
        qid = pc.extract_regex(msg, QID)
        is_qid = pc.is_valid(qid)
        rest = pa.array(_after(messages, qid, ("qid",), 2), pa.large_string())
        candidates, quiet = _candidates(msg, rest, is_qid, ok)
        taken = quiet.to_numpy(zero_copy_only=False).copy()
        line_nos = pa.array(np.arange(first_line_no, first_line_no + n, dtype=np.int64))
        block = {
            "stamp": pre.field("stamp"),
            "host": pre.field("host"),
            "prog": pre.field("prog"),
            "pid": pre.field("pid"),
            "qid": qid.field("qid"),
            "line": line_nos,
        }
        parts = []
        for name, mask in candidates.items():
            rows = np.flatnonzero(pc.and_(ok, mask).to_numpy(zero_copy_only=False))
            if not len(rows):
                continue
            source = msg if name in SESSION_SHAPES else rest
            found, good = SHAPES[name](source.take(pa.array(rows)))
            rows = rows[good]
            taken[rows] = True
            sel = {k: v.take(pa.array(rows)) for k, v in block.items()}
            sel[name] = found.filter(pa.array(good)) if found is not None else sel["line"]
            parts.append(self._part(name, sel))
        slow = np.flatnonzero(~taken).tolist()
        return self._finish(
            parts, slow, int(np.count_nonzero(quiet.to_numpy(False))), lines, first_line_no
        )

    @staticmethod
    def _prefixes(
        lines: pa.Array, texts: list[str]
    ) -> tuple[pa.Array, list[str], pa.Array, pa.Array]:
        """Prefix fields, messages (as text and as an array), and which lines the vectorised reader may take.

        A block holds one stamp form as a rule: the other form's pattern runs only when some
        line starts the way it does (RFC 3339 lines with a digit, RFC 3164 with a letter).
        """
        eligible = pc.and_(
            pc.string_is_ascii(lines), pc.less_equal(pc.utf8_length(lines), RAW_LINE_LIMIT)
        )
        digit = pc.match_substring_regex(lines, "^[0-9]")
        has_iso = pc.any(digit).as_py() is True
        has_bsd = not has_iso or pc.any(pc.invert(digit)).as_py() is True
        pre = pc.extract_regex(lines, prefix_pattern(STAMP_BSD, True)) if has_bsd else None
        if has_iso:
            iso = pc.extract_regex(lines, prefix_pattern(STAMP_ISO, True))
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
        # The message is the line after the prefix: prefix._BSD / prefix._ISO match
        # "<stamp> <host> <tag>[<pid>]: " with one optional space after the colon.
        messages = _after(texts, pre, ("stamp", "host", "prog"), 3, pid=True)
        ok = pc.and_kleene(eligible, pc.is_valid(pre))
        for name in ("host", "prog", "pid"):
            ok = pc.and_kleene(ok, pc.less_equal(pc.utf8_length(pre.field(name)), LIMITS[name]))
        msg = pa.array(messages, pa.large_string())
        ok = pc.and_kleene(ok, pc.invert(pc.starts_with(msg, "[ID ")))
        return pre, messages, msg, pc.fill_null(ok, False)

    def _finish(
        self,
        parts: list[tuple[pa.Table, list[Any]]],
        slow: list[int],
        quiet: int,
        lines: pa.Array,
        first_line_no: int,
    ) -> BlockRead:
        """The parts in line order, with their raw lines (taken once, here, from ``lines``,
        numbered from ``first_line_no``)."""
        if not parts:
            return BlockRead(EVENT_TYPES.empty_table(), [], slow, quiet)
        table = pa.concat_tables([p[0] for p in parts])
        stamps = [s for p in parts for s in p[1]]
        order = pc.sort_indices(table["line"])
        ordered = list(map(stamps.__getitem__, order.to_numpy().tolist()))
        table = take_rows(table, order)
        numbers = table["line"].to_numpy()
        raw = (
            lines.take(pa.array(numbers - first_line_no))
            if self.raw
            else _constant("", len(numbers))
        )
        table = table.set_column(_RAW, "raw", raw)
        table = table.set_column(_MTA, "mta", _constant("postfix", len(numbers)))
        table = table.set_column(_SOURCE, "source", _constant(self.ctx.origin, len(numbers)))
        return BlockRead(table, ordered, slow, quiet)

    def _part(self, name: str, sel: dict[str, pa.Array]) -> tuple[pa.Table, list[Any]]:
        n = len(sel["line"])
        enc = pc.dictionary_encode(sel["stamp"])
        uniq = [self._stamp(s) for s in enc.dictionary.to_pylist()]
        idx = enc.indices.to_pylist()
        stamps = [uniq[i] for i in idx]
        pid = pc.cast(null_if_empty(sel["pid"]), pa.int64())
        values: dict[str, pa.Array] = {
            "timestamp": pc.take(
                pa.array([frame_time(u) for u in uniq], pa.timestamp("ns", tz="UTC")), enc.indices
            ),
            "host": sel["host"],
            "mta": pa.nulls(n, pa.large_string()),  # the same in every row: see ``_finish``
            "service": sel["prog"],
            "pid": pid,
            "source": pa.nulls(n, pa.large_string()),
            "line": sel["line"],
            "raw": pa.nulls(n, pa.large_string()),  # taken in line order by ``_finish``
        }
        if name not in SESSION_SHAPES:
            values["queue_id"] = sel["qid"]
        FILLERS[name](sel, values)
        return pa.Table.from_arrays(_columns(n, values), schema=EVENT_TYPES), stamps


def _candidates(
    msg: pa.Array, rest: pa.Array, is_qid: pa.Array, ok: pa.Array
) -> tuple[dict[str, pa.Array], pa.Array]:
    """Per shape, the lines that may have it (``msg``: messages, ``rest``: the text after a
    queue id, ``is_qid``: which have one); and the readable lines ``postfix.parse`` ignores."""
    expired = pc.ends_with(rest, EXPIRED)
    candidates = {
        "status": pc.and_(is_qid, pc.starts_with(rest, "to=")),
        "mid": pc.and_(is_qid, pc.starts_with(rest, "message-id=")),
        "from": pc.and_(is_qid, pc.and_(pc.starts_with(rest, "from=<"), pc.invert(expired))),
        "removed": pc.and_(is_qid, pc.equal(rest, "removed")),
        "summary": pc.and_(pc.invert(is_qid), pc.match_substring_regex(msg, SUMMARY_START)),
        "failure": pc.and_(pc.invert(is_qid), pc.match_substring_regex(msg, FAILURE_START)),
        "expired": pc.and_(is_qid, pc.and_(pc.starts_with(rest, "from=<"), expired)),
        "client": pc.and_(is_qid, pc.starts_with(rest, "client=")),
        "notice": pc.and_(is_qid, pc.match_substring_regex(rest, NOTICE_START)),
        "lost": pc.and_(pc.invert(is_qid), pc.match_substring_regex(msg, LOST_START)),
        "cannot": pc.and_(is_qid, pc.starts_with(rest, CANNOT_START)),
        "connect": pc.and_(
            pc.invert(is_qid),
            pc.and_(
                pc.match_substring_regex(msg, "^(?:dis)?connect from "),
                pc.invert(pc.match_substring(msg, "after STARTTLS from ")),
            ),
        ),
    }
    qid_known = pc.or_(
        pc.match_substring_regex(rest, r"^(?:to=|message-id=|from=<)"),
        pc.or_(pc.equal(rest, "removed"), pc.match_substring_regex(rest, QUEUE_OTHER)),
    )
    session_other = pc.or_(
        pc.match_substring_regex(msg, SESSION_STARTS),
        pc.match_substring_regex(msg, SESSION_WORDS),
    )
    quiet = pc.and_(ok, pc.if_else(is_qid, pc.invert(qid_known), pc.invert(session_other)))
    return candidates, quiet


def _after(
    texts: list[str], found: pa.Array, names: Sequence[str], extra: int, *, pid: bool = False
) -> list[str]:
    """Each of ``texts`` after what the pattern of ``found`` matched at its start, as
    ``pc.replace_substring_regex(..., "", max_replacements=1)`` gives it, without a second
    regex pass: the match is its ``names`` fields plus ``extra`` separator characters, plus
    ``[<pid>]`` when ``pid`` and that field is not empty, then one optional space (prefix
    lines; a queue id's ": " is in ``extra``). Lines ``found`` did not match are kept whole.
    """
    width = np.zeros(len(texts), dtype=np.int64)
    for name in names:
        width += pc.fill_null(pc.utf8_length(found.field(name)), 0).to_numpy(False)
    if pid:
        digits = pc.fill_null(pc.utf8_length(found.field("pid")), 0).to_numpy(False)
        width += np.where(digits > 0, digits + 2, 0)
    width += extra
    width[~pc.is_valid(found).to_numpy(False)] = 0
    if pid:
        return [
            t if k == 0 else t[k + 1 :] if t[k : k + 1] == " " else t[k:]
            for t, k in zip(texts, width.tolist(), strict=True)
        ]
    return [t[k:] for t, k in zip(texts, width.tolist(), strict=True)]
