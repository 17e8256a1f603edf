"""The library's entry points for mailboxes: sources -> parsers -> frames, streaming.

``read_mailbox`` returns the ``hops`` frame; ``load_mailbox`` returns every frame of the
mailbox side with the counts that prove nothing was lost. The library never prints: progress
goes through the ``progress`` callback.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, cast

import pandas as pd

from analyzer.frames.received import MESSAGE_INFO, hops_frame, issues_frame, messages_frame
from analyzer.frames.schema import FrameBuilder
from analyzer.model import Hop, IssueKind, ParseIssue, RawMessage, ReceivedHeader, clip
from analyzer.received import MAX_HEADER
from analyzer.received.chain import TrustPolicy, assemble
from analyzer.received.fields import parse_date
from analyzer.received.headerblock import split_headers
from analyzer.received.template import ReceivedParser
from analyzer.sources.mailbox import Progress, iter_messages

InputLike = str | os.PathLike[str] | BinaryIO


@dataclass(frozen=True)
class MailboxFrames:
    """Everything read from mailbox inputs.

    Attributes:
        hops: one row per Received header (see ``frames.received.HOPS``).
        messages: one row per message read, including messages without any transport header
            (status ``no-evidence``).
        issues: one row per message, header or file that could not be read, with a reason.
        messages_read: messages turned into rows of ``messages``.
        messages_lost: issues of unit ``message``: messages that could not be read at all.
        headers_read: Received headers turned into hop rows.
        headers_lost: Received headers that became issue rows instead.
    """

    hops: pd.DataFrame
    messages: pd.DataFrame
    issues: pd.DataFrame
    messages_read: int
    messages_lost: int
    headers_read: int
    headers_lost: int


class _Collector:
    """Streams hops to the frame builder while keeping per-message facts and issues."""

    def __init__(self, policy: TrustPolicy) -> None:
        self.policy = policy
        self.parser = ReceivedParser()
        self.info = FrameBuilder(MESSAGE_INFO, _same)
        self.issues: list[ParseIssue] = []
        self.headers_read = 0
        self.headers_lost = 0

    def hops(self, records: Iterable[RawMessage | ParseIssue]) -> Iterator[Hop]:
        for record in records:
            if isinstance(record, ParseIssue):
                self.issues.append(record)
                continue
            yield from self._message(record)

    def _message(self, msg: RawMessage) -> list[Hop]:
        fields = split_headers(msg.headers)
        source = msg.origin if msg.position == 0 else f"{msg.origin}:{msg.position}"
        parsed: list[ReceivedHeader] = []
        for n, value in enumerate(fields.received):
            if len(value) > MAX_HEADER:
                self.headers_lost += 1
                self.issues.append(
                    ParseIssue(
                        msg.origin,
                        msg.position,
                        IssueKind.OVERSIZED,
                        f"Received header {n + 1} (from the top) is {len(value)} characters, "
                        f"over the {MAX_HEADER} limit: not parsed",
                        clip(value, 200),
                        unit="header",
                    )
                )
                continue
            parsed.append(self.parser.parse(value))
        if fields.encoding_errors:
            self.issues.append(
                ParseIssue(
                    msg.origin,
                    msg.position,
                    IssueKind.ENCODING,
                    f"{fields.encoding_errors} header field(s) held invalid UTF-8 or bad "
                    "encoded words; replaced with U+FFFD",
                    unit="header",
                )
            )
        self.headers_read += len(parsed)
        self.info.add(
            (
                source,
                fields.message_id,
                parse_date(fields.date) if fields.date else None,
                _domain(fields.from_),
                len(fields.received),
                fields.encoding_errors,
            )
        )
        return assemble(source, fields.message_id, parsed, self.policy)


# The address of a From header: "Name <a@b>" or a bare "a@b" (RFC 5322 §3.4); only its domain
# is kept, so a simple scan replaces email.utils.parseaddr, ten times slower on this path.
_ANGLE_ADDRESS = re.compile(r"<([^<>\s]{1,320})>")
_BARE_ADDRESS = re.compile(r"[^\s<>,;:\"]{1,64}@[^\s<>,;:\"]{1,255}")


def _domain(address: str | None) -> str | None:
    if not address:
        return None
    m = _ANGLE_ADDRESS.search(address) or _BARE_ADDRESS.search(address)
    addr = m.group(m.lastindex or 0) if m else ""
    if "@" not in addr:
        return None
    return addr.rsplit("@", 1)[1].lower().strip(".") or None


def load_mailbox(
    inputs: InputLike | Iterable[InputLike],
    *,
    trusted_hosts: Iterable[str] = (),
    progress: Callable[[Progress], None] | None = None,
) -> MailboxFrames:
    """Read mailbox exports (mbox, .gz/.bz2/.xz, Maildir, .eml, .msg, stdin ``-``) into frames.

    ``trusted_hosts`` are shell-style patterns of the receiving organisation's hosts; without
    them the trust boundary is inferred from each message's top-most ``by`` host.
    """
    collector, hops = _read(inputs, trusted_hosts, progress)
    messages = messages_frame(hops, collector.info.finish())
    issues = issues_frame(collector.issues)
    lost = sum(1 for i in collector.issues if i.unit == "message")
    return MailboxFrames(
        hops=hops,
        messages=messages,
        issues=issues,
        messages_read=collector.info.rows,
        messages_lost=lost,
        headers_read=collector.headers_read,
        headers_lost=collector.headers_lost,
    )


def read_mailbox(
    inputs: InputLike | Iterable[InputLike],
    *,
    trusted_hosts: Iterable[str] = (),
    progress: Callable[[Progress], None] | None = None,
) -> pd.DataFrame:
    """The ``hops`` frame of mailbox exports: one row per Received header."""
    return _read(inputs, trusted_hosts, progress)[1]


def _read(
    inputs: InputLike | Iterable[InputLike],
    trusted_hosts: Iterable[str],
    progress: Callable[[Progress], None] | None,
) -> tuple[_Collector, pd.DataFrame]:
    collector = _Collector(TrustPolicy(tuple(trusted_hosts)))
    records = iter_messages(_as_list(inputs), progress=progress)
    return collector, hops_frame(collector.hops(records))


def _same(row: tuple[object, ...]) -> tuple[object, ...]:
    return row


def messages(hops: pd.DataFrame) -> pd.DataFrame:
    """One row per message of a ``hops`` frame (messages without hops are not in it: use
    ``load_mailbox(...).messages`` for the complete account)."""
    return messages_frame(hops)


def _as_list(inputs: InputLike | Iterable[InputLike]) -> list[InputLike]:
    if isinstance(inputs, str | os.PathLike):
        return [inputs]
    if hasattr(inputs, "read"):
        return [cast(BinaryIO, inputs)]
    return list(inputs)
