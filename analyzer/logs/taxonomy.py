"""Map TLS-library and MTA failure texts to ``FailureCategory`` and RFC 8460 result types.

Tables follow shared reference log-formats.md §3 (library reason texts: OpenSSL 1.0/1.1/3.x,
LibreSSL, GnuTLS, Schannel) and §4.2 (RFC 8460 mapping, which replicates Postfix's own
mapping in tls_verify.c, tls_client.c, smtp_proto.c). Keys are reason *texts*, never hex
codes: ``1417A0C1`` and ``0A0000C1`` are both "no shared cipher".

Matching is by lower-cased substring in table order (first hit wins), so it is linear in
the length of the text and cannot backtrack.
"""

from __future__ import annotations

from functools import lru_cache

from analyzer.logs.members import OUTBOUND
from analyzer.model.logs import Direction, FailureCategory, Rfc8460ResultType

FC = FailureCategory

# Alerts an MTA *received* (OpenSSL ssl3_read_bytes "... alert ...:SSL alert number N"): the
# peer refused our certificate. log-formats.md §2.1.3 "Direction trap": on smtpd,
# "tlsv1 alert unknown ca" / "sslv3 alert certificate expired" are about OUR certificate
# (cyberpanel#971). GnuTLS (Exim) says "A TLS fatal alert has been received: Certificate is bad".
RECEIVED_CERT_ALERTS: tuple[str, ...] = (
    "alert unknown ca",
    "alert bad certificate",
    "alert certificate unknown",
    "alert certificate expired",
    "alert certificate revoked",
    "alert unsupported certificate",
    "alert access denied",
    "alert has been received: certificate is bad",
)

# Ordered (substring, category) rows; log-formats.md §3 "Suggested reason -> category table",
# §2.1.4 (Postfix smtp status reasons), §2.2 (Exim), §2.3 (Sendmail), §2.4 (Exchange), §2.5.
REASONS: tuple[tuple[str, FailureCategory], ...] = (
    # enforced TLS, peer did not offer STARTTLS (smtp_proto.c, Exim transports/smtp.c,
    # OpenSMTPD mta.c, sendmail proto.m4 NONE)
    ("was not offered by host", FC.STARTTLS_NOT_SUPPORTED),
    ("server did not offer tls support", FC.STARTTLS_NOT_SUPPORTED),
    ("tls required but not supported by remote host", FC.STARTTLS_NOT_SUPPORTED),
    ("other side does not support starttls", FC.STARTTLS_NOT_SUPPORTED),
    ("refused to start tls", FC.STARTTLS_REJECTED),
    ("starttls rejected", FC.STARTTLS_REJECTED),
    # DANE / DNSSEC (Postfix tls_dane.c, smtp_tls_policy.c; Exim dane)
    ("tlsa records unusable", FC.TLSA_INVALID),
    ("tlsa lookup error", FC.DNSSEC_INVALID),
    ("not dnssec", FC.DNSSEC_INVALID),
    ("dnssec-invalid", FC.DNSSEC_INVALID),
    ("dane-required", FC.DANE_REQUIRED),
    ("no tlsa records found", FC.DANE_REQUIRED),
    ("dane check failed", FC.TLSA_INVALID),
    ("sts-policy-fetch-error", FC.STS_POLICY_FETCH_ERROR),
    ("sts-policy-invalid", FC.STS_POLICY_INVALID),
    ("sts-webpki-invalid", FC.STS_WEBPKI_INVALID),
    # certificate verification (Postfix tls_verify.c, OpenSSL X509 strings, Exim, Node)
    ("certificate has expired", FC.CERTIFICATE_EXPIRED),
    ("cert_has_expired", FC.CERTIFICATE_EXPIRED),
    ("certificate expired", FC.CERTIFICATE_EXPIRED),
    ("certificate not yet valid", FC.CERTIFICATE_NOT_YET_VALID),
    ("certificate is not yet valid", FC.CERTIFICATE_NOT_YET_VALID),
    ("certificate revoked", FC.CERTIFICATE_REVOKED),
    ("status is out-of-date", FC.CERTIFICATE_REVOKED),
    ("self-signed certificate", FC.CERTIFICATE_SELF_SIGNED),
    ("self signed certificate", FC.CERTIFICATE_SELF_SIGNED),
    ("self_signed_cert", FC.CERTIFICATE_SELF_SIGNED),
    ("untrusted issuer", FC.CERTIFICATE_NOT_TRUSTED),
    ("not trusted by local or tlsa policy", FC.CERTIFICATE_NOT_TRUSTED),
    ("unable to get local issuer certificate", FC.CERTIFICATE_NOT_TRUSTED),
    ("unable_to_verify_leaf_signature", FC.CERTIFICATE_NOT_TRUSTED),
    ("does not match", FC.CERTIFICATE_HOST_MISMATCH),
    # Postfix default "num=%d:%s" with X509_V_ERR_HOSTNAME_MISMATCH (lab: "num=62:hostname
    # mismatch", sample_data/lab/postfix/mail.log)
    ("hostname mismatch", FC.CERTIFICATE_HOST_MISMATCH),
    ("no matching dnsnnames", FC.CERTIFICATE_HOST_MISMATCH),
    ("server certificate not verified", FC.CERTIFICATE_UNVERIFIED),
    ("certificate verify failed", FC.CERTIFICATE_UNVERIFIED),
    ("certificate verification failed", FC.CERTIFICATE_UNVERIFIED),
    ("certificate invalid", FC.CERTIFICATE_UNVERIFIED),
    ("cannot start tls: handshake failure", FC.HANDSHAKE_FAILURE),
    ("handshake failed", FC.HANDSHAKE_FAILURE),  # GnuTLS, sendmail "TLS handshake failed."
    # Exim transports/smtp.c: STARTTLS refused or failed before a handshake could start
    ("an attempt to start tls failed", FC.HANDSHAKE_FAILURE),
    ("starttls failed", FC.HANDSHAKE_FAILURE),
    # protocol and cipher negotiation (OpenSSL 1.0/1.1/3.x, GnuTLS)
    ("unsupported protocol", FC.PROTOCOL_VERSION_MISMATCH),
    ("version too low", FC.PROTOCOL_VERSION_MISMATCH),
    ("wrong ssl version", FC.PROTOCOL_VERSION_MISMATCH),
    ("alert protocol version", FC.PROTOCOL_VERSION_MISMATCH),
    ("no protocols available", FC.PROTOCOL_VERSION_MISMATCH),
    ("unsupported version", FC.PROTOCOL_VERSION_MISMATCH),
    ("no shared cipher", FC.NO_SHARED_CIPHER),
    # alert 40 (handshake_failure) is generic: a disjoint cipher list produces it, but so do
    # other refusals, so it proves only a handshake failure (lab manifest, disjoint-ciphers)
    ("alert handshake failure", FC.HANDSHAKE_FAILURE),
    # a TLS 1.0 client offers only SHA-1/MD5 signature algorithms, which OpenSSL 3 refuses:
    # the ciphers may well be shared (sample_data/lab/sendmail, scenario in-tls10)
    ("no suitable signature algorithm", FC.HANDSHAKE_FAILURE),
    ("could not negotiate a supported cipher suite", FC.NO_SHARED_CIPHER),
    ("no ciphers available", FC.NO_SHARED_CIPHER),
    # local configuration (Exim cert/key setup, Exchange Schannel tokens, Postfix engine)
    ("cert/key setup", FC.LOCAL_CONFIG_ERROR),
    ("unknowncredentials", FC.LOCAL_CONFIG_ERROR),
    ("nocredentials", FC.LOCAL_CONFIG_ERROR),
    ("tls engine is unavailable", FC.LOCAL_CONFIG_ERROR),
    ("tls not available due to local problem", FC.LOCAL_CONFIG_ERROR),
    ("starttls disabled locally", FC.LOCAL_CONFIG_ERROR),
    ("temporarily not possible", FC.LOCAL_CONFIG_ERROR),
    # timeouts and lost connections during the handshake
    ("timed out", FC.HANDSHAKE_TIMEOUT),
    ("timeout", FC.HANDSHAKE_TIMEOUT),
    ("unexpected eof", FC.CONNECTION_LOST),
    ("connection closed by peer", FC.CONNECTION_LOST),
    ("lost connection", FC.CONNECTION_LOST),
    ("connection reset", FC.CONNECTION_LOST),
    ("non-properly terminated", FC.CONNECTION_LOST),
    ("broken pipe", FC.CONNECTION_LOST),
    ("socketerror", FC.CONNECTION_LOST),
)

# Shutdown-ish texts: after a successful handshake of the same session they are noise
# (log-formats.md §2.2.2 "successful receipt followed by benign shutdown noise", §3).
SHUTDOWN_NOISE: tuple[str, ...] = (
    "non-properly terminated",
    "unexpected eof",
    "connection reset",
    "connection closed by peer",
    "broken pipe",
    "lost connection",
    "shutdown while in init",
    # sendmail sfsasl.c "STARTTLS: read error=..." / "write error=...": after the handshake
    "read error=",
    "write error=",
)

# RFC 8460 §4.3 per category (log-formats.md §4.2): Postfix reports handshake failures as
# validation-failure with failure-reason-code tls-handshake-failure.
RFC8460: dict[FailureCategory, Rfc8460ResultType] = {
    FC.STARTTLS_NOT_SUPPORTED: Rfc8460ResultType.STARTTLS_NOT_SUPPORTED,
    FC.STARTTLS_REJECTED: Rfc8460ResultType.STARTTLS_NOT_SUPPORTED,
    FC.CERTIFICATE_EXPIRED: Rfc8460ResultType.CERTIFICATE_EXPIRED,
    FC.CERTIFICATE_NOT_YET_VALID: Rfc8460ResultType.VALIDATION_FAILURE,
    FC.CERTIFICATE_REVOKED: Rfc8460ResultType.VALIDATION_FAILURE,
    FC.CERTIFICATE_SELF_SIGNED: Rfc8460ResultType.VALIDATION_FAILURE,
    FC.CERTIFICATE_NOT_TRUSTED: Rfc8460ResultType.CERTIFICATE_NOT_TRUSTED,
    FC.CERTIFICATE_HOST_MISMATCH: Rfc8460ResultType.CERTIFICATE_HOST_MISMATCH,
    FC.CERTIFICATE_UNVERIFIED: Rfc8460ResultType.VALIDATION_FAILURE,
    FC.PROTOCOL_VERSION_MISMATCH: Rfc8460ResultType.VALIDATION_FAILURE,
    FC.NO_SHARED_CIPHER: Rfc8460ResultType.VALIDATION_FAILURE,
    FC.HANDSHAKE_FAILURE: Rfc8460ResultType.VALIDATION_FAILURE,
    FC.CONNECTION_LOST: Rfc8460ResultType.VALIDATION_FAILURE,
    FC.HANDSHAKE_TIMEOUT: Rfc8460ResultType.VALIDATION_FAILURE,
    FC.DANE_REQUIRED: Rfc8460ResultType.DANE_REQUIRED,
    FC.TLSA_INVALID: Rfc8460ResultType.TLSA_INVALID,
    FC.DNSSEC_INVALID: Rfc8460ResultType.DNSSEC_INVALID,
    FC.STS_POLICY_FETCH_ERROR: Rfc8460ResultType.STS_POLICY_FETCH_ERROR,
    FC.STS_POLICY_INVALID: Rfc8460ResultType.STS_POLICY_INVALID,
    FC.STS_WEBPKI_INVALID: Rfc8460ResultType.STS_WEBPKI_INVALID,
}

# Specificity, so a session keeps its most telling failure: a generic "SSL_connect error: -1"
# is refined by the "TLS library problem" line that follows it, never the other way round;
# "Cannot start TLS: handshake failure" does not hide the "lost connection" before it.
_RANK: dict[FailureCategory, int] = {
    FC.HANDSHAKE_FAILURE: 0,
    FC.CONNECTION_LOST: 1,
    FC.CERTIFICATE_UNVERIFIED: 1,
}


# Postfix TLSRPT failure_type values (TLSRPT_README; underscores where RFC 8460 has hyphens).
TLSRPT_TYPES: dict[str, Rfc8460ResultType] = {
    t.value.replace("-", "_"): t for t in Rfc8460ResultType
}


CLASSIFY_LIMIT = 2000  # reason texts are short; longer input is read from its start only


def classify(text: str, *, received_alert_is_ours: bool = True) -> FailureCategory | None:
    """The category a failure text names, or None when it names none of ours.

    ``received_alert_is_ours``: the text comes from our own TLS library's error queue, so
    an alert in it was received from the peer (a complaint about our certificate).
    """
    low = text[:CLASSIFY_LIMIT].lower()
    if received_alert_is_ours:
        for alert in RECEIVED_CERT_ALERTS:
            if alert in low:
                return FC.PEER_REJECTED_OUR_CERTIFICATE
    for needle, category in REASONS:
        if needle in low:
            return category
    return None


# Words that make a deferral or bounce text TLS-related; without them "Connection timed out"
# is a TCP failure, not a handshake timeout.
_TLS_HINTS = ("tls", "ssl", "certificate", "dane", "tlsa", "dnssec", "sts-", "cipher")


def classify_status(text: str) -> FailureCategory | None:
    """Category of a delivery status text, only when the text is about TLS."""
    low = text[:CLASSIFY_LIMIT].lower()
    if not any(h in low for h in _TLS_HINTS):
        return None
    return classify(text, received_alert_is_ours=False)


@lru_cache(maxsize=4096)  # the same few error texts, over and over
def is_shutdown_noise(text: str) -> bool:
    """Whether a TLS error text is the kind a peer's unclean close produces."""
    low = text[:CLASSIFY_LIMIT].lower()
    return any(n in low for n in SHUTDOWN_NOISE)


def rfc8460(
    category: FailureCategory | None, direction: Direction | None
) -> Rfc8460ResultType | None:
    """RFC 8460 result type of a failure; only sending (outbound) sessions are reportable."""
    if category is None or direction is not OUTBOUND:
        return None
    return RFC8460.get(category)


def more_specific(
    old: FailureCategory | None, new: FailureCategory | None
) -> FailureCategory | None:
    """The more telling of two categories seen in one session (the older one on a tie)."""
    if new is None:
        return old
    if old is None or _RANK.get(new, 2) > _RANK.get(old, 2):
        return new
    return old
