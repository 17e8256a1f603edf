"""mailtls: forensic analysis of TLS in e-mail transport.

The public API: read mailboxes into frames, parse single headers, and the records and
vocabularies they use. Everything else is internal.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from analyzer.model import (
    ClientCert,
    Dialect,
    Evidence,
    Hop,
    IssueKind,
    ParseIssue,
    ReceivedHeader,
    Role,
    TlsFacts,
    TlsVersion,
)

if TYPE_CHECKING:
    from analyzer.analysis import AnalysisResult, analyze
    from analyzer.api import MailboxFrames, load_mailbox, messages, read_mailbox
    from analyzer.api_logs import deliveries, read_logs, read_logs_result
    from analyzer.received import parse_received

__version__ = "0.1.0"

# The functions of the public API are imported when first used: a program that reads only
# logs does not import the mailbox, header and report modules (0.15 s at start-up).
_LAZY = {
    "AnalysisResult": "analyzer.analysis",
    "analyze": "analyzer.analysis",
    "MailboxFrames": "analyzer.api",
    "load_mailbox": "analyzer.api",
    "messages": "analyzer.api",
    "read_mailbox": "analyzer.api",
    "deliveries": "analyzer.api_logs",
    "read_logs": "analyzer.api_logs",
    "read_logs_result": "analyzer.api_logs",
    "parse_received": "analyzer.received",
}


def __getattr__(name: str) -> Any:
    """The public API's functions and classes, imported on first use (``_LAZY``)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'analyzer' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # later uses find it at once
    return value


__all__ = [
    "AnalysisResult",
    "ClientCert",
    "Dialect",
    "Evidence",
    "Hop",
    "IssueKind",
    "MailboxFrames",
    "ParseIssue",
    "ReceivedHeader",
    "Role",
    "TlsFacts",
    "TlsVersion",
    "__version__",
    "analyze",
    "deliveries",
    "load_mailbox",
    "messages",
    "parse_received",
    "read_logs",
    "read_logs_result",
    "read_mailbox",
]


def __dir__() -> list[str]:
    """The module's names, the public API's included before their first use."""
    return sorted(set(globals()) | set(_LAZY))
