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

import pandas as pd

from analyzer.metrics.columns import text
from analyzer.metrics.common import share
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
    h = hops[(hops["encrypted"] == True) & (text(hops["role"]) != "external")]  # noqa: E712
    d = deliveries[deliveries["encrypted"] == True]  # noqa: E712
    peers = text(h["from_rdns"]).fillna(text(h["from_host"]))
    frame = pd.concat(
        [_units(h, "hop", peers), _units(d, "session", text(d["peer_host"]))], ignore_index=True
    )
    combos = (
        frame[["tls_version", "cipher", "bits"]]
        .astype(object)
        .where(frame[["tls_version", "cipher", "bits"]].notna(), None)
    )
    keys = list(combos.itertuples(index=False, name=None))
    table = {
        k: ",".join(weak_flags(k[0], k[1], None if k[2] is None else int(k[2]))) for k in set(keys)
    }
    flags = [table[k] for k in keys]
    frame["weak"] = pd.Series(flags, dtype="string")
    return frame


def _mix(units: pd.DataFrame, column: str) -> pd.DataFrame:
    values = units[column].fillna(NOT_STATED)
    counts = values.value_counts(sort=False)
    out = pd.DataFrame({column: counts.index.astype("string"), "count": counts.values})
    out["count"] = out["count"].astype("Int64")
    out["share"] = [share(int(n), len(units)) for n in out["count"]]
    out["share"] = out["share"].astype("Float64")
    return out.sort_values(["count", column], ascending=[False, True]).reset_index(drop=True)


def version_mix(units: pd.DataFrame) -> pd.DataFrame:
    """Count and share of each TLS version among ``units`` (``(not stated)`` included)."""
    return _mix(units, "tls_version")


def cipher_mix(units: pd.DataFrame) -> pd.DataFrame:
    """Count and share of each cipher suite among ``units`` (``(not stated)`` included)."""
    return _mix(units, "cipher")


def weakness_counts(units: pd.DataFrame) -> pd.DataFrame:
    """Per weak flag: units affected, share of all units, and up to three example peers."""
    rows: list[tuple[str, int, float, str]] = []
    weak = units["weak"].fillna("")
    for flag in WeakFlag:
        hit = weak.str.split(",").map(lambda parts, f=flag.value: f in parts)
        n = int(hit.sum())
        if n:
            peers = units.loc[hit, "peer"].dropna().drop_duplicates().head(3)
            rows.append((flag.value, n, share(n, len(units)), ", ".join(peers)))
    return pd.DataFrame(
        {
            "weakness": pd.Series([r[0] for r in rows], dtype="string"),
            "count": pd.Series([r[1] for r in rows], dtype="Int64"),
            "share": pd.Series([r[2] for r in rows], dtype="Float64"),
            "examples": pd.Series([r[3] for r in rows], dtype="string"),
        }
    )
