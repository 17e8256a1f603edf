"""RFC 8460 aggregate reports from deliveries: sessions counted, valid against the RFC fields."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from analyzer.analysis import tlsrpt
from analyzer.frames.logs import DELIVERIES
from analyzer.report.tlsrpt import tlsrpt_reports
from tests.metrics_frames import deliveries, frame

ROOT = Path(__file__).resolve().parent.parent
_RESULT_TYPES = [
    "starttls-not-supported", "certificate-host-mismatch", "certificate-expired",
    "certificate-not-trusted", "validation-failure", "tlsa-invalid", "dnssec-invalid",
    "dane-required", "sts-policy-fetch-error", "sts-policy-invalid", "sts-webpki-invalid",
]  # fmt: skip
_COUNT = {"type": "integer", "minimum": 0}
# The report fields of RFC 8460 §4.4 and the result types of §4.3 (IANA "STARTTLS Validation
# Result Types"), as listed in shared reference log-formats.md §4.2-4.3.
RFC8460_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["organization-name", "date-range", "contact-info", "report-id", "policies"],
    "additionalProperties": False,
    "properties": {
        "organization-name": {"type": "string"},
        "date-range": {
            "type": "object",
            "required": ["start-datetime", "end-datetime"],
            "additionalProperties": False,
            "properties": {
                "start-datetime": {
                    "type": "string",
                    "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$",
                },
                "end-datetime": {"type": "string", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"},
            },
        },
        "contact-info": {"type": "string"},
        "report-id": {"type": "string", "minLength": 1},
        "policies": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["policy", "summary"],
                "additionalProperties": False,
                "properties": {
                    "policy": {
                        "type": "object",
                        "required": ["policy-type", "policy-domain"],
                        "additionalProperties": False,
                        "properties": {
                            "policy-type": {"enum": ["tlsa", "sts", "no-policy-found"]},
                            "policy-string": {"type": "array", "items": {"type": "string"}},
                            "policy-domain": {"type": "string"},
                            "mx-host": {},
                        },
                    },
                    "summary": {
                        "type": "object",
                        "required": [
                            "total-successful-session-count",
                            "total-failure-session-count",
                        ],
                        "additionalProperties": False,
                        "properties": {
                            "total-successful-session-count": _COUNT,
                            "total-failure-session-count": _COUNT,
                        },
                    },
                    "failure-details": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["result-type", "failed-session-count"],
                            "additionalProperties": False,
                            "properties": {
                                "result-type": {"enum": _RESULT_TYPES},
                                "sending-mta-ip": {"type": "string"},
                                "receiving-mx-hostname": {"type": "string"},
                                "receiving-mx-helo": {"type": "string"},
                                "receiving-ip": {"type": "string"},
                                "failed-session-count": _COUNT,
                                "additional-information": {"type": "string"},
                                "failure-reason-code": {"type": "string"},
                            },
                        },
                    },
                },
            },
        },
    },
}


def test_fixture_reports() -> None:
    reports = tlsrpt_reports(deliveries(), organization="Example Corp",
                             contact="tlsrpt@example.com", day=date(2026, 11, 2))  # fmt: skip
    assert [r.filename for r in reports] == [
        "example.com!a.example!1793577600!1793663999!001.json",
        "example.com!b.example!1793577600!1793663999!001.json",
    ]
    b = reports[1].document
    jsonschema.validate(b, RFC8460_SCHEMA)
    assert b == {
        "organization-name": "Example Corp",
        "date-range": {"start-datetime": "2026-11-02T00:00:00Z",
                       "end-datetime": "2026-11-02T23:59:59Z"},
        "contact-info": "tlsrpt@example.com",
        "report-id": "2026-11-02T00:00:00Z_b.example@example.com",
        "policies": [{
            "policy": {"policy-type": "no-policy-found", "policy-domain": "b.example"},
            "summary": {"total-successful-session-count": 0, "total-failure-session-count": 1},
            "failure-details": [{
                "result-type": "certificate-expired", "receiving-mx-hostname": "mx.b.example",
                "receiving-ip": "192.0.2.2", "failed-session-count": 1,
                "failure-reason-code": "certificate-expired",
            }],
        }],
    }  # fmt: skip
    # Q2's second attempt went in plaintext (fallback): it repeats the failure and is not
    # counted again; Q3 (plaintext, nothing logged) gives no report.
    assert reports[0].document["policies"][0]["summary"]["total-successful-session-count"] == 1
    (d,) = tlsrpt_reports(deliveries(), organization="Example Corp",
                          contact="tlsrpt@example.com", day=date(2026, 11, 4))  # fmt: skip
    assert d.document["policies"][0]["failure-details"] == [{
        "result-type": "starttls-not-supported", "receiving-mx-hostname": "mx.d.example",
        "receiving-ip": "192.0.2.4", "failed-session-count": 1,
        "failure-reason-code": "starttls-not-supported",
    }]  # fmt: skip


def test_recipients_of_one_session_count_once() -> None:
    row = {"mta": "postfix", "direction": "outbound", "outcome": "delivered", "encrypted": True,
           "fallback": False, "queue_id": "Q9", "recipient_domain": "a.example",
           "peer_ip": "192.0.2.1", "attempt": 1, "timestamp": "2026-11-02T10:00:00+00:00"}  # fmt: skip
    two = frame(DELIVERIES, [row, dict(row)])
    (report,) = tlsrpt_reports(
        two, organization="o", contact="c@example.com", day=date(2026, 11, 2)
    )
    assert report.document["policies"][0]["summary"]["total-successful-session-count"] == 1


def test_unsafe_domain_never_becomes_a_file_name() -> None:
    row = {"mta": "postfix", "direction": "outbound", "outcome": "delivered", "encrypted": True,
           "fallback": False, "queue_id": "Q9", "recipient_domain": "../../etc/passwd",
           "peer_ip": "192.0.2.1", "timestamp": "2026-11-02T10:00:00+00:00"}  # fmt: skip
    assert tlsrpt_reports(frame(DELIVERIES, [row]), organization="o", contact="c@example.com",
                          day=date(2026, 11, 2)) == ()  # fmt: skip


@pytest.mark.parametrize("mta", ["postfix", "exim"])
def test_lab_logs_give_valid_reports(mta: str) -> None:
    log = ROOT / "sample_data" / "lab" / mta
    if not log.exists():
        pytest.skip(f"no {mta} lab output")
    manifest = json.loads((log / "manifest.json").read_text(encoding="utf-8"))
    day = date.fromisoformat(str(manifest["run_started"])[:10])
    reports = tlsrpt([str(log)], organization="Lab", contact="tlsrpt@lab.test", day=day)
    if not reports:
        pytest.skip(f"no outbound session on {day}")
    for r in reports:
        jsonschema.validate(r.document, RFC8460_SCHEMA)
        assert r.filename.startswith(f"lab.test!{r.policy_domain}!")
        assert json.loads(r.json()) == r.document
