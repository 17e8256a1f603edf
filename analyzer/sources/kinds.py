"""What an input is, told from its first bytes: never from its name.

The report command mixes mailboxes and logs on one command line, so the rule that says
"this is a mailbox" must be strict enough that no log format passes it:

* magic numbers (table ``_MAGIC``) for containers and compressed streams;
* an mbox starts with a separator line (``is_separator_line``);
* an RFC 5322 message starts with a header field whose name begins with a letter, and one of
  the first header fields is a field every message carries (``_MESSAGE_FIELDS``). Syslog
  lines (``Nov 24 ...``), W3C/Exchange tracking logs (``#Software: ...``), JSON lines and
  CSV do not pass: their first token has a space, a ``#`` or a ``{`` before any colon, or
  none of the fields follows.
"""

from __future__ import annotations

import re
from enum import StrEnum


class InputKind(StrEnum):
    """The kind of one input, as ``detect_kind`` tells it from content."""

    MBOX = "mbox"
    EML = "eml"
    MAILDIR = "maildir"
    DIRECTORY = "directory"
    MSG = "msg"
    PST = "pst"
    GZIP = "gzip"
    BZIP2 = "bzip2"
    XZ = "xz"
    ZSTD = "zstd"
    ZIP = "zip"
    TAR = "tar"
    OTHER = "other"

    @property
    def is_mailbox(self) -> bool:
        """True for the kinds ``iter_messages`` reads messages from (compressed: see content)."""
        return self in _MAILBOX_KINDS

    @property
    def is_compressed(self) -> bool:
        """True for a compressed stream whose content decides what it is."""
        return self in _COMPRESSED_KINDS


_MAILBOX_KINDS = frozenset(
    {InputKind.MBOX, InputKind.EML, InputKind.MAILDIR, InputKind.MSG, InputKind.PST}
)
_COMPRESSED_KINDS = frozenset({InputKind.GZIP, InputKind.BZIP2, InputKind.XZ})

# Magic numbers: RFC 1952 (gzip), bzip2 "BZh", xz file format spec 2.1.1.1, RFC 8878 (zstd),
# PKZIP APPNOTE 4.3.7 (local file header), [MS-CFB] 2.2 header signature (OLE compound
# file: Outlook .msg), [MS-PST] 2.2.2.6 HEADER dwMagic "!BDN".
_MAGIC: tuple[tuple[bytes, InputKind], ...] = (
    (b"\x1f\x8b", InputKind.GZIP),
    (b"BZh", InputKind.BZIP2),
    (b"\xfd7zXZ\x00", InputKind.XZ),
    (b"\x28\xb5\x2f\xfd", InputKind.ZSTD),
    (b"PK\x03\x04", InputKind.ZIP),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", InputKind.MSG),
    (b"!BDN", InputKind.PST),
)
# POSIX ustar header: "ustar" at offset 257.
_TAR_MAGIC_AT = 257

_WEEKDAYS = rb"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_MONTHS = rb"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"

# The separator rule. A line is a message separator only if it is
#   "From " + a sender token (no leading blank) + ... + weekday month day + ... + hh:mm
# and carries a 4-digit year. Real forms it accepts:
#   classic asctime  "From stephen.marquard@uct.ac.za Sat Jan  5 09:14:16 2008"
#                    (py4e mbox-short.txt, quoted in received-formats.md §3.8)
#   Google Takeout   "From 1545668983435175434@xxx Fri Sep 16 22:26:51 +0000 2016"
#                    (meh/rust-mailbox issue #2; DirectoryTree/ImapEngine PR #44)
#   older Takeout    "From 1457861861978585811@xxx Tue Jan 21 05:30:14 2014"
#   Thunderbird      "From - Tue Oct 10 12:34:56 2023"
#   ImportExportTools "From - no-reply@cc.yahoo-inc.com  Mon Oct 16 2023 16:18:56 GMT-0700"
#                    (thunderbird/import-export-tools-ng issue #455)
# A body line of an mboxo file that merely begins with "From " ("From the old days ...")
# has no weekday-month-day-time run and is body text, not a separator. Bounded quantifiers
# only: the line is at most _MAX_SEPARATOR bytes, so matching is linear and short.
_SEPARATOR = re.compile(
    rb"From [^ \t\r\n][^\r\n]{0,512}? "
    + _WEEKDAYS
    + rb" +"
    + _MONTHS
    + rb" +[0-9]{1,2} [^\r\n]{0,40}?[0-9]{1,2}:[0-9]{2}"
)
_YEAR = re.compile(rb"(?<![0-9])(?:19|20)[0-9]{2}(?![0-9])")
MAX_SEPARATOR = 1024
"""The longest line that can be a separator; longer ``From `` lines are body text."""

# Dateless separators: some exports write "From " with no date at all ("From -", "From ",
# thunderbird/import-export-tools-ng issue #215: "even the '-' was missing in some cases";
# apache/ponymail issue #190: "From " alone). Such a line is a separator only in context:
# at most one word after "From", an empty line (or the start of input) before it, and a
# header field right after it (``scan`` checks the context). Prose ("From the team:") has
# two words or more and is never taken.
_BARE_SEPARATOR = re.compile(rb"From(?: +[^ \t\r\n]{1,256})? *")


# RFC 5322 field-name = 1*ftext (printable ASCII but ":"); we also ask for a leading letter.
_FIELD_LINE = re.compile(rb"([A-Za-z][!-9;-~]{0,75})[ \t]*:")
_MESSAGE_FIELDS = frozenset(
    {
        b"received",
        b"return-path",
        b"delivered-to",
        b"from",
        b"to",
        b"date",
        b"subject",
        b"message-id",
        b"mime-version",
        b"x-mozilla-status",
        b"x-gm-thrid",
        b"x-gmail-labels",
        b"dkim-signature",
        b"authentication-results",
        b"arc-seal",
    }
)
_SNIFF_FIELDS = 40


def is_separator_line(line: bytes) -> bool:
    """True when ``line`` (without its line end) is an mbox ``From `` separator by our rule."""
    if len(line) > MAX_SEPARATOR or not line.startswith(b"From "):
        return False
    m = _SEPARATOR.match(line)
    return m is not None and _YEAR.search(line, 5) is not None


def is_bare_separator(line: bytes) -> bool:
    """True for a dateless ``From`` line that is a separator when its context says so."""
    return len(line) <= MAX_SEPARATOR and _BARE_SEPARATOR.fullmatch(line) is not None


def is_field_line(line: bytes) -> bool:
    """True when ``line`` begins like a header field (``Name:``)."""
    return _FIELD_LINE.match(line) is not None


def _first_line(head: bytes) -> bytes:
    end = head.find(b"\n", 0, MAX_SEPARATOR + 1)
    line = head[: end if end >= 0 else MAX_SEPARATOR + 1]
    return line[:-1] if line.endswith(b"\r") else line


def looks_like_message(head: bytes) -> bool:
    """True when ``head`` starts like an RFC 5322 header block (see the module docstring)."""
    if _FIELD_LINE.match(head) is None:
        return False
    for n, line in enumerate(head.split(b"\n", _SNIFF_FIELDS)):
        if n >= _SNIFF_FIELDS or line in (b"", b"\r"):
            break
        m = _FIELD_LINE.match(line)
        if m is None:
            continue
        name = m.group(1).lower()
        if name in _ADDRESS_FIELDS:
            # "From:client.example OK" is a sendmail access map, not a message: an address
            # field of a message holds an address (RFC 5322 §3.4: "@", or a "<>" route).
            if b"@" in line or b"<" in line:
                return True
        elif name in _MESSAGE_FIELDS:
            return True
    return False


_ADDRESS_FIELDS = frozenset({b"from", b"to", b"cc", b"sender", b"reply-to"})


def mbox_start(head: bytes) -> int:
    """Offset of the first separator when ``head`` is an mbox (blank lines may lead), else -1."""
    start = len(head) - len(head.lstrip(b"\r\n"))
    if start >= len(head):
        return -1
    line = _first_line(head[start:])
    if is_separator_line(line):
        return start
    if is_bare_separator(line):
        nl = head.find(b"\n", start)
        return start if nl >= 0 and is_field_line(head[nl + 1 : nl + 200]) else -1
    return -1


def detect_kind(head: bytes, is_dir: bool) -> InputKind:
    """Tell the kind of an input from its first bytes (a few KiB are enough).

    ``is_dir`` says the input is a directory: then the kind is ``MAILDIR`` or ``DIRECTORY``
    and ``head`` is ignored (``directory_kind`` decides between them from the entries).
    Compressed streams come back as their compression; their content decides the rest
    (``iter_messages`` looks inside). Anything that is not a mailbox is ``OTHER``.
    """
    if is_dir:
        return InputKind.DIRECTORY
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if head[_TAR_MAGIC_AT : _TAR_MAGIC_AT + 5] == b"ustar":
        return InputKind.TAR
    if mbox_start(head) >= 0:
        return InputKind.MBOX
    if looks_like_message(head):
        return InputKind.EML
    return InputKind.OTHER


def directory_kind(entries: set[str]) -> InputKind:
    """``MAILDIR`` when a directory holds ``cur``, ``new`` and ``tmp``, else ``DIRECTORY``."""
    return InputKind.MAILDIR if {"cur", "new", "tmp"} <= entries else InputKind.DIRECTORY
