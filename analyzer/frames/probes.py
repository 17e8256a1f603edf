"""The ``probes`` frame: one row per probed target (issue 5, scope 4).

Same conventions as every frame: TLS versions as the ordered categorical, closed
vocabularies as categoricals, nullable booleans where "unknown" is not "no", aware UTC times.
Lists (capabilities, SANs, certificate problems, accepted versions) are joined into one
string per cell.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd

from analyzer.frames.schema import Column, Kind, Schema, build_frame
from analyzer.model.logs import FailureCategory
from analyzer.model.probe import ProbeOutcome, ProbeResult, ProbeStep

LIST_SEPARATOR = ", "

PROBES = Schema(
    "probes",
    (
        Column("host", Kind.STRING, "host name or address probed"),
        Column("port", Kind.INT, "TCP port probed"),
        Column("domain", Kind.STRING, "mail domain whose MX named the host, if any"),
        Column("mx_preference", Kind.INT, "MX preference, if the host came from an MX record"),
        Column("address", Kind.STRING, "IP address connected to"),
        Column(
            "outcome", Kind.CATEGORY, "how the session ended", tuple(v.value for v in ProbeOutcome)
        ),
        Column("step", Kind.CATEGORY, "where it ended", tuple(v.value for v in ProbeStep)),
        Column("started_at", Kind.TIME, "when the probe began (UTC)"),
        Column("elapsed_s", Kind.FLOAT, "seconds the probe took, every session included"),
        Column("banner", Kind.STRING, "the server's greeting"),
        Column("banner_delay_s", Kind.FLOAT, "seconds from connect to the end of the greeting"),
        Column("capabilities", Kind.STRING, "EHLO keywords, comma-separated, server's order"),
        Column("starttls_offered", Kind.BOOL, "STARTTLS in the EHLO reply (<NA>: not reached)"),
        Column("starttls_reply", Kind.STRING, "the reply to STARTTLS"),
        Column("tls_version", Kind.TLS_VERSION, "negotiated protocol"),
        Column("cipher", Kind.STRING, "negotiated cipher suite (IANA name)"),
        Column("bits", Kind.INT, "secret bits of the cipher"),
        Column("key_exchange", Kind.STRING, "key exchange of a TLS <= 1.2 suite"),
        Column("verified", Kind.BOOL, "chain and name verified (<NA>: no certificate seen)"),
        Column(
            "failure_category",
            Kind.CATEGORY,
            "TLS failure, logs' vocabulary",
            tuple(v.value for v in FailureCategory),
        ),
        Column(
            "certificate_problems",
            Kind.STRING,
            "every certificate problem proven, comma-separated in a fixed order"
            " ('' when verified, <NA>: no certificate seen)",
        ),
        Column("cert_subject", Kind.STRING, "leaf certificate subject (RFC 4514)"),
        Column("cert_sans", Kind.STRING, "leaf subjectAltNames, comma-separated"),
        Column("cert_issuer", Kind.STRING, "leaf certificate issuer (RFC 4514)"),
        Column("cert_serial", Kind.STRING, "leaf serial number (hex)"),
        Column("cert_not_before", Kind.TIME, "leaf validity start (UTC)"),
        Column("cert_not_after", Kind.TIME, "leaf validity end (UTC)"),
        Column("cert_days_left", Kind.INT, "whole days from the probe to not_after"),
        Column("cert_key_type", Kind.STRING, "leaf key type (RSA, EC, Ed25519 ...)"),
        Column("cert_key_bits", Kind.INT, "leaf key size in bits"),
        Column("cert_signature_algorithm", Kind.STRING, "leaf signature algorithm"),
        Column("cert_sha256", Kind.STRING, "leaf SHA-256 fingerprint"),
        Column("chain_length", Kind.INT, "certificates the server sent"),
        Column("accepted_versions", Kind.STRING, "versions accepted alone (<NA>: not tried)"),
        Column("error", Kind.STRING, "detail of the failure"),
    ),
)


def _problems(r: ProbeResult) -> str | None:
    # verified is None exactly when no certificate was seen; "" when it verified.
    if r.verified is None:
        return None
    return LIST_SEPARATOR.join(p.value for p in r.certificate_problems)


def _row(r: ProbeResult) -> Sequence[object]:
    c = r.certificate
    accepted = (
        None if r.accepted_versions is None else " ".join(v.value for v in r.accepted_versions)
    )
    return (
        r.target.host,
        r.target.port,
        r.target.domain,
        r.target.preference,
        r.address,
        r.outcome,
        r.step,
        r.started_at,
        r.elapsed_s,
        r.banner,
        r.banner_delay_s,
        LIST_SEPARATOR.join(r.capabilities) if r.starttls_offered is not None else None,
        r.starttls_offered,
        r.starttls_reply,
        r.tls_version,
        r.cipher,
        r.bits,
        r.key_exchange,
        r.verified,
        r.failure_category,
        _problems(r),
        c.subject if c else None,
        LIST_SEPARATOR.join(c.sans) if c else None,
        c.issuer if c else None,
        c.serial if c else None,
        c.not_before if c else None,
        c.not_after if c else None,
        c.days_left if c else None,
        c.key_type if c else None,
        c.key_bits if c else None,
        c.signature_algorithm if c else None,
        c.sha256 if c else None,
        len(r.chain),
        accepted,
        r.error,
    )


def probes_frame(results: Iterable[ProbeResult]) -> pd.DataFrame:
    """The ``probes`` frame of ``results``, one row each, in their order."""
    return build_frame(PROBES, results, _row)
