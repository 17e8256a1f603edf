"""``period_start`` on numpy day numbers equals pandas' own periods."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pandas as pd
import pandas.testing as pdt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.metrics.columns import period_start


def _reference(stamps: pd.Series, freq: str) -> pd.Series:
    """The pandas reading: floor to the day, then the start of its pandas period."""
    naive = pd.to_datetime(stamps, utc=True).dt.tz_localize(None)
    codes, distinct = pd.factorize(naive.dt.floor("D"))
    labels = pd.Series(distinct).dt.to_period(freq).dt.start_time.dt.strftime("%Y-%m-%d")
    picked = pd.array(labels.tolist(), dtype="string").take(codes, allow_fill=True)
    return pd.Series(picked, index=stamps.index)


_STAMPS = st.lists(
    st.one_of(
        st.none(),
        st.datetimes(
            min_value=datetime(1678, 1, 1),
            max_value=datetime(2261, 12, 31),
            timezones=st.sampled_from(
                [UTC, timezone(timedelta(hours=-11)), timezone(timedelta(hours=14))]
            ),
        ),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(values=_STAMPS, freq=st.sampled_from(["D", "W", "M"]))
def test_equals_pandas_periods(values: list[datetime | None], freq: str) -> None:
    stamps = pd.Series(
        pd.to_datetime(values, utc=True),
        index=range(5, 5 + len(values)),
        dtype="datetime64[ns, UTC]",
    )
    pdt.assert_series_equal(period_start(stamps, freq), _reference(stamps, freq))


@pytest.mark.parametrize(
    ("freq", "expected"),
    [
        ("D", ["1969-12-31", "1970-01-01", "2026-11-29", None, "2024-02-29"]),
        ("W", ["1969-12-29", "1969-12-29", "2026-11-23", None, "2024-02-26"]),
        ("M", ["1969-12-01", "1970-01-01", "2026-11-01", None, "2024-02-01"]),
    ],
)
def test_edges(freq: str, expected: list[str | None]) -> None:
    """Before 1970, on the epoch (a Thursday), a Sunday (end of a week), none, 29 February."""
    stamps = pd.Series(
        pd.to_datetime(
            ["1969-12-31T23:59:59Z", "1970-01-01T00:00:00Z", "2026-11-29T23:00:00Z", None,
             "2024-02-29T12:00:00+05:00"],
            utc=True,
        )
    )  # fmt: skip
    assert period_start(stamps, freq).tolist() == [pd.NA if e is None else e for e in expected]
    pdt.assert_series_equal(period_start(stamps, freq), _reference(stamps, freq))


def test_other_frequencies_go_through_pandas() -> None:
    stamps = pd.Series(pd.to_datetime(["2026-05-17T10:00:00Z", None], utc=True))
    assert period_start(stamps, "Q").tolist() == ["2026-04-01", pd.NA]


def test_tally_counts_with_and_without_a_row_filter() -> None:
    import numpy as np

    from analyzer.metrics.common import Tally, tally

    values = pd.Series([True, False, None, True, None], dtype="boolean")
    assert tally(values) == Tally(5, 2, 1, 2)
    assert tally(values, np.array([True, True, True, False, False])) == Tally(3, 1, 1, 1)
    assert tally(values.astype(object)) == Tally(5, 2, 1, 2)
    assert tally(pd.Series([], dtype="boolean")) == Tally(0, 0, 0, 0)
