"""Small, MTA-neutral helpers for reading a lab log: split syslog lines, apply rule tables.

These are lab helpers for writing the manifest, not the project's log parsers: they only
need to understand the lines this lab's own runs produce, and they quote lines verbatim.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# Debian 12 rsyslog default file format (RSYSLOG_FileFormat, RFC 3339 stamps), as written
# in the lab's mail.log: "2026-11-27T21:24:47.028686+00:00 vm postfix/smtp[15061]: text".
_SYSLOG = re.compile(r"^(\S{1,40}) (\S{1,255}) ([^\s\[]{1,100})\[(\d{1,10})\]: (.*)$")


@dataclass(frozen=True, slots=True)
class SysLine:
    """One syslog line of the lab log.

    Attributes:
        raw: the line exactly as in the file (no newline).
        tag: the program tag, e.g. ``postfix/smtp`` or ``sm-mta``.
        pid: the process id.
        text: the message after ``tag[pid]: ``.
    """

    raw: str
    tag: str
    pid: str
    text: str


def syslog_lines(text: str) -> list[SysLine]:
    """The syslog-shaped lines of ``text`` (others are skipped)."""
    out = []
    for raw in text.splitlines():
        m = _SYSLOG.match(raw)
        if m:
            out.append(SysLine(raw, m.group(3), m.group(4), m.group(5)))
    return out


@dataclass(frozen=True, slots=True)
class Rule:
    """Log text that supports one failure category.

    Attributes:
        pattern: a substring or regex searched in the line text.
        category: the failure category it supports.
        source: where the text comes from (MTA source file or lab observation).
    """

    pattern: str
    category: str
    source: str


# Lab host and mailbox names (e.g. user@self-signed.opp.lab.test) would match the rules.
# Message-IDs carry the scenario id, so every token with an "@" is blanked as well.
_LAB_NAME = re.compile(r"[^\s<>]{0,300}@[^\s<>]{0,300}|[\w.+-]{0,100}\.lab\.test")


def first_category(rules: Sequence[Rule], lines: Iterable[str]) -> tuple[str | None, str | None]:
    """The category of the first rule (in table order) that matches any line, and that line.

    Lab names are blanked before matching, so only the MTA's own words count.
    """
    texts = [(_LAB_NAME.sub("<lab-name>", text), text) for text in lines]
    for rule in rules:
        rx = re.compile(rule.pattern)
        for scrubbed, text in texts:
            if rx.search(scrubbed):
                return rule.category, text
    return None, None


# A general category that the log supports when it cannot tell the specific one.
GENERAL_OF: dict[str, frozenset[str]] = {
    "certificate-unverified": frozenset({
        "certificate-expired", "certificate-not-yet-valid", "certificate-self-signed",
        "certificate-not-trusted", "certificate-host-mismatch", "certificate-revoked",
    }),
    # Exim's "a TLS session is required, but an attempt to start TLS failed" also covers
    # a STARTTLS answered with 454, so a refused STARTTLS can surface only as this.
    "handshake-failure": frozenset({
        "protocol-version-mismatch", "no-shared-cipher", "connection-lost",
        "handshake-timeout", "peer-rejected-our-certificate", "starttls-rejected",
    }),
}


def unique(lines: Iterable[str]) -> tuple[str, ...]:
    """Lines in first-seen order without repeats."""
    seen: dict[str, None] = {}
    for line in lines:
        seen.setdefault(line, None)
    return tuple(seen)


def mailbox_message(mbox_text: str, subject: str) -> list[str]:
    """The header lines of the message whose Subject is ``subject`` (empty if absent)."""
    blocks = re.split(r"(?m)^(?=From \S)", mbox_text)
    for block in blocks:
        head = block.split("\n\n", 1)[0]
        if f"\nSubject: {subject}\n" in head + "\n":
            return head.splitlines()
    return []


def first_header(header_lines: Sequence[str], name: str) -> tuple[str, ...]:
    """The first header ``name`` with its continuation lines, verbatim."""
    out: list[str] = []
    for line in header_lines:
        if out:
            if line[:1] in (" ", "\t"):
                out.append(line)
                continue
            break
        if line.lower().startswith(name.lower() + ":"):
            out.append(line)
    return tuple(out)
