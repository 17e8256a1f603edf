"""The shortcuts the log metrics take on large frames give exactly what the plain pandas
spelling gives: picking rows of Arrow columns in chunks, remembered factorizations, and the
incident, failure and readiness figures worked out on codes instead of strings."""

from __future__ import annotations

import gc
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from analyzer.frames.logs import DELIVERIES, EVENTS
from analyzer.metrics import (
    certificate_incidents,
    common,
    forced_tls_readiness,
    handshake_failures,
    parse_yield,
    top_errors,
)
from analyzer.metrics.columns import isin, per_distinct, period_start, rows_where, take
from analyzer.metrics.common import factorized, group_codes
from analyzer.metrics.fallback import delivered_outbound
from tests.metrics_frames import T0, T1, T2, T3, deliveries, events, frame, mailbox


def chunked(df: pd.DataFrame, size: int) -> pd.DataFrame:
    """``df`` with each Arrow column cut in chunks of ``size`` rows (as the log reader's)."""
    out = {}
    for c in df.columns:
        values = df[c].array
        if isinstance(values, pd.arrays.ArrowStringArray):
            whole = values.__arrow_array__().combine_chunks()
            parts = [whole.slice(i, size) for i in range(0, len(whole), size)] or [whole]
            values = pd.arrays.ArrowStringArray(pa.chunked_array(parts, type=whole.type))
        out[c] = values
    return pd.DataFrame(out)


HOSTS = pd.Series(["a", None, "b", "", "c", "a", "d", None, "e"], dtype="string")


def test_take_of_a_chunked_arrow_column_is_iloc() -> None:
    col = chunked(HOSTS.to_frame("h"), 2)["h"]
    assert col.array.__arrow_array__().num_chunks == 5
    for positions in ([0, 2, 5, 8], [8, 0, 0, 3, 1], [], [7]):
        got = take(col, np.array(positions, dtype=np.intp))
        pd.testing.assert_series_equal(got, col.iloc[positions].reset_index(drop=True))
    assert take(col, np.array([8, 0, 0, 3])).tolist() == ["e", "a", "a", ""]
    cat = pd.Series(pd.Categorical(["x", None, "y"]))
    assert take(cat, np.array([2, 0])).tolist() == ["y", "x"]


def test_rows_where_is_loc_renumbered() -> None:
    df = chunked(deliveries(), 3)
    keep = df["encrypted"].notna().to_numpy(dtype=bool)
    cols = ["queue_id", "peer_host", "direction", "encrypted", "timestamp"]
    expected = df.loc[keep, cols].reset_index(drop=True)
    pd.testing.assert_frame_equal(rows_where(df, keep, cols), expected)
    assert rows_where(df, keep, ["queue_id"])["queue_id"].tolist() == ["Q1", "Q2", "Q3", "Q4", "Q5"]


def test_isin_of_a_categorical_is_series_isin() -> None:
    cat = pd.Series(pd.Categorical(["a", None, "b", "c", "a"], categories=["c", "b", "a", "z"]))
    for values in (["a"], ["a", "z"], ["q"], [], ["b", "c", "a"]):
        assert isin(cat, values).tolist() == cat.isin(values).fillna(False).tolist()
    assert isin(cat, ["a", "z"]).tolist() == [True, False, False, False, True]


def test_factorized_is_pandas_factorize_remembered_while_the_data_lives() -> None:
    col = chunked(HOSTS.to_frame("h"), 4)["h"]
    codes, distinct = factorized(col)
    expected = pd.factorize(col, use_na_sentinel=False)
    assert codes.tolist() == expected[0].tolist() == [0, 1, 2, 3, 4, 0, 5, 1, 6]
    assert distinct.equals(expected[1])
    assert factorized(col)[0] is codes
    assert not codes.flags.writeable
    groups = group_codes(col.to_frame(), ["h"])  # a grouping is remembered apart
    assert groups[0].tolist() == codes.tolist()
    assert groups[1].tolist() == [0, 1, 2, 3, 4, 6, 8]
    assert group_codes(col.to_frame(), ["h"]) is groups
    remembered = len(common._MEMO)
    del col
    gc.collect()
    assert len(common._MEMO) == remembered - 2  # the column's factorization and grouping


def test_per_distinct_and_period_start_remember_what_factorize_would_give() -> None:
    df = chunked(deliveries(), 2)

    def build(few: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"host": few["peer_host"].str.upper(), "dir": few["direction"]})

    out = per_distinct(df, ["peer_host", "direction"], build)
    assert out["host"].tolist()[:3] == ["MX1.A.EXAMPLE", "MX.B.EXAMPLE", "MX.B.EXAMPLE"]
    stamps = pd.concat([df["timestamp"], pd.Series([pd.NaT], dtype=df["timestamp"].dtype)])
    weeks = period_start(stamps.reset_index(drop=True), "W")
    assert weeks.tolist() == [*["2026-11-02"] * 6, "2026-11-09", pd.NA]  # a missing stamp
    for column in (out["host"], weeks):
        codes, distinct = factorized(column)
        expected = pd.factorize(column, use_na_sentinel=False)
        assert codes.tolist() == expected[0].tolist()
        assert distinct.equals(expected[1])


def test_delivered_outbound_with_the_columns_asked_for() -> None:
    full = delivered_outbound(deliveries())
    narrow = delivered_outbound(deliveries(), ["timestamp", "recipient_domain"])
    assert list(narrow.columns) == [
        "timestamp", "recipient_domain", "encrypted", "failure_category", "fallback", "reason",
    ]  # fmt: skip
    assert narrow["reason"].tolist() == full["reason"].tolist() == [
        pd.NA, "tls-failed-then-plain", "reason-not-logged", "starttls-not-offered", pd.NA,
    ]  # fmt: skip


def _cert(ts: str, host: str | None, ip: str | None, category: str) -> dict[str, Any]:
    return {"timestamp": ts, "mta": "postfix", "event": "certificate-failed",
            "direction": "outbound", "peer_host": host, "peer_ip": ip,
            "failure_category": category}  # fmt: skip


CERT_ROWS = [
    _cert(T1, "mx.p.example", "192.0.2.9", "certificate-host-mismatch"),
    _cert(T0, "mx.p.example", None, "certificate-expired"),
    _cert(T0, "mx.p.example", "192.0.2.9", "certificate-unverified"),
    _cert(T3, "mx.p.example", "192.0.2.9", "certificate-unverified"),  # 6 days later: a new run
    _cert(T2, "unknown", "192.0.2.8", "certificate-self-signed"),
    _cert(T2, "", "", "certificate-self-signed"),
]


def _near(q: str | None, ts: str, outcome: str, enc: bool | None, ip: str) -> dict[str, Any]:
    return {"timestamp": ts, "mta": "postfix", "queue_id": q, "direction": "outbound",
            "outcome": outcome, "encrypted": enc, "fallback": False,
            "recipient_domain": "p.example", "peer_ip": ip}  # fmt: skip


NEAR_ROWS = [
    _near("Q1", T0, "delivered", True, "192.0.2.9"),
    _near("Q1", T1, "deferred", None, "192.0.2.9"),
    _near(None, T1, "bounced", None, "192.0.2.9"),
    _near("", T1, "delivered", False, "192.0.2.9"),
    _near("Q9", T2, "delivered", True, "192.0.2.8"),
]


def test_certificate_incidents_runs_categories_and_deliveries_near() -> None:
    e = chunked(frame(EVENTS, CERT_ROWS), 4)
    d = chunked(frame(DELIVERIES, NEAR_ROWS), 2)
    got = certificate_incidents(e, d, gap=timedelta(days=1))
    rows = [
        (r.peer, r.peer_ip if isinstance(r.peer_ip, str) else None, r.failure_category, str(r.first_seen), r.duration_s, r.sessions,
         r.messages, r.delivered_untrusted, r.fell_back, r.deferred, r.bounced)
        for r in got.itertuples()
    ]  # fmt: skip
    assert rows == [
        ("mx.p.example", "192.0.2.9", "certificate-expired, certificate-host-mismatch",
         "2026-11-02 10:00:00+00:00", 3600.0, 2, 1, 1, 1, 1, 1),
        ("(unknown)", None, "certificate-self-signed", "2026-11-04 10:00:00+00:00", 0.0, 1,
         0, 0, 0, 0, 0),
        ("192.0.2.8", "192.0.2.8", "certificate-self-signed", "2026-11-04 10:00:00+00:00", 0.0,
         1, 1, 1, 0, 0, 0),
        ("mx.p.example", "192.0.2.9", "certificate-unverified", "2026-11-10 09:00:00+00:00",
         0.0, 1, 0, 0, 0, 0, 0),
    ]  # fmt: skip
    pd.testing.assert_frame_equal(got, certificate_incidents(frame(EVENTS, CERT_ROWS),
                                                             frame(DELIVERIES, NEAR_ROWS)))  # fmt: skip


def test_failures_and_errors_group_missing_types_and_directions() -> None:
    e = events()
    e.loc[1, ["rfc8460_result_type", "direction"]] = None
    e = chunked(e, 2)
    failures = handshake_failures(e)
    assert failures.astype(object).values.tolist() == [
        ["certificate-expired", "certificate-expired", "outbound", 2, 1],
        ["certificate-expired", "(none)", "(unknown)", 1, 1],
        ["certificate-unverified", "(none)", "outbound", 1, 1],
        ["no-shared-cipher", "validation-failure", "outbound", 1, 1],
    ]
    errors = top_errors(e)
    assert errors.astype(object).values.tolist() == [
        ["certificate-expired", "certificate has expired", 3, "line 1"],
        ["certificate-unverified", "Server certificate not verified", 1, "line 1b"],
        ["no-shared-cipher", "no shared cipher", 1, "line 4"],
    ]


def test_readiness_counts_missing_and_empty_queue_ids_as_one_message() -> None:
    d = chunked(frame(DELIVERIES, NEAR_ROWS), 2)
    table = forced_tls_readiness(mailbox().messages.iloc[0:0], d).table
    row = table.iloc[0]
    assert (row["domain"], row["messages"], row["attempts"], row["plaintext"]) == (
        "p.example", 3, 5, 1,
    )  # fmt: skip
    assert (row["would_defer"], row["breaking_mx"], row["verdict"]) == (
        1, "192.0.2.9", "would-break",
    )  # fmt: skip


def test_parse_yield_counts_a_categorical_as_its_strings() -> None:
    mta = pd.Categorical(["postfix", None, "exim", "postfix"], categories=["exim", "postfix", "x"])
    as_codes = parse_yield(mailbox().hops, mailbox().issues, pd.DataFrame({"mta": mta}))
    as_text = parse_yield(
        mailbox().hops, mailbox().issues, pd.DataFrame({"mta": pd.array(mta, dtype="string")})
    )
    pd.testing.assert_frame_equal(as_codes.table, as_text.table)
    lines = as_codes.table[as_codes.table["input"] == "line"]
    assert lines[["dialect", "units", "understood"]].values.tolist() == [
        ["(not parsed)", 1, 0], ["exim", 1, 1], ["postfix", 2, 2],
    ]  # fmt: skip
