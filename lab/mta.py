"""What every MTA driver of the lab provides, and the context a run hands to it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from lab.certs import Pki
from lab.scenarios import Expected, Scenario

WORK_ROOT = Path("/var/tmp/mailtls-lab")  # noqa: S108 -- root-only lab scratch, outside the repo
MAIL_SPOOL = Path("/var/mail")


@dataclass(frozen=True, slots=True)
class LabContext:
    """Inputs of one MTA run.

    Attributes:
        pki: the lab PKI (trusted CA, leaves).
        work: scratch directory of this MTA (outside the repository).
        scenarios: the scenarios of the run.
        run_id: a short random token, used in Message-IDs.
    """

    pki: Pki
    work: Path
    scenarios: tuple[Scenario, ...]
    run_id: str


@dataclass(frozen=True, slots=True)
class Provable:
    """What one MTA's log (and delivered mailbox) proves about one scenario.

    Attributes:
        encrypted: True/False when the log says so, None when it cannot tell.
        tls_version: the protocol named by the log, or None.
        outcome: delivered/deferred/bounced/rejected as logged, or None.
        fallback: True/False when the log shows it, None when it cannot tell.
        failure_category: the most specific category the log text supports, or None.
        trust: the trust or verification word the log gives (e.g. Postfix "Untrusted").
        deferrals: how many deferral lines the log has for the message.
        basis: one or two sentences on how the values follow from the lines.
        log_lines: the log lines relied on, verbatim (exact lines of the committed log).
        mailbox_lines: header lines relied on, verbatim from the committed mailbox.
    """

    encrypted: bool | None
    tls_version: str | None
    outcome: str | None
    fallback: bool | None
    failure_category: str | None
    trust: str | None
    deferrals: int
    basis: str
    log_lines: tuple[str, ...]
    mailbox_lines: tuple[str, ...] = ()


class Driver(Protocol):
    """One MTA: install, configure for loopback only, run, collect, and read its log."""

    name: str
    packages: tuple[str, ...]

    def install(self) -> None: ...
    def configure(self, ctx: LabContext) -> None: ...
    def start(self) -> None: ...
    def stop(self) -> None: ...
    def flush(self) -> None: ...
    def queue_size(self) -> int: ...
    def version(self) -> str: ...
    def policy_setting(self, scenario: Scenario) -> str: ...
    def logging(self) -> dict[str, str]: ...
    def log_files(self) -> dict[str, Path]: ...
    def config_files(self, ctx: LabContext) -> dict[str, str]: ...
    def prove(self, log_text: str, mailbox_text: str, scenario: Scenario) -> Provable: ...
    def overrides(self) -> dict[str, tuple[Expected, str]]: ...
