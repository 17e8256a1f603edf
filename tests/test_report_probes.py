"""Live probes beside the evidence for the same peer: metric, sections, JSON, HTML, CLI."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest

from analyzer import analysis, cli
from analyzer.frames.probes import probes_frame
from analyzer.metrics.probes import probe_evidence
from analyzer.sources.probe import Resolver, parse_target, probe_many
from lab.certs import make_pki
from lab.peer_scenarios import scenario
from lab.peers import PeerServer

ROOT = Path(__file__).parent.parent
POSTFIX_LAB = ROOT / "sample_data" / "lab" / "postfix"
SCHEMA = json.loads((ROOT / "docs" / "report.schema.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def lab_result() -> analysis.AnalysisResult:
    return analysis.analyze([POSTFIX_LAB])


def test_probe_of_an_expired_peer_sits_beside_its_incident(
    tmp_path: Path, lab_result: analysis.AnalysisResult
) -> None:
    pki = make_pki(tmp_path / "pki")
    # The lab's expired peer was 127.0.0.42 (sample_data/lab/postfix/manifest.json); a peer
    # with an expired certificate listens there again, on a free port.
    with PeerServer(scenario("expired", pki, host="127.0.0.42")) as peer:
        _, port = peer.address
        # The certificate names mx.lab.test: probe that name, resolved (injected) to the peer.
        resolver = Resolver(addresses=lambda host, port: ["127.0.0.42"])
        results = probe_many(
            [parse_target(f"mx.lab.test:{port}")], timeout=2, ca_file=pki.ca_cert,
            resolver=resolver,
        )  # fmt: skip
    table = probe_evidence(probes_frame(results), lab_result.incidents)
    row = table.iloc[0]
    assert (row["target"], row["outcome"], row["failure_category"]) == (
        f"mx.lab.test:{port}",
        "ok",
        "certificate-expired",
    )
    assert row["certificate_problems"] == ["certificate-expired"]
    assert row["evidence_category"] == "certificate-expired"
    assert row["evidence"] == (
        "certificate-expired since 2026-11-27 21:28Z: 7 sessions, 7 deferred, 0 bounced"
    )
    probed = replace(lab_result, probes=table)
    doc = json.loads(probed.render("json"))
    jsonschema.validate(doc, SCHEMA)
    assert doc["probes"][0]["evidence"] == row["evidence"]
    assert doc["probes"][0]["certificate_problems"] == ["certificate-expired"]
    html = str(probed.render("html"))
    assert 'id="probes"' in html
    assert "certificate-expired since 2026-11-27 21:28Z" in html
    assert "LIVE PROBES OF THE PEERS" in str(probed.render("text")).upper()
    # the certificate column lists every problem the probe proved
    rows = [
        ln
        for ln in str(probed.render("markdown")).splitlines()
        if ln.startswith(f"| mx.lab.test:{port} ")
    ]
    assert len(rows) == 1
    assert "| certificate-expired | certificate-expired since " in rows[0]


def test_no_probe_section_without_probes(lab_result: analysis.AnalysisResult) -> None:
    assert "probes" not in json.loads(lab_result.render("json"))
    assert 'id="probes"' not in str(lab_result.render("html"))


def test_report_probe_option_probes_the_failing_peers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r.json"
    code = cli.main(["report", str(POSTFIX_LAB), "--probe", "--format", "json", "-o", str(out),
                     "-q"])  # fmt: skip
    assert code == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    jsonschema.validate(doc, SCHEMA)
    targets = {p["target"]: p for p in doc["probes"]}
    # Nothing listens on the lab's port 25 now: a clear result, not a crash.
    assert targets["127.0.0.42:25"]["outcome"] == "connection-refused"
    assert targets["127.0.0.42:25"]["evidence"].startswith("certificate-expired since ")
    assert targets["127.0.0.42:25"]["certificate_problems"] is None  # no certificate seen
