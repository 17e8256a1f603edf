"""Render probe results for the terminal and as JSON. Pure: results in, a string out.

Everything the server sent (banner, replies, capability lines, certificate names) is
untrusted: control characters are escaped before they reach a terminal, so a hostile
banner cannot move the cursor, recolour the screen or set the window title.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime

from analyzer.model.probe import Certificate, ProbeOutcome, ProbeResult

# C0 and C1 controls, DEL, and the Unicode bidi / line separators (Trojan Source,
# CVE-2021-42574) — everything that can rewrite what a terminal shows.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_LABEL = 13  # width of the label column


def escape(text: str) -> str:
    """``text`` with every control character written as a visible ``\\xNN``/``\\uNNNN``."""

    def visible(m: re.Match[str]) -> str:
        code = ord(m.group())
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _CONTROL.sub(visible, text)


def _line(label: str, value: str) -> str:
    return f"  {label:<{_LABEL}}{value}"


def _multi(label: str, text: str) -> list[str]:
    # Escape each line; continuation lines align under the value column.
    lines = [escape(x) for x in text.split("\n")]
    out = [_line(label, lines[0])]
    out += [_line("", x) for x in lines[1:]]
    return out


def _date(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _certificate(cert: Certificate) -> list[str]:
    key = f"{cert.key_type} {cert.key_bits}" if cert.key_bits else cert.key_type
    if cert.key_curve:
        key += f" ({cert.key_curve})"
    days = cert.days_left
    left = f"expired {-days} days ago" if days < 0 else f"{days} days left"
    return [
        _line("subject", escape(cert.subject)),
        _line("SANs", escape(", ".join(cert.sans)) or "(none)"),
        _line("issuer", escape(cert.issuer)),
        _line("serial", cert.serial),
        _line("valid", f"{_date(cert.not_before)} to {_date(cert.not_after)} ({left})"),
        _line("key", f"{key}, signed {cert.signature_algorithm}"),
        _line("sha256", cert.sha256),
    ]


def _problems(r: ProbeResult) -> str:
    # Every problem the evidence proves; a record built without them falls back to
    # OpenSSL's first verdict.
    if r.certificate_problems:
        return ", ".join(p.value for p in r.certificate_problems)
    return str(r.failure_category or "certificate-unverified")


def _verdict(r: ProbeResult) -> str:
    if r.verified is None:
        return "not checked (no certificate)"
    if r.verified:
        return "yes (trusted chain, name matches)"
    return f"NO: {_problems(r)}"


def _tls(r: ProbeResult) -> list[str]:
    if r.tls_version is None:
        return []
    suite = f"{r.tls_version.value} {r.cipher or '?'}"
    if r.bits is not None:
        suite += f" ({r.bits} bits)"
    if r.key_exchange:
        suite += f", key exchange {r.key_exchange}"
    lines = [_line("TLS", suite)]
    if r.certificate is not None:
        lines += _certificate(r.certificate)
        lines.append(_line("chain", f"{len(r.chain)} certificate(s) sent"))
    lines.append(_line("verified", _verdict(r)))
    return lines


def _header(r: ProbeResult) -> str:
    where = str(r.target)
    if r.address and r.address != r.target.host:
        where += f" [{r.address}]"
    if r.target.domain and r.target.preference is not None:
        where += f" (MX {r.target.preference} of {r.target.domain})"
    status = r.outcome.value
    if r.verified is False:  # the session worked, but the certificate did not verify
        status += f", certificate NOT verified ({_problems(r)})"
    return f"{escape(where)}: {status} ({r.elapsed_s:.2f} s)"


def render_one(r: ProbeResult) -> str:
    """The text block of one result."""
    lines = [_header(r)]
    if r.banner is not None:
        lines += _multi("banner", r.banner)
        if r.outcome is ProbeOutcome.TARPIT and r.banner_delay_s is not None:
            lines.append(_line("", f"(greeting took {r.banner_delay_s:.1f} s)"))
    if r.starttls_offered is not None:
        lines.append(_line("EHLO", escape(", ".join(r.capabilities)) or "(no extensions)"))
        lines.append(_line("STARTTLS", "offered" if r.starttls_offered else "NOT offered"))
    if r.starttls_reply is not None:
        lines += _multi("reply", r.starttls_reply)
    lines += _tls(r)
    if r.accepted_versions is not None:
        accepted = " ".join(v.value for v in r.accepted_versions) or "none"
        lines.append(_line("versions", accepted))
    if r.failure_category is not None and r.verified is not False:
        lines.append(_line("failure", r.failure_category.value))
    if r.error:
        lines += _multi("detail", r.error)
    return "\n".join(lines)


def render_text(results: Sequence[ProbeResult]) -> str:
    """All results as terminal text, one block per target, blank line between blocks."""
    return "".join(render_one(r) + "\n\n" for r in results).rstrip("\n") + "\n"


def _cert_json(cert: Certificate) -> dict[str, object]:
    return {
        "subject": cert.subject,
        "sans": list(cert.sans),
        "issuer": cert.issuer,
        "serial": cert.serial,
        "not_before": cert.not_before.isoformat(),
        "not_after": cert.not_after.isoformat(),
        "days_left": cert.days_left,
        "key_type": cert.key_type,
        "key_bits": cert.key_bits,
        "key_curve": cert.key_curve,
        "signature_algorithm": cert.signature_algorithm,
        "sha256": cert.sha256,
        "self_issued": cert.self_issued,
    }


def _json_one(r: ProbeResult) -> dict[str, object]:
    return {
        "host": r.target.host,
        "port": r.target.port,
        "domain": r.target.domain,
        "mx_preference": r.target.preference,
        "address": r.address,
        "outcome": r.outcome.value,
        "step": r.step.value,
        "started_at": r.started_at.isoformat(),
        "elapsed_s": round(r.elapsed_s, 3),
        "banner": r.banner,
        "banner_delay_s": None if r.banner_delay_s is None else round(r.banner_delay_s, 3),
        "capabilities": list(r.capabilities),
        "starttls_offered": r.starttls_offered,
        "starttls_reply": r.starttls_reply,
        "tls_version": r.tls_version.value if r.tls_version else None,
        "cipher": r.cipher,
        "bits": r.bits,
        "key_exchange": r.key_exchange,
        "certificate": _cert_json(r.certificate) if r.certificate else None,
        "chain": [_cert_json(c) for c in r.chain],
        "verified": r.verified,
        "failure_category": r.failure_category.value if r.failure_category else None,
        "certificate_problems": (
            None if r.verified is None else [p.value for p in r.certificate_problems]
        ),
        "accepted_versions": (
            None if r.accepted_versions is None else [v.value for v in r.accepted_versions]
        ),
        "error": r.error,
    }


def render_json(results: Sequence[ProbeResult]) -> str:
    """All results as one JSON array (ASCII-only, so control characters arrive escaped)."""
    return json.dumps([_json_one(r) for r in results], indent=2, ensure_ascii=True) + "\n"
