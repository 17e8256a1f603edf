"""Line assembly before the dialects read a line: Exim's split syslog lines are joined, and
the lines in which the logging system says that lines are missing become gap issues.

Pure: text in, items out; no I/O and no clock. One ``Assembler`` per file, so parts never
join across files, with bounded state (``MAX_OPEN`` split lines, ``MAX_PARTS`` parts and
``SET_LIMIT`` characters each).

Exim, src/src/log.c, function ``write_syslog`` (Exim/exim 00392be0): in syslog mode a log
line is cut at each embedded newline and, unless Exim was built with ``SYSLOG_LONG_LINES``,
every ``MAX_SYSLOG_LEN`` (870) characters. When that gives more than one piece, each is sent
as ``syslog(priority, "[%d%c%d] %.*s", i, c, linecount, plen, ss)``: part ``i`` of
``linecount``, where ``c`` is a backslash when the piece ended at an embedded newline and
more follows, and ``/`` otherwise. A ``/`` piece runs straight on into the next (the cut fell
inside the text); a backslash piece was followed by the newline that ``write_syslog``
skipped, which the join puts back. A line short enough and without newlines gets no marker.
The pieces are written one after the other by the same process, so they share host, tag and
pid and come in order 1..m, though other processes' lines may come in between. Part lengths
are not checked: Exim counts bytes, we count characters, and syslog daemons escape control
characters.

Gap lines (checklist item 12 of shared reference log-formats.md), each one issue of kind
``GAP``:

* syslogd ``"last message repeated %d times"`` (BSD syslogd.c ``fprintlog``; real line
  ``Dec  9 16:11:29 ozob last message repeated 4 times``, a linux-kernel list post) and the
  rsyslog runtime/ratelimit.c ``" message repeated %d times: [%.800s]"`` (real line
  ``Sep 10 22:41:37 TheMothership whoopsie[1036]: message repeated 3 times: [ offline]``);
* rsyslog imuxsock, older releases: ``imuxsock begins to drop messages from pid 2918 due to
  rate-limiting`` and ``imuxsock lost 56 messages from pid 2918 due to rate-limiting``
  (real lines, tag ``rsyslogd-2177``); rsyslog runtime/ratelimit.c (022c1d1d) since:
  ``"%s: begin to drop messages due to rate-limiting"`` and
  ``"%s: %u messages lost due to rate-limiting"`` (real line ``rsyslogd-2177: imjournal: 236
  messages lost due to rate-limiting``; newer releases append ``(20000 allowed within 300
  seconds)`` or a ``[v8... try https://www.rsyslog.com/e/2177 ]`` note);
* journald src/journal/journald-server.c ``"Suppressed %u messages from %s"`` (real line
  ``Jun 29 14:51:17 mymachine systemd-journald[346]: Suppressed 4150 messages from
  /system.slice/docker.service``; older releases tag it ``systemd-journal``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from analyzer.logs.prefix import PrefixContext, parse_prefix
from analyzer.logs.registry import dialect_for
from analyzer.model.common import IssueKind, ParseIssue, clip
from analyzer.model.logs import LogLine, Mta

MAX_OPEN = 64  # split lines waiting for parts at once, per file
MAX_PARTS = 64  # parts of one split line
SET_LIMIT = 65536  # characters of one split line's parts
_MARK = re.compile(r"\[(?P<i>\d{1,4})(?P<c>[/\\])(?P<m>\d{1,4})\] ")  # log.c "[%d%c%d] "
_JOIN = {"/": "", "\\": "\n"}

_LAST_REPEATED = re.compile(r" (?:--- )?last message repeated (?P<n>\d{1,12}) times?(?: ---)? *$")
FOLDED_HINT = "message repeated "  # on every folded-repeat line


def _any(_: str) -> bool:
    return True


def _rsyslog(program: str) -> bool:
    return "rsyslogd" in program  # rsyslogd, rsyslogd-2177 (older releases add the error code)


def _journald(program: str) -> bool:
    return program.startswith("systemd-journal")  # systemd-journald; systemd-journal before


# Gap lines by tag: (which tags, message pattern, reason; {prog} is the tag). Each pattern
# is anchored and has bounded quantifiers.
GAPS: tuple[tuple[Callable[[str], bool], re.Pattern[str], str], ...] = (
    (_any, re.compile(r"(?:last )?message repeated (?P<n>\d{1,12}) times"),
     "syslog folded {n} repeats of a {prog} line; they are not expanded"),
    (_rsyslog, re.compile(r"imuxsock begins to drop messages from pid (?P<pid>\d{1,10}) "),
     "rsyslog began dropping messages from pid {pid} (rate limiting)"),
    (_rsyslog, re.compile(r"imuxsock lost (?P<n>\d{1,12}) messages from pid (?P<pid>\d{1,10}) "),
     "rsyslog lost {n} messages from pid {pid} (rate limiting)"),
    (_rsyslog, re.compile(r"(?P<name>.{1,300}?): begin to drop messages due to rate-limiting"),
     "rsyslog {name} began dropping messages (rate limiting)"),
    (_rsyslog,
     re.compile(r"(?P<name>.{1,300}?): (?P<n>\d{1,12}) messages lost due to rate-limiting"),
     "rsyslog {name} lost {n} messages (rate limiting)"),
    (_journald, re.compile(r"Suppressed (?P<n>\d{1,12}) messages from (?P<unit>.{1,500})"),
     "journald suppressed {n} messages from {unit}"),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Logical:
    """A logical line to read in place of the physical lines it stands for.

    Attributes:
        line_no: the number of its first physical line.
        text: the text to read: the parts joined under the first part's prefix.
        lines: the physical lines it stands for.
    """

    line_no: int
    text: str
    lines: int


Item = Logical | ParseIssue


@dataclass(slots=True)
class _Open:
    """The parts of one split line read so far (``parts``: line number, text, where the
    part's body starts in it, and how it ends)."""

    total: int
    parts: list[tuple[int, str, int, str]] = field(default_factory=list)
    size: int = 0


Key = tuple[str, str, int | None]


def _with_message(text: str, line: LogLine, message: str) -> str:
    """``text`` (whose message is ``line.message``) with ``message`` as its message."""
    if text.endswith(line.message):
        return text[: len(text) - len(line.message)] + message
    try:  # journalctl -o json: the message is a field, not a suffix of the line
        obj = json.loads(text)
    except ValueError:
        return text
    obj["MESSAGE"] = message
    return json.dumps(obj, ensure_ascii=False)


def _gap_of_tagged(line: LogLine) -> str | None:
    for tags, pattern, reason in GAPS:
        if tags(line.program):
            m = pattern.match(line.message)
            if m is not None:
                return reason.format(prog=line.program, **m.groupdict())
    return None


def gap_reason(text: str, ctx: PrefixContext, line_no: int) -> str | None:
    """Why line ``text`` says that lines are missing, or None when it does not."""
    at = text.find(" last message repeated ")
    if 0 <= at <= 300:
        m = _LAST_REPEATED.match(text, at)
        if m is not None:
            n = m["n"]
            return f"syslog folded {n} repeats of the previous line; they are not expanded"
    line = parse_prefix(text, ctx, line_no)
    return _gap_of_tagged(line) if line is not None else None


def _maybe_gap(text: str) -> bool:
    return FOLDED_HINT in text or "rate-limiting" in text or "Suppressed " in text


def _is_exim(program: str) -> bool:
    dialect = dialect_for(program)
    return dialect is not None and dialect.mta is Mta.EXIM


@dataclass(slots=True)
class Assembler:
    """Joins the split Exim lines of one file and recognises its gap lines.

    Attributes:
        ctx: the file's prefix context.
        is_exim: which syslog tags belong to Exim (the registry's Exim dialect).
    """

    ctx: PrefixContext
    is_exim: Callable[[str], bool] = _is_exim
    _open: dict[Key, _Open] = field(default_factory=dict)

    def push(self, line_no: int, text: str) -> list[Item] | None:
        """Take one physical line. None: read it as it is (the usual case). Else the items to
        read or record in its place: nothing while a split line waits for parts, the
        joined line when its last part comes, issues for parts that cannot be joined."""
        if ": [" in text or (text[:1] == "{" and '"[' in text):  # syslog text, journal JSON
            out = self._part(line_no, text)
            if out is not None:
                return out
        if _maybe_gap(text):
            reason = gap_reason(text, self.ctx, line_no)
            if reason is not None:
                return [self._issue(line_no, text, IssueKind.GAP, reason)]
        return None

    def finish(self) -> list[ParseIssue]:
        """Issues for the parts of split lines still waiting at the end of the file."""
        out: list[ParseIssue] = []
        for key in list(self._open):
            out.extend(self._abandon(key, "the file ended"))
        return out

    def _part(self, line_no: int, text: str) -> list[Item] | None:
        line = parse_prefix(text, self.ctx, line_no)
        if line is None or not line.message.startswith("["):
            return None
        m = _MARK.match(line.message)
        if m is None or not self.is_exim(line.program):
            return None
        i, total = int(m["i"]), int(m["m"])
        if total < 2 or not 1 <= i <= total:
            return None  # log.c numbers parts 1..m, m > 1: not a marker of it
        key = (line.host, line.program, line.pid)
        start = len(text) - len(line.message) + m.end() if text.endswith(line.message) else -1
        part = (line_no, text, start, m["c"])
        out: list[Item] = []
        waiting = self._open.get(key)
        if waiting is not None and (waiting.total != total or len(waiting.parts) + 1 != i):
            out.extend(self._abandon(key, f"the next part of this process was [{m[0][1:-2]}]"))
            waiting = None
        if waiting is None:
            if i != 1:
                why = "without the parts before it (missing, or out of order)"
                return [*out, self._part_issue(part, i, total, why)]
            if total > MAX_PARTS:
                why = f"over {MAX_PARTS} parts, not joined"
                return [*out, self._part_issue(part, i, total, why, IssueKind.OVERSIZED)]
            if len(self._open) >= MAX_OPEN:
                oldest = min(self._open, key=lambda k: self._open[k].parts[0][0])
                out.extend(self._abandon(oldest, f"over {MAX_OPEN} split lines were open"))
            waiting = self._open[key] = _Open(total)
        waiting.parts.append(part)
        waiting.size += len(text)
        if waiting.size > SET_LIMIT:
            out.extend(self._abandon(key, f"over {SET_LIMIT} characters", IssueKind.OVERSIZED))
        elif i == total:
            out.append(self._join(self._open.pop(key), line))
        return out

    def _join(self, done: _Open, last: LogLine) -> Logical:
        first_no, first_text, _, _ = done.parts[0]
        pieces: list[str] = []
        for _, text, start, end in done.parts:
            pieces.append(text[start:] if start >= 0 else _message(text, self.ctx))
            pieces.append(_JOIN[end])
        pieces.pop()  # the last part's "/" ends the line
        first = parse_prefix(first_text, self.ctx, first_no) or last
        text = _with_message(first_text, first, "".join(pieces))
        return Logical(first_no, text, len(done.parts))

    def _abandon(
        self, key: Key, why: str, kind: IssueKind = IssueKind.TRUNCATED
    ) -> list[ParseIssue]:
        gone = self._open.pop(key)
        missing = len(gone.parts) + 1
        reason = f"part {missing} did not follow ({why})"
        return [
            self._part_issue(part, n, gone.total, reason, kind)
            for n, part in enumerate(gone.parts, 1)
        ]

    def _part_issue(
        self,
        part: tuple[int, str, int, str],
        i: int,
        total: int,
        why: str,
        kind: IssueKind = IssueKind.TRUNCATED,
    ) -> ParseIssue:
        reason = f"part {i} of {total} of an Exim syslog line split by log.c, {why}"
        return self._issue(part[0], part[1], kind, reason)

    def _issue(self, line_no: int, text: str, kind: IssueKind, reason: str) -> ParseIssue:
        return ParseIssue(self.ctx.origin, line_no, kind, reason, clip(text), unit="line")


def _message(text: str, ctx: PrefixContext) -> str:
    """The message of a part whose message is not a suffix of its line (journal JSON), with
    its part marker."""
    line = parse_prefix(text, ctx, 0)
    if line is None:
        return ""
    m = _MARK.match(line.message)
    return line.message[m.end() :] if m is not None else line.message
