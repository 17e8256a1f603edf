"""Golden figures of the mailbox-side metrics on the hand-built frames of metrics_frames.

Fixture (see metrics_frames.py): m1 = external plaintext hop, boundary TLS 1.3 hop from
mail.a.example, internal TLS 1.2 hop; m2 = boundary plaintext from mx.b.example; m3 = boundary
hop without evidence (generic writer) from relay.c.example; m4 = one internal TLS 1.0 hop with
TLS_RSA_WITH_AES_128_CBC_SHA; m5 = no Received header at all.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from analyzer.metrics import (
    Tally,
    hop_coverage,
    message_coverage,
    registrable_domain,
    tally,
    tally_frame,
    weak_flags,
)
from analyzer.metrics.strength import WeakFlag
from tests.metrics_frames import mailbox


def rows(df: pd.DataFrame, drop_shares: bool = True) -> list[tuple[Any, ...]]:
    if drop_shares:
        df = df.drop(columns=[c for c in df.columns if str(c).endswith("share")])
    return [tuple(None if pd.isna(v) else v for v in r) for r in df.itertuples(index=False)]


def test_message_coverage_counts_no_evidence_as_unknown() -> None:
    t = message_coverage(mailbox().messages)
    assert t == Tally(total=5, encrypted=2, plaintext=1, unknown=2)
    assert (t.encrypted_share, t.plaintext_share, t.unknown_share) == (0.4, 0.2, 0.4)


def test_hop_coverage_only_vouched_hops() -> None:
    hops = mailbox().hops
    assert hop_coverage(hops) == Tally(5, 3, 1, 1)
    assert hop_coverage(hops, roles=("external",)) == Tally(1, 0, 1, 0)


def test_hops_by_role() -> None:
    out = tally_frame(mailbox().hops, ["role"])
    assert rows(out) == [
        ("boundary", 3, 1, 1, 1),
        ("internal", 2, 2, 0, 0),
        ("external", 1, 0, 1, 0),
    ]
    assert out["encrypted_share"].tolist() == [1 / 3, 1.0, 0.0]


def test_tally_of_nullable_flags() -> None:
    flags = pd.Series([True, False, None, None, True], dtype="boolean")
    assert tally(flags) == Tally(5, 2, 1, 2)
    assert tally(pd.Series([], dtype="boolean")) == Tally(0, 0, 0, 0)
    assert Tally(0, 0, 0, 0).encrypted_share == 0.0


def test_tally_frame_of_nothing_keeps_columns() -> None:
    empty = tally_frame(pd.DataFrame({"k": [], "encrypted": []}), ["k"])
    assert list(empty.columns) == [
        "k", "total", "encrypted", "plaintext", "unknown",
        "encrypted_share", "plaintext_share", "unknown_share",
    ]  # fmt: skip
    assert empty.empty


@pytest.mark.parametrize(
    ("host", "domain"),
    [
        ("mail.a.example", "a.example"),
        ("MX1.Example.COM.", "example.com"),
        ("mx.mail.ox.ac.uk", "ox.ac.uk"),
        ("mail-jn2zaf01lp2041.outbound.protection.outlook.com", "outlook.com"),
        ("pta-smg4.csir.co.za", "csir.co.za"),
        ("192.0.2.1", None),
        ("[IPv6:2001:db8::1]", None),
        ("unknown", None),
        ("localhost", None),
        (None, None),
    ],
)
def test_registrable_domain(host: str | None, domain: str | None) -> None:
    assert registrable_domain(host) == domain


@pytest.mark.parametrize(
    ("version", "cipher", "bits", "flags"),
    [
        ("TLSv1.3", "TLS_AES_256_GCM_SHA384", 256, ()),
        ("TLSv1.0", "TLS_RSA_WITH_AES_128_CBC_SHA", 128,
         (WeakFlag.TLS1_0, WeakFlag.NO_FORWARD_SECRECY)),
        ("TLSv1.0", "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA", 168, (WeakFlag.TLS1_0, WeakFlag.TRIPLE_DES)),
        ("SSLv3", "RC4-MD5", 128,
         (WeakFlag.SSLV3, WeakFlag.RC4, WeakFlag.NO_FORWARD_SECRECY, WeakFlag.MD5)),
        ("TLSv1.2", None, 56, (WeakFlag.UNDER_128_BITS,)),
        (None, "EXP-RC4-MD5", 40,
         (WeakFlag.EXPORT, WeakFlag.RC4, WeakFlag.UNDER_128_BITS, WeakFlag.NO_FORWARD_SECRECY,
          WeakFlag.MD5)),
        ("TLSv1.1", "ADH-AES128-SHA", 128, (WeakFlag.TLS1_1, WeakFlag.ANONYMOUS)),
    ],
)  # fmt: skip
def test_weak_flags(
    version: str | None, cipher: str | None, bits: int, flags: tuple[WeakFlag, ...]
) -> None:
    assert weak_flags(version, cipher, bits) == flags
