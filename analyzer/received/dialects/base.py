"""What every dialect module shares: the parsed context of a header and the verdict builders."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from analyzer.model import ClientCert, Dialect, Evidence, TlsFacts, TlsVersion
from analyzer.normalize import normalize_cipher_for, normalize_version
from analyzer.received.fields import protocol
from analyzer.received.forms import Form, Statement, read_client_cert, read_comment
from analyzer.received.scan import Clauses

# RFC 3848 "S" keywords (ESMTPS, ESMTPSA, LMTPS, LMTPSA), RFC 6531 UTF8 forms (UTF8SMTPS ...),
# Dovecot/Google/Zoho SMTPS, Exim's lowercase set from src/smtp_in.c protocols[] (smtps,
# esmtps, esmtpsa, ssmtp, essmtp, essmtpa, local- and utf8 prefixes) and CommuniGate
# ESMTP-TLS (received-formats.md §2.1, §2.2).
_TLS_KEYWORD = re.compile(
    r"(?i)^(?:local-)?(?:utf8)?(?:e?smtpsa?|lmtpsa?|ssmtp|essmtpa?|esmtp-tls)$"
    # Webmail and API submission over HTTPS/IMAPS (Horde, Exchange Online, Gmail API; §2.2).
    r"|^(?:HTTPS|HTTPREST|IMAPS)$"
)
# The same families without the S: evidence of plaintext only from writers known to add it.
_PLAIN_KEYWORD = re.compile(r"(?i)^(?:local-)?(?:utf8)?(?:e?smtpa?|lmtpa?)$")
_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "local", "unix socket"})


@dataclass
class Context:  # not slotted: cached_property needs __dict__
    """A header's clauses plus what every dialect asks of them, computed once.

    Attributes:
        clauses: the split header.
        from_ip: the observed peer address, if any.
        from_host: the first word of the from clause, if any.
    """

    clauses: Clauses
    from_ip: str | None
    from_host: str | None

    @cached_property
    def protocol(self) -> str | None:
        return protocol(self.clauses.first("with"))

    @cached_property
    def by_host(self) -> str | None:
        clause = self.clauses.first("by")
        return clause.first_word() if clause else None

    @cached_property
    def labels(self) -> list[str]:
        """Comments outside the from part: product labels such as ``Postfix``, ``8.14.4/8.14.4``
        (and, for a header quoted without its from part, the comments before ``by``)."""
        return [cm for c in self.clauses.clauses if c.key != "from" for cm in c.comments]

    @cached_property
    def statements(self) -> list[Statement]:
        found: list[Statement] = []
        for comment in self.clauses.comments():
            st = read_comment(comment)
            if st is not None:
                found.append(st)
        return found

    def statement(self, *forms: Form) -> Statement | None:
        for st in self.statements:
            if st.form in forms:
                return st
        return None

    def label(self, pattern: re.Pattern[str]) -> str | None:
        for text in self.labels:
            if pattern.search(text):
                return text
        return None

    @cached_property
    def client_cert(self) -> tuple[ClientCert, str | None] | None:
        for comment in self.clauses.comments():
            found = read_client_cert(comment)
            if found is not None:
                return found
        return None

    @cached_property
    def tls_keyword(self) -> bool:
        return any(_TLS_KEYWORD.match(p) for p in self._protocols)

    @cached_property
    def plain_keyword(self) -> bool:
        return bool(self.protocol) and bool(_PLAIN_KEYWORD.match(self.protocol or ""))

    @cached_property
    def _protocols(self) -> list[str]:
        return [p for c in self.clauses.all("with") if (p := protocol(c))]

    @cached_property
    def local(self) -> bool:
        """The peer is this machine: 127.0.0.1/::1, unix socket or a local pickup (other
        127/8 addresses stand in for remote peers on test machines; see chain.is_local)."""
        if self.from_ip is not None:
            return self.from_ip in {"127.0.0.1", "::1", "::ffff:127.0.0.1"}
        host = (self.from_host or "").lower().strip("[]")
        return (
            host in _LOCAL_NAMES
            or "[local]" in self.clauses.text
            or "[unix socket]" in (self.clauses.text)
        )


@dataclass(frozen=True, slots=True)
class Writer:
    """One row of the dialect table: how to recognise a writer and read its TLS statement.

    Attributes:
        dialect: the writer family.
        identify: True when the header was written in this grammar.
        read: the TLS facts of a header this writer wrote.
    """

    dialect: Dialect
    identify: Callable[[Context], bool]
    read: Callable[[Context], TlsFacts]


def cipher_name(raw: str | None, version: TlsVersion | None = None) -> str | None:
    """The IANA name of a cipher as written, else the name as written (stripped)."""
    if not raw:
        return None
    return normalize_cipher_for(raw, version).iana or raw.strip()


def _bits(st: Statement, cipher_raw: str | None) -> tuple[int | None, int | None]:
    bits, alg = st.bits, st.alg_bits
    # Old Exim+GnuTLS printed gnutls_cipher_get_key_size() in BYTES (":32" for AES-256,
    # ":24" for 3DES, ":16" for RC4-128; received-formats.md §3.3, §4.3). No real cipher has
    # 16-32 effective bits, so a value of 32 or less with a named cipher is bytes.
    if st.form is Form.COLON and bits is not None and bits <= 32 and cipher_raw:
        bits = 168 if bits == 24 else bits * 8
    return bits, alg


def detailed(ctx: Context, dialect: Dialect, st: Statement, note: str | None = None) -> TlsFacts:
    """Facts from a statement with details (version and/or cipher): evidence ``tls``."""
    version = normalize_version(st.version)
    cipher_raw = st.cipher
    bits, alg = _bits(st, cipher_raw)
    cert = ctx.client_cert
    verify = st.verify or (st.extra if st.extra in {"YES", "NO", "FAIL"} else None)
    kx = st.key_exchange
    if kx is None and st.extra and st.extra not in {"YES", "NO", "FAIL"}:
        kx = st.extra  # Exim 2025-11 ":group" suffix
    return TlsFacts(
        evidence=Evidence.TLS,
        dialect=dialect,
        marker=f"({st.text})",
        tls_version=version,
        version_raw=st.version,
        cipher=cipher_name(cipher_raw, version),
        cipher_raw=cipher_raw,
        bits=bits,
        alg_bits=alg,
        key_exchange=kx,
        server_signature=st.server_signature,
        client_cert=cert[0] if cert else None,
        client_cn=cert[1] if cert else None,
        verify=verify,
        note=note,
    )


def by_keyword(
    ctx: Context, dialect: Dialect, *, plain_is_proof: bool, note: str | None = None
) -> TlsFacts:
    """Facts from the ``with`` keyword (and detail-free markers) alone.

    ``plain_is_proof`` is True only for writers known to add the RFC 3848 ``S`` whenever TLS
    was used; for all others a plain keyword is ``unknown``, never ``plaintext``.
    """
    if ctx.tls_keyword:
        return TlsFacts(Evidence.TLS_KEYWORD, dialect, f"with {ctx.protocol}", note=note)
    marker = ctx.statement(Form.MARKER)
    if marker is not None:
        version = normalize_version(marker.version)
        return TlsFacts(
            Evidence.TLS_KEYWORD,
            dialect,
            f"({marker.text})",
            tls_version=version,
            version_raw=marker.version,
            note=note,
        )
    if ctx.local:
        return TlsFacts(Evidence.UNKNOWN, dialect, note="local hop: loopback or socket peer")
    if plain_is_proof and ctx.plain_keyword:
        return TlsFacts(Evidence.PLAINTEXT, dialect, f"with {ctx.protocol}", note=note)
    return TlsFacts(Evidence.UNKNOWN, dialect, note=note)


def details_or_keyword(
    ctx: Context, dialect: Dialect, forms: tuple[Form, ...], *, plain_is_proof: bool
) -> TlsFacts:
    st = ctx.statement(*forms)
    if st is not None:
        return detailed(ctx, dialect, st)
    return by_keyword(ctx, dialect, plain_is_proof=plain_is_proof)


def label_re(*names: str) -> re.Pattern[str]:
    return re.compile("|".join(names))
