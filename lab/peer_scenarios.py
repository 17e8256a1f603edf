"""Named peer scenarios for PeerServer and the ``python -m lab.peers`` entry point.

``python -m lab.peers --scenario NAME --port N --pki DIR`` runs one peer in the foreground
(for the MTA lab scripts); ``scenario(name, pki)`` gives the same PeerConfig to tests.
"""

from __future__ import annotations

import argparse
import contextlib
import ssl
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from lab.certs import Pki, make_pki
from lab.peers import PeerConfig, PeerServer, server_context

ScenarioFn = Callable[[Pki], dict[str, object]]

SCENARIOS: dict[str, ScenarioFn] = {
    "valid": lambda pki: {"cert": pki.pairs["valid"]},
    "expired": lambda pki: {"cert": pki.pairs["expired"]},
    "not-yet-valid": lambda pki: {"cert": pki.pairs["not-yet-valid"]},
    "self-signed": lambda pki: {"cert": pki.pairs["self-signed"]},
    "wrong-name": lambda pki: {"cert": pki.pairs["wrong-name"]},
    "untrusted-ca": lambda pki: {"cert": pki.pairs["untrusted-ca"]},
    "no-starttls": lambda pki: {"starttls": False},
    "refuse-starttls": lambda pki: {"cert": pki.pairs["valid"], "refuse_starttls": True},
    # Needs an OpenSSL that still speaks TLS 1.0/1.1 at security level 0: see
    # legacy_tls_available() (OpenSSL 3.0.19 on Debian does).
    "tls10-only": lambda pki: {
        "cert": pki.pairs["valid"],
        "min_version": ssl.TLSVersion.TLSv1,
        "max_version": ssl.TLSVersion.TLSv1_1,
    },
    # Only NULL-encryption suites and TLS 1.2 at most: no client that excludes eNULL (every
    # OpenSSL default list and every Postfix cipher grade) shares a cipher with it.
    "disjoint-ciphers": lambda pki: {
        "cert": pki.pairs["valid"],
        "max_version": ssl.TLSVersion.TLSv1_2,
        "ciphers": "eNULL:@SECLEVEL=0",
    },
    "drop-after-starttls": lambda pki: {"cert": pki.pairs["valid"], "drop_after_starttls": True},
    "silent": lambda pki: {"silent": True},
    "greylist": lambda pki: {"greylist": True},
    "flood": lambda pki: {"cert": pki.pairs["valid"], "flood_bytes": 10 * 1024 * 1024},
}


def scenario(name: str, pki: Pki, **overrides: object) -> PeerConfig:
    """The PeerConfig of a named scenario (see ``SCENARIOS``), with field overrides."""
    try:
        fields = SCENARIOS[name](pki)
    except KeyError:
        raise ValueError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}") from None
    return replace(PeerConfig(name=name), **{**fields, **overrides})  # type: ignore[arg-type]


def legacy_tls_available() -> bool:
    """Whether the local OpenSSL completes a TLS 1.0 handshake with itself (in memory)."""
    try:
        with tempfile.TemporaryDirectory(prefix="mailtls-legacy-") as tmp:
            pki = make_pki(Path(tmp))
            config = scenario("tls10-only", pki, max_version=ssl.TLSVersion.TLSv1)
            server = server_context(config)
        client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        client.check_hostname = False
        client.verify_mode = ssl.CERT_NONE
        client.set_ciphers("DEFAULT:@SECLEVEL=0")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            client.minimum_version = ssl.TLSVersion.TLSv1
            client.maximum_version = ssl.TLSVersion.TLSv1
    except (ssl.SSLError, ValueError, OSError):
        return False
    if server is None:
        return False
    return _memory_handshake(server, client) == "TLSv1"


def _memory_handshake(server: ssl.SSLContext, client: ssl.SSLContext) -> str | None:
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    cs = client.wrap_bio(c_in, c_out, server_side=False)
    ss = server.wrap_bio(s_in, s_out, server_side=True)
    done: set[int] = set()
    for _ in range(10):
        for index, obj in enumerate((cs, ss)):
            try:
                obj.do_handshake()
                done.add(index)
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLError:
                return None
        s_in.write(c_out.read())
        c_in.write(s_out.read())
        if len(done) == 2:
            return cs.version()
    return None


def main(argv: list[str] | None = None) -> int:
    """Run one scenario peer in the foreground until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m lab.peers", description=main.__doc__)
    parser.add_argument("--scenario", required=True, choices=sorted(SCENARIOS))
    parser.add_argument("--port", type=int, default=2525)
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on")
    parser.add_argument("--pki", type=Path, required=True, help="PKI directory (created)")
    parser.add_argument("--hostname", default="mx.lab.test")
    parser.add_argument("--mailbox", type=Path, default=None, help="mbox for accepted mail")
    parser.add_argument("--require-tls", action="store_true")
    args = parser.parse_args(argv)
    if not (args.host == "::1" or args.host.startswith("127.")):
        parser.error("peers listen on loopback only (127.0.0.0/8 or ::1)")
    pki = make_pki(args.pki, args.hostname)
    config = scenario(
        args.scenario,
        pki,
        host=args.host,
        port=args.port,
        hostname=args.hostname,
        mailbox=args.mailbox,
        require_tls=args.require_tls,
    )
    server = PeerServer(config).start()
    print(f"{args.scenario} listening on {args.host}:{server.port}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        while True:
            time.sleep(3600)
    server.stop()
    return 0
