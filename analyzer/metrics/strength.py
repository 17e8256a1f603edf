"""Protocol and cipher strength: version and cipher mix, and weak use flagged.

Weak versions: SSLv2, SSLv3, TLS 1.0, TLS 1.1 (RFC 8996 deprecates TLS 1.0 and 1.1, RFC 7568
SSLv3, RFC 6176 SSLv2). Weak suites come from ``analyzer.normalize.normalize_cipher_for``
(NULL, EXPORT, anonymous, RC4, DES, 3DES, under 128 bits, no forward secrecy, MD5); a written
key size under 128 bits is flagged even when the suite is unknown.

The units are encrypted hops we can vouch for (not ``external``) and encrypted log sessions;
``strength_units`` builds that frame so every figure here is recomputable.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
import pandas as pd

from analyzer.metrics.columns import isin, rows_where, take, text
from analyzer.metrics.common import group_codes, share
from analyzer.model import TlsVersion
from analyzer.normalize import normalize_cipher_for, normalize_version

NOT_STATED = "(not stated)"


class WeakFlag(StrEnum):
    """One reason a TLS session is weak; the cipher ones are ``normalize.Weakness`` values."""

    SSLV2 = "sslv2"
    SSLV3 = "sslv3"
    TLS1_0 = "tls1.0"
    TLS1_1 = "tls1.1"
    NULL = "null"
    EXPORT = "export"
    ANONYMOUS = "anonymous"
    RC4 = "rc4"
    DES = "des"
    TRIPLE_DES = "3des"
    UNDER_128_BITS = "under-128-bits"
    NO_FORWARD_SECRECY = "no-forward-secrecy"
    MD5 = "md5"


_WEAK_VERSIONS = {
    TlsVersion.SSLV2: WeakFlag.SSLV2,
    TlsVersion.SSLV3: WeakFlag.SSLV3,
    TlsVersion.TLSV1_0: WeakFlag.TLS1_0,
    TlsVersion.TLSV1_1: WeakFlag.TLS1_1,
}
_ORDER = {flag: n for n, flag in enumerate(WeakFlag)}


def weak_flags(version: object, cipher: object, bits: object) -> tuple[WeakFlag, ...]:
    """The weaknesses of one session from its version, cipher name and key bits."""
    flags: set[WeakFlag] = set()
    tls_version = normalize_version(version) if isinstance(version, str) else None
    if tls_version in _WEAK_VERSIONS:
        flags.add(_WEAK_VERSIONS[tls_version])
    if isinstance(cipher, str) and cipher:
        info = normalize_cipher_for(cipher, tls_version)
        flags.update(WeakFlag(w.value) for w in info.weak)
    if isinstance(bits, int) and 0 < bits < 128 and WeakFlag.NULL not in flags:
        flags.add(WeakFlag.UNDER_128_BITS)
    return tuple(sorted(flags, key=_ORDER.__getitem__))


_DETAILS = ["tls_version", "cipher", "bits"]


def _units(df: pd.DataFrame, unit: str, peer: pd.Series) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "unit": unit,
            "peer": peer.astype("string"),
            "tls_version": text(df["tls_version"]),
            "cipher": text(df["cipher"]),
            "bits": df["bits"].astype("Int64"),
        }
    )


def strength_units(hops: pd.DataFrame, deliveries: pd.DataFrame) -> pd.DataFrame:
    """Encrypted hops (not ``external``) and encrypted sessions, with their weak flags.

    Columns: ``unit`` (hop / session), ``peer``, ``tls_version``, ``cipher``, ``bits``,
    ``weak`` (flags joined by ``,``, empty when none).
    """
    vouched = (hops["encrypted"] == True).fillna(False).to_numpy(bool) & ~isin(  # noqa: E712
        hops["role"], ("external",)
    )
    # the rows picked column by column, renumbered (``loc`` with a column list copies the
    # frame's blocks first)
    rows = np.flatnonzero(vouched)
    h = pd.DataFrame({c: hops[c].array.take(rows) for c in ("from_rdns", "from_host", *_DETAILS)})
    parts = [_units(h, "hop", text(h["from_rdns"]).fillna(text(h["from_host"])))]
    if len(deliveries):
        enc = (deliveries["encrypted"] == True).fillna(False).to_numpy(bool)  # noqa: E712
        d = rows_where(deliveries, enc, ["peer_host", *_DETAILS])
        parts.append(_units(d, "session", text(d["peer_host"])))
    frame = (
        pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)
    )
    # weak_flags once per distinct (version, cipher, bits): a few dozen, not one per unit
    codes, first = group_codes(frame, _DETAILS)
    distinct = [
        [None if x is pd.NA else x for x in take(frame[c], first).tolist()] for c in _DETAILS
    ]
    table = [",".join(weak_flags(v, c, b)) for v, c, b in zip(*distinct, strict=True)]
    flags = np.array(table, dtype=object)[codes] if len(frame) else np.array([], dtype=object)
    frame["weak"] = pd.array(flags, dtype="string")
    return frame


def _mix(units: pd.DataFrame, column: str) -> pd.DataFrame:
    counts = units[column].fillna(NOT_STATED).value_counts(sort=False)
    mix = sorted(
        zip(counts.tolist(), (str(v) for v in counts.index), strict=True),
        key=lambda cv: (-cv[0], cv[1]),
    )  # count descending, then name
    return pd.DataFrame({
        column: pd.array([v for _, v in mix], dtype="string"),
        "count": pd.array([n for n, _ in mix], dtype="Int64"),
        "share": pd.array([share(n, len(units)) for n, _ in mix], dtype="Float64"),
    })  # fmt: skip


def version_mix(units: pd.DataFrame) -> pd.DataFrame:
    """Count and share of each TLS version among ``units`` (``(not stated)`` included)."""
    return _mix(units, "tls_version")


def cipher_mix(units: pd.DataFrame) -> pd.DataFrame:
    """Count and share of each cipher suite among ``units`` (``(not stated)`` included)."""
    return _mix(units, "cipher")


def weakness_counts(units: pd.DataFrame) -> pd.DataFrame:
    """Per weak flag: units affected, share of all units, and up to three example peers."""
    rows: list[tuple[str, int, float, str]] = []
    codes, distinct = pd.factorize(units["weak"].fillna(""))
    parts = [set(str(w).split(",")) for w in distinct]
    peer = units["peer"].array
    for flag in WeakFlag:
        hit = np.array([flag.value in p for p in parts], dtype=bool)[codes]
        n = int(hit.sum())
        if n:
            # the first three distinct peers, in order of appearance
            seen = pd.unique(peer.take(np.flatnonzero(hit))).tolist()
            peers = [p for p in seen if isinstance(p, str)][:3]
            rows.append((flag.value, n, share(n, len(units)), ", ".join(peers)))
    return pd.DataFrame(
        {
            "weakness": pd.Series([r[0] for r in rows], dtype="string"),
            "count": pd.Series([r[1] for r in rows], dtype="Int64"),
            "share": pd.Series([r[2] for r in rows], dtype="Float64"),
            "examples": pd.Series([r[3] for r in rows], dtype="string"),
        }
    )
