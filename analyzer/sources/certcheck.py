"""Every certificate problem that one probe's evidence proves, not only OpenSSL's first.

OpenSSL's chain verification stops at its first error (Python's ``ssl`` installs no verify
callback), so a certificate from an unknown CA that has also expired is rejected as
"unable to get local issuer certificate" and the expiry is never mentioned. This module
adds what the leaf certificate itself proves beside that verdict: its validity dates against
the probe time, whether it signs itself, and whether the probed name matches it. It is pure:
facts in, a tuple of ``FailureCategory`` out; no clock, no network.

Host-name matching follows what verified the session, so the two never disagree:

- CPython ``Modules/_ssl.c`` ``_ssl_configure_hostname``: an IP literal goes to
  ``X509_VERIFY_PARAM_set1_ip`` (no SNI), anything else to ``X509_VERIFY_PARAM_set1_host``;
  a name starting with "." is refused. The context's ``hostflags`` default to
  ``X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS`` (``_ssl__SSLContext_impl``), and the Python docs
  (ssl.rst, ``match_hostname``, changed in 3.7) say: "Allow wildcard when it is the leftmost
  and the only character in that segment. Partial wildcards like www*.example.com are no
  longer supported." ``SSLContext._encode_hostname`` gives OpenSSL the IDNA A-label form.
- OpenSSL ``doc/man3/X509_check_host.pod``: the subject DN is consulted only "when no
  corresponding subject alternative names are present" (of the right type: DNS names), and
  ``X509_check_ip`` considers "only explicitly marked addresses"; "IP addresses stored in
  DNS names and Common Names are ignored".
- OpenSSL 3.0 ``crypto/x509/v3_utl.c``: ``do_x509_check`` (``san_present`` counts SANs of
  the checked type only; every subject CN is tried), ``valid_star`` (with that flag: one
  "*" as the whole first label, at least two dots, labels of letters, digits and inner
  hyphens only; any other pattern is compared literally),
  ``wildcard_match`` (the "*" label matches one or more of ``[A-Za-z0-9-]``, or a literal
  "*", never a dot) and ``equal_nocase`` (ASCII case folding, a NUL never matches).
  This is RFC 6125 §6.4.3 with the left-most-label-only choice.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from datetime import datetime

from analyzer.model.logs import FailureCategory
from analyzer.model.probe import Certificate

# X509_V_ERR_* codes (OpenSSL include/openssl/x509_vfy.h) -> the logs' vocabulary.
VERIFY_CODES: dict[int, FailureCategory] = {
    2: FailureCategory.CERTIFICATE_NOT_TRUSTED,  # unable to get issuer certificate
    9: FailureCategory.CERTIFICATE_NOT_YET_VALID,  # certificate is not yet valid
    10: FailureCategory.CERTIFICATE_EXPIRED,  # certificate has expired
    18: FailureCategory.CERTIFICATE_SELF_SIGNED,  # self-signed certificate
    19: FailureCategory.CERTIFICATE_SELF_SIGNED,  # self-signed certificate in certificate chain
    20: FailureCategory.CERTIFICATE_NOT_TRUSTED,  # unable to get local issuer certificate
    21: FailureCategory.CERTIFICATE_NOT_TRUSTED,  # unable to verify the first certificate
    23: FailureCategory.CERTIFICATE_REVOKED,  # certificate revoked
    24: FailureCategory.CERTIFICATE_NOT_TRUSTED,  # invalid CA certificate
    62: FailureCategory.CERTIFICATE_HOST_MISMATCH,  # hostname mismatch
    64: FailureCategory.CERTIFICATE_HOST_MISMATCH,  # IP address mismatch
}

# The fixed order of ``certificate_problems``; an OpenSSL verdict outside it comes last.
PROBLEM_ORDER: tuple[FailureCategory, ...] = (
    FailureCategory.CERTIFICATE_EXPIRED,
    FailureCategory.CERTIFICATE_NOT_YET_VALID,
    FailureCategory.CERTIFICATE_SELF_SIGNED,
    FailureCategory.CERTIFICATE_HOST_MISMATCH,
    FailureCategory.CERTIFICATE_NOT_TRUSTED,
    FailureCategory.CERTIFICATE_REVOKED,
)

LeafCheck = Callable[[Certificate, datetime, str, bool], bool]

# What the leaf proves by itself, asked only once OpenSSL has rejected the chain.
# RFC 5280 §4.1.2.5: the validity period runs from notBefore through notAfter, inclusive.
# Trust and revocation are never recomputed here: only OpenSSL's verdict says them.
LEAF_CHECKS: tuple[tuple[FailureCategory, LeafCheck], ...] = (
    (FailureCategory.CERTIFICATE_EXPIRED, lambda c, now, host, cn: now > c.not_after),
    (FailureCategory.CERTIFICATE_NOT_YET_VALID, lambda c, now, host, cn: now < c.not_before),
    (FailureCategory.CERTIFICATE_SELF_SIGNED, lambda c, now, host, cn: c.self_signed is True),
    (
        FailureCategory.CERTIFICATE_HOST_MISMATCH,
        lambda c, now, host, cn: host_matches(c, host, common_name_fallback=cn) is False,
    ),
)


def certificate_problems(
    leaf: Certificate | None,
    now: datetime,
    host: str,
    verify_code: int | None,
    *,
    common_name_fallback: bool = True,
) -> tuple[FailureCategory, ...]:
    """Every problem the evidence proves, in ``PROBLEM_ORDER``; () when verification passed.

    ``verify_code`` is OpenSSL's X509_V_ERR code of the rejected chain (None: it verified),
    ``host`` the name (or address literal) the session was verified against, ``now`` the
    probe time (aware), ``leaf`` the server's certificate when its facts were collected.
    OpenSSL's own first error is always in the result; the leaf adds what it proves alone.
    ``common_name_fallback`` is the context's ``hostname_checks_common_name``.
    """
    if verify_code is None:
        return ()
    first = VERIFY_CODES.get(verify_code, FailureCategory.CERTIFICATE_UNVERIFIED)
    found = {first}
    if leaf is not None:
        found.update(
            category
            for category, check in LEAF_CHECKS
            if check(leaf, now, host, common_name_fallback)
        )
    ordered = [category for category in PROBLEM_ORDER if category in found]
    if first not in PROBLEM_ORDER:
        ordered.append(first)
    return tuple(ordered)


def host_matches(cert: Certificate, host: str, *, common_name_fallback: bool = True) -> bool | None:
    """Whether ``host`` matches ``cert`` as OpenSSL checks it for Python; None when the
    certificate's names or the host's A-label form are not known (nothing is then claimed)."""
    if not cert.names_known or not host or host.startswith("."):
        return None
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None:
        return any(_same_address(address, text) for text in cert.ip_sans)
    try:
        name = host.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    if cert.dns_sans:
        patterns = cert.dns_sans
    elif common_name_fallback:
        patterns = cert.common_names
    else:
        patterns = ()
    return any(dns_name_matches(pattern, name) for pattern in patterns)


def _same_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address, text: str) -> bool:
    # X509_check_ip compares the 4 or 16 octets: an IPv4 address never matches an IPv6 one.
    try:
        return ipaddress.ip_address(text).packed == address.packed
    except ValueError:
        return False


_ASCII_FOLD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_WILDCARD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")


def _equal_nocase(pattern: str, name: str) -> bool:
    # v3_utl.c equal_nocase: same length, ASCII letters folded, a NUL in the pattern fails.
    return "\x00" not in pattern and pattern.translate(_ASCII_FOLD) == name.translate(_ASCII_FOLD)


def dns_name_matches(pattern: str, name: str) -> bool:
    """Whether one certificate DNS name (SAN dNSName or CN) matches the A-label ``name``."""
    if not _is_wildcard(pattern):
        return _equal_nocase(pattern, name)
    # A valid wildcard is the whole first label ("*.example.com"): the rest must match as
    # written, and the "*" stands for one or more letters, digits or hyphens (no dot).
    suffix = pattern[1:]
    if len(name) <= len(suffix) or not _equal_nocase(suffix, name[-len(suffix) :]):
        return False
    label = name[: -len(suffix)]
    return label == "*" or all(ch in _WILDCARD_CHARS for ch in label)


def _is_wildcard(pattern: str) -> bool:
    """v3_utl.c valid_star under X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS: "*" alone as the
    first label of a well-formed name with at least two dots; anything else is literal."""
    if not pattern.startswith("*.") or "*" in pattern[1:]:
        return False
    labels = pattern[2:].split(".")
    if len(labels) < 2:
        return False
    return all(_plain_label(label) for label in labels)


def _plain_label(label: str) -> bool:
    # valid_star's per-character walk: no empty label, none starting or ending with "-",
    # only ASCII letters, digits and hyphens.
    return (
        label != ""
        and not label.startswith("-")
        and not label.endswith("-")
        and all(ch in _WILDCARD_CHARS for ch in label)
    )
