"""A real SMTP server on loopback, configurable per scenario, for tests and the MTA lab.

The SMTP framing is written by hand (``smtpd`` left the stdlib in 3.12). Replies follow
Postfix's wording where one exists (Postfix src/smtpd/smtpd.c, as listed in its
SMTPD_ACCESS/"Postfix SMTP server replies" list: ``250 2.1.0 Ok``, ``354 End data with
<CR><LF>.<CR><LF>``, ``250 2.0.0 Ok: queued as ...``, ``454 4.7.0 TLS not available due to
local problem``, ``502 5.5.2 Error: command not recognized``) and RFC 3207 for STARTTLS
(``220 Ready to start TLS``; ``530 5.7.0 Must issue a STARTTLS command first`` as in
OpenSMTPD usr.sbin/smtpd/smtp_session.c).

Every socket operation has a timeout, lines and messages are bounded, the server only
listens (it never connects anywhere) and ``stop()`` ends every session thread.
"""

from __future__ import annotations

import contextlib
import mailbox
import secrets
import socket
import ssl
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path
from types import TracebackType

from lab.certs import CertPair

MAX_LINE = 4096  # longest command line accepted (RFC 5321 §4.5.3.1.4 says 512; be lenient)
MAX_MESSAGE = 10 * 1024 * 1024  # the Postfix default message_size_limit (10240000) rounded up
MAX_RCPT = 100
IO_TIMEOUT = 30.0  # per socket operation
SILENT_HOLD_S = 120.0  # the longest a silent peer keeps a connection open
TRANSCRIPT_LIMIT = 2000
SIZE_LIMIT = 10240000  # advertised as "SIZE 10240000", Postfix's default message_size_limit
FLOOD_LINE = b"220-" + b"x" * 70 + b"\r\n"
_LOOPBACK_NAMES = {"127.0.0.1": "localhost", "::1": "localhost"}


@dataclass(frozen=True)
class PeerConfig:
    """How one lab peer behaves.

    Attributes:
        name: scenario name (used in logs and the Received header's ``by`` comment).
        host: address to listen on (loopback only).
        port: port to listen on; 0 picks a free port.
        hostname: name used in the banner and the EHLO reply.
        starttls: advertise STARTTLS in the EHLO reply.
        refuse_starttls: advertise STARTTLS but answer 454.
        cert: certificate and key for STARTTLS (None: STARTTLS answers 454).
        min_version: lowest TLS version accepted (None: OpenSSL default).
        max_version: highest TLS version accepted (None: OpenSSL default).
        ciphers: OpenSSL cipher string for TLS <= 1.2 (None: default).
        drop_after_starttls: answer STARTTLS with 220, then close the socket.
        silent: accept the connection, never send anything.
        greylist: banner ``421 4.7.0 Try again later``, then close.
        banner_delay_s: wait this long before the banner (tarpit).
        flood_bytes: send this many bytes (rounded up to whole 76-byte ``220-`` lines)
            before the banner.
        require_tls: answer MAIL before STARTTLS with 530.
        accept_mail: answer DATA with 250 (True) or 554 (False).
        mailbox: mbox file where accepted messages are appended (None: discard).
    """

    name: str
    host: str = "127.0.0.1"
    port: int = 0
    hostname: str = "mx.lab.test"
    starttls: bool = True
    refuse_starttls: bool = False
    cert: CertPair | None = None
    min_version: ssl.TLSVersion | None = None
    max_version: ssl.TLSVersion | None = None
    ciphers: str | None = None
    drop_after_starttls: bool = False
    silent: bool = False
    greylist: bool = False
    banner_delay_s: float = 0.0
    flood_bytes: int = 0
    require_tls: bool = False
    accept_mail: bool = True
    mailbox: Path | None = None


_LEGACY = {ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1}


def server_context(config: PeerConfig) -> ssl.SSLContext | None:
    """The server-side TLS context of ``config``, or None when it has no certificate."""
    if config.cert is None:
        return None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(config.cert.cert), str(config.cert.key))
    legacy = config.min_version in _LEGACY or config.max_version in _LEGACY
    if legacy:
        # OpenSSL 3 refuses TLS 1.0/1.1 at security level 1 and above (SHA-1 signatures).
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    with warnings.catch_warnings():
        # Python deprecates TLSVersion.TLSv1/TLSv1_1, which is the point of legacy peers.
        warnings.simplefilter("ignore", DeprecationWarning)
        if config.min_version is not None:
            ctx.minimum_version = config.min_version
        if config.max_version is not None:
            ctx.maximum_version = config.max_version
    if config.ciphers is not None:
        ctx.set_ciphers(config.ciphers + (":@SECLEVEL=0" if legacy else ""))
    return ctx


class _LineReader:
    """Bounded line reading from a socket (plain or TLS)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def readline(self, limit: int = MAX_LINE) -> bytes | None:
        """One line without CRLF; None at EOF; raises ValueError past ``limit`` bytes."""
        while True:
            end = self.buffer.find(b"\n")
            if end >= 0:
                line, self.buffer = self.buffer[:end], self.buffer[end + 1 :]
                return line.rstrip(b"\r")
            if len(self.buffer) > limit:
                self.buffer = b""
                raise ValueError("line too long")
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buffer += chunk


@dataclass
class _Session:
    helo: str | None = None
    esmtp: bool = False
    tls: bool = False
    sender: str | None = None
    recipients: list[str] | None = None


Handler = Callable[["_Connection", str], bool]


class _Connection:
    """One SMTP session of a PeerServer; ``run`` returns when the session ends."""

    def __init__(self, server: PeerServer, sock: socket.socket, addr: tuple[str, int]) -> None:
        self.server = server
        self.config = server.config
        self.sock = sock
        self.addr = addr
        self.reader = _LineReader(sock)
        self.state = _Session()

    def send(self, *lines: str) -> None:
        for line in lines:
            self.server.record(f"S: {line}")
        self.sock.sendall("".join(f"{line}\r\n" for line in lines).encode("utf-8"))

    def run(self) -> None:
        cfg = self.config
        if cfg.silent:
            self._hold_silently()
            return
        if cfg.banner_delay_s and self.server.stopping.wait(cfg.banner_delay_s):
            return
        if cfg.greylist:
            # A banner-time 421 as a greylisting / overloaded server sends it (RFC 5321 §3.8).
            self.send("421 4.7.0 Try again later")
            return
        if cfg.flood_bytes:
            self._flood(cfg.flood_bytes)
        # Postfix default smtpd_banner "$myhostname ESMTP $mail_name".
        self.send(f"220 {cfg.hostname} ESMTP mailtls-lab-peer")
        self._loop()

    def _hold_silently(self) -> None:
        deadline = time.monotonic() + SILENT_HOLD_S
        self.sock.settimeout(0.2)
        while time.monotonic() < deadline and not self.server.stopping.is_set():
            try:
                if not self.sock.recv(65536):
                    return
            except TimeoutError:
                continue

    def _flood(self, total: int) -> None:
        # Whole "220-" lines only, so the byte count is rounded up to the next line.
        lines = -(-total // len(FLOOD_LINE))
        block = 256
        while lines > 0 and not self.server.stopping.is_set():
            count = min(block, lines)
            self.sock.sendall(FLOOD_LINE * count)
            lines -= count

    def _loop(self) -> None:
        while not self.server.stopping.is_set():
            try:
                raw = self.reader.readline()
            except ValueError:
                self.send("500 5.5.2 Error: line too long")
                continue
            if raw is None:
                return
            line = raw.decode("utf-8", "replace")
            self.server.record(f"C: {line}")
            verb = line.split(" ", 1)[0].upper()
            handler = _COMMANDS.get(verb)
            if handler is None:
                self.send("502 5.5.2 Error: command not recognized")
                continue
            if not handler(self, line):
                return

    # -- commands; each returns False to end the session -------------------------------

    def ehlo(self, line: str) -> bool:
        self.state = _Session(helo=_argument(line) or "unknown", esmtp=True, tls=self.state.tls)
        cfg = self.config
        # Capability order as Postfix smtpd.c ehlo_cmd() writes it.
        caps = ["PIPELINING", f"SIZE {SIZE_LIMIT}"]
        if cfg.starttls and not self.state.tls:
            caps.append("STARTTLS")
        caps += ["ENHANCEDSTATUSCODES", "8BITMIME", "DSN", "SMTPUTF8"]
        lines = [cfg.hostname, *caps]
        self.send(*[f"250-{x}" for x in lines[:-1]], f"250 {lines[-1]}")
        return True

    def helo(self, line: str) -> bool:
        self.state = _Session(helo=_argument(line) or "unknown", esmtp=False, tls=self.state.tls)
        self.send(f"250 {self.config.hostname}")
        return True

    def starttls(self, line: str) -> bool:
        cfg = self.config
        if self.state.tls:
            self.send("554 5.5.1 Error: TLS already active")
            return True
        if not cfg.starttls:
            self.send("502 5.5.1 Error: command not implemented")
            return True
        ctx = self.server.tls_context
        if cfg.refuse_starttls or ctx is None:
            self.send("454 4.7.0 TLS not available due to local problem")
            return True
        self.send("220 2.0.0 Ready to start TLS")
        if cfg.drop_after_starttls:
            return False
        try:
            tls = ctx.wrap_socket(self.sock, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            self.server.record(f"!: TLS handshake failed: {exc}")
            return False
        self.sock = tls
        self.reader = _LineReader(tls)
        self.state = _Session(tls=True)
        cipher = tls.cipher()
        self.server.record(f"!: TLS {tls.version()} {cipher[0] if cipher else '?'}")
        return True

    def mail(self, line: str) -> bool:
        if self.state.helo is None:
            self.send("503 5.5.1 Error: send HELO/EHLO first")
        elif self.config.require_tls and not self.state.tls:
            self.send("530 5.7.0 Must issue a STARTTLS command first")
        elif self.state.sender is not None:
            self.send("503 5.5.1 Error: nested MAIL command")
        else:
            self.state.sender = _path(line)
            self.state.recipients = []
            self.send("250 2.1.0 Ok")
        return True

    def rcpt(self, line: str) -> bool:
        rcpts = self.state.recipients
        if self.state.sender is None or rcpts is None:
            self.send("503 5.5.1 Error: need MAIL command")
        elif len(rcpts) >= MAX_RCPT:
            self.send("452 4.5.3 Error: too many recipients")
        else:
            rcpts.append(_path(line))
            self.send("250 2.1.5 Ok")
        return True

    def data(self, line: str) -> bool:
        if not self.state.recipients:
            self.send("503 5.5.1 Error: need RCPT command")
            return True
        self.send("354 End data with <CR><LF>.<CR><LF>")
        body, too_big = self._read_data()
        if body is None:
            return False
        if too_big:
            self.send("552 5.3.4 Error: message file too big")
        elif not self.config.accept_mail:
            self.send("554 5.7.1 Error: transaction rejected by lab peer policy")
        else:
            queue_id = secrets.token_hex(5).upper()
            self.server.deliver(self._received(queue_id) + body, self.state.sender or "")
            self.send(f"250 2.0.0 Ok: queued as {queue_id}")
        self.state.sender, self.state.recipients = None, None
        return True

    def _read_data(self) -> tuple[bytes | None, bool]:
        parts: list[bytes] = []
        size, too_big = 0, False
        while True:
            try:
                raw = self.reader.readline(limit=MAX_LINE * 4)
            except ValueError:
                too_big = True
                continue
            if raw is None:
                return None, False
            if raw == b".":
                return b"".join(parts), too_big
            if raw.startswith(b"."):
                raw = raw[1:]  # RFC 5321 §4.5.2 transparency
            size += len(raw) + 1
            if size > MAX_MESSAGE:
                too_big = True
            if not too_big:
                parts.append(raw + b"\n")

    def _received(self, queue_id: str) -> bytes:
        # Postfix src/smtpd/smtpd.c: "Received: from %s (%s [%s])", then with TLS
        # "\t(using %s with cipher %s (%d/%d bits))", then "\tby %s (%s) with %s id %s",
        # "\tfor <%s>; %s"; RFC 3848 letters only for ESMTP (ESMTPS); sample in shared
        # reference received-formats.md §3.1.
        ip = self.addr[0]
        lines = [f"Received: from {self.state.helo} ({_LOOPBACK_NAMES.get(ip, 'unknown')} [{ip}])"]
        proto = "ESMTP" if self.state.esmtp else "SMTP"
        if isinstance(self.sock, ssl.SSLSocket):
            cipher = self.sock.cipher()
            if cipher is not None:
                bits = cipher[2]
                lines.append(f"\t(using {cipher[1]} with cipher {cipher[0]} ({bits}/{bits} bits))")
            if self.state.esmtp:
                proto = "ESMTPS"
        lines.append(f"\tby {self.config.hostname} (mailtls-lab-peer) with {proto} id {queue_id}")
        rcpts = self.state.recipients or []
        # Postfix mail_date(): RFC 2822 date plus the zone name in parentheses.
        now = datetime.now().astimezone()
        stamp = f"{format_datetime(now)} ({now.strftime('%Z')})"
        if len(rcpts) == 1:
            lines.append(f"\tfor <{rcpts[0]}>; {stamp}")
        else:
            lines[-1] += ";"
            lines.append(f"\t{stamp}")
        return ("\n".join(lines) + "\n").encode("utf-8")

    def rset(self, line: str) -> bool:
        self.state.sender, self.state.recipients = None, None
        self.send("250 2.0.0 Ok")
        return True

    def noop(self, line: str) -> bool:
        self.send("250 2.0.0 Ok")
        return True

    def quit(self, line: str) -> bool:
        self.send("221 2.0.0 Bye")
        return False


_COMMANDS: dict[str, Handler] = {
    "EHLO": _Connection.ehlo,
    "HELO": _Connection.helo,
    "STARTTLS": _Connection.starttls,
    "MAIL": _Connection.mail,
    "RCPT": _Connection.rcpt,
    "DATA": _Connection.data,
    "RSET": _Connection.rset,
    "NOOP": _Connection.noop,
    "QUIT": _Connection.quit,
}


def _argument(line: str) -> str:
    parts = line.split(None, 1)
    return parts[1].strip()[:255] if len(parts) > 1 else ""


def _path(line: str) -> str:
    # "MAIL FROM:<a@b> SIZE=12" -> "a@b"
    _, _, rest = line.partition(":")
    rest = rest.strip()
    if rest.startswith("<"):
        return rest[1:].split(">", 1)[0][:320]
    return rest.split(" ", 1)[0][:320]


class PeerServer:
    """A loopback SMTP server running one scenario in background threads."""

    def __init__(self, config: PeerConfig) -> None:
        self.config = config
        self.tls_context = server_context(config)
        self.stopping = threading.Event()
        self.transcript: list[str] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self._sockets: set[socket.socket] = set()
        self._acceptor: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._listener is None:
            raise RuntimeError("PeerServer is not started")
        return int(self._listener.getsockname()[1])

    @property
    def address(self) -> tuple[str, int]:
        return (self.config.host, self.port)

    def record(self, line: str) -> None:
        with self._lock:
            if len(self.transcript) < TRANSCRIPT_LIMIT:
                self.transcript.append(line[:MAX_LINE])

    def deliver(self, message: bytes, sender: str) -> None:
        if self.config.mailbox is None:
            return
        with self._lock:
            box = mailbox.mbox(self.config.mailbox, create=True)
            box.lock()
            try:
                msg = mailbox.mboxMessage(message)
                msg.set_from(sender or "MAILER-DAEMON", True)
                box.add(msg)
                box.flush()
            finally:
                box.unlock()
                box.close()

    def start(self) -> PeerServer:
        family = socket.AF_INET6 if ":" in self.config.host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.config.host, self.config.port))
        listener.listen(16)
        listener.settimeout(0.2)
        self._listener = listener
        self._acceptor = threading.Thread(target=self._accept, name=f"peer-{self.config.name}")
        self._acceptor.daemon = True
        self._acceptor.start()
        return self

    def _accept(self) -> None:
        assert self._listener is not None
        while not self.stopping.is_set():
            try:
                sock, addr = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.settimeout(IO_TIMEOUT)
            with self._lock:
                self._sockets.add(sock)
                self._threads = [t for t in self._threads if t.is_alive()]
            thread = threading.Thread(target=self._serve, args=(sock, addr), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket, addr: tuple[str, int]) -> None:
        conn = _Connection(self, sock, addr)
        self.record(f"!: connection from {addr[0]}")
        try:
            conn.run()
        except (OSError, ValueError) as exc:
            self.record(f"!: session ended: {exc.__class__.__name__}: {exc}")
        finally:
            for s in {sock, conn.sock}:
                with contextlib.suppress(OSError):
                    s.close()
            with self._lock:
                self._sockets.discard(sock)

    def stop(self) -> None:
        self.stopping.set()
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.close()
        with self._lock:
            for sock in list(self._sockets):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        if self._acceptor is not None:
            self._acceptor.join(timeout=5)
        for thread in list(self._threads):
            thread.join(timeout=5)

    def __enter__(self) -> PeerServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


if __name__ == "__main__":
    from lab.peer_scenarios import main

    raise SystemExit(main())
