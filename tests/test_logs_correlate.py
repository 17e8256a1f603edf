"""Correlation of log lines into deliveries: the joins of log-formats.md §2.1.8 on real lines.

Sequences are real lines (lab run sample_data/lab/*, or the public lines of log-formats.md);
where a sequence joins lines from two sources, the note says what was changed.
"""

from __future__ import annotations

from datetime import UTC, datetime

from analyzer.logs.correlate import Correlator
from analyzer.logs.prefix import PrefixContext
from analyzer.logs.registry import read_line
from analyzer.model.common import TlsVersion
from analyzer.model.logs import (
    Delivery,
    Direction,
    EventKind,
    FailureCategory,
    Outcome,
    TlsEvent,
    Trust,
)

CTX = PrefixContext("c", datetime(2026, 12, 1, tzinfo=UTC))


def _run(lines: list[str], correlator: Correlator | None = None) -> tuple[list[TlsEvent], list[Delivery]]:
    c = correlator or Correlator()
    events = []
    for no, text in enumerate(lines, 1):
        _, item = read_line(text, CTX, no)
        assert isinstance(item, TlsEvent), text
        events.append(c.feed(item))
    events = [c.revisions.get((e.origin, e.line_no), e) for e in events]
    return events, c.finish()


def test_inbound_plaintext_is_decided_at_disconnect() -> None:
    # sample_data/lab/postfix/mail.log lines 168-174 (scenario in-plaintext)
    _, found = _run([
        "2026-11-27T21:28:45.674251+00:00 vm postfix/smtpd[29356]: connect from unknown[127.0.0.105]",
        "2026-11-27T21:28:45.676694+00:00 vm postfix/smtpd[29356]: A53301641A8: client=unknown[127.0.0.105]",
        "2026-11-27T21:28:45.676895+00:00 vm postfix/cleanup[29210]: A53301641A8: message-id=<179581492567.28138.11528374639044658094.in-plaintext.84f2ecf6@mta.lab.test>",
        "2026-11-27T21:28:45.677359+00:00 vm postfix/qmgr[29175]: A53301641A8: from=<sender@plaintext.client.lab.test>, size=596, nrcpt=1 (queue active)",
        "2026-11-27T21:28:45.677870+00:00 vm postfix/smtpd[29356]: disconnect from unknown[127.0.0.105] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5",
    ])  # fmt: skip
    assert found == [
        Delivery(
            timestamp=datetime(2026, 11, 27, 21, 28, 45, 676694, tzinfo=UTC), mta=found[0].mta,
            direction=Direction.INBOUND, queue_id="A53301641A8",
            message_id="179581492567.28138.11528374639044658094.in-plaintext.84f2ecf6@mta.lab.test",
            sender="sender@plaintext.client.lab.test", recipient_domain="", peer_host="unknown",
            peer_ip="127.0.0.105", encrypted=False, trust=None, tls_version=None, cipher=None,
            bits=None, outcome=Outcome.DELIVERED, fallback=False, failure_category=None,
            rfc8460_result_type=None, attempt=1, dsn="", detail="", origin="c", line_no=2,
        )
    ]  # fmt: skip


def test_trusted_then_not_verified_is_a_host_mismatch() -> None:
    # serverfault q/759985: "Trusted" followed by "Server certificate not verified"
    _, found = _run([
        "Feb 25 21:57:22 mail postfix/smtp[25291]: Trusted TLS connection established to in1-smtp.messagingengine.com[66.111.4.74]:25: TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits)",
        "Feb 25 21:57:22 mail postfix/smtp[25291]: D33A02504112: to=<…@fastmail.fm>, relay=in1-smtp.messagingengine.com[66.111.4.74]:25, delay=8.4, delays=0.02/0/8.4/0, dsn=4.7.5, status=deferred (Server certificate not verified)",
    ])  # fmt: skip
    (d,) = found
    assert (d.encrypted, d.trust, d.tls_version, d.outcome, d.failure_category) == (
        True, Trust.TRUSTED, TlsVersion.TLSV1_2, Outcome.DEFERRED,
        FailureCategory.CERTIFICATE_HOST_MISMATCH,
    )
    assert d.rfc8460_result_type is not None
    assert d.rfc8460_result_type.value == "certificate-host-mismatch"


def test_error_replay_is_not_an_attempt() -> None:
    # ddavness/power-mailinabox#34 (smtp attempt) and triplea-game/triplea#3374 (postfix/error
    # replay); the replay's queue id and recipient are set to the attempt's to join them
    _, found = _run([
        "Oct 11 03:58:22 box postfix/smtp[1885]: 7356ABD12E: to=<emailaddress@hotmail.com>, relay=hotmail-com.olc.protection.outlook.com[104.47.2.33]:25, delay=21537, delays=21536/0.08/0.72/0, dsn=4.7.4, status=deferred (TLS is required, but was not offered by host hotmail-com.olc.protection.outlook.com[104.47.2.33])",
        "Oct 11 04:52:03 box postfix/error[30183]: 7356ABD12E: to=<emailaddress@hotmail.com>, relay=none, delay=231575, delays=231575/0.39/0/0, dsn=4.7.4, status=deferred (delivery temporarily suspended: TLS is required, but was not offered by host smtp.tin.it[xx.xxx.72.32])",
    ])  # fmt: skip
    assert [(d.outcome, d.encrypted, d.failure_category, d.attempt) for d in found] == [
        (Outcome.DEFERRED, False, FailureCategory.STARTTLS_NOT_SUPPORTED, 1)
    ]


def test_exim_close_before_delivery_line_is_noise() -> None:
    # sample_data/lab/exim/mainlog lines 25-26 (scenario out-self-signed-opp): Exim logs the
    # TLS close of the delivery's session before the "=>" line
    events, found = _run([
        "2026-11-27 21:33:20 1xX3ZH-0004GW-3D H=127.0.0.14 [127.0.0.14] TLS error on connection (recv): The TLS connection was non-properly terminated.",
        '2026-11-27 21:33:20 1xX3ZH-0004GW-3D => user@self-signed.opp.lab.test R=lab_remote T=remote_opp H=127.0.0.14 [127.0.0.14] X=TLS1.3:ECDHE_SECP256R1__RSA_PSS_RSAE_SHA256__AES_256_GCM:256 CV=no DN="O=mailtls lab,CN=mx.lab.test" C="250 2.0.0 Ok: queued as C6E2FC2248"',
    ])  # fmt: skip
    assert [e.kind for e in events] == [EventKind.TLS_NOISE, EventKind.DELIVERY]
    (d,) = found
    assert (d.encrypted, d.fallback, d.failure_category) == (
        True, False, FailureCategory.CERTIFICATE_UNVERIFIED)


def test_state_is_bounded() -> None:
    # sessions that never log "disconnect" (a log cut short) must not pile up
    c = Correlator(max_sessions=50, max_messages=50)
    for i in range(5000):
        pid, qid = 10_000 + i, f"{0xA00000 + i:X}"
        for text in (f"Feb 18 09:45:12 mx postfix/smtpd[{pid}]: connect from unknown[192.0.2.7]",
                     f"Feb 18 09:45:12 mx postfix/smtpd[{pid}]: {qid}: client=unknown[192.0.2.7]"):
            _, item = read_line(text, CTX, i)
            assert isinstance(item, TlsEvent)
            c.feed(item)
    assert len(c._sessions) <= 50
    assert len(c._messages) <= 50
    assert len(c.take()) == 5000 - 50  # evicted sessions still give their receipt
