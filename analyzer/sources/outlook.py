"""Outlook files: ``.msg`` through extract-msg, ``.pst`` recognised and refused with a remedy.

A ``.msg`` keeps the headers it arrived with in the transport-header property
(PidTagTransportMessageHeaders, stream ``__substg1.0_007D001F``; peers.md §3). Items that
never travelled (drafts, sent items, notes) have none: they are yielded with empty headers,
which the caller counts as "no evidence", never as plaintext.

``.pst``: no pure-Python reader was found on PyPI (``libpff-python`` is a C extension with a
binary wheel), so a ``.pst`` gives one ``UNSUPPORTED`` issue naming a converter.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from analyzer.model import IssueKind, ParseIssue, RawMessage
from analyzer.sources.scan import Buffer, Limits, scan_message

_TRANSPORT_HEADERS = "__substg1.0_007D"  # extract-msg adds the 001F/001E type suffix
_MESSAGE_CLASS = "__substg1.0_001A"  # PidTagMessageClass ([MS-OXCMSG] 2.2.1.3)
_STRING_TYPES = ("001F", "001E")  # PtypString (UTF-16LE), PtypString8

PST_REASON = (
    "Outlook .pst store: not read directly; convert it first, e.g. `readpst -r -o out/ FILE.pst`"
    " (Debian package pst-utils), then give the resulting mbox folder"
)


def _transport_headers(source: str | bytes) -> str | ParseIssue | None:
    """The transport-header text of a ``.msg``, None when it has none, or why it failed."""
    # A corrupt compound file can fail in olefile or extract-msg in many ways (OSError,
    # struct.error, IndexError, UnicodeDecodeError, their own exception tree): this is the
    # one boundary around a third-party reader, for one file; the failure becomes a record.
    try:
        import olefile  # type: ignore[import-untyped]  # imported on first .msg: it is slow

        with olefile.OleFileIO(source) as ole:
            is_item = any(ole.exists(_MESSAGE_CLASS + t) for t in _STRING_TYPES)
        if not is_item:
            return ParseIssue(
                "",
                0,
                IssueKind.MALFORMED,
                "OLE compound file without a message class: not an Outlook item (.doc, .xls ...?)",
                unit="file",
            )
        import extract_msg

        msg = extract_msg.MSGFile(source, delayAttachments=True)  # type: ignore[no-untyped-call]
        try:
            text: str | None = msg.getStringStream(_TRANSPORT_HEADERS)
            return text
        finally:
            msg.close()
    except Exception as exc:
        return ParseIssue(
            "", 0, IssueKind.UNREADABLE, f"not a readable Outlook .msg: {exc!r}", unit="message"
        )


def read_msg(source: str | bytes, origin: str, limits: Limits) -> Iterator[RawMessage | ParseIssue]:
    """Yield the transport headers of one ``.msg`` (a path or its bytes) as a RawMessage."""
    text = _transport_headers(source)
    if isinstance(text, ParseIssue):
        yield replace(text, origin=origin)
        return
    if not text or not text.strip():
        yield RawMessage(origin, 0, b"", truncated=False)
        return
    # The property holds the header block as received, CRLF lines; end it with one empty line
    # so the same block reader (and its size limit) applies.
    block = text.rstrip("\r\n").encode("utf-8", "surrogatepass") + b"\r\n\r\n"
    yield from scan_message(Buffer(block), origin, limits)
