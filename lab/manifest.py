"""The lab manifest: per scenario, the ground truth and what the MTA's log can prove."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from lab.logscan import GENERAL_OF
from lab.mta import Provable
from lab.scenarios import CONDITION_BY_NAME, Expected, Scenario

COMPARED = ("encrypted", "tls_version", "outcome", "fallback", "failure_category")

# What a log line cannot show, per kind of shortfall (written into the manifest).
_SILENCE = {
    "failure_category": "the log does not state this failure category",
    "encrypted": "the log does not state whether the session was encrypted",
    "tls_version": "the log does not name the protocol version",
    "outcome": "the log does not show the final outcome",
    "fallback": "the log does not show whether a plaintext retry followed a TLS failure",
}


def _less_specific(field: str, truth: Any, logged: Any) -> bool:
    return field == "failure_category" and truth in GENERAL_OF.get(str(logged), frozenset())


def scenario_entry(
    scenario: Scenario, setting: str, provable: Provable, client: dict[str, Any] | None,
    override: tuple[Expected, str] | None = None,
) -> dict[str, Any]:
    """One scenario's manifest entry (plain JSON types).

    ``override`` replaces the generic ground truth where this MTA's configuration makes a
    different result the right one (with the reason, recorded as ``expected_basis``).
    """
    truth, basis = override if override else (scenario.expected, "generic lab expectation")
    expected = asdict(truth)
    prov = asdict(provable)
    prov["log_lines"] = list(provable.log_lines)
    prov["mailbox_lines"] = list(provable.mailbox_lines)
    agrees = {f: prov[f] == expected[f] for f in COMPARED}
    cannot = [
        f"{f}: {_SILENCE[f]} (truth: {expected[f]!r}, log: {prov[f]!r})"
        for f in COMPARED if not agrees[f] and prov[f] is None
    ] + [
        f"{f}: the log shows only {prov[f]!r}, not why (truth: {expected[f]!r})"
        for f in COMPARED if not agrees[f] and _less_specific(f, expected[f], prov[f])
    ]
    peer: dict[str, Any]
    if scenario.direction == "outbound":
        cond = CONDITION_BY_NAME[scenario.peer]
        peer = {"condition": cond.name, "description": cond.description,
                "address": f"{scenario.address}:25", "hostname": "mx.lab.test"}
    else:
        peer = {"client": scenario.peer, "description": scenario.description,
                "source_address": scenario.address}
    entry: dict[str, Any] = {
        "id": scenario.id,
        "direction": str(scenario.direction),
        "policy": str(scenario.policy),
        "policy_setting": setting,
        "peer": peer,
        "recipient": scenario.recipient,
        "expected": expected,
        "expected_basis": basis,
        "provable": prov,
        "agrees": agrees,
        "cannot_prove": cannot,
        "contradicts": [
            f for f in COMPARED if not agrees[f] and prov[f] is not None
            and not _less_specific(f, expected[f], prov[f])
        ],
    }
    if client is not None:
        entry["client_saw"] = client
    return entry
