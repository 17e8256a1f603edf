"""Split one raw header block into the fields the analysis reads. Pure: bytes in, record out.

One pass: a compiled regex finds the start of each wanted field at the beginning of a line
(case-insensitive: ``Received:``, ``received:``, ``RECEIVED :``), and the field runs until the
next line that does not begin with a space or a tab (RFC 5322 §2.2.3 folding). Other fields
are skipped inside the regex engine, so a 1 MiB block costs about a millisecond.

Only the block given is read: it is the message's top-level header block (the sources never
read bodies), so ``Received`` fields of attached ``message/rfc822`` parts, a different chain,
are never seen here.

Decoding: UTF-8 first (RFC 6532; raw UTF-8 host names occur under ``UTF8SMTPS``,
received-formats.md trap 18), never Latin-1, with ``errors="replace"``. Replacement rather
than ``surrogateescape`` because these strings go on into DataFrames, Parquet, JSON and HTML,
all of which reject lone surrogates; the exact bytes stay in ``RawMessage.headers`` for
anyone who needs them. Each field that held invalid UTF-8 adds one to ``encoding_errors``.
``Subject``, ``From`` and ``To`` are also RFC 2047 decoded (``email.header``), tolerantly:
an unknown charset or bad encoded bytes are replaced and counted, never raised.
"""

from __future__ import annotations

import email.errors
import re
from dataclasses import dataclass
from email.header import decode_header
from functools import lru_cache

# field-name at line start, optional obsolete WSP before the colon (RFC 5322 §4.5.1)
# Anchored on the line break rather than with MULTILINE "^": a literal first character lets
# the engine skip to candidate positions (3x faster on real header blocks); the block is
# given a leading "\n" so its first field is found the same way.
_FIELD = re.compile(rb"\n(received|message-id|date|from|to|subject)[ \t]*:[ \t]*", re.IGNORECASE)
_FIELD_END = re.compile(rb"\n(?![ \t])")
# The same over the decoded block (ASCII case folding, as the bytes pattern), with the value:
# its first line, then each folded line (a line break followed by WSP), up to the first line
# break that is not a fold: where ``_FIELD_END`` ends the field. Linear: each repetition
# begins with a line break, which the line before it cannot take.
_FIELD_TEXT = re.compile(
    r"\n(received|message-id|date|from|to|subject)[ \t]*:[ \t]*([^\n]*(?:\n[ \t][^\n]*)*)",
    re.IGNORECASE | re.ASCII,
)
_ENCODED_WORD = "=?"


@dataclass(frozen=True, slots=True)
class HeaderFields:
    """The fields of one header block that the analysis reads.

    Attributes:
        received: every Received value, top (newest) first, unfolded (line breaks removed,
            the whitespace after them kept), outer whitespace stripped.
        message_id: the first Message-ID value, or None.
        date: the first Date value, or None.
        from_: the first From value, RFC 2047 decoded, or None.
        to: the first To value, RFC 2047 decoded, or None.
        subject: the first Subject value, RFC 2047 decoded, or None.
        encoding_errors: how many of these fields held bytes that were not valid UTF-8, or
            encoded words that could not be decoded (replaced by U+FFFD).
    """

    received: tuple[str, ...]
    message_id: str | None
    date: str | None
    from_: str | None
    to: str | None
    subject: str | None
    encoding_errors: int = 0

    @property
    def has_encoding_errors(self) -> bool:
        """True when some bytes had to be replaced while decoding."""
        return self.encoding_errors > 0


def _decode(raw: bytes) -> tuple[str, int]:
    try:
        return raw.decode("utf-8"), 0
    except UnicodeDecodeError:
        return raw.decode("utf-8", "replace"), 1


def decode_rfc2047(value: str) -> tuple[str, int]:
    """Decode RFC 2047 encoded words in ``value``; return the text and the failures (0/1)."""
    if _ENCODED_WORD not in value:
        return value, 0
    return _decode_words(value)


# Senders and subjects repeat across a mailbox, and email.header is slow (about 20 µs a
# field): remember the last few thousand decodings.
@lru_cache(maxsize=4096)
def _decode_words(value: str) -> tuple[str, int]:
    try:
        parts = decode_header(value)
    except (email.errors.HeaderParseError, ValueError):
        return value, 1
    errors = 0
    out: list[str] = []
    for part, charset in parts:
        if isinstance(part, str):
            out.append(part)
            continue
        # decode_header hands back the plain runs between encoded words as
        # raw-unicode-escape bytes with no charset: undo exactly that.
        try:
            out.append(part.decode(charset or "raw-unicode-escape"))
        except (LookupError, UnicodeDecodeError):
            out.append(part.decode("utf-8", "replace"))
            errors = 1
    return "".join(out), errors


def split_headers(block: bytes) -> HeaderFields:
    """Split a raw header block (as ``RawMessage.headers``) into ``HeaderFields``."""
    try:  # nearly every block is valid UTF-8: decoded once, each field cut from the text
        received, first = _fields_of_text("\n" + block.decode("utf-8"))
        errors = 0
    except UnicodeDecodeError:
        received, first, errors = _fields_of_bytes(b"\n" + block)
    decoded: dict[str, str | None] = {}
    for name in ("from", "to", "subject"):
        value = first.get(name)
        if value is not None:
            value, bad = decode_rfc2047(value)
            errors += bad
        decoded[name] = value
    return HeaderFields(
        received=tuple(received),
        message_id=first.get("message-id"),
        date=first.get("date"),
        from_=decoded["from"],
        to=decoded["to"],
        subject=decoded["subject"],
        encoding_errors=errors,
    )


def _fields_of_text(block: str) -> tuple[list[str], dict[str, str]]:
    received: list[str] = []
    first: dict[str, str] = {}
    for name, value in _FIELD_TEXT.findall(block):
        name = name.lower()
        if name != "received" and name in first:
            continue
        # every line break inside a field is a fold (the field ends at a line without WSP)
        text = value.replace("\r\n", "").replace("\n", "").strip()
        if name == "received":
            received.append(text)
        else:
            first[name] = text
    return received, first


def _fields_of_bytes(block: bytes) -> tuple[list[str], dict[str, str], int]:
    """As ``_fields_of_text`` over the raw bytes, decoding each field apart and counting the
    fields that held invalid UTF-8."""
    received: list[str] = []
    first: dict[str, str] = {}
    errors = 0
    for m in _FIELD.finditer(block):
        name = m.group(1).lower().decode("ascii")
        if name != "received" and name in first:
            continue
        end_m = _FIELD_END.search(block, m.end())
        end = end_m.start() if end_m is not None else len(block)
        text, bad = _decode(block[m.end() : end].replace(b"\r\n", b"").replace(b"\n", b""))
        errors += bad
        text = text.strip()
        if name == "received":
            received.append(text)
        else:
            first[name] = text
    return received, first, errors
