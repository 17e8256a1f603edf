"""The "encrypted" family: qmail-tls, qpsmtpd, MessageLabs, WP-SMTPD, T-Online.

qmail-tls patch (notqmail qmail-smtpd.c history): ``with ESMTPS (C encrypted)``, older
``with (C encrypted) SMTP``; MessageLabs and WP-SMTPD ``with C encrypted SMTP``; T-Online
``with (TLSv1.2:C encrypted) esmtp`` (received-formats.md §3.10, §3.24).
"""

from __future__ import annotations

import re

from analyzer.model import Dialect, Evidence, TlsFacts
from analyzer.normalize import normalize_cipher
from analyzer.received.dialects.base import Context, Writer, detailed
from analyzer.received.forms import Form

# MessageLabs / WP-SMTPD: the cipher is part of the with words, no parenthesis (§3.10).
_INLINE = re.compile(r"^([A-Za-z0-9_-]{1,80}) encrypted (?:E?SMTP)$")


def _identify(ctx: Context) -> bool:
    return ctx.statement(Form.ENCRYPTED) is not None or bool(_INLINE.match(ctx.protocol or ""))


def _read(ctx: Context) -> TlsFacts:
    st = ctx.statement(Form.ENCRYPTED)
    if st is not None:
        dialect = Dialect.TONLINE if st.version else Dialect.QMAIL
        return detailed(ctx, dialect, st)
    m = _INLINE.match(ctx.protocol or "")
    assert m is not None  # identify() guarantees it
    cipher = m.group(1)
    return TlsFacts(
        Evidence.TLS,
        Dialect.QMAIL,
        f"with {ctx.protocol}",
        cipher=normalize_cipher(cipher),
        cipher_raw=cipher,
    )


WRITERS = (Writer(Dialect.QMAIL, _identify, _read),)
