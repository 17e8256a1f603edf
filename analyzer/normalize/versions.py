"""TLS version spellings mapped to ``TlsVersion`` (part of ``analyzer.normalize``).

``TLS1_2``, ``TLS1.2``, ``TLSv1.2``, ``TLS-1.2``, ``TLS12``, ``Tls12`` all become
``TlsVersion.TLSV1_2`` (spellings from shared reference received-formats.md §4.1).
``TLSv1/SSLv3`` is OpenSSL 1.0's cipher *family* (SSL_CIPHER_get_version), not the negotiated
version, and ``TLS``/``SSL`` alone say nothing: both give None.
"""

from __future__ import annotations

import re
from functools import lru_cache

from analyzer.model import TlsVersion

_MAX_NAME = 200  # longer "names" are not cipher names; never scanned

# Accepts every spelling of §4.1: optional "v", separator ".", "_", "-" or none, minor digit.
_VERSION = re.compile(r"(?i)^(?:(SSL)v?([23])|TLS[ _-]?v?(1)(?:[._-]?([0-3]))?)$")
_TLS_MINOR = {
    "0": TlsVersion.TLSV1_0,
    "1": TlsVersion.TLSV1_1,
    "2": TlsVersion.TLSV1_2,
    "3": TlsVersion.TLSV1_3,
}


@lru_cache(maxsize=512)
def normalize_version(raw: str | None) -> TlsVersion | None:
    """Map a written protocol version to ``TlsVersion``, or None when it is not a version."""
    if not raw or len(raw) > _MAX_NAME:
        return None
    m = _VERSION.match(raw.strip())
    if m is None:
        return None
    if m.group(1):
        return TlsVersion.SSLV2 if m.group(2) == "2" else TlsVersion.SSLV3
    return _TLS_MINOR[m.group(4) or "0"]
