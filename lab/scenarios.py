"""The lab's scenarios and their ground truth, taken from the configuration alone.

Each outbound scenario is one peer condition (a ``lab.peers`` scenario name) under one TLS
policy of the MTA; each inbound scenario is one SMTP client behaviour against the MTA. The
expected values use the vocabulary of the ``deliveries`` frame (issue 3, scope 4 and 6):
``encrypted`` describes the transport of the last connection attempt (a TLS session was
established with the peer, whether or not the message then went through), ``outcome`` is
the final fate of the message, ``fallback`` means a TLS attempt failed and the message was
then sent in plaintext.

Every peer gets its own loopback address, so a log line naming ``[127.0.0.N]`` belongs to
exactly one scenario. Nothing here touches the network.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Direction(StrEnum):
    """Who opened the SMTP session: a peer of ours (inbound) or we (outbound)."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"


class Policy(StrEnum):
    """The MTA's TLS policy toward one destination (outbound) or its clients (inbound)."""

    OPPORTUNISTIC = "opportunistic"  # Postfix may, Exim default, Sendmail default
    ENFORCED_VERIFY = "enforced-verify"  # TLS required and the certificate must verify
    ENFORCED_ENCRYPT = "enforced-encrypt"  # TLS required, any certificate
    SERVER_MAY = "server-may"  # inbound: STARTTLS offered, not required


POLICY_LABEL: dict[Policy, str] = {
    Policy.OPPORTUNISTIC: "opp",
    Policy.ENFORCED_VERIFY: "verify",
    Policy.ENFORCED_ENCRYPT: "encrypt",
    Policy.SERVER_MAY: "may",
}

POLICY_BASE: dict[Policy, int] = {
    Policy.OPPORTUNISTIC: 10,
    Policy.ENFORCED_VERIFY: 40,
    Policy.ENFORCED_ENCRYPT: 70,
}

PEER_HOSTNAME = "mx.lab.test"
MTA_HOSTNAME = "mta.lab.test"
LAB_DOMAIN = "lab.test"
SENDER = f"labsender@{MTA_HOSTNAME}"
LOCAL_USER = "labrcpt"
TLS13 = "TLSv1.3"


@dataclass(frozen=True, slots=True)
class Expected:
    """Ground truth of one scenario, from the configuration (never from the log).

    Attributes:
        encrypted: whether the last connection attempt carried a TLS session.
        tls_version: the protocol of that session, or None.
        outcome: delivered, deferred, bounced or rejected (final fate of the message), or
            None when no message was ever transferred (an inbound session that failed).
        fallback: a TLS attempt failed and the message went out in plaintext.
        failure_category: issue 3 scope 4 vocabulary, or None when nothing failed.
        rfc8460_result_type: the RFC 8460 result type of the failure, or None.
    """

    encrypted: bool
    tls_version: str | None
    outcome: str | None
    fallback: bool
    failure_category: str | None
    rfc8460_result_type: str | None


@dataclass(frozen=True, slots=True)
class PeerCondition:
    """What is wrong (or right) with an outbound peer.

    Attributes:
        name: the ``lab.peers`` scenario name.
        category: the failure category a verifying client meets, or None.
        rfc8460: the RFC 8460 result type of that failure, or None.
        handshake_ok: whether a default OpenSSL client completes the TLS handshake.
        description: one line for the docs and the manifest.
    """

    name: str
    category: str | None
    rfc8460: str | None
    handshake_ok: bool
    description: str


# log-formats.md §4.2 gives the RFC 8460 column.
CONDITIONS: tuple[PeerCondition, ...] = (
    PeerCondition("valid", None, None, True, "certificate for mx.lab.test from the trusted lab CA"),
    PeerCondition("expired", "certificate-expired", "certificate-expired", True,
                  "lab-CA certificate whose notAfter is 30 days ago"),
    PeerCondition("not-yet-valid", "certificate-not-yet-valid", "validation-failure", True,
                  "lab-CA certificate whose notBefore is in 30 days"),
    PeerCondition("self-signed", "certificate-self-signed", "validation-failure", True,
                  "self-signed certificate for mx.lab.test"),
    PeerCondition("wrong-name", "certificate-host-mismatch", "certificate-host-mismatch", True,
                  "lab-CA certificate for wrong.lab.test only"),
    PeerCondition("untrusted-ca", "certificate-not-trusted", "certificate-not-trusted", True,
                  "certificate issued by a second CA that the MTA does not trust"),
    PeerCondition("no-starttls", "starttls-not-supported", "starttls-not-supported", False,
                  "EHLO reply without STARTTLS"),
    PeerCondition("refuse-starttls", "starttls-rejected", "starttls-not-supported", False,
                  "STARTTLS advertised but answered 454"),
    PeerCondition("tls10-only", "protocol-version-mismatch", "validation-failure", False,
                  "TLS 1.0/1.1 only (security level 0 on the peer)"),
    PeerCondition("disjoint-ciphers", "no-shared-cipher", "validation-failure", False,
                  "TLS 1.2 at most with eNULL suites only"),
    PeerCondition("drop-after-starttls", "connection-lost", "validation-failure", False,
                  "answers STARTTLS with 220, then closes the connection"),
)

CONDITION_BY_NAME = {c.name: c for c in CONDITIONS}

# Which conditions are also run under the "encrypt" policy (TLS required, no verification).
ENCRYPT_CONDITIONS = ("self-signed", "no-starttls")
_VERIFY_FAILS = {"expired", "not-yet-valid", "self-signed", "wrong-name", "untrusted-ca"}


@dataclass(frozen=True, slots=True)
class Scenario:
    """One lab scenario.

    Attributes:
        id: stable identifier, e.g. ``out-expired-verify`` or ``in-tls12``.
        direction: inbound or outbound.
        policy: the TLS policy in force.
        peer: the outbound peer condition name, or the inbound client behaviour.
        address: loopback address of the peer (outbound) or of the client (inbound).
        recipient: the envelope recipient.
        expected: ground truth.
        description: one line for the docs and the manifest.
    """

    id: str
    direction: Direction
    policy: Policy
    peer: str
    address: str
    recipient: str
    expected: Expected
    description: str

    @property
    def domain(self) -> str:
        return self.recipient.rpartition("@")[2]


def _outbound_expected(cond: PeerCondition, policy: Policy) -> Expected:
    tls_ok = cond.handshake_ok
    if policy is Policy.OPPORTUNISTIC:
        blocked = False
    elif policy is Policy.ENFORCED_ENCRYPT:
        blocked = not tls_ok
    else:
        blocked = not tls_ok or cond.name in _VERIFY_FAILS
    # A failed handshake at the opportunistic level is retried in plaintext (Postfix
    # PLAINTEXT_FALLBACK_OK_AFTER_STARTTLS_FAILURE, Exim tls_tempfail_tryclear); a peer that
    # never starts TLS (not offered, refused) has nothing to fall back from, except that a
    # refused STARTTLS is an attempt that failed.
    attempted = cond.name not in {"no-starttls"}
    fallback = not blocked and not tls_ok and attempted
    return Expected(
        encrypted=tls_ok,
        tls_version=TLS13 if tls_ok else None,
        outcome="bounced" if blocked else "delivered",
        fallback=fallback,
        failure_category=cond.category,
        rfc8460_result_type=cond.rfc8460,
    )


def outbound_scenarios() -> list[Scenario]:
    """Every outbound scenario, in a fixed order."""
    out: list[Scenario] = []
    for policy in (Policy.OPPORTUNISTIC, Policy.ENFORCED_VERIFY, Policy.ENFORCED_ENCRYPT):
        for index, cond in enumerate(CONDITIONS):
            if policy is Policy.ENFORCED_ENCRYPT and cond.name not in ENCRYPT_CONDITIONS:
                continue
            label = POLICY_LABEL[policy]
            out.append(Scenario(
                id=f"out-{cond.name}-{label}",
                direction=Direction.OUTBOUND,
                policy=policy,
                peer=cond.name,
                address=f"127.0.0.{POLICY_BASE[policy] + index + 1}",
                recipient=f"user@{cond.name}.{label}.{LAB_DOMAIN}",
                expected=_outbound_expected(cond, policy),
                description=cond.description,
            ))
    return out


@dataclass(frozen=True, slots=True)
class ClientBehaviour:
    """How an inbound lab client talks to the MTA.

    Attributes:
        name: short name, used in the scenario id.
        starttls: whether the client issues STARTTLS.
        max_version: highest TLS version the client offers ("1.2", "1.3", "1.0"), or None.
        client_cert: whether the client presents the lab "client" certificate.
        drop_after_starttls: send STARTTLS, read the 220, then close the socket.
        second_listener: talk to 127.0.0.1:2525 (a listener configured differently).
        expected: ground truth.
        description: one line for the docs.
    """

    name: str
    starttls: bool
    max_version: str | None
    client_cert: bool
    drop_after_starttls: bool
    second_listener: bool
    expected: Expected
    description: str


_IN_OK13 = Expected(True, TLS13, "delivered", False, None, None)
INBOUND: tuple[ClientBehaviour, ...] = (
    ClientBehaviour("tls13", True, "1.3", False, False, False, _IN_OK13,
                    "STARTTLS with TLS 1.3, no client certificate"),
    ClientBehaviour("tls12", True, "1.2", False, False, False,
                    Expected(True, "TLSv1.2", "delivered", False, None, None),
                    "STARTTLS with TLS 1.2 at most"),
    ClientBehaviour("client-cert", True, "1.3", True, False, False, _IN_OK13,
                    "STARTTLS with TLS 1.3 and a lab-CA client certificate"),
    ClientBehaviour("tls13-second-listener", True, "1.3", False, False, True, _IN_OK13,
                    "STARTTLS with TLS 1.3 to the second listener (127.0.0.1:2525)"),
    ClientBehaviour("plaintext", False, None, False, False, False,
                    Expected(False, None, "delivered", False, None, None),
                    "no STARTTLS although it is offered"),
    ClientBehaviour("drop-after-starttls", True, "1.3", False, True, False,
                    Expected(False, None, None, False, "connection-lost", None),
                    "sends STARTTLS, reads 220, closes the connection (no message)"),
    ClientBehaviour("tls10", True, "1.0", False, False, False,
                    Expected(False, None, None, False, "protocol-version-mismatch", None),
                    "offers TLS 1.0 only (client at security level 0); no message"),
)


def inbound_scenarios() -> list[Scenario]:
    """Every inbound scenario, in a fixed order (clients on 127.0.0.101 and up)."""
    return [
        Scenario(
            id=f"in-{b.name}",
            direction=Direction.INBOUND,
            policy=Policy.SERVER_MAY,
            peer=b.name,
            address=f"127.0.0.{101 + i}",
            recipient=f"{LOCAL_USER}+{b.name}@{MTA_HOSTNAME}",
            expected=b.expected,
            description=b.description,
        )
        for i, b in enumerate(INBOUND)
    ]


BEHAVIOUR_BY_NAME = {b.name: b for b in INBOUND}


def all_scenarios() -> list[Scenario]:
    """Outbound then inbound scenarios."""
    return outbound_scenarios() + inbound_scenarios()
