"""mailtls: forensic analysis of TLS in e-mail transport.

The public API: read mailboxes into frames, parse single headers, and the records and
vocabularies they use. Everything else is internal.
"""

from analyzer.analysis import AnalysisResult, analyze
from analyzer.api import MailboxFrames, load_mailbox, messages, read_mailbox
from analyzer.api_logs import deliveries, read_logs, read_logs_result
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
from analyzer.received import parse_received

__version__ = "0.1.0"

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
