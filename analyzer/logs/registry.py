"""The table of MTA dialects, keyed by ``Mta``, and the pure read of one line.

A new dialect is one module with ``parse(line, raw)`` plus one row in ``DIALECTS``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from functools import lru_cache

from analyzer.logs import exchange, exim, opensmtpd, postfix, sendmail
from analyzer.logs.prefix import PrefixContext, parse_prefix
from analyzer.model.common import IssueKind, ParseIssue, clip
from analyzer.model.logs import LogLine, Mta, TlsEvent

MESSAGE_LIMIT = 16384  # characters of a message the dialects read
Parser = Callable[[LogLine, str], TlsEvent | ParseIssue | None]


@dataclass(frozen=True, slots=True)
class Dialect:
    """One MTA's grammar.

    Attributes:
        mta: the MTA.
        programs: syslog tags (without pid) written by this MTA.
        tag_prefixes: tag prefixes written by this MTA (``postfix`` covers
            ``postfix/submission/smtpd`` and ``postfix-in/smtpd``).
        parse: line -> event, issue, or None when the line says nothing we use.
    """

    mta: Mta
    programs: frozenset[str]
    tag_prefixes: tuple[str, ...]
    parse: Parser


DIALECTS: dict[Mta, Dialect] = {
    # Postfix syslog_name values: postfix/..., postfix-in/... (log-formats.md §2.1.1)
    Mta.POSTFIX: Dialect(Mta.POSTFIX, frozenset(), ("postfix",), postfix.parse),
    # Exim mainlog lines get tag "exim" from prefix.py; syslog mode uses exim/exim4 (§2.2.1)
    Mta.EXIM: Dialect(Mta.EXIM, frozenset({"exim", "exim4"}), (), exim.parse),
    # sendmail / sm-mta / sm-msp-queue (log-formats.md §2.3 real lines)
    Mta.SENDMAIL: Dialect(
        Mta.SENDMAIL, frozenset({"sendmail", "sm-mta", "sm-msp-queue"}), (), sendmail.parse
    ),
    # OpenSMTPD logs as "smtpd[pid]:" (log-formats.md §2.5 real lines)
    Mta.OPENSMTPD: Dialect(Mta.OPENSMTPD, frozenset({"smtpd"}), (), opensmtpd.parse),
    # Exchange protocol-log rows get tag "exchange" from prefix.py (log-formats.md §2.4)
    Mta.EXCHANGE: Dialect(Mta.EXCHANGE, frozenset({"exchange"}), (), exchange.parse),
}


@lru_cache(maxsize=4096)
def dialect_for(program: str) -> Dialect | None:
    """The dialect whose MTA writes syslog tag ``program``, or None."""
    for dialect in DIALECTS.values():
        if program in dialect.programs or program.startswith(dialect.tag_prefixes or ("\0",)):
            return dialect
    return None


class LineResult(StrEnum):
    """What became of one line: every line is exactly one of these ("nothing lost")."""

    PARSED = "parsed"  # an event
    UNRELATED = "unrelated"  # readable, but says nothing about TLS or deliveries
    ISSUE = "issue"  # could not be read


def read_line(
    text: str, ctx: PrefixContext, line_no: int
) -> tuple[LineResult, TlsEvent | ParseIssue | None]:
    """Prefix, dialect and event of one line, with its accounting."""
    line = parse_prefix(text, ctx, line_no)
    if line is None:
        if not text.strip() or text.startswith("#"):
            # blank lines; "#Software:", "#Fields:" headers of Exchange logs
            return LineResult.UNRELATED, None
        issue = ParseIssue(
            ctx.origin,
            line_no,
            IssueKind.MALFORMED,
            "no known log prefix (syslog, RFC 3339/5424, journald, Exim)",
            clip(text, 2000),
            unit="line",
        )
        return LineResult.ISSUE, issue
    dialect = dialect_for(line.program)
    if dialect is None:
        return LineResult.UNRELATED, None
    if len(line.message) > MESSAGE_LIMIT:
        # no MTA writes fields this far in; reading further only costs time (10 ms budget)
        line = replace(line, message=line.message[:MESSAGE_LIMIT])
    try:
        result = dialect.parse(line, text)
    except Exception as exc:  # the one guarded boundary: a parser bug loses one line, as an issue
        issue = ParseIssue(
            ctx.origin,
            line_no,
            IssueKind.PARSER_BUG,
            f"{line.program} line could not be read: {exc!r}",
            clip(text, 2000),
            unit="line",
        )
        return LineResult.ISSUE, issue
    if result is None:
        return LineResult.UNRELATED, None
    if isinstance(result, ParseIssue):
        return LineResult.ISSUE, result
    return LineResult.PARSED, result
