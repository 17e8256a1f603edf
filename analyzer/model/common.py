"""Closed vocabularies and records shared by every kind of evidence.

Everything here is a frozen, slotted dataclass or a StrEnum: no pandas, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, is_dataclass
from enum import StrEnum
from typing import Any, TypeVar


class TlsVersion(StrEnum):
    """Negotiated protocol version, in increasing order of strength.

    The order of members is the order of the categorical in every frame.
    """

    SSLV2 = "SSLv2"
    SSLV3 = "SSLv3"
    TLSV1_0 = "TLSv1.0"
    TLSV1_1 = "TLSv1.1"
    TLSV1_2 = "TLSv1.2"
    TLSV1_3 = "TLSv1.3"


TLS_VERSION_ORDER: tuple[str, ...] = tuple(v.value for v in TlsVersion)


class Evidence(StrEnum):
    """What a Received header proves about the encryption of its hop.

    TLS: protocol or cipher details are present.
    TLS_KEYWORD: only a marker (ESMTPS-style keyword, ``(TLS)``, ``(SSL)``).
    PLAINTEXT: positive proof of no TLS from a writer known to mark TLS.
    UNKNOWN: no evidence either way; never counted as plaintext.
    """

    TLS = "tls"
    TLS_KEYWORD = "tls-keyword"
    PLAINTEXT = "plaintext"
    UNKNOWN = "unknown"

    @property
    def encrypted(self) -> bool | None:
        if self in (Evidence.TLS, Evidence.TLS_KEYWORD):
            return True
        if self is Evidence.PLAINTEXT:
            return False
        return None


class IssueKind(StrEnum):
    """Why a piece of input became an issue row instead of a record."""

    UNREADABLE = "unreadable"  # could not be read at all (I/O, corrupt container)
    TRUNCATED = "truncated"  # input ends in the middle of a record
    MALFORMED = "malformed"  # read, but does not follow the format
    OVERSIZED = "oversized"  # over a safety limit, cut or skipped
    ENCODING = "encoding"  # undecodable bytes were replaced
    NO_EVIDENCE = "no-evidence"  # a message without any transport header
    UNSUPPORTED = "unsupported"  # a format we recognise but do not read
    PARSER_BUG = "parser-bug"  # an unexpected exception at a batch boundary
    GAP = "gap"  # the log itself says lines are missing (folded repeats, rate limits)


@dataclass(frozen=True, slots=True)
class ParseIssue:
    """Input that could not be turned into a record, kept so nothing is lost.

    Attributes:
        origin: file (or ``-`` for stdin) the input came from, with member path for archives.
        position: where in the origin: byte offset, line number, or message index.
        kind: closed category of the problem.
        reason: one human sentence saying what was wrong.
        raw: the offending text, cut to a bounded length.
        unit: what was lost or degraded: ``message``, ``header``, ``line`` or ``file``.
    """

    origin: str
    position: int
    kind: IssueKind
    reason: str
    raw: str = ""
    unit: str = "message"


RAW_LIMIT = 2000
"""The longest raw excerpt kept in a record or issue; longer text is cut with a marker."""


def clip(text: str, limit: int = RAW_LIMIT) -> str:
    """Cut ``text`` to ``limit`` characters, saying how much was dropped."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…[{len(text) - limit} more characters]"


R = TypeVar("R")


def slot_fields(cls: type) -> list[str]:
    """The field names of ``cls`` (in order) when its records can be built by setting their
    slots directly: a slotted dataclass whose ``__init__`` just sets its fields (no
    ``__post_init__``); ``TypeError`` otherwise."""
    names = [f.name for f in fields(cls)] if is_dataclass(cls) else []
    if not names or hasattr(cls, "__post_init__") or "__slots__" not in vars(cls):
        raise TypeError(f"{cls.__name__} is not a slotted dataclass built by its fields")
    return names


def slot_maker(cls: type[R]) -> Callable[..., R]:
    """A positional constructor for the frozen, slotted dataclass ``cls`` (its fields in
    their order) that sets each slot through its descriptor: the same record as ``cls(...)``
    at half the cost, where the generated ``__init__`` calls ``object.__setattr__`` once per
    field. For records built by the million on a hot path; only for a dataclass whose
    ``__init__`` just sets its fields (no ``__post_init__``, no default factory)."""
    names = slot_fields(cls)
    space: dict[str, Any] = {"new": object.__new__, "cls": cls}
    space.update((f"set{i}", vars(cls)[name].__set__) for i, name in enumerate(names))
    body = "".join(f"    set{i}(o, {name})\n" for i, name in enumerate(names))
    exec(f"def make({', '.join(names)}):\n    o = new(cls)\n{body}    return o\n", space)  # noqa: S102
    maker: Callable[..., R] = space["make"]
    return maker
