"""Split a log line into its time stamp, host, program and pid, and the MTA's message.

Pure: the year of year-less stamps and the zone of zone-less stamps come in as parameters
(``PrefixContext``), never from the clock. Formats (shared reference log-formats.md §5):

* RFC 3164: ``Feb 18 09:45:12 xxx postfix/smtpd[42]: ...`` (fail2ban logs/postfix), day
  space-padded; Postfix ``maillog_file`` writes ``"%b %d %H:%M:%S "`` (src/util/msg_logger.c),
  day zero-padded; Solaris adds ``[ID 702911 mail.notice]`` after the tag.
* RFC 3339: ``2024-08-13T10:22:15.427801+02:00 bremen2 postfix/smtpd[373983]: ...``
  (animina#856); containers put a level column instead of the host:
  ``2023-11-30T15:34:29.638599+01:00 INFO    postfix/smtpd[422]: ...`` (docker-postfix#159);
  journald ``short-iso`` writes the offset without a colon (``+0100``, systemd#26639).
* RFC 5424: ``<30>1 2017-04-27T07:59:12+02:00 nextcloud dhclient - - -  DHCPREQUEST ...``
  (lnav src/formats/syslog_log.json).
* ``journalctl -o json``: ``__REALTIME_TIMESTAMP`` (µs), ``_HOSTNAME``, ``SYSLOG_IDENTIFIER``,
  ``_PID``/``SYSLOG_PID``, ``MESSAGE``.
* Exim mainlog: ``2016-03-21 06:38:05 [5718] no MAIL ...`` (fail2ban logs/exim), with optional
  ``.mmm`` and ``±hhmm`` (Exim spec, log_timezone and millisec selectors).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache

from analyzer.model.logs import LogLine

MONTHS = {
    m: i
    for i, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}


@dataclass(frozen=True, slots=True)
class PrefixContext:
    """What a stamp alone does not say.

    Attributes:
        origin: file the lines come from.
        reference: when the file was last written (rotation date in its name, else its
            modification time), aware; year-less stamps get the latest year that does not
            put them after this moment's month (pflogsumm ``guess_year`` rule).
        zone: the zone of stamps that carry none (RFC 3164, Exim without ``log_timezone``).
    """

    origin: str
    reference: datetime
    zone: tzinfo = UTC


# Syslog tag: ``postfix/submission/smtpd[1395622]:`` or ``sm-mta[7423]:`` (RFC 3164 §4.1.3).
_TAG = r"(?P<prog>[^\s\[\]:]{1,128})(?:\[(?P<pid>\d{1,10})\])?: ?"
_BSD = re.compile(
    r"(?P<mon>[A-Z][a-z]{2}) {1,2}(?P<day>\d{1,2}) (?P<h>\d\d):(?P<m>\d\d):(?P<s>\d\d)"
    r"(?:\.(?P<frac>\d{1,9}))? (?P<host>[^\s\[\]]{1,255}) " + _TAG
)
_LEVELS = r"(?:DEBUG|INFO|NOTICE|WARNING|WARN|ERROR|ERR|CRIT|ALERT|EMERG)"
_ISO = re.compile(
    r"(?P<y>\d{4})-(?P<mo>\d\d)-(?P<d>\d\d)T(?P<h>\d\d):(?P<m>\d\d):(?P<s>\d\d)"
    r"(?:[.,](?P<frac>\d{1,9}))?(?P<tz>Z|[+-]\d\d:?\d\d)? "
    r"(?:" + _LEVELS + r" {1,8}|(?P<host>[^\s\[\]]{1,255}) )" + _TAG
)
_RFC5424 = re.compile(
    r"<\d{1,3}>1 (?P<ts>\S{1,64}) (?P<host>\S{1,255}) (?P<prog>\S{1,128}) (?P<pid>\S{1,128}) "
    r"\S{1,32} "
)
_ISO_STAMP = re.compile(
    r"(?P<y>\d{4})-(?P<mo>\d\d)-(?P<d>\d\d)T(?P<h>\d\d):(?P<m>\d\d):(?P<s>\d\d)"
    r"(?:[.,](?P<frac>\d{1,9}))?(?P<tz>Z|[+-]\d\d:?\d\d)?$"
)
_EXIM = re.compile(
    r"(?P<y>\d{4})-(?P<mo>\d\d)-(?P<d>\d\d) (?P<h>\d\d):(?P<m>\d\d):(?P<s>\d\d)"
    r"(?:\.(?P<frac>\d{1,3}))?(?: (?P<tz>[+-]\d{4}))?(?: \[(?P<pid>\d{1,10})\])? "
)
# Exchange protocol logs: "2023-01-11T16:00:01.010Z,connector,session,..." (UTC, CSV)
_EXCHANGE = re.compile(
    r"(?P<y>\d{4})-(?P<mo>\d\d)-(?P<d>\d\d)T(?P<h>\d\d):(?P<m>\d\d):(?P<s>\d\d)"
    r"(?:\.(?P<frac>\d{1,9}))?Z,"
)
# Solaris syslog: ``sm-mta[29534]: [ID 702911 mail.notice] ruleset=...`` (log-formats.md §5).
_SOLARIS_ID = re.compile(r"\[ID \d{1,12} [a-z0-9]{1,16}\.[a-z]{1,8}\] ")


def _micro(frac: str | None) -> int:
    return int((frac or "0")[:6].ljust(6, "0"))


def _offset(text: str | None, zone: tzinfo) -> tzinfo | None:
    """The zone of an offset (``Z``, ``+01:00``, ``-0500``), ``zone`` for none; None for an
    offset no clock has (a day or more, as in a damaged ``+30:00``: its time is unreadable)."""
    if text is None:
        return zone
    if text == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return timezone(sign * delta) if delta < timedelta(hours=24) else None


def _aware(
    y: int, mo: int, d: int, h: int, mi: int, s: int, us: int, zone: tzinfo
) -> datetime | None:
    try:
        return datetime(y, mo, d, h, mi, s, us, tzinfo=zone).astimezone(UTC)
    except (ValueError, OverflowError):  # no such date; or before year 1 or after 9999 in UTC
        return None


def _matched_stamp(m: re.Match[str], micro: int, zone: tzinfo | None) -> datetime | None:
    """The stamp of a match with groups y, mo, d, h, m, s (all the ISO-like prefixes); None
    without a zone (an impossible offset)."""
    if zone is None:
        return None
    return _aware(
        int(m["y"]), int(m["mo"]), int(m["d"]), int(m["h"]), int(m["m"]), int(m["s"]), micro, zone
    )


def infer_year(month: int, day: int, reference: datetime) -> int:
    """The year of a year-less ``month day`` stamp in a file last written at ``reference``.

    A month after the reference month belongs to the year before (the file spans New Year);
    29 February goes back to the latest leap year not after that.
    """
    year = reference.year - 1 if month > reference.month else reference.year
    if month == 2 and day == 29:
        while not (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)):
            year -= 1
    return year


@lru_cache(maxsize=8192)
def _bsd_stamp(stamp: str, reference: datetime, zone: tzinfo) -> datetime | None:
    """UTC time of an RFC 3164 stamp such as ``Feb  1 03:52:19`` (cached: lines of one
    second share it)."""
    month = MONTHS.get(stamp[:3])
    if month is None:
        return None
    day_text, _, rest = stamp[4:].lstrip(" ").partition(" ")
    day = int(day_text)
    clock, _, frac = rest.partition(".")
    h, mi, sec = clock.split(":")
    return _aware(
        infer_year(month, day, reference),
        month,
        day,
        int(h),
        int(mi),
        int(sec),
        _micro(frac or None),
        zone,
    )


def _bsd(text: str, ctx: PrefixContext, line_no: int) -> LogLine | None:
    m = _BSD.match(text)
    if m is None or text[:3] not in MONTHS:
        return None
    ts = _bsd_stamp(text[: m.start("host") - 1], ctx.reference, ctx.zone)
    host, prog, pid = m.group("host", "prog", "pid")
    return _line(ctx, line_no, ts, host, prog, pid, text[m.end() :])


def _iso(text: str, ctx: PrefixContext, line_no: int) -> LogLine | None:
    m = _ISO.match(text)
    if m is None:
        return None
    ts = _matched_stamp(m, _micro(m["frac"]), _offset(m["tz"], ctx.zone))
    return _line(ctx, line_no, ts, m["host"] or "", m["prog"], m["pid"], text[m.end() :])


SD_LIMIT = 64  # most SD elements or escaped brackets scanned; the rest counts as message


def _structured_data_end(text: str, pos: int) -> int:
    """Index after RFC 5424 STRUCTURED-DATA starting at ``pos`` (``-`` or ``[..][..]``).

    Inside an element ``\\]`` is an escaped bracket (RFC 5424 §6.3.3); the scan jumps from
    bracket to bracket with ``str.find``, at most ``SD_LIMIT`` times.
    """
    if text.startswith("-", pos):
        return pos + 1
    i, n = pos, len(text)
    budget = SD_LIMIT
    while budget > 0 and i < n and text[i] == "[":
        close = text.find("]", i + 1)
        budget -= 1
        while close > 0 and text[close - 1] == "\\" and budget > 0:
            close = text.find("]", close + 1)
            budget -= 1
        if close < 0 or budget <= 0:
            return n
        i = close + 1
    return i


def _rfc5424(text: str, ctx: PrefixContext, line_no: int) -> LogLine | None:
    m = _RFC5424.match(text)
    if m is None:
        return None
    s = _ISO_STAMP.match(m["ts"])
    ts = None
    if s is not None:
        ts = _matched_stamp(s, _micro(s["frac"]), _offset(s["tz"], ctx.zone))
    end = _structured_data_end(text, m.end())
    msg = text[end:].removeprefix(" ").removeprefix("\ufeff")
    pid = m["pid"] if m["pid"].isdigit() else None
    host = "" if m["host"] == "-" else m["host"]
    return _line(ctx, line_no, ts, host, m["prog"], pid, msg)


def _journal_json(text: str, ctx: PrefixContext, line_no: int) -> LogLine | None:
    try:
        obj = json.loads(text)
    except ValueError:
        return None
    if not isinstance(obj, dict):
        return None
    message = obj.get("MESSAGE")
    if isinstance(message, list):  # journald exports non-UTF-8 messages as byte arrays
        message = bytes(b for b in message if isinstance(b, int) and 0 <= b < 256).decode(
            "utf-8", "replace"
        )
    stamp = str(obj.get("__REALTIME_TIMESTAMP", ""))
    if not isinstance(message, str) or not stamp.isdigit():
        return None
    try:
        ts: datetime | None = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(stamp))
    except OverflowError:  # past year 9999: an unreadable time
        ts = None
    pid = str(obj.get("_PID") or obj.get("SYSLOG_PID") or "")
    prog = str(obj.get("SYSLOG_IDENTIFIER") or obj.get("_COMM") or "")
    return _line(
        ctx,
        line_no,
        ts,
        str(obj.get("_HOSTNAME", "")),
        prog,
        pid if pid.isdigit() else None,
        message,
    )


def _exim(text: str, ctx: PrefixContext, line_no: int) -> LogLine | None:
    m = _EXIM.match(text)
    if m is None:
        return None
    frac = m["frac"]
    ts = _matched_stamp(m, int(frac) * 1000 if frac else 0, _offset(m["tz"], ctx.zone))
    return _line(ctx, line_no, ts, "", "exim", m["pid"], text[m.end() :])


def _exchange(text: str, ctx: PrefixContext, line_no: int) -> LogLine | None:
    m = _EXCHANGE.match(text)
    if m is None:
        return None
    ts = _matched_stamp(m, _micro(m["frac"]), UTC)
    return LogLine(ctx.origin, line_no, ts, "", "exchange", None, text[m.end() :])


def _line(
    ctx: PrefixContext,
    line_no: int,
    ts: datetime | None,
    host: str,
    prog: str,
    pid: str | None,
    msg: str,
) -> LogLine:
    if msg.startswith("[ID "):
        sm = _SOLARIS_ID.match(msg)
        if sm is not None:
            msg = msg[sm.end() :]
    return LogLine(ctx.origin, line_no, ts, host, prog, int(pid) if pid else None, msg)


def parse_prefix(text: str, ctx: PrefixContext, line_no: int) -> LogLine | None:
    """Read the prefix of one line (without its newline), or None when no format fits."""
    if not text:
        return None
    first = text[0]
    if first.isdigit():
        if len(text) > 10 and text[10] == "T":
            return _iso(text, ctx, line_no) or _exchange(text, ctx, line_no)
        return _exim(text, ctx, line_no)
    if first == "<":
        return _rfc5424(text, ctx, line_no)
    if first == "{":
        return _journal_json(text, ctx, line_no)
    return _bsd(text, ctx, line_no)
