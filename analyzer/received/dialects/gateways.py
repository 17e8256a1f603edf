"""Security gateways and signature services: IronPort, Mimecast, ecelerity, Exclaimer, CodeTwo,
Active!gate, and one-off formats whose writer cannot be told (received-formats.md §3.13, §3.14,
§3.25).
"""

from __future__ import annotations

import re
from dataclasses import replace

from analyzer.model import Dialect, Evidence, TlsFacts
from analyzer.normalize import normalize_cipher, normalize_version
from analyzer.received.dialects.base import (
    Context,
    Writer,
    by_keyword,
    detailed,
    details_or_keyword,
    label_re,
)
from analyzer.received.forms import Form

# IronPort: "with ESMTP/TLS/ECDHE-RSA-AES256-GCM-SHA384;" — no version, no id (§3.13).
_IRONPORT_PROTO = re.compile(r"^ESMTP/TLS(?:/([A-Za-z0-9_-]{1,80}))?$")
_MIMECAST_BY = re.compile(r"(?:^|\.)mimecast\.com$")
_ECELERITY = label_re(r"^ecelerity ")
_CODETWO = re.compile(r"^CodeTwo SMTP Server$")
_EXCLAIMER = re.compile(r"^Exclaimer Signature Manager")


_IRONPORT_BY = re.compile(r"ironport|(?:^|\.)iphmx\.com$")
_NO_WEEKDAY = re.compile(r"^\d{1,2} [A-Z][a-z]{2} \d{4} ")


def _ironport(ctx: Context) -> bool:
    if _IRONPORT_PROTO.match(ctx.protocol or ""):
        return True
    if ctx.protocol != "ESMTP" or ctx.clauses.first("id") is not None or ctx.labels:
        return False
    if _IRONPORT_BY.search((ctx.by_host or "").lower()):
        return True
    # Plain IronPort: "[(HELO x)] ([ip]) by h with ESMTP; 02 Jul 2026 ..." — no id, no
    # weekday, the address bracketed inside the comment (§3.13, ARCH-OBMC@591afc79807c).
    from_clause = ctx.clauses.first("from")
    date = ctx.clauses.first("date")
    if from_clause is None or date is None or not _NO_WEEKDAY.match(" ".join(date.words)):
        return False
    comments = [c for c in from_clause.comments if not c.startswith("HELO ")]
    return len(comments) == 1 and comments[0].startswith("[") and comments[0].endswith("]")


def _read_ironport(ctx: Context) -> TlsFacts:
    m = _IRONPORT_PROTO.match(ctx.protocol or "")
    if m is None:
        return by_keyword(ctx, Dialect.IRONPORT, plain_is_proof=True)
    cipher = m.group(1)
    if cipher is None:
        return TlsFacts(Evidence.TLS_KEYWORD, Dialect.IRONPORT, f"with {ctx.protocol}")
    return TlsFacts(
        Evidence.TLS,
        Dialect.IRONPORT,
        f"with {ctx.protocol}",
        cipher=normalize_cipher(cipher),
        cipher_raw=cipher,
    )


def _mimecast(ctx: Context) -> bool:
    return bool(_MIMECAST_BY.search((ctx.by_host or "").lower()))


def _read_mimecast(ctx: Context) -> TlsFacts:
    # New: "with ESMTP with STARTTLS (version=TLSv1.2, cipher=IANA) id …"; old: "(Using TLS)".
    return details_or_keyword(ctx, Dialect.MIMECAST, (Form.KV,), plain_is_proof=False)


def _ecelerity(ctx: Context) -> bool:
    return ctx.label(_ECELERITY) is not None


def _read_ecelerity(ctx: Context) -> TlsFacts:
    return details_or_keyword(ctx, Dialect.ECELERITY, (Form.ECELERITY,), plain_is_proof=False)


def _exclaimer(ctx: Context) -> bool:
    return bool(_EXCLAIMER.match(ctx.protocol or "")) or ctx.statement(Form.EXCLAIMER) is not None


def _read_exclaimer(ctx: Context) -> TlsFacts:
    return details_or_keyword(ctx, Dialect.EXCLAIMER, (Form.EXCLAIMER,), plain_is_proof=False)


def _codetwo(ctx: Context) -> bool:
    return bool(_CODETWO.match(ctx.protocol or ""))


def _read_codetwo(ctx: Context) -> TlsFacts:
    # "with CodeTwo SMTP Server (TLS12) via SMTP": a version, no cipher (§3.25).
    st = ctx.statement(Form.MARKER)
    if st is not None and st.version:
        return TlsFacts(
            Evidence.TLS,
            Dialect.CODETWO,
            f"({st.text})",
            tls_version=normalize_version(st.version),
            version_raw=st.version,
        )
    return by_keyword(ctx, Dialect.CODETWO, plain_is_proof=False)


def _activegate(ctx: Context) -> bool:
    return ctx.statement(Form.NOT_USING) is not None


def _read_activegate(ctx: Context) -> TlsFacts:
    return TlsFacts(Evidence.PLAINTEXT, Dialect.ACTIVEGATE, "(not using TLS)")


_ODD_FORMS = (Form.DOTNET, Form.GENERIC_MTA, Form.NVIDIA)


def _odd(ctx: Context) -> bool:
    return ctx.statement(*_ODD_FORMS) is not None


def _read_odd(ctx: Context) -> TlsFacts:
    st = ctx.statement(*_ODD_FORMS)
    assert st is not None  # identify() guarantees it
    facts = detailed(ctx, Dialect.GENERIC, st)
    if st.form is Form.DOTNET:  # .NET enum names are not a cipher suite
        return replace(facts, cipher=st.cipher)
    return facts


WRITERS = (
    Writer(Dialect.IRONPORT, _ironport, _read_ironport),
    Writer(Dialect.MIMECAST, _mimecast, _read_mimecast),
    Writer(Dialect.ECELERITY, _ecelerity, _read_ecelerity),
    Writer(Dialect.EXCLAIMER, _exclaimer, _read_exclaimer),
    Writer(Dialect.CODETWO, _codetwo, _read_codetwo),
    Writer(Dialect.ACTIVEGATE, _activegate, _read_activegate),
    Writer(Dialect.GENERIC, _odd, _read_odd),
)
