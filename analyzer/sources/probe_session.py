"""One bounded SMTP session of the probe: banner, EHLO, STARTTLS, TLS handshake, QUIT.

The wire format is RFC 5321 §4.2 (a reply is ``ddd-text`` lines ended by one ``ddd text``
line) and RFC 3207 §4 (``STARTTLS`` answered by ``220``; the client discards anything read
before the handshake). Everything the server sends is bounded: one line, one reply and the
whole session have byte limits, and every step has its own deadline, so a server that
floods, trickles or never answers ends the session with an outcome, never a hang.

Nothing here sends mail: the only commands are EHLO (HELO as fallback), STARTTLS and QUIT.
"""

from __future__ import annotations

import contextlib
import re
import socket
import ssl
import time
from dataclasses import dataclass, field

from analyzer.model.common import TlsVersion, clip
from analyzer.model.logs import FailureCategory
from analyzer.model.probe import ProbeOutcome, ProbeStep
from analyzer.normalize import normalize_cipher, normalize_cipher_for, normalize_version
from analyzer.sources.certcheck import VERIFY_CODES

# RFC 5321 §4.5.3.1.5 allows 512 octets per reply line; four times that is still SMTP.
MAX_LINE = 2048
MAX_REPLY_LINES = 100  # a real EHLO reply has about a dozen lines
MAX_REPLY_BYTES = 64 * 1024
MAX_SESSION_BYTES = 1024 * 1024  # everything read in one session, TLS records included
RECV_CHUNK = 16 * 1024
KEEP_TEXT = 1000  # longest banner / reply text kept in a record

# RFC 5321 §4.2: three digits, then "-" (more lines follow) or " " / end of line (last line).
_REPLY_LINE = re.compile(r"([2-5][0-9][0-9])([ -]|$)(.*)")

# OpenSSL reason codes (ssl.SSLError.reason) -> the logs' vocabulary; the same readings as
# analyzer/logs/taxonomy.py gives their log texts ("alert handshake failure" is the usual
# no-shared-cipher symptom).
HANDSHAKE_REASONS: dict[str, FailureCategory] = {
    "UNSUPPORTED_PROTOCOL": FailureCategory.PROTOCOL_VERSION_MISMATCH,
    "TLSV1_ALERT_PROTOCOL_VERSION": FailureCategory.PROTOCOL_VERSION_MISMATCH,
    "NO_PROTOCOLS_AVAILABLE": FailureCategory.PROTOCOL_VERSION_MISMATCH,
    "VERSION_TOO_LOW": FailureCategory.PROTOCOL_VERSION_MISMATCH,
    "NO_SHARED_CIPHER": FailureCategory.NO_SHARED_CIPHER,
    "NO_CIPHERS_AVAILABLE": FailureCategory.NO_SHARED_CIPHER,
    "SSLV3_ALERT_HANDSHAKE_FAILURE": FailureCategory.NO_SHARED_CIPHER,
    "TLSV13_ALERT_CERTIFICATE_REQUIRED": FailureCategory.PEER_REJECTED_OUR_CERTIFICATE,
    "UNEXPECTED_EOF_WHILE_READING": FailureCategory.CONNECTION_LOST,
}


class _Stop(Exception):
    """Ends a session early with an outcome."""

    def __init__(
        self,
        outcome: ProbeOutcome,
        step: ProbeStep,
        detail: str,
        category: FailureCategory | None = None,
    ) -> None:
        super().__init__(detail)
        self.outcome = outcome
        self.step = step
        self.detail = detail
        self.category = category


@dataclass(frozen=True, slots=True)
class Reply:
    """One SMTP reply.

    Attributes:
        code: the three-digit code of the last line.
        lines: the text of each line after the code and separator.
    """

    code: int
    lines: tuple[str, ...]

    def text(self) -> str:
        return "\n".join(f"{self.code} {line}".rstrip() for line in self.lines)


@dataclass(frozen=True, slots=True)
class SessionLimits:
    """Time and size bounds of one session.

    Attributes:
        timeout: seconds allowed for each step (connect, each reply, the handshake).
        ehlo_name: the name sent with EHLO.
    """

    timeout: float
    ehlo_name: str


class _Wire:
    """Bounded reading of SMTP replies from a socket whose byte budget spans the session."""

    def __init__(self, sock: socket.socket, limits: SessionLimits, budget: list[int]) -> None:
        self.sock = sock
        self.limits = limits
        self.buffer = b""
        self.budget = budget  # [bytes left]: shared with the TLS wrapper's reads

    def send(self, line: str, step: ProbeStep) -> None:
        self.sock.settimeout(self.limits.timeout)
        try:
            self.sock.sendall(line.encode("ascii") + b"\r\n")
        except TimeoutError:
            raise _Stop(ProbeOutcome.TIMEOUT, step, f"timed out sending {line}") from None
        except OSError as exc:
            raise _Stop(ProbeOutcome.CONNECTION_DROPPED, step, _os_detail(exc)) from None

    def reply(self, step: ProbeStep) -> Reply:
        deadline = time.monotonic() + self.limits.timeout
        lines: list[str] = []
        size = 0
        while True:
            raw = self._line(step, deadline)
            size += len(raw)
            if len(lines) >= MAX_REPLY_LINES or size > MAX_REPLY_BYTES:
                raise _Stop(
                    ProbeOutcome.OVERSIZED_RESPONSE,
                    step,
                    f"reply over {MAX_REPLY_LINES} lines or {MAX_REPLY_BYTES} bytes",
                )
            text = raw.decode("utf-8", "replace")
            m = _REPLY_LINE.fullmatch(text)
            if m is None:
                raise _Stop(ProbeOutcome.PROTOCOL_ERROR, step, f"not an SMTP reply: {text!r}")
            lines.append(m.group(3))
            if m.group(2) != "-":
                return Reply(int(m.group(1)), tuple(lines))

    def _line(self, step: ProbeStep, deadline: float) -> bytes:
        while True:
            end = self.buffer.find(b"\n")
            if end >= 0:
                line, self.buffer = self.buffer[:end], self.buffer[end + 1 :]
                if len(line) > MAX_LINE:
                    raise _Stop(ProbeOutcome.OVERSIZED_RESPONSE, step, f"line over {MAX_LINE}")
                return line.rstrip(b"\r")
            if len(self.buffer) > MAX_LINE:
                raise _Stop(ProbeOutcome.OVERSIZED_RESPONSE, step, f"line over {MAX_LINE} bytes")
            self.buffer += self._recv(step, deadline)

    def _recv(self, step: ProbeStep, deadline: float) -> bytes:
        left = deadline - time.monotonic()
        if left <= 0:
            raise _Stop(ProbeOutcome.TIMEOUT, step, f"no reply within {self.limits.timeout:g} s")
        if self.budget[0] <= 0:
            raise _Stop(
                ProbeOutcome.OVERSIZED_RESPONSE, step, f"server sent over {MAX_SESSION_BYTES} bytes"
            )
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(min(RECV_CHUNK, self.budget[0]))
        except TimeoutError:
            raise _Stop(
                ProbeOutcome.TIMEOUT, step, f"no reply within {self.limits.timeout:g} s"
            ) from None
        except OSError as exc:
            raise _Stop(ProbeOutcome.CONNECTION_DROPPED, step, _os_detail(exc)) from None
        if not chunk:
            raise _Stop(ProbeOutcome.CONNECTION_DROPPED, step, "connection closed by the server")
        self.budget[0] -= len(chunk)
        return chunk


def _os_detail(exc: OSError) -> str:
    return exc.strerror or exc.__class__.__name__


@dataclass
class SessionFacts:
    """What one session showed (filled in as the session goes; internal to the probe).

    Attributes:
        address: the IP address connected to.
        outcome: how the session ended.
        step: where it ended.
        detail: one sentence of detail for a failure.
        category: the TLS failure category, if the failure was a TLS one.
        banner: greeting text, or None.
        banner_delay_s: seconds from connect to the end of the greeting.
        capabilities: EHLO keywords with parameters.
        starttls_offered: STARTTLS in the EHLO reply (None before EHLO).
        starttls_reply: the reply to STARTTLS.
        tls_version: the negotiated protocol.
        cipher: IANA name of the negotiated cipher (or the OpenSSL name if unknown).
        bits: secret bits.
        key_exchange: key exchange of the suite (None for TLS 1.3).
        chain_der: certificates sent by the server, leaf first, DER.
        verify_code: X509_V_ERR code when verification rejected the certificate.
    """

    address: str
    outcome: ProbeOutcome = ProbeOutcome.OK
    step: ProbeStep = ProbeStep.CONNECT
    detail: str | None = None
    category: FailureCategory | None = None
    banner: str | None = None
    banner_delay_s: float | None = None
    capabilities: tuple[str, ...] = ()
    starttls_offered: bool | None = None
    starttls_reply: str | None = None
    tls_version: TlsVersion | None = None
    cipher: str | None = None
    bits: int | None = None
    key_exchange: str | None = None
    chain_der: tuple[bytes, ...] = field(default=())
    verify_code: int | None = None


def run_session(
    address: str, port: int, ctx: ssl.SSLContext, sni: str | None, limits: SessionLimits
) -> SessionFacts:
    """Run one SMTP session up to the end of the TLS handshake, then QUIT."""
    facts = SessionFacts(address=address)
    try:
        sock = socket.create_connection((address, port), timeout=limits.timeout)
    except TimeoutError:
        return _end(facts, _Stop(ProbeOutcome.TIMEOUT, ProbeStep.CONNECT, "connect timed out"))
    except OSError as exc:
        stop = _Stop(ProbeOutcome.CONNECTION_REFUSED, ProbeStep.CONNECT, _os_detail(exc))
        return _end(facts, stop)
    budget = [MAX_SESSION_BYTES]
    wire = _Wire(sock, limits, budget)
    try:
        _converse(wire, facts, ctx, sni, limits)
    except _Stop as stop:
        _end(facts, stop)
    finally:
        with contextlib.suppress(OSError):
            wire.sock.close()
        with contextlib.suppress(OSError):
            sock.close()
    return facts


def _end(facts: SessionFacts, stop: _Stop) -> SessionFacts:
    facts.outcome, facts.step = stop.outcome, stop.step
    facts.detail, facts.category = clip(stop.detail, KEEP_TEXT), stop.category
    return facts


def _converse(
    wire: _Wire, facts: SessionFacts, ctx: ssl.SSLContext, sni: str | None, limits: SessionLimits
) -> None:
    start = time.monotonic()
    facts.step = ProbeStep.BANNER
    banner = wire.reply(ProbeStep.BANNER)
    facts.banner_delay_s = time.monotonic() - start
    facts.banner = clip(banner.text(), KEEP_TEXT)
    _expect(banner, ProbeStep.BANNER, 220)
    facts.step = ProbeStep.EHLO
    _ehlo(wire, facts, limits)
    if not facts.starttls_offered:
        _quit(wire)
        raise _Stop(
            ProbeOutcome.STARTTLS_NOT_OFFERED,
            ProbeStep.EHLO,
            "STARTTLS is not in the EHLO reply",
            FailureCategory.STARTTLS_NOT_SUPPORTED,
        )
    facts.step = ProbeStep.STARTTLS
    wire.send("STARTTLS", ProbeStep.STARTTLS)
    reply = wire.reply(ProbeStep.STARTTLS)
    facts.starttls_reply = clip(reply.text(), KEEP_TEXT)
    if reply.code != 220:
        _quit(wire)
        raise _Stop(
            ProbeOutcome.STARTTLS_REFUSED,
            ProbeStep.STARTTLS,
            f"STARTTLS answered {reply.text()}",
            FailureCategory.STARTTLS_REJECTED,
        )
    wire.buffer = b""  # RFC 3207 §4: discard what came before the handshake (no injection)
    facts.step = ProbeStep.HANDSHAKE
    tls = _handshake(wire, facts, ctx, sni, limits)
    wire.sock = tls
    _record_tls(facts, tls)
    facts.step = ProbeStep.DONE
    _quit(wire)


def _expect(reply: Reply, step: ProbeStep, code: int) -> None:
    if reply.code == code:
        return
    outcome = ProbeOutcome.GREYLISTED if 400 <= reply.code < 500 else ProbeOutcome.PROTOCOL_ERROR
    raise _Stop(outcome, step, f"server answered {reply.text()}")


def _ehlo(wire: _Wire, facts: SessionFacts, limits: SessionLimits) -> None:
    wire.send(f"EHLO {limits.ehlo_name}", ProbeStep.EHLO)
    reply = wire.reply(ProbeStep.EHLO)
    if reply.code == 250:
        facts.capabilities = tuple(clip(x.strip(), 200) for x in reply.lines[1:])
        facts.starttls_offered = any(
            cap.split(" ", 1)[0].upper() == "STARTTLS" for cap in facts.capabilities
        )
        return
    if 400 <= reply.code < 500:
        raise _Stop(ProbeOutcome.GREYLISTED, ProbeStep.EHLO, f"EHLO answered {reply.text()}")
    # RFC 5321 §4.1.4: a server that does not know EHLO gets HELO, which has no extensions.
    wire.send(f"HELO {limits.ehlo_name}", ProbeStep.EHLO)
    _expect(wire.reply(ProbeStep.EHLO), ProbeStep.EHLO, 250)
    facts.starttls_offered = False


def _handshake(
    wire: _Wire, facts: SessionFacts, ctx: ssl.SSLContext, sni: str | None, limits: SessionLimits
) -> ssl.SSLSocket:
    step = ProbeStep.HANDSHAKE
    wire.sock.settimeout(limits.timeout)
    try:
        return ctx.wrap_socket(wire.sock, server_hostname=sni)
    except ssl.SSLCertVerificationError as exc:
        facts.verify_code = exc.verify_code
        detail = f"certificate verification failed: {exc.verify_message}"
        category = VERIFY_CODES.get(exc.verify_code, FailureCategory.CERTIFICATE_UNVERIFIED)
        raise _Stop(ProbeOutcome.HANDSHAKE_FAILED, ProbeStep.VERIFY, detail, category) from None
    except TimeoutError:
        detail = f"TLS handshake not done within {limits.timeout:g} s"
        category = FailureCategory.HANDSHAKE_TIMEOUT
        raise _Stop(ProbeOutcome.TIMEOUT, step, detail, category) from None
    except (ssl.SSLEOFError, ssl.SSLZeroReturnError, ConnectionError) as exc:
        detail = f"connection closed during the TLS handshake ({exc.__class__.__name__})"
        category = FailureCategory.CONNECTION_LOST
        raise _Stop(ProbeOutcome.CONNECTION_DROPPED, step, detail, category) from None
    except ssl.SSLError as exc:
        reason = exc.reason or ""
        if reason == "UNEXPECTED_EOF_WHILE_READING":
            detail = "connection closed during the TLS handshake (unexpected EOF)"
            category = FailureCategory.CONNECTION_LOST
            raise _Stop(ProbeOutcome.CONNECTION_DROPPED, step, detail, category) from None
        category = HANDSHAKE_REASONS.get(reason, FailureCategory.HANDSHAKE_FAILURE)
        raise _Stop(ProbeOutcome.HANDSHAKE_FAILED, step, f"TLS error: {exc}", category) from None
    except OSError as exc:
        detail = _os_detail(exc)
        raise _Stop(
            ProbeOutcome.CONNECTION_DROPPED, step, detail, FailureCategory.CONNECTION_LOST
        ) from None


def _record_tls(facts: SessionFacts, tls: ssl.SSLSocket) -> None:
    facts.tls_version = normalize_version(tls.version())
    suite = tls.cipher()
    if suite is not None:
        facts.cipher = normalize_cipher(suite[0])
        facts.bits = suite[2]
        kx = normalize_cipher_for(suite[0]).kx
        facts.key_exchange = kx if kx and kx != "ANY" else None
    facts.chain_der = tuple(der_chain(tls))


def der_chain(tls: ssl.SSLSocket) -> list[bytes]:
    """Every certificate the server sent, leaf first (DER), whatever the verification mode."""
    public = getattr(tls, "get_unverified_chain", None)  # Python 3.13+
    if public is not None:
        return [bytes(c) for c in public() or []]
    # Python 3.10-3.12 have the same call on the private _ssl object only.
    private = getattr(getattr(tls, "_sslobj", None), "get_unverified_chain", None)
    if private is not None:
        return [c.public_bytes(ssl._ssl.ENCODING_DER) for c in private() or []]  # type: ignore[attr-defined]
    leaf = tls.getpeercert(binary_form=True)
    return [leaf] if leaf else []


def _quit(wire: _Wire) -> None:
    # Courtesy QUIT; the session's facts are already known, so any failure here is ignored.
    try:
        wire.send("QUIT", ProbeStep.DONE)
        wire.reply(ProbeStep.DONE)
    except _Stop:
        pass
