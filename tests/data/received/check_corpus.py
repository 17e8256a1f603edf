"""Validate the golden Received-header corpus in this directory and print its totals.

Every case is a pair ``NNNN.txt`` (the header value as found) and ``NNNN.json``
(``provenance``, ``writer``, optional ``note``, and the whole ``expected`` record).
The format is described in README.md next to this script.

Usage::

    python tests/data/received/check_corpus.py            # every case
    python tests/data/received/check_corpus.py 1-299      # only cases 0001..0299

Exit status 0 when every case is valid, 1 otherwise.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent

TOP_REQUIRED = frozenset({"provenance", "writer", "expected"})
TOP_ALLOWED = TOP_REQUIRED | {"note"}
EXPECTED_KEYS = (
    "from_host",
    "from_helo",
    "from_rdns",
    "from_ip",
    "by_host",
    "via",
    "protocol",
    "id",
    "for_",
    "timestamp",
    "dialect",
    "evidence",
    "tls_version",
    "version_raw",
    "cipher",
    "cipher_raw",
    "bits",
    "alg_bits",
    "key_exchange",
    "server_signature",
    "client_cert",
    "client_cn",
    "verify",
)
INT_KEYS = frozenset({"bits", "alg_bits"})
DIALECTS = frozenset(
    {
        "postfix",
        "sendmail",
        "sentrion",
        "ibm",
        "exim",
        "exchange",
        "iis",
        "google",
        "opensmtpd",
        "dovecot",
        "cyrus",
        "courier",
        "qmail",
        "haraka",
        "chasquid",
        "ironport",
        "mimecast",
        "symantec",
        "kerio",
        "hmailserver",
        "mdaemon",
        "icewarp",
        "communigate",
        "zoho",
        "t-online",
        "stalwart",
        "ecelerity",
        "exclaimer",
        "codetwo",
        "activegate",
        "amavis",
        "amazon-ses",
        "yahoo",
        "zmailer",
        "rfc8314",
        "generic",
    }
)
EVIDENCE = frozenset({"tls", "tls-keyword", "plaintext", "unknown"})
TLS_VERSIONS = frozenset({"SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"})
CLIENT_CERT = frozenset({"not-requested", "not-presented", "verified", "not-verified", "presented"})
CASE_NAME = re.compile(r"^(\d{4})\.(txt|json)$")
IANA_NAME = re.compile(r"^TLS_[A-Za-z0-9_]+$")
MAX_BITS = 512


@dataclass(frozen=True, slots=True)
class Case:
    """One golden case as read from disk.

    Attributes:
        number: the four-digit case number.
        writer: the writer text from the json file.
        dialect: the expected dialect.
        evidence: the expected evidence verdict.
        tls_version: the expected normalised version, or None.
    """

    number: int
    writer: str
    dialect: str
    evidence: str
    tls_version: str | None


@dataclass(slots=True)
class Report:
    """Errors and accepted cases collected over one run.

    Attributes:
        errors: one human-readable line per problem found.
        cases: every case that passed all checks.
    """

    errors: list[str] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)


def _check_enum(name: str, value: object, allowed: frozenset[str], errs: list[str]) -> None:
    if value is not None and value not in allowed:
        errs.append(f"{name}={value!r} is not one of the allowed values")


def _check_types(exp: dict[str, object], errs: list[str]) -> None:
    for key in EXPECTED_KEYS:
        value = exp.get(key)
        if value is None:
            continue
        if key in INT_KEYS:
            if isinstance(value, bool) or not isinstance(value, int):
                errs.append(f"{key} must be an integer or null, got {value!r}")
            elif not 0 <= value <= MAX_BITS:
                errs.append(f"{key}={value} is out of range")
        elif not isinstance(value, str) or not value or value != value.strip():
            errs.append(f"{key} must be a non-empty trimmed string or null, got {value!r}")


def _check_timestamp(value: object, errs: list[str]) -> None:
    if not isinstance(value, str):
        return
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        errs.append(f"timestamp {value!r} is not ISO-8601")
        return
    if parsed.utcoffset() is None or parsed.utcoffset().total_seconds() != 0:  # type: ignore[union-attr]
        errs.append(f"timestamp {value!r} is not in UTC (+00:00)")


def _check_consistency(exp: dict[str, object], errs: list[str]) -> None:
    """Cross-field rules of the golden format."""
    if exp.get("dialect") is None:
        errs.append("dialect must not be null")
    if exp.get("evidence") is None:
        errs.append("evidence must not be null")
    details = ("tls_version", "cipher", "bits", "alg_bits", "key_exchange", "verify")
    if any(exp.get(k) is not None for k in details) and exp.get("evidence") != "tls":
        errs.append("TLS details present but evidence is not 'tls'")
    if (exp.get("cipher") is None) != (exp.get("cipher_raw") is None):
        errs.append("cipher and cipher_raw must both be set or both be null")
    if exp.get("tls_version") is not None and exp.get("version_raw") is None:
        errs.append("tls_version set without version_raw")
    cipher, raw = exp.get("cipher"), exp.get("cipher_raw")
    if isinstance(cipher, str) and not IANA_NAME.match(cipher) and cipher != raw:
        errs.append(f"cipher {cipher!r} is neither an IANA-style name nor the raw name kept")
    if exp.get("alg_bits") is not None and exp.get("bits") is None:
        errs.append("alg_bits set without bits")
    if exp.get("client_cn") is not None and exp.get("client_cert") not in {
        "verified",
        "not-verified",
        "presented",
    }:
        errs.append("client_cn set but client_cert does not say a certificate was presented")
    for_ = exp.get("for_")
    if isinstance(for_, str) and (for_.startswith("<") or for_.endswith(">")):
        errs.append("for_ must be written without angle brackets")


def _check_text(path: Path, errs: list[str]) -> None:
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        errs.append("txt file is not valid UTF-8")
        return
    if not text.strip():
        errs.append("txt file is empty")
    if text.lower().startswith("received:"):
        errs.append("txt file must hold the value only, without the 'Received:' name")


def check_case(number: int, report: Report) -> None:
    """Validate one case and append either its errors or the accepted case."""
    stem = HERE / f"{number:04d}"
    txt, js = stem.with_suffix(".txt"), stem.with_suffix(".json")
    errs: list[str] = []
    if not txt.is_file() or not js.is_file():
        report.errors.append(f"{number:04d}: both .txt and .json are required")
        return
    _check_text(txt, errs)
    try:
        obj = json.loads(js.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        report.errors.append(f"{number:04d}: json unreadable: {exc}")
        return
    if not isinstance(obj, dict) or not set(obj) >= TOP_REQUIRED or not set(obj) <= TOP_ALLOWED:
        keys = sorted(obj) if isinstance(obj, dict) else type(obj).__name__
        report.errors.append(
            f"{number:04d}: top-level keys must be {sorted(TOP_REQUIRED)} (+ note), got {keys}"
        )
        return
    for key in ("provenance", "writer", "note"):
        if key in obj and (not isinstance(obj[key], str) or not obj[key].strip()):
            errs.append(f"{key} must be a non-empty string")
    exp = obj["expected"]
    if not isinstance(exp, dict) or set(exp) != set(EXPECTED_KEYS):
        got = sorted(exp) if isinstance(exp, dict) else type(exp).__name__
        report.errors.append(f"{number:04d}: expected keys must be exactly the schema, got {got}")
        return
    _check_types(exp, errs)
    _check_enum("dialect", exp["dialect"], DIALECTS, errs)
    _check_enum("evidence", exp["evidence"], EVIDENCE, errs)
    _check_enum("tls_version", exp["tls_version"], TLS_VERSIONS, errs)
    _check_enum("client_cert", exp["client_cert"], CLIENT_CERT, errs)
    _check_timestamp(exp["timestamp"], errs)
    _check_consistency(exp, errs)
    if errs:
        report.errors.extend(f"{number:04d}: {e}" for e in errs)
        return
    report.cases.append(
        Case(
            number,
            str(obj["writer"]),
            str(exp["dialect"]),
            str(exp["evidence"]),
            exp["tls_version"] if isinstance(exp["tls_version"], str) else None,
        )
    )


def case_numbers(lo: int, hi: int) -> list[int]:
    """Numbers of every NNNN.txt / NNNN.json in range, so a lone half is reported too."""
    found = set()
    for path in HERE.iterdir():
        m = CASE_NAME.match(path.name)
        if m and lo <= int(m.group(1)) <= hi:
            found.add(int(m.group(1)))
    return sorted(found)


def _print_counter(title: str, counter: Counter[str]) -> None:
    print(f"\n{title} ({len(counter)} distinct):")
    for name, n in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  {n:4d}  {name}")


def summarise(report: Report) -> None:
    """Print per-writer, per-dialect and per-evidence counts of the accepted cases."""
    cases = report.cases
    _print_counter("cases per dialect", Counter(c.dialect for c in cases))
    _print_counter("cases per evidence", Counter(c.evidence for c in cases))
    _print_counter("cases per tls_version", Counter(c.tls_version or "null" for c in cases))
    _print_counter("cases per writer", Counter(c.writer for c in cases))
    print(
        f"\nTOTAL valid cases: {len(cases)}; distinct writers: {len({c.writer for c in cases})}; "
        f"distinct dialects: {len({c.dialect for c in cases})}; errors: {len(report.errors)}"
    )


def main(argv: list[str]) -> int:
    """Check the cases selected by an optional ``LO-HI`` argument; print totals."""
    lo, hi = 1, 9999
    if argv:
        m = re.fullmatch(r"(\d+)-(\d+)", argv[0])
        if m is None:
            print(__doc__)
            return 2
        lo, hi = int(m.group(1)), int(m.group(2))
    report = Report()
    for number in case_numbers(lo, hi):
        check_case(number, report)
    for line in report.errors:
        print("ERROR", line)
    summarise(report)
    return 1 if report.errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
