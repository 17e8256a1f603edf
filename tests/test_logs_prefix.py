"""Line prefixes: every stamp shape of log-formats.md §5, year inference, zones."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from analyzer.logs.prefix import PrefixContext, infer_year, parse_prefix
from analyzer.model.logs import LogLine

REF = datetime(2024, 12, 1, tzinfo=UTC)
CTX = PrefixContext("f", REF)


def _utc(*a: int) -> datetime:
    return datetime(*a, tzinfo=UTC)  # type: ignore[misc]


CASES = [
    # RFC 3164, space-padded day (fail2ban logs/postfix)
    ("Feb 18 09:45:12 xxx postfix/smtpd[42]: lost connection after STARTTLS from x[192.0.2.42]",
     LogLine("f", 1, _utc(2024, 2, 18, 9, 45, 12), "xxx", "postfix/smtpd", 42,
             "lost connection after STARTTLS from x[192.0.2.42]")),
    ("Sep  4 14:06:43 redmail postfix/submission/smtpd[1395622]: Anonymous TLS",
     LogLine("f", 1, _utc(2024, 9, 4, 14, 6, 43), "redmail", "postfix/submission/smtpd",
             1395622, "Anonymous TLS")),
    # Postfix maillog_file, zero-padded day (src/util/msg_logger.c "%b %d %H:%M:%S ")
    ("Mar 04 10:00:00 mx postfix/smtp[7]: x",
     LogLine("f", 1, _utc(2024, 3, 4, 10, 0, 0), "mx", "postfix/smtp", 7, "x")),
    # single-digit day with one space (blog.jj5.net)
    ("Feb 1 03:52:19 sixsigma postfix/smtp[8555]: Host offered STARTTLS: [127.0.0.1]",
     LogLine("f", 1, _utc(2024, 2, 1, 3, 52, 19), "sixsigma", "postfix/smtp", 8555,
             "Host offered STARTTLS: [127.0.0.1]")),
    # RFC 3339 with microseconds and offset (animina#856)
    ("2024-08-13T10:22:15.427801+02:00 bremen2 postfix/smtpd[373983]: connect from localhost[127.0.0.1]",
     LogLine("f", 1, _utc(2024, 8, 13, 8, 22, 15, 427801), "bremen2", "postfix/smtpd", 373983,
             "connect from localhost[127.0.0.1]")),
    # container level column, no host (docker-postfix#159)
    ("2023-11-30T15:34:29.638599+01:00 INFO    postfix/smtpd[422]: connect from php8.mail[192.168.93.2]",
     LogLine("f", 1, _utc(2023, 11, 30, 14, 34, 29, 638599), "", "postfix/smtpd", 422,
             "connect from php8.mail[192.168.93.2]")),
    # journald short-iso: offset without colon (systemd#26639)
    ("2024-01-05T10:00:01+0100 mx postfix/smtp[9]: y",
     LogLine("f", 1, _utc(2024, 1, 5, 9, 0, 1), "mx", "postfix/smtp", 9, "y")),
    # RFC 5424 with PRI, NILVALUE MSGID and SD (lnav syslog_log.json sample shape)
    ("<30>1 2017-04-27T07:59:12+02:00 nextcloud dhclient - - -  DHCPREQUEST on eth0",
     LogLine("f", 1, _utc(2017, 4, 27, 5, 59, 12), "nextcloud", "dhclient", None,
             " DHCPREQUEST on eth0")),
    ('<22>1 2024-01-05T10:00:01Z mx postfix/smtp 1234 - [meta sequenceId="1" x="a\\]b"] z',
     LogLine("f", 1, _utc(2024, 1, 5, 10, 0, 1), "mx", "postfix/smtp", 1234, "z")),
    # Exim mainlog (fail2ban logs/exim), with pid
    ("2016-03-21 06:38:05 [5718] no MAIL in SMTP connection",
     LogLine("f", 1, _utc(2016, 3, 21, 6, 38, 5), "", "exim", 5718, "no MAIL in SMTP connection")),
    # Exim with millisec and log_timezone
    ("2024-09-07 01:34:11.123 +0200 1smkL5-00000000e65-24eQ Completed",
     LogLine("f", 1, _utc(2024, 9, 6, 23, 34, 11, 123000), "", "exim", None,
             "1smkL5-00000000e65-24eQ Completed")),
    # Solaris "[ID n fac.lvl]" is stripped (brandonhutchinson.com)
    ("Jan  2 19:58:51 MTA sm-mta[29534]: [ID 702911 mail.notice] ruleset=tls_server, arg1=SOFTWARE",
     LogLine("f", 1, _utc(2024, 1, 2, 19, 58, 51), "MTA", "sm-mta", 29534,
             "ruleset=tls_server, arg1=SOFTWARE")),
    # journalctl -o json
    ('{"__REALTIME_TIMESTAMP":"1704448801000000","_HOSTNAME":"mx","SYSLOG_IDENTIFIER":'
     '"postfix/smtp","_PID":"77","MESSAGE":"Trusted TLS"}',
     LogLine("f", 1, _utc(2024, 1, 5, 10, 0, 1), "mx", "postfix/smtp", 77, "Trusted TLS")),
]  # fmt: skip


@pytest.mark.parametrize(("text", "want"), CASES, ids=[str(i) for i in range(len(CASES))])
def test_prefix(text: str, want: LogLine) -> None:
    assert parse_prefix(text, CTX, 1) == want


@pytest.mark.parametrize(
    ("text", "reference", "year"),
    [
        # a December line in a file last written in January: previous year (pflogsumm rule)
        ("Dec 31 23:59:59 h postfix/smtp[1]: x", datetime(2025, 1, 1, 0, 5, tzinfo=UTC), 2024),
        ("Jan  1 00:00:01 h postfix/smtp[1]: x", datetime(2025, 1, 1, 0, 5, tzinfo=UTC), 2025),
        # 29 February goes to the latest leap year
        ("Feb 29 12:00:00 h postfix/smtp[1]: x", datetime(2025, 3, 10, tzinfo=UTC), 2024),
        ("Feb 29 12:00:00 h postfix/smtp[1]: x", datetime(2024, 3, 10, tzinfo=UTC), 2024),
        ("Feb 29 12:00:00 h postfix/smtp[1]: x", datetime(2101, 3, 1, tzinfo=UTC), 2096),
    ],
)
def test_year_inference(text: str, reference: datetime, year: int) -> None:
    line = parse_prefix(text, PrefixContext("f", reference), 1)
    assert line is not None
    assert line.timestamp is not None
    assert line.timestamp.year == year


def test_infer_year_is_pure() -> None:
    assert infer_year(11, 5, datetime(2026, 2, 1, tzinfo=UTC)) == 2025
    assert infer_year(2, 1, datetime(2026, 2, 1, tzinfo=UTC)) == 2026


def test_zone_applies_to_zoneless_stamps_only() -> None:
    ctx = PrefixContext("f", REF, ZoneInfo("Europe/Berlin"))
    local = parse_prefix("Jul 24 04:38:17 mail postfix/smtp[1]: x", ctx, 1)
    assert local is not None
    assert local.timestamp == _utc(2024, 7, 24, 2, 38, 17)
    winter = parse_prefix("2016-03-21 06:38:05 x", ctx, 1)
    assert winter is not None
    assert winter.timestamp == _utc(2016, 3, 21, 5, 38, 5)
    stamped = parse_prefix("2024-08-13T10:22:15+02:00 h postfix/smtpd[1]: x", ctx, 1)
    assert stamped is not None
    assert stamped.timestamp == _utc(2024, 8, 13, 8, 22, 15)


@pytest.mark.parametrize(
    "text",
    ["", "garbage", "Foo 12 10:00:00 h p[1]: x", "Feb 30 10:00:00 h p[1]: x", "{not json",
     "<13>1 - - - - - -", "2024-13-45 99:99:99 x", "[]"],
)  # fmt: skip
def test_unreadable_prefixes(text: str) -> None:
    line = parse_prefix(text, CTX, 1)
    assert line is None or line.timestamp is None


@pytest.mark.parametrize("offset", ["+30:00", "-24:00", "+2399", "+23:60", "-99:99"])
def test_impossible_offsets_give_no_time(offset: str) -> None:
    """An offset of a day or more (a damaged line) is no zone: the line keeps its host, tag
    and message, its time is unreadable; the next offset under a day still reads."""
    text = f"2026-11-27T21:28:44.443482{offset} vm postfix/smtp[29169]: x"
    line = parse_prefix(text, CTX, 7)
    assert line is not None
    assert (line.timestamp, line.host, line.program, line.pid, line.message) == (
        None, "vm", "postfix/smtp", 29169, "x",
    )  # fmt: skip
    ok = parse_prefix("2026-11-27T21:28:44+23:59 vm postfix/smtp[1]: x", CTX, 1)
    assert ok is not None
    assert ok.timestamp == _utc(2026, 11, 26, 21, 29, 44)


@pytest.mark.parametrize(
    "text",
    [
        "0001-01-01T00:00:00+05:00 vm postfix/smtp[1]: x",  # before year 1 in UTC
        "9999-12-31T23:59:59-05:00 vm postfix/smtp[1]: x",  # after year 9999 in UTC
        '{"MESSAGE": "x", "__REALTIME_TIMESTAMP": "99999999999999999999999", '
        '"SYSLOG_IDENTIFIER": "postfix/smtp", "_PID": "1"}',  # journald, past year 9999
    ],
)
def test_times_outside_the_calendar_give_no_time(text: str) -> None:
    line = parse_prefix(text, CTX, 1)
    assert line is not None
    assert (line.timestamp, line.program, line.pid, line.message) == (
        None, "postfix/smtp", 1, "x",
    )  # fmt: skip
