"""The JSON report validates against docs/report.schema.json and carries the metric figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from analyzer.analysis import analyze, analyze_frames
from tests.metrics_frames import deliveries, events, mailbox

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "docs" / "report.schema.json").read_text(encoding="utf-8"))


def validate(doc: dict[str, Any]) -> None:
    validator = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    assert [f"{list(e.absolute_path)}: {e.message}" for e in errors] == []


def test_schema_is_valid_draft_2020_12() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert SCHEMA["properties"]["schema_version"] == {
        "const": "1.0",
        "description": "version of this schema; bumped on any incompatible change",
    }


@pytest.fixture(scope="module")
def sample_doc() -> dict[str, Any]:
    out = analyze([str(ROOT / "sample_data")]).render("json")
    assert isinstance(out, str)
    return dict(json.loads(out))


def test_sample_data_report_validates(sample_doc: dict[str, Any]) -> None:
    validate(sample_doc)
    assert sample_doc["schema_version"] == "1.0"
    assert sample_doc["counts"]["messages"] > 0
    assert sample_doc["counts"]["deliveries"] > 0
    kinds = {i["kind"] for i in sample_doc["inputs"]}
    assert {"mailbox", "log"} <= kinds


def test_sample_counts_add_up(sample_doc: dict[str, Any]) -> None:
    for unit in ("messages", "hops", "sessions"):
        t = sample_doc["coverage"][unit]
        assert t["encrypted"] + t["plaintext"] + t["unknown"] == t["total"]
    assert sample_doc["coverage"]["messages"]["total"] == sample_doc["counts"]["messages"]
    assert sample_doc["coverage"]["sessions"]["total"] == sample_doc["counts"]["deliveries"]


def test_fixture_figures_in_json() -> None:
    out = analyze_frames(mailbox(), events(), deliveries()).render("json")
    assert isinstance(out, str)
    doc = json.loads(out)
    validate(doc)
    assert doc["coverage"]["messages"] == {
        "total": 5, "encrypted": 2, "plaintext": 1, "unknown": 2,
        "encrypted_share": 0.4, "plaintext_share": 0.2, "unknown_share": 0.4,
    }  # fmt: skip
    assert doc["fallback"]["by_reason"] == {
        "tls-failed-then-plain": 1, "starttls-not-offered": 1, "reason-not-logged": 1,
    }  # fmt: skip
    assert doc["fallback"]["rate"] == 0.6
    assert doc["incidents"][0] == {
        "peer": "mx.b.example", "peer_ip": "192.0.2.2", "failure_category": "certificate-expired",
        "first_seen": "2026-11-02T10:00:00+00:00", "last_seen": "2026-11-02T11:00:00+00:00",
        "duration_s": 3600.0, "sessions": 2, "messages": 1, "delivered_untrusted": 0,
        "fell_back": 1, "deferred": 1, "bounced": 0,
    }  # fmt: skip
    assert doc["readiness"]["safe_to_force"] == ["a.example"]
    assert doc["header_log_join"][0]["agree"] is False
    assert doc["strength"]["weaknesses"] == [
        {"weakness": "tls1.0", "count": 1, "share": 0.2, "examples": "old.ours.example"},
        {"weakness": "no-forward-secrecy", "count": 1, "share": 0.2,
         "examples": "old.ours.example"},
    ]  # fmt: skip


def test_schema_rejects_a_wrong_document() -> None:
    out = analyze_frames(mailbox(), events(), deliveries()).render("json")
    assert isinstance(out, str)
    doc = json.loads(out)
    doc["coverage"]["messages"]["encrypted"] = "2"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, SCHEMA, cls=jsonschema.Draft202012Validator)
