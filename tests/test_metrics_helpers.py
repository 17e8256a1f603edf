"""The column helpers the metrics are built on give exactly what the plain pandas spelling
gives (they exist to be faster on large log frames, never to differ), and the tally order."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd

from analyzer.metrics.columns import isin, map_unique, per_distinct, period_start, text
from analyzer.metrics.common import group_codes, tally_frame
from analyzer.metrics.domains import registrable_domain

DIRECTIONS = pd.Categorical(
    ["outbound", None, "inbound", "outbound", "local", None, "outbound"],
    categories=["inbound", "outbound", "local"],
)
HOSTS = pd.array(
    ["mx1.a.example", "mx1.a.example", None, "mx2.b.co.uk", "", "mx1.a.example", None],
    dtype="string",
)


def frame() -> pd.DataFrame:
    return pd.DataFrame({"direction": DIRECTIONS, "host": HOSTS})


def test_group_codes_number_groups_in_order_of_appearance_with_missing_as_groups() -> None:
    codes, first = group_codes(frame(), ["direction", "host"])
    reference = frame().groupby(["direction", "host"], dropna=False, sort=False, observed=True)
    assert codes.tolist() == reference.ngroup().tolist() == [0, 1, 2, 3, 4, 1, 5]
    assert first.tolist() == [0, 1, 2, 3, 4, 6]


def test_group_codes_of_no_rows() -> None:
    codes, first = group_codes(frame().iloc[0:0], ["direction", "host"])
    assert (codes.tolist(), first.tolist()) == ([], [])


def test_isin_on_arrow_strings_and_categoricals_missing_is_false() -> None:
    f = frame()
    assert isin(f["host"], ["mx1.a.example", ""]).tolist() == [
        True, True, False, False, True, True, False,
    ]  # fmt: skip
    assert isin(f["direction"], ("outbound",)).tolist() == [
        True, False, False, True, False, False, True,
    ]  # fmt: skip
    assert isin(f["host"], ["mx1.a.example"]).tolist() == (
        f["host"].isin(["mx1.a.example"]).fillna(False).tolist()
    )


def test_text_of_a_categorical_is_its_values_as_nullable_strings() -> None:
    got = text(frame()["direction"])
    assert got.dtype == "string"
    assert got.tolist() == ["outbound", pd.NA, "inbound", "outbound", "local", pd.NA, "outbound"]
    pd.testing.assert_series_equal(got, frame()["direction"].astype("string"))


def test_map_unique_calls_once_per_value_and_keeps_missing() -> None:
    calls: list[object] = []

    def domain(host: object) -> str | None:
        calls.append(host)
        return registrable_domain(host)

    got = map_unique(frame()["host"], domain)
    assert got.tolist() == ["a.example", "a.example", None, "b.co.uk", None, "a.example", None]
    assert calls == ["mx1.a.example", "mx2.b.co.uk", ""]


def test_per_distinct_equals_building_every_row() -> None:
    def build(df: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame(
            {"label": text(df["direction"]).fillna("?") + "/" + df["host"].fillna("-")}
        )

    f = frame().set_axis([10, 11, 12, 13, 14, 15, 16])
    got = per_distinct(f, ["direction", "host"], build)
    pd.testing.assert_frame_equal(got, build(f))
    assert got["label"].tolist() == [
        "outbound/mx1.a.example", "?/mx1.a.example", "inbound/-", "outbound/mx2.b.co.uk",
        "local/", "?/mx1.a.example", "outbound/-",
    ]  # fmt: skip


def test_period_start_weeks_start_on_monday_days_and_months() -> None:
    stamps = pd.Series(
        [datetime(2026, 11, 29, 23, 59, tzinfo=UTC), datetime(2026, 11, 30, 0, 1, tzinfo=UTC),
         None, datetime(2026, 12, 1, 12, tzinfo=UTC)],
        dtype="datetime64[ns, UTC]",
    )  # fmt: skip
    assert period_start(stamps, "W").tolist() == ["2026-11-23", "2026-11-30", pd.NA, "2026-11-30"]
    assert period_start(stamps, "D").tolist() == ["2026-11-29", "2026-11-30", pd.NA, "2026-12-01"]
    assert period_start(stamps, "M").tolist() == ["2026-11-01", "2026-11-01", pd.NA, "2026-12-01"]
    naive = stamps.dt.tz_localize(None)
    reference = naive.dt.to_period("W").dt.start_time.dt.strftime("%Y-%m-%d").astype("string")
    assert period_start(stamps, "W").tolist() == reference.tolist()


def test_tally_frame_orders_by_total_then_key_with_missing_keys_last() -> None:
    f = frame().assign(
        encrypted=pd.array([True, False, None, True, True, None, False], dtype="boolean")
    )
    out = tally_frame(f, ["direction"])
    assert out["direction"].tolist() == ["outbound", pd.NA, "inbound", "local"]
    assert out[["total", "encrypted", "plaintext", "unknown"]].to_numpy().tolist() == [
        [3, 2, 1, 0], [2, 0, 1, 1], [1, 0, 0, 1], [1, 1, 0, 0],
    ]  # fmt: skip
    assert out["encrypted_share"].tolist() == [2 / 3, 0.0, 0.0, 1.0]
    assert [str(t) for t in out.dtypes] == [
        "string", "Int64", "Int64", "Int64", "Int64", "Float64", "Float64", "Float64",
    ]  # fmt: skip
    assert np.array_equal(out["total"].to_numpy(), [3, 2, 1, 1])


def test_registrable_domain_of_address_literals_and_names() -> None:
    hosts = ["[192.0.2.1]", "192.0.2.1", "IPv6:2001:db8::1", "[IPv6:2001:db8::25]",
             "fe80::1%eth0", "mx1.mail.example.co.uk", "relay2.example.net", "smtp.a1.example9",
             "host1", "unknown", "MX.Example.COM."]  # fmt: skip
    assert [registrable_domain(h) for h in hosts] == [
        None, None, None, None, None, "example.co.uk", "example.net", "a1.example9",
        None, None, "example.com",
    ]  # fmt: skip
