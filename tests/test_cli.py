"""The mailtls command: outputs, exit codes, escaping, and that every option is documented."""

from __future__ import annotations

import argparse
import io
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from analyzer import cli

ROOT = Path(__file__).parent.parent
SAMPLE = ROOT / "sample_data" / "mailboxes" / "real-writers.mbox"

# A real Postfix header (received-formats.md §3.1, ARCH-USRP@ca763a0eab9f) with the by host
# replaced by a spreadsheet formula and the from host carrying a terminal escape: attacker text.
HOSTILE = (
    b"From x@example.org Mon Jan  1 00:00:00 2024\n"
    b"Received: from \x1b]0;pwned\x07mm2.emwd.com (mm2.emwd.com [172.104.30.75]) by "
    b'=HYPERLINK("http://evil.example") (Postfix) with ESMTPS id E46A3707D7C; '
    b"Sat, 04 Jul 2026 17:25:45 +0200\n"
    b"Message-ID: <=cmd|' /C calc'!A0>\n\nbody\n"
)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_hops_csv_of_sample_data(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["hops", str(SAMPLE)], capsys)
    assert code == 0
    df = pd.read_csv(io.StringIO(out))
    assert len(df) == 45
    assert err.endswith("44 messages read, 0 lost; 45 Received headers parsed, 0 not; 0 issues\n")


def test_messages_jsonl_keys_and_nulls(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["messages", str(SAMPLE), "--format", "jsonl", "-q"], capsys)
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 44
    assert rows[0]["message_id"] == "<sample-1@mailtls.invalid>"
    assert rows[0]["boundary_evidence"] == "tls"
    assert rows[2]["boundary_hop"] is None


def test_parquet_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "hops.parquet"
    issues = tmp_path / "issues.parquet"
    code, _, _ = run(["hops", str(SAMPLE), "--format", "parquet", "-o", str(out),
                      "--issues", str(issues), "-q"], capsys)  # fmt: skip
    assert code == 0
    df = pd.read_parquet(out)
    assert len(df) == 45
    assert df["tls_version"].dtype.name == "category"
    assert len(pd.read_parquet(issues)) == 0


def test_csv_neutralises_formulas_and_terminal_output_is_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    box = tmp_path / "hostile.mbox"
    box.write_bytes(HOSTILE)
    code, out, _ = run(["hops", str(box), "--trusted-host", "*.example.org"], capsys)
    assert code == 0
    df = pd.read_csv(io.StringIO(out))
    assert df.loc[0, "by_host"] == "'=HYPERLINK"  # the scanner ends the word at "("
    assert df.loc[0, "message_id"] == "<=cmd|' /C calc'!A0>"  # starts with "<": harmless
    code, out, _ = run(["messages", str(box), "-q"], capsys)
    assert "'=" not in out.splitlines()[0]


def test_missing_input_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["hops", "/nonexistent/box.mbox"], capsys)
    assert (code, out) == (2, "")
    assert err == "mailtls: error: no such file or directory: /nonexistent/box.mbox\n"


def test_input_that_is_not_a_mailbox_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(bytes(range(256)) * 4)
    code, _, err = run(["hops", str(junk)], capsys)
    assert code == 2
    assert "0 messages read, 0 lost" in err


def test_probe_without_targets_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["probe"], capsys)
    assert code == 2
    assert "nothing is probed unasked" in err


def _options(parser: argparse.ArgumentParser) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found[name] = [o for a in sub._actions for o in a.option_strings if o != "-h"]
                found[name] = [o for o in found[name] if o != "--help"]
    return found


def test_every_cli_option_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for command, options in _options(cli.build_parser()).items():
        assert re.search(rf"mailtls {command}\b", readme), f"README does not show {command}"
        for option in options:
            assert option in readme, f"README does not document {command} {option}"


@pytest.mark.parametrize(
    ("name", "code", "expected"),
    [
        ("valid", 0, "verified     yes (trusted chain, name matches)"),
        ("expired", 1, "certificate NOT verified (certificate-expired)"),
        ("no-starttls", 1, "starttls-not-offered"),
        ("silent", 3, "timeout"),
    ],
)
def test_probe_command_against_loopback_peers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, code: int, expected: str
) -> None:
    from lab.certs import make_pki
    from lab.peer_scenarios import scenario
    from lab.peers import PeerServer

    pki = make_pki(tmp_path / "pki")
    with PeerServer(scenario(name, pki)) as peer:
        host, port = peer.address
        got, out, _ = run(
            ["probe", f"{host}:{port}", "--ca-file", str(pki.ca_cert), "--timeout", "1"], capsys
        )
    assert got == code
    assert expected in out


@pytest.mark.parametrize("command", ["hops", "messages", "events", "deliveries", "report"])
def test_hostile_inputs_give_rows_or_issues_never_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    import gzip
    import random

    rnd = random.Random(5)
    junk = tmp_path / "junk.bin"
    junk.write_bytes(bytes(rnd.randrange(256) for _ in range(200_000)))
    bomb = tmp_path / "bomb.gz"
    bomb.write_bytes(gzip.compress(b"\0" * (64 << 20)))
    overlong = tmp_path / "overlong.log"
    overlong.write_bytes(b"Nov 27 10:00:00 mx postfix/smtp[1]: " + b"A" * (2 << 20) + b"\n")
    args = [command, str(junk), str(bomb), str(overlong), "-q"]
    if command == "report":
        args += ["--format", "json", "-o", str(tmp_path / "r.json")]
    code, _, err = run(args, capsys)
    assert code in (0, 2)
    assert "Traceback" not in err


def test_workers_choose_processes_not_output(capsys: pytest.CaptureFixture[str]) -> None:
    lab = Path(__file__).resolve().parent.parent / "sample_data" / "lab" / "postfix" / "mail.log"
    outputs = []
    for extra in ([], ["--workers", "1"], ["--workers", "2"]):
        code, out, _ = run(["deliveries", str(lab), "--format", "jsonl", "-q", *extra], capsys)
        assert code == 0
        outputs.append(out)
    assert outputs[0] == outputs[1] == outputs[2]
    assert len(outputs[0].splitlines()) == 127  # the lab Postfix log's deliveries
    reports = []
    for extra in (["--workers", "1"], ["--workers", "3"]):
        code, out, _ = run(["report", str(SAMPLE), str(lab), "--format", "json", "-q", *extra],
                           capsys)  # fmt: skip
        assert code == 0
        doc = json.loads(out)
        doc.pop("generated_at", None)
        reports.append(doc)
    assert reports[0] == reports[1]
