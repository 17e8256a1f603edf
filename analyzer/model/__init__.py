"""Records and vocabularies: the shared language of every layer."""

from analyzer.model.common import (
    RAW_LIMIT,
    TLS_VERSION_ORDER,
    Evidence,
    IssueKind,
    ParseIssue,
    TlsVersion,
    clip,
)
from analyzer.model.received import (
    ClientCert,
    Dialect,
    Hop,
    RawMessage,
    ReceivedHeader,
    Role,
    TlsFacts,
)

__all__ = [
    "RAW_LIMIT",
    "TLS_VERSION_ORDER",
    "ClientCert",
    "Dialect",
    "Evidence",
    "Hop",
    "IssueKind",
    "ParseIssue",
    "RawMessage",
    "ReceivedHeader",
    "Role",
    "TlsFacts",
    "TlsVersion",
    "clip",
]
