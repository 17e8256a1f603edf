"""Numbers and parser failures from hostile lines: no exception leaves the reader.

Found by substituting extreme numbers into the real lines of the golden cases: a 30-digit
port in an Exchange row, "²" where Exim writes key bits, a parser bug. Each line stays
accounted for: parsed with the number missing, or an issue.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyzer.api_logs import read_logs_result
from analyzer.frames.schema import arrow_array
from analyzer.logs import exchange, exim, registry
from analyzer.logs.common import small_number
from analyzer.model.logs import Mta


@pytest.mark.parametrize(
    ("text", "number"),
    [("25", 25), ("00256", 256), ("65535", 65535), ("99999", 99999), ("123456", None),
     ("9" * 30, None), ("", None), ("²", None), ("٣", None), ("-1", None), ("1e3", None)],
)  # fmt: skip
def test_small_number(text: str, number: int | None) -> None:
    assert small_number(text) == number


def test_exchange_endpoint_with_a_port_no_socket_has() -> None:
    assert exchange._endpoint("95.10.20.33:9999999999999999999999") == ("95.10.20.33", None)
    assert exchange._endpoint("95.10.20.33:²") == ("95.10.20.33", None)
    assert exchange._endpoint("[2001:db8::1]:25") == ("2001:db8::1", 25)
    assert exchange._endpoint("95.10.20.33") == ("95.10.20.33", None)


def test_exim_bits_that_are_no_number() -> None:
    assert exim._tls("TLS1.3:TLS_AES_256_GCM_SHA384:256")["bits"] == 256
    assert exim._tls("TLS1.3:TLS_AES_256_GCM_SHA384:" + "9" * 26)["bits"] is None
    assert exim._tls("TLS1.3:TLS_AES_256_GCM_SHA384:²")["bits"] is None


def test_arrow_array_drops_what_a_64_bit_column_cannot_hold() -> None:
    ints = arrow_array([1, 2**70, None, -(2**63), 2**63 - 1, -(2**63) - 1], pa.int64())
    assert ints.to_pylist() == [1, None, None, -(2**63), 2**63 - 1, None]
    with pytest.raises(pa.ArrowInvalid):
        arrow_array(["x"], pa.int64())  # a wrong type is a bug, not input


_EXCHANGE = (
    "#Fields: date-time,connector-id,session-id,sequence-number,local-endpoint,"
    "remote-endpoint,event,data,context\n"
    "2023-01-11T15:00:01.010Z,SERVER\\Default Frontend SERVER,08DAF3EC62278461,7,"
    '10.10.10.10:25,95.10.20.33:9999999999999999999999,*,,"TLS protocol '
    "SP_PROT_TLS1_2_SERVER negotiation succeeded using bulk encryption algorithm CALG_AES_128 "
    "with strength 128 bits, MAC hash algorithm CALG_SHA_256 with strength 0 bits and key "
    'exchange algorithm CALG_ECDHE with strength 255 bits"\n'
)


@pytest.mark.parametrize("vectorised", [True, False])
def test_a_row_with_a_30_digit_port_is_read(tmp_path: Path, vectorised: bool) -> None:
    log = tmp_path / "RECV2023011115-1.LOG"
    log.write_text(_EXCHANGE, encoding="ascii")
    r = read_logs_result(log, vectorised=vectorised, timezone="UTC")
    assert (r.counts.lines, r.counts.parsed, r.counts.issues) == (2, 1, 0)
    row = r.events.iloc[0]
    assert (row["peer_ip"], row["tls_version"], row["bits"]) == ("95.10.20.33", "TLSv1.2", 128)
    assert pd.isna(row["peer_port"])


@pytest.mark.parametrize("vectorised", [True, False])
def test_a_parser_bug_loses_one_line_as_an_issue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, vectorised: bool
) -> None:
    def broken(line: object, raw: str) -> None:
        raise ZeroDivisionError("boom")

    monkeypatch.setitem(
        registry.DIALECTS, Mta.EXIM, dataclasses.replace(registry.DIALECTS[Mta.EXIM], parse=broken)
    )
    registry.dialect_for.cache_clear()
    try:
        log = tmp_path / "mainlog"
        log.write_text(
            "2026-11-27 21:29:01 1vOjYb-0006Ut-1L <= a@b.example H=localhost [127.0.0.1] P=esmtp\n"
            "2026-11-27 21:29:02 Start queue run: pid=30207\n",
            encoding="ascii",
        )
        r = read_logs_result(log, vectorised=vectorised)
    finally:
        registry.dialect_for.cache_clear()
    assert (r.counts.lines, r.counts.parsed, r.counts.issues) == (2, 0, 2)
    assert r.issues["kind"].astype(str).tolist() == ["parser-bug", "parser-bug"]
    assert (
        r.issues["reason"].tolist()[0] == "exim line could not be read: ZeroDivisionError('boom')"
    )


# Real lines of every golden case, with runs of digits replaced by numbers no clock, port or
# counter has (the kind of damage that found the bugs above).
_CASES = [
    json.loads(p.read_text(encoding="utf-8"))
    for p in sorted((Path(__file__).parent / "data" / "logs").glob("*/*.json"))
]
_EXTREMES = ["0", "00", "9" * 30, "99", "255", "65536", "4294967296", "9999", "0000",
             "2147483648", "+30:00", "-99:99", "²", ""]  # fmt: skip


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), case=st.sampled_from(_CASES))
def test_extreme_numbers_in_real_lines_never_stop_a_read(
    data: st.DataObject, case: dict[str, object], tmp_path: Path
) -> None:
    lines = []
    for line in case["lines"]:  # type: ignore[attr-defined]
        parts = re.split(r"(\d+)", line)
        for i in range(1, len(parts), 2):
            if data.draw(st.booleans()):
                parts[i] = data.draw(st.sampled_from(_EXTREMES))
        lines.append("".join(parts))
    log = tmp_path / "damaged.log"
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for vectorised in (True, False):
        r = read_logs_result(log, vectorised=vectorised, timezone=case.get("timezone"))  # type: ignore[arg-type]
        c = r.counts
        assert c.lines == c.parsed + c.unrelated + c.issues + c.duplicates
