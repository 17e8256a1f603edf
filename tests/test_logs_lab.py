"""Golden tests over the MTA lab's genuine logs (sample_data/lab/<mta>/).

Each scenario of a lab manifest states, from the configuration, what the MTA's log can
prove (``provable``); the deliveries read from the log must say exactly that.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from analyzer.api_logs import LogReadResult, read_logs_result
from analyzer.normalize import normalize_version

LAB = Path(__file__).resolve().parent.parent / "sample_data" / "lab"
MANIFESTS = sorted(LAB.glob("*/manifest.json"))


def _cases() -> list[Any]:
    cases = []
    for path in MANIFESTS:
        manifest = json.loads(path.read_text())
        for scenario in manifest["scenarios"]:
            cases.append(pytest.param(path, scenario, id=f"{path.parent.name}-{scenario['id']}"))
    return cases


_READ: dict[Path, LogReadResult] = {}
# Exim writes CV= (tls_certificate_verified) where Postfix writes a trust word
# Sendmail writes verify= (tls.c); the dialects map both to the trust vocabulary
_TRUST = {
    "CV=yes": "trusted",
    "CV=no": "untrusted",
    "CV=dane": "verified",
    "verify=OK": "trusted",
    "verify=FAIL": "untrusted",
    "verify=NO": "anonymous",
}


def _read(manifest_path: Path) -> LogReadResult:
    if manifest_path not in _READ:
        manifest = json.loads(manifest_path.read_text())
        logs = [manifest_path.parent / name for name in manifest["files"]["logs"]]
        _READ[manifest_path] = read_logs_result(logs)
    return _READ[manifest_path]


def _rows(result: LogReadResult, scenario: dict[str, Any]) -> pd.DataFrame:
    d = result.deliveries
    if scenario["direction"] == "inbound":
        ip = scenario["peer"]["source_address"]
        return d[(d["direction"] == "inbound") & (d["peer_ip"] == ip)]
    domain = scenario["recipient"].rpartition("@")[2].lower()
    return d[(d["direction"] == "outbound") & (d["recipient_domain"] == domain)]


def _value(v: object) -> object:
    return None if v is pd.NA or (isinstance(v, float) and pd.isna(v)) else v


@pytest.mark.parametrize(("manifest_path", "scenario"), _cases())
def test_lab_scenario(manifest_path: Path, scenario: dict[str, Any]) -> None:
    result = _read(manifest_path)
    proof = scenario["provable"]
    rows = _rows(result, scenario).sort_values("timestamp", kind="stable")
    if proof["outcome"] is None:
        # no message came through (rows can only be refusals of client commands); the
        # session's own events must say what the log proves
        assert set(rows["outcome"]) <= {"rejected"}
        assert set(rows["encrypted"].dropna()) <= {proof["encrypted"]}
        ev = result.events
        peer = ev[ev["peer_ip"] == scenario["peer"].get("source_address", "")]
        if proof["failure_category"] is not None:
            assert proof["failure_category"] in set(peer["failure_category"].dropna())
        if proof["encrypted"]:
            version = normalize_version(proof["tls_version"])
            assert version is not None
            assert version.value in set(peer["tls_version"].dropna())
        return
    last = rows.iloc[-1]
    got = {
        "encrypted": _value(last["encrypted"]),
        "tls_version": _value(last["tls_version"]),
        "outcome": last["outcome"],
        "fallback": _value(last["fallback"]),
        "failure_category": _value(last["failure_category"]),
        "trust": _value(last["trust"]),
        "deferrals": int((rows["outcome"] == "deferred").sum()),
    }
    version = normalize_version(proof["tls_version"])
    want = {
        "encrypted": proof["encrypted"],
        "tls_version": version.value if version else None,
        "outcome": proof["outcome"],
        "fallback": proof["fallback"],
        "failure_category": proof["failure_category"],
        "trust": _TRUST.get(proof["trust"], proof["trust"].lower() if proof["trust"] else None),
        "deferrals": proof["deferrals"],
    }
    assert got == want


@pytest.mark.parametrize("manifest_path", MANIFESTS, ids=[p.parent.name for p in MANIFESTS])
def test_lab_nothing_lost(manifest_path: Path) -> None:
    counts = _read(manifest_path).counts
    assert counts.lines == counts.parsed + counts.unrelated + counts.issues + counts.duplicates
    assert counts.issues == 0
