"""The committed MTA-lab outputs (sample_data/lab/<mta>/) are well-formed and self-consistent.

Every log line a manifest quotes must occur, verbatim, as a whole line of the committed log
of that MTA; every quoted mailbox line must occur in the committed mailbox. The provable
values must never contradict the ground truth (they may only be silent or less specific).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from lab.scenarios import all_scenarios

LAB = Path(__file__).resolve().parent.parent / "sample_data" / "lab"
MANIFESTS = sorted(LAB.glob("*/manifest.json"))
COMPARED = ("encrypted", "tls_version", "outcome", "fallback", "failure_category")
# issue 3, scope 4
CATEGORIES = {
    "starttls-not-supported", "starttls-rejected", "certificate-expired",
    "certificate-not-yet-valid", "certificate-revoked", "certificate-self-signed",
    "certificate-not-trusted", "certificate-host-mismatch", "certificate-unverified",
    "protocol-version-mismatch", "no-shared-cipher", "handshake-failure", "connection-lost",
    "handshake-timeout", "peer-rejected-our-certificate", "dane-required", "tlsa-invalid",
    "dnssec-invalid", "sts-policy-fetch-error", "sts-policy-invalid", "sts-webpki-invalid",
    "local-config-error",
}
RFC8460 = {
    "starttls-not-supported", "certificate-host-mismatch", "certificate-expired",
    "certificate-not-trusted", "validation-failure", "tlsa-invalid", "dnssec-invalid",
    "dane-required", "sts-policy-fetch-error", "sts-policy-invalid", "sts-webpki-invalid",
}
OUTCOMES = {"delivered", "deferred", "bounced", "rejected"}


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _ids(paths: list[Path]) -> list[str]:
    return [p.parent.name for p in paths]


def test_at_least_postfix_was_run() -> None:
    assert (LAB / "postfix" / "manifest.json") in MANIFESTS


def test_committed_output_is_small() -> None:
    total = sum(p.stat().st_size for p in LAB.rglob("*") if p.is_file())
    assert total < 2_000_000


@pytest.mark.parametrize("path", MANIFESTS, ids=_ids(MANIFESTS))
def test_manifest_shape(path: Path) -> None:
    manifest = _load(path)
    assert manifest["mta"] == path.parent.name
    assert manifest["version"]
    for rel in [*manifest["files"]["logs"], *manifest["files"]["mailboxes"],
                *manifest["files"]["config"], manifest["files"]["transcripts"]]:
        assert (path.parent / rel).is_file(), rel
    ids = [e["id"] for e in manifest["scenarios"]]
    assert ids == [s.id for s in all_scenarios()]


def _check_values(values: dict[str, Any]) -> None:
    assert values["encrypted"] in (True, False, None)
    assert values["fallback"] in (True, False, None)
    assert values["outcome"] in OUTCOMES | {None}
    assert values["failure_category"] in CATEGORIES | {None}
    version = values["tls_version"]
    assert version is None or re.fullmatch(r"TLSv1(\.[0-3])?", version)


@pytest.mark.parametrize("path", MANIFESTS, ids=_ids(MANIFESTS))
def test_scenario_values_use_the_vocabulary(path: Path) -> None:
    for entry in _load(path)["scenarios"]:
        assert entry["direction"] in ("inbound", "outbound")
        _check_values(entry["expected"])
        _check_values(entry["provable"])
        assert entry["expected"]["rfc8460_result_type"] in RFC8460 | {None}
        for field in COMPARED:
            same = entry["expected"][field] == entry["provable"][field]
            assert entry["agrees"][field] is same, (entry["id"], field)


@pytest.mark.parametrize("path", MANIFESTS, ids=_ids(MANIFESTS))
def test_quoted_log_lines_occur_in_the_committed_log(path: Path) -> None:
    manifest = _load(path)
    log_lines = set()
    for name in manifest["files"]["logs"]:
        log_lines.update((path.parent / name).read_text().splitlines())
    mbox = (path.parent / "mail" / "labrcpt.mbox").read_text().splitlines()
    mbox_lines = set(mbox)
    for entry in manifest["scenarios"]:
        for line in entry["provable"]["log_lines"]:
            assert line in log_lines, (entry["id"], line)
        for line in entry["provable"]["mailbox_lines"]:
            assert line in mbox_lines, (entry["id"], line)


@pytest.mark.parametrize("path", MANIFESTS, ids=_ids(MANIFESTS))
def test_log_never_contradicts_the_ground_truth(path: Path) -> None:
    bad = {e["id"]: e["contradicts"] for e in _load(path)["scenarios"] if e["contradicts"]}
    assert bad == {}


@pytest.mark.parametrize("path", MANIFESTS, ids=_ids(MANIFESTS))
def test_logs_name_only_loopback_addresses(path: Path) -> None:
    manifest = _load(path)
    seen = set()
    for name in manifest["files"]["logs"]:
        text = (path.parent / name).read_text()
        # addresses are bracketed in all three MTAs' lines (Exim also writes "H=a.b.c.d ")
        seen.update(re.findall(r"(?:\[|H=)(\d{1,3}(?:\.\d{1,3}){3})[\]\s:]", text))
    assert "127.0.0.42" in seen  # the out-expired-verify peer
    assert {ip for ip in seen if not ip.startswith("127.")} == set()


def _provable(mta: str, scenario: str) -> dict[str, Any]:
    manifest = _load(LAB / mta / "manifest.json")
    entry = next(e for e in manifest["scenarios"] if e["id"] == scenario)
    prov: dict[str, Any] = entry["provable"]
    return {f: prov[f] for f in (*COMPARED, "trust")}


POSTFIX_CASES = {
    # Verification required: the reason is logged.
    "out-expired-verify": {"encrypted": True, "tls_version": "TLSv1.3", "outcome": "bounced",
                           "fallback": False, "failure_category": "certificate-expired",
                           "trust": "Untrusted"},
    # Opportunistic: "Untrusted" without a reason.
    "out-expired-opp": {"encrypted": True, "tls_version": "TLSv1.3", "outcome": "delivered",
                        "fallback": False, "failure_category": "certificate-unverified",
                        "trust": "Untrusted"},
    # Opportunistic: names are not checked, so the wrong name is invisible.
    "out-wrong-name-opp": {"encrypted": True, "tls_version": "TLSv1.3",
                           "outcome": "delivered", "fallback": False,
                           "failure_category": None, "trust": "Trusted"},
    # Handshake failed twice, then the plaintext retry went through.
    "out-drop-after-starttls-opp": {"encrypted": False, "tls_version": None,
                                    "outcome": "delivered", "fallback": True,
                                    "failure_category": "connection-lost", "trust": None},
    # Not offered at level may: plaintext, and nothing says why.
    "out-no-starttls-opp": {"encrypted": False, "tls_version": None, "outcome": "delivered",
                            "fallback": None, "failure_category": None, "trust": None},
    "out-no-starttls-verify": {"encrypted": False, "tls_version": None, "outcome": "bounced",
                               "fallback": False, "failure_category": "starttls-not-supported",
                               "trust": None},
    "in-client-cert": {"encrypted": True, "tls_version": "TLSv1.3", "outcome": "delivered",
                       "fallback": False, "failure_category": None, "trust": "Trusted"},
    "in-drop-after-starttls": {"encrypted": False, "tls_version": None, "outcome": None,
                               "fallback": False, "failure_category": "connection-lost",
                               "trust": None},
}


@pytest.mark.parametrize("scenario", sorted(POSTFIX_CASES))
def test_postfix_provable_values(scenario: str) -> None:
    assert _provable("postfix", scenario) == POSTFIX_CASES[scenario]


def test_postfix_received_header_tls_comment_only_on_port_25() -> None:
    manifest = _load(LAB / "postfix" / "manifest.json")
    by_id = {e["id"]: e["provable"]["mailbox_lines"] for e in manifest["scenarios"]}
    assert any("(using TLSv1.3 with cipher" in ln for ln in by_id["in-tls13"])
    second = by_id["in-tls13-second-listener"]
    assert second
    assert not any("using TLSv" in ln for ln in second)
    assert any("with ESMTPS id" in ln for ln in second)


EXIM_CASES = {
    # GnuTLS aborts the handshake itself and gives no reason.
    "out-expired-verify": {"encrypted": False, "tls_version": None, "outcome": "bounced",
                           "fallback": False, "failure_category": "certificate-unverified",
                           "trust": None},
    "out-expired-opp": {"encrypted": True, "tls_version": "TLSv1.3", "outcome": "delivered",
                        "fallback": False, "failure_category": "certificate-unverified",
                        "trust": "CV=no"},
    # "delivering unencrypted to H=... (not in hosts_require_tls)"
    "out-disjoint-ciphers-opp": {"encrypted": False, "tls_version": None,
                                 "outcome": "delivered", "fallback": True,
                                 "failure_category": "handshake-failure", "trust": None},
    "out-no-starttls-verify": {"encrypted": False, "tls_version": None, "outcome": "bounced",
                               "fallback": False, "failure_category": "starttls-not-supported",
                               "trust": None},
    "in-tls10": {"encrypted": True, "tls_version": "TLSv1", "outcome": "delivered",
                 "fallback": False, "failure_category": None, "trust": "CV=no"},
}


@pytest.mark.parametrize("scenario", sorted(EXIM_CASES))
def test_exim_provable_values(scenario: str) -> None:
    assert _provable("exim", scenario) == EXIM_CASES[scenario]


SENDMAIL_CASES = {
    # "ruleset=tls_server, arg1=FAIL, ... reject=454 4.7.0 authentication failed"
    "out-expired-verify": {"encrypted": True, "tls_version": "TLSv1.3", "outcome": "bounced",
                           "fallback": False, "failure_category": "certificate-unverified",
                           "trust": "verify=FAIL"},
    # no plaintext fallback at the default policy: deferred until the DSN
    "out-drop-after-starttls-opp": {"encrypted": False, "tls_version": None,
                                    "outcome": "bounced", "fallback": False,
                                    "failure_category": "connection-lost", "trust": None},
    # "ruleset=tls_server, arg1=TEMP": STARTTLS answered 454
    "out-refuse-starttls-verify": {"encrypted": False, "tls_version": None,
                                   "outcome": "bounced", "fallback": False,
                                   "failure_category": "starttls-rejected", "trust": None},
    "in-client-cert": {"encrypted": True, "tls_version": "TLSv1.3", "outcome": "delivered",
                       "fallback": False, "failure_category": None, "trust": "verify=OK"},
    # "accept failed=-1, reason=no suitable signature algorithm"
    "in-tls10": {"encrypted": False, "tls_version": None, "outcome": None, "fallback": False,
                 "failure_category": "handshake-failure", "trust": None},
}


@pytest.mark.parametrize("scenario", sorted(SENDMAIL_CASES))
def test_sendmail_provable_values(scenario: str) -> None:
    assert _provable("sendmail", scenario) == SENDMAIL_CASES[scenario]


def test_every_mta_of_the_lab_is_committed() -> None:
    assert [p.parent.name for p in MANIFESTS] == ["exim", "postfix", "sendmail"]


@pytest.mark.parametrize("path", MANIFESTS, ids=_ids(MANIFESTS))
def test_manifest_is_what_the_provers_derive_from_the_committed_files(path: Path) -> None:
    from lab.run import load_driver, scenario_entries

    manifest = _load(path)
    log_text = "".join((path.parent / n).read_text() for n in manifest["files"]["logs"])
    mbox_text = (path.parent / "mail" / "labrcpt.mbox").read_text()
    clients = {e["id"]: e["client_saw"] for e in manifest["scenarios"] if "client_saw" in e}
    derived = scenario_entries(load_driver(manifest["mta"]), log_text, mbox_text, clients)
    assert derived == manifest["scenarios"]
